"""Identities: who is calling (a user and its roles, the public, or ``SKIP_AUTH``), for REST and sockets.

``Identity`` is a small frozen value the permission engine (``llana.permissions``) decides for. Build
one with ``identity_for_user(user)``, ``identity_for_user_pk(pk)`` (a token's ``sub``; cached, so sockets
can re-check it cheaply), ``identity_from_request(request)`` or
``llana.authentication.identity_for_token(token)``. A user's roles: superuser → ``ADMIN``; else the
user model's ``LLANA["ROLE_FIELD"]`` value; else the names of its groups.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import models

from llana.settings import llana_settings

logger = logging.getLogger(__name__)


def _user_model() -> type[models.Model]:
    return apps.get_model(settings.AUTH_USER_MODEL)


@dataclass(frozen=True)
class Identity:
    """Who is calling: a user (``user_pk`` as a string, ``roles``), the public, or ``SKIP_AUTH``.

    ``error`` is ``(status, message)`` explaining why a caller is anonymous (bad token, bad API key);
    it becomes the 401 when no public rule admits the request. ``websocket`` selects the socket TTL.
    """

    user_pk: str | None = None
    roles: frozenset[str] = frozenset()
    skip_auth: bool = False
    error: tuple[int, str] | None = None
    websocket: bool = False

    @classmethod
    def anonymous(cls, error: tuple[int, str] | None = None, *, websocket: bool = False) -> Identity:
        return cls(error=error, websocket=websocket)

    @classmethod
    def skip(cls, *, websocket: bool = False) -> Identity:
        return cls(skip_auth=True, websocket=websocket)

    @property
    def is_anonymous(self) -> bool:
        return self.user_pk is None and not self.skip_auth

    is_public = is_anonymous

    @property
    def ttl(self) -> int:
        ttl = llana_settings.CACHE_WS_IDENTITY_DATA_TTL if self.websocket else llana_settings.CACHE_IDENTITY_DATA_TTL
        return int(ttl)


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
    except Exception:  # FieldDoesNotExist
        return False
    return True


def identity_for_user(user: Any, *, websocket: bool = False) -> Identity:
    """The identity of an authenticated (active) user object."""
    from llana import cache

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


def identity_for_user_pk(pk: Any, *, websocket: bool = False) -> Identity:
    """The identity of the user with this pk (e.g. a token's ``sub``); anonymous with an error when
    the user no longer exists or is inactive. Cached, so sockets can re-check it on every event."""
    from llana import cache

    ttl = Identity(websocket=websocket).ttl

    def load() -> list[str] | None:
        user_model = _user_model()
        try:
            user = user_model._default_manager.get(pk=pk)
        except (user_model.DoesNotExist, ValueError, TypeError):
            return None
        except Exception:  # e.g. a non-numeric pk on PostgreSQL
            logger.debug("Identity lookup failed for a token subject", exc_info=True)
            return None
        from llana.authentication import user_can_authenticate

        if not user_can_authenticate(user):  # inactive or soft-deleted
            return None
        return sorted(user_roles(user))

    roles = cache.get_or_compute("user", str(pk), ttl, load)
    if roles is None:
        from llana.tokens import FAILED_MESSAGE

        return Identity.anonymous((401, FAILED_MESSAGE), websocket=websocket)
    return Identity(user_pk=str(pk), roles=frozenset(roles), websocket=websocket)


def identity_from_request(request: Any) -> Identity:
    """The identity of a DRF or Django request, authenticated by ``llana.authentication`` (memoised)."""
    raw = getattr(request, "_request", request)
    cached = getattr(raw, "_llana_identity", None)
    if cached is not None:
        return cached
    if llana_settings.SKIP_AUTH:
        identity = Identity.skip()
    else:
        from llana.authentication import authenticate_request

        user = authenticate_request(request)
        if user is None:
            identity = Identity.anonymous(getattr(raw, "_llana_auth_error", None))
        else:
            identity = identity_for_user(user)
    try:
        raw._llana_identity = identity
    except AttributeError:
        pass
    return identity
