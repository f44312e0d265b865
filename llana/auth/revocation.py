"""Revoking a user's tokens when their password changes or they are deactivated.

``post_init`` remembers each loaded user's password hash and ``is_active``; ``post_save`` compares them.
On a change (``set_password()`` and save, through REST, the admin or any code; or ``is_active`` turned
off) it blacklists the user's outstanding refresh tokens (simplejwt's blacklist app). The user's identity cache
entries are dropped by ``llana.receivers`` (password and ``is_active`` are watched fields), which also has
that user's open sockets re-checked on commit. Access tokens carry the ``cred`` claim
(``llana.auth.tokens``), which no longer matches the new password: REST refuses them at once, sockets at
their next identity check. ``QuerySet.update()`` sends no signals: change passwords through ``save()``.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.contrib.auth import get_user_model
from django.db.models.signals import post_init, post_save
from django.utils import timezone

STATE = "_llana_credential_state"


def _state(instance: Any) -> tuple[Any, Any]:
    # From __dict__: a deferred field (``.only()``) must not cost a query here.
    return instance.__dict__.get("password"), instance.__dict__.get("is_active")


def remember(sender: Any, instance: Any, **kwargs: Any) -> None:
    instance.__dict__[STATE] = _state(instance)


def user_saved(sender: Any, instance: Any, created: bool = False, using: str | None = None, **kwargs: Any) -> None:
    before = instance.__dict__.get(STATE)
    after = instance.__dict__[STATE] = _state(instance)
    if created or before is None:
        return
    password_changed = None not in (before[0], after[0]) and before[0] != after[0]
    deactivated = before[1] is not False and after[1] is False
    if password_changed or deactivated:
        revoke_refresh_tokens(instance)


def revoke_refresh_tokens(user: Any) -> int:
    """Blacklist every unexpired refresh token issued to ``user``; returns how many were still valid."""
    if not apps.is_installed("rest_framework_simplejwt.token_blacklist"):
        return 0
    # Imported here: the blacklist app is optional, and its models can't be imported when it is not installed.
    from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

    pending = OutstandingToken.objects.filter(user=user, expires_at__gt=timezone.now(), blacklistedtoken__isnull=True)
    rows = [BlacklistedToken(token=token) for token in pending]
    BlacklistedToken.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


def connect() -> None:
    """Connect the receivers above to the user model (``llana.receivers.connect()`` calls this)."""
    user_model = get_user_model()
    post_init.connect(remember, sender=user_model, dispatch_uid="llana.auth.revocation.remember")
    post_save.connect(user_saved, sender=user_model, dispatch_uid="llana.auth.revocation.user_saved")
