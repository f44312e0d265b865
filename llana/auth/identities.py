"""Identities: who is calling (a user and its roles, the public, or ``SKIP_AUTH``), for REST and sockets.

``Identity`` is a small frozen value the permission engine (``llana.permissions.engine``) decides for.
Build one with ``identity_for_user(user)``, ``identity_for_user_pk(pk)`` (a token's ``sub``; cached, so
sockets can re-check it cheaply) or ``identity_for_token(token)``; a REST request carries its identity
on ``request.auth`` (``llana.auth.authentication``). A user's roles: superuser → ``ADMIN``; else the user
model's ``LLANA["ROLE_FIELD"]`` value; else the names of its groups.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils.crypto import constant_time_compare

from llana.auth.credentials import MISSING_TOKEN_MESSAGE
from llana.auth.tokens import (
    CREDENTIAL_CLAIM,
    FAILED_MESSAGE,
    InvalidAccessToken,
    credential_matches,
    credential_of,
    user_pk_from_payload,
    verify_access_token,
)
from llana.permissions import cache
from llana.settings import llana_settings

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Identity:
    """Who is calling: a user (``user_pk`` as a string, ``roles``), the public, or ``SKIP_AUTH``.

    ``error`` is ``(status, message)`` explaining why a caller is anonymous (bad token, bad API key);
    it becomes the 401 when no public rule admits the request. ``websocket`` selects the socket TTL.
    ``credential`` is the ``cred`` claim of the token it came from: pass it back to
    ``identity_for_user_pk()`` when re-checking, so a password change ends the identity.
    """

    user_pk: str | None = None
    roles: frozenset[str] = frozenset()
    skip_auth: bool = False
    error: tuple[int, str] | None = None
    websocket: bool = False
    credential: str | None = field(default=None, compare=False)

    @classmethod
    def anonymous(cls, error: tuple[int, str] | None = None, *, websocket: bool = False) -> Identity:
        return cls(error=error, websocket=websocket)

    @classmethod
    def skip(cls, *, websocket: bool = False) -> Identity:
        return cls(skip_auth=True, websocket=websocket)

    @property
    def is_anonymous(self) -> bool:
        return self.user_pk is None and not self.skip_auth

    @property
    def ttl(self) -> int:
        ttl = llana_settings.CACHE_WS_IDENTITY_DATA_TTL if self.websocket else llana_settings.CACHE_IDENTITY_DATA_TTL
        return int(ttl)


def user_can_authenticate(user: Any) -> bool:
    """Active, and not soft-deleted when ``SOFT_DELETE_COLUMN`` is a column of the user model."""
    if user is None or not getattr(user, "is_active", True):
        return False
    column = llana_settings.SOFT_DELETE_COLUMN
    if column:
        for f in type(user)._meta.concrete_fields:
            if column in (f.column, f.name) and getattr(user, f.attname) not in (None, ""):
                return False
    return True


def user_roles(user: Any) -> frozenset[str]:
    """A user's role names: superuser → ``ADMIN``; else the ``ROLE_FIELD`` value; else group names."""
    if getattr(user, "is_superuser", False):
        return frozenset({"ADMIN"})
    role_field = llana_settings.ROLE_FIELD
    if role_field and _has_field(type(user), role_field):
        value = getattr(user, role_field, None)
        return frozenset({str(value)}) if value not in (None, "") else frozenset()
    groups = getattr(user, "groups", None)
    if groups is None:
        return frozenset()
    return frozenset(groups.values_list("name", flat=True))


def _has_field(model: type[models.Model], name: str) -> bool:
    try:
        model._meta.get_field(name)
    except FieldDoesNotExist:
        return False
    return True


