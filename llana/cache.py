"""The identity cache: users' roles and compiled table permissions, in Django's cache.

Entries live in the cache alias ``LLANA["CACHE_ALIAS"]`` (``default``: locmem by default, Redis in
production) for ``CACHE_IDENTITY_DATA_TTL`` seconds (HTTP) or ``CACHE_WS_IDENTITY_DATA_TTL`` (sockets).
Every key embeds a version counter (``llana:auth:version``); ``invalidate()`` bumps it, which makes every
cached entry unreachable at once in every process. Signals call it when a ``Role``, a ``PublicTable``, a
group, a user's group membership, or a user's role field / ``is_active`` / ``is_superuser`` /
``SOFT_DELETE_COLUMN`` changes (at once, and again on commit, so a reader that cached the old rows inside
the transaction can't keep them).

``invalidate()`` then sends ``permissions_invalidated`` (once per change: on commit), which code holding
decisions longer than a request listens to; the realtime feed (``llana_realtime.signals``) re-checks its
open sockets in every process. Call ``invalidate()`` yourself after changing roles, groups or users
without model signals (``QuerySet.update()``, raw SQL).
"""
from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from typing import Any

from django.core.cache import caches
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import Signal

from llana.settings import llana_settings

logger = logging.getLogger(__name__)

VERSION_KEY = "llana:auth:version"
_MISSING = object()

#: Sent by ``invalidate()`` (``sender=None``, no arguments) after the identity cache was dropped: roles,
#: public tables, groups or a user's standing changed. Inside a transaction, defer work to its commit.
permissions_invalidated = Signal()


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


def invalidate(*, notify: bool = True) -> None:
    """Drop every cached identity and permission (all processes sharing the cache), then send
    ``permissions_invalidated`` unless ``notify`` is False (a process-local refresh, not a change)."""
    cache = _cache()
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


# --- invalidation -------------------------------------------------------------------------------------

_USER_FIELDS = {"is_active", "is_superuser", "groups"}


def _changed(using: str | None = None, **kwargs: Any) -> None:
    # Now, so this transaction's own reads see the change; on commit (with the notification), so a
    # reader that cached the old rows meanwhile can't keep them.
    invalidate(notify=False)
    transaction.on_commit(invalidate, using=using, robust=True)


def watched_user_fields(user_model: Any) -> set[str]:
    """The user fields whose change invalidates the cache (names, attnames and columns): ``is_active``,
    ``is_superuser``, ``groups``, ``ROLE_FIELD`` and ``SOFT_DELETE_COLUMN``."""
    watched = set(_USER_FIELDS)
    for name in (llana_settings.ROLE_FIELD, llana_settings.SOFT_DELETE_COLUMN):
        if not name:
            continue
        watched.add(name)
        for f in user_model._meta.concrete_fields:
            if name in (f.name, f.attname, f.column):
                watched |= {f.name, f.attname}
    return watched


def _user_saved(sender: Any, instance: Any, update_fields: Any = None, created: bool = False, **kwargs: Any) -> None:
    if created:
        return  # a new user has nothing cached yet
    if update_fields is not None and not (set(update_fields) & watched_user_fields(sender)):
        return  # e.g. update_last_login() on every login
    _changed(**kwargs)


def _membership_changed(action: str = "", **kwargs: Any) -> None:
    if action.startswith("post_"):  # not again for pre_add/pre_remove/pre_clear
        _changed(**kwargs)


def connect_signals() -> None:
    """Connect the receivers that invalidate the cache (called from ``LlanaConfig.ready()``)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from llana.models import PublicTable, Role

    for model in (Role, PublicTable, Group):
        post_save.connect(_changed, sender=model, dispatch_uid=f"llana.cache.save.{model._meta.label}")
        post_delete.connect(_changed, sender=model, dispatch_uid=f"llana.cache.delete.{model._meta.label}")
    user_model = get_user_model()
    post_save.connect(_user_saved, sender=user_model, dispatch_uid="llana.cache.user_saved")
    post_delete.connect(_changed, sender=user_model, dispatch_uid="llana.cache.user_deleted")
    groups = getattr(user_model, "groups", None)
    through = getattr(groups, "through", None)
    if through is not None:
        m2m_changed.connect(_membership_changed, sender=through, dispatch_uid="llana.cache.user_groups")
