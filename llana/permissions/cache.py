"""The identity cache: users' roles and compiled table permissions, in Django's cache.

Entries live in the cache alias ``LLANA["CACHE_ALIAS"]`` (``default``: locmem by default, Redis in
production) for ``CACHE_IDENTITY_DATA_TTL`` seconds (HTTP) or ``CACHE_WS_IDENTITY_DATA_TTL`` (sockets).
Every key embeds a version counter (``llana:auth:version``); ``invalidate()`` bumps it, which makes every
cached entry unreachable at once in every process. Receivers (``llana.receivers``) call it when a ``Role``, a ``PublicTable``, a
group, a user's group membership, or a user's role field / ``is_active`` / ``is_superuser`` /
``SOFT_DELETE_COLUMN`` changes (at once, and again on commit, so a reader that cached the old rows inside
the transaction can't keep them).

``invalidate()`` then sends ``llana.signals.permissions_invalidated`` (once per change: on commit), which code holding
decisions longer than a request listens to; the realtime feed (``llana_realtime.feed.publisher``) re-checks its
open sockets in every process. Call ``invalidate()`` yourself after changing roles, groups or users
without model signals (``QuerySet.update()``, raw SQL).

A change of one user's standing (its role field, ``is_active``, ``is_superuser``, password, soft delete,
groups, or its deletion) is narrower: ``invalidate(users=[pk])`` drops only that user's entries (the
compiled rules, shared by role, stay) and the signal carries ``users``, so the feed re-checks only that
user's sockets. Role, public-table and group changes stay global.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

from django.core.cache import caches

from llana.settings import llana_settings
from llana.signals import permissions_invalidated

logger = logging.getLogger(__name__)

VERSION_KEY = "llana:auth:version"
_MISSING = object()


def _cache() -> Any:
    return caches[llana_settings.CACHE_ALIAS]


def version() -> int:
    cache = _cache()
    value = cache.get(VERSION_KEY)
    if value is None:
        # A fresh counter starts from the clock, so it never repeats a value an evicted counter had.
        cache.add(VERSION_KEY, time.time_ns(), timeout=None)
        value = cache.get(VERSION_KEY) or 0
    return int(value)


#: The entries of one user (``llana.auth.identities``): its roles, and its identity by pk.
USER_KINDS = ("roles", "user")


def invalidate(*, notify: bool = True, users: Iterable[Any] | None = None) -> None:
    """Drop every cached identity and permission (all processes sharing the cache), then send
    ``permissions_invalidated`` unless ``notify`` is False (a process-local refresh, not a change).

    With ``users`` (user pks), drop only those users' entries, and send ``users`` (as strings) along."""
    cache = _cache()
    if users is not None:
        pks = sorted({str(pk) for pk in users})
        cache.delete_many([_key(kind, pk) for pk in pks for kind in USER_KINDS])
        if notify:
            permissions_invalidated.send(sender=None, users=pks)
        return
    try:
        cache.incr(VERSION_KEY)
    except ValueError:  # no counter yet
        cache.add(VERSION_KEY, time.time_ns(), timeout=None)
    if notify:
        permissions_invalidated.send(sender=None)


def _key(kind: str, part: str) -> str:
    digest = hashlib.sha256(part.encode("utf-8")).hexdigest()[:32]
    return f"llana:auth:{version()}:{kind}:{digest}"


def get_or_compute(kind: str, part: str, ttl: int, compute: Callable[[], Any]) -> Any:
    """The cached value for (``kind``, ``part``) at the current version, else ``compute()`` stored for ``ttl`` s."""
    cache = _cache()
    key = _key(kind, part)
    value = cache.get(key, _MISSING)
    if value is _MISSING:
        value = compute()
        if ttl > 0:
            cache.set(key, value, ttl)
    return value


def watched_user_fields(user_model: Any) -> set[str]:
    """The user fields whose change invalidates the user's cache entries (names, attnames and columns):
    ``is_active``, ``is_superuser``, ``password``, ``groups``, ``ROLE_FIELD`` and ``SOFT_DELETE_COLUMN``."""
    watched = {"is_active", "is_superuser", "password", "groups"}
    for name in (llana_settings.ROLE_FIELD, llana_settings.SOFT_DELETE_COLUMN):
        if not name:
            continue
        watched.add(name)
        for f in user_model._meta.concrete_fields:
            if name in (f.name, f.attname, f.column):
                watched |= {f.name, f.attname}
    return watched
