"""llana's signal receivers, connected by ``LlanaConfig.ready()`` through ``connect()`` (each with a
``dispatch_uid``, so connecting twice is harmless).

- The identity cache (``llana.permissions.cache``) is invalidated when a ``Role``, a ``PublicTable``, a
  ``Group``, a user's group membership, or a user's role field / ``is_active`` / ``is_superuser`` /
  ``SOFT_DELETE_COLUMN`` changes: at once, so the writing transaction's own reads see the change, and
  again on commit (with ``permissions_invalidated``), so a reader that cached the old rows meanwhile can't
  keep them.
- The table registry (``llana.registry``) is rebuilt after a ``_llana_relation`` row changes or when
  ``LLANA``, ``AUTH_USER_MODEL`` or ``INSTALLED_APPS`` is overridden (tests).
- The JWT backend (``llana.auth.tokens``) is rebuilt when ``LLANA`` or ``SECRET_KEY`` changes.
- A user's tokens are revoked when their password changes or they are deactivated (``llana.auth.revocation``).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.signals import setting_changed
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save

from llana.auth import revocation
from llana.auth.tokens import clear_backend_cache
from llana.models import PublicTable, Relation, Role
from llana.permissions.cache import invalidate, watched_user_fields
from llana.registry import clear_registry


def permissions_changed(using: str | None = None, **kwargs: Any) -> None:
    """Invalidate the identity cache now (no notification), and again on commit (notifying)."""
    invalidate(notify=False)
    transaction.on_commit(invalidate, using=using, robust=True)


def user_saved(sender: Any, instance: Any, update_fields: Any = None, created: bool = False, **kwargs: Any) -> None:
    if created:
        return  # a new user has nothing cached yet
    if update_fields is not None and not (set(update_fields) & watched_user_fields(sender)):
        return  # e.g. update_last_login() on every login
    permissions_changed(**kwargs)


def membership_changed(action: str = "", **kwargs: Any) -> None:
    if action.startswith("post_"):  # not again for pre_add/pre_remove/pre_clear
        permissions_changed(**kwargs)


def relation_changed(**kwargs: Any) -> None:
    clear_registry()


def setting_was_changed(*, setting: str, **kwargs: Any) -> None:
    if setting in ("LLANA", "AUTH_USER_MODEL", "INSTALLED_APPS"):
        clear_registry()
    if setting in ("LLANA", "SECRET_KEY"):
        clear_backend_cache()


def connect() -> None:
    """Connect every receiver above."""
    for model in (Role, PublicTable, Group):
        post_save.connect(permissions_changed, sender=model, dispatch_uid=f"llana.cache.save.{model._meta.label}")
        post_delete.connect(permissions_changed, sender=model, dispatch_uid=f"llana.cache.delete.{model._meta.label}")
    user_model = get_user_model()
    post_save.connect(user_saved, sender=user_model, dispatch_uid="llana.cache.user_saved")
    post_delete.connect(permissions_changed, sender=user_model, dispatch_uid="llana.cache.user_deleted")
    through = getattr(getattr(user_model, "groups", None), "through", None)
    if through is not None:
        m2m_changed.connect(membership_changed, sender=through, dispatch_uid="llana.cache.user_groups")
    post_save.connect(relation_changed, sender=Relation, dispatch_uid="llana.registry.relation_saved")
    post_delete.connect(relation_changed, sender=Relation, dispatch_uid="llana.registry.relation_deleted")
    setting_changed.connect(setting_was_changed, dispatch_uid="llana.receivers.setting_changed")
    revocation.connect()