def identity_for_user(user: Any, *, websocket: bool = False) -> Identity:
    """The identity of an authenticated (active) user object."""
    if user is None or not getattr(user, "is_authenticated", False):
        return Identity.anonymous(websocket=websocket)
    pk = str(user.pk)
    role_field = llana_settings.ROLE_FIELD
    if getattr(user, "is_superuser", False) or (role_field and _has_field(type(user), role_field)):
        roles = user_roles(user)  # read from the loaded user: no query, never stale
    else:
        ttl = Identity(websocket=websocket).ttl
        roles = frozenset(cache.get_or_compute("roles", pk, ttl, lambda: sorted(user_roles(user))))
    return Identity(user_pk=pk, roles=roles, websocket=websocket)


def identity_for_user_pk(pk: Any, *, websocket: bool = False, credential: str | None = None) -> Identity:
    """The identity of the user with this pk (e.g. a token's ``sub``); anonymous with an error when
    the user no longer exists or is inactive, or when ``credential`` (a token's ``cred`` claim) was made
    for another password. Cached, so sockets can re-check it on every event."""
    ttl = Identity(websocket=websocket).ttl

    def load() -> dict[str, Any] | None:
        user_model = get_user_model()
        try:
            user = user_model._default_manager.get(pk=pk)
        except (user_model.DoesNotExist, ValueError, TypeError):
            return None
        except Exception:  # e.g. a non-numeric pk on PostgreSQL
            logger.debug("Identity lookup failed for a token subject", exc_info=True)
            return None
        if not user_can_authenticate(user):  # inactive or soft-deleted
            return None
        return {"roles": sorted(user_roles(user)), "credential": credential_of(user)}

    found = cache.get_or_compute("user", str(pk), ttl, load)
    if found is None or (credential is not None and not constant_time_compare(credential, found["credential"])):
        return Identity.anonymous((401, FAILED_MESSAGE), websocket=websocket)
    return Identity(user_pk=str(pk), roles=frozenset(found["roles"]), websocket=websocket, credential=credential)


def identity_for_token(token: str | None, *, websocket: bool = True) -> Identity:
    """The ``Identity`` behind an access token (``Bearer `` prefix optional), for socket handshakes.

    Sync (wrap it in ``database_sync_to_async``); cached like every identity. A missing or bad token
    gives an anonymous identity whose ``error`` is Llana's message; ``SKIP_AUTH`` gives ``Identity.skip()``.
    """
    return identity_and_expiry_for_token(token, websocket=websocket)[0]


def identity_and_expiry_for_token(token: str | None, *, websocket: bool = True) -> tuple[Identity, float | None]:
    """``identity_for_token()``, with the token's expiry (its ``exp``, epoch seconds) when the token
    identifies a user: a socket authenticated by the token must end when the token does."""
    if llana_settings.SKIP_AUTH:
        return Identity.skip(websocket=websocket), None
    if not token or not token.strip() or token.strip() == "Bearer":
        return Identity.anonymous((401, MISSING_TOKEN_MESSAGE), websocket=websocket), None
    try:
        payload = verify_access_token(token)
    except InvalidAccessToken as exc:
        return Identity.anonymous((401, str(exc)), websocket=websocket), None
    credential = payload.get(CREDENTIAL_CLAIM)
    identity = identity_for_user_pk(
        user_pk_from_payload(payload), websocket=websocket, credential=None if credential is None else str(credential)
    )
    exp = payload.get("exp")
    expires_at = float(exp) if identity.user_pk is not None and isinstance(exp, int | float) else None
    return identity, expires_at


def user_for_token(token: str) -> Any:
    """The active user of a valid access token. Raises ``InvalidAccessToken`` with Llana's message."""
    payload = verify_access_token(token)
    user_model = get_user_model()
    try:
        user = user_model._default_manager.get(pk=user_pk_from_payload(payload))
    except (user_model.DoesNotExist, ValueError, TypeError):
        raise InvalidAccessToken(FAILED_MESSAGE) from None
    if not user_can_authenticate(user) or not credential_matches(payload, user):
        raise InvalidAccessToken(FAILED_MESSAGE)  # inactive, soft-deleted, or the password changed since
    return user
