"""The writer side of the feed: receivers that turn ORM writes into table events, and permission edits
into socket re-checks, and the functions that publish them (one channel-layer message each).

- ``post_save`` (created → ``INSERT``, else ``UPDATE``), ``post_delete`` (``DELETE``) and
  ``llana.signals.soft_deleted`` (``DELETE``, replacing the soft delete's ``UPDATE``) on every table the
  API exposes (``llana.registry``: ``LLANA["TABLES"]``/``EXCLUDE_TABLES``). Any ORM write counts: REST
  API, admin, management commands, application code. ``QuerySet.update()``/``bulk_create()`` send no
  signals and publish nothing.
- The ``TableEvent`` (with the row's owner values) is built at signal time, inside the write, then
  published by ``transaction.on_commit(..., robust=True)``: a rolled-back write publishes nothing and a
  broker outage is logged, never raised into a committed request.
- ``llana.signals.permissions_invalidated`` (sent when a ``Role``, ``PublicTable``, ``Group``, a user's
  group membership or a user's role / ``is_active`` / ``is_superuser`` / soft-delete column changes, on
  commit, or by a manual ``llana.permissions.cache.invalidate()``) publishes ``llana.permissions_changed``, so every
  process re-checks its open sockets (only the sockets of ``users`` when the change concerns those users).
  ``llana.permissions.cache`` owns the list of what counts as a permission change.
- ``publish_table_event(event)`` sends ONE ``llana.table_event`` message to the group
  ``table_group_name(table)``, whichever number of sockets or processes follow the table: each server
  process's manager receives it once and the feed fans it out to its sockets. With the in-memory layer
  (one process) the message is handed to this process's manager directly, without the layer.
"""

from __future__ import annotations

import asyncio
import logging
from functools import partial
from typing import Any

from asgiref.sync import async_to_sync
from django.apps import apps
from django.core.signals import setting_changed
from django.db import models, transaction
from django.db.models.signals import post_delete, post_save

from llana.registry import selected_models
from llana.signals import permissions_invalidated as invalidated
from llana.signals import soft_deleted
from llana_realtime.feed.events import (
    DELETE,
    INSERT,
    PERMISSIONS_CHANGED,
    PERMISSIONS_GROUP,
    TABLE_EVENT,
    UPDATE,
    TableEvent,
    table_group_name,
)
from llana_realtime.feed.namespace import feed
from llana_realtime.settings import realtime_settings
from llana_realtime.socketio.pubsub import cross_process_layer

logger = logging.getLogger(__name__)


# --- publishing --------------------------------------------------------------------------------------


def _send(group: str, message: dict[str, Any]) -> None:
    layer = cross_process_layer()
    if layer is None:
        if feed.server is not None:
            feed.server.manager.receive_threadsafe(message)
        return
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        loop = None
    if loop is not None:  # called from the event loop's own thread: can't block it
        task = loop.create_task(_group_send(layer, group, message))
        task.add_done_callback(_log_failure)
        return
    async_to_sync(_group_send)(layer, group, message)


async def _group_send(layer: Any, group: str, message: dict[str, Any]) -> None:
    # Bounded: a broker that accepts the connection but never answers would hold the committed request forever.
    await asyncio.wait_for(layer.group_send(group, message), realtime_settings.PUBLISH_TIMEOUT / 1000)


def _log_failure(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.error("Could not publish a realtime message: %s", task.exception())


def publish_table_event(event: TableEvent) -> None:
    """Send ``event`` once to every process serving ``event.table`` (sync; never raises: a broker outage is logged)."""
    try:
        _send(table_group_name(event.table), {"type": TABLE_EVENT, **event.to_message()})
    except Exception:
        logger.exception("Could not publish the %s event of table %s to the channel layer", event.type, event.table)


def publish_permissions_changed(users: list[str] | None = None) -> None:
    """Tell every process to re-check its sockets' permissions (only those of ``users``, user pks, when
    given; sync; never raises)."""
    message: dict[str, Any] = {"type": PERMISSIONS_CHANGED}
    if users is not None:
        message["users"] = users
    try:
        _send(PERMISSIONS_GROUP, message)
    except Exception:
        logger.exception("Could not publish a permission change to the channel layer")


# --- receivers ---------------------------------------------------------------------------------------

_tables: dict[type[models.Model], str | None] = {}


def table_of(model: type[models.Model]) -> str | None:
    """The API table name of ``model`` (or of the model a proxy stands for) if the API exposes it, else
    None. No database access."""
    try:
        return _tables[model]
    except KeyError:
        pass
    if not _tables:
        _tables.update({m: m._meta.db_table for m in selected_models()})
    concrete = model._meta.concrete_model
    table = _tables.get(concrete) if concrete is not None and concrete is not model else None
    return _tables.setdefault(model, table)


def _forget_tables(*, setting: str, **kwargs: Any) -> None:
    if setting in ("LLANA", "INSTALLED_APPS", "AUTH_USER_MODEL"):
        _tables.clear()
        _connect_deletes()


def _connect_deletes() -> None:
    """``post_delete`` per exposed model, not for every model: a receiver for a model turns off Django's
    fast (bulk SQL) deletes for it, which unexposed models (sessions, token blacklists) should keep."""
    exposed = set(selected_models())
    for model in apps.get_models():
        if model not in exposed and model._meta.concrete_model not in exposed:
            continue
        post_delete.connect(row_deleted, sender=model, dispatch_uid=f"llana_realtime.row_deleted.{model._meta.label}")


def schedule(event: TableEvent, using: str | None = None) -> None:
    """Publish ``event`` when the current transaction of ``using`` commits (at once in autocommit)."""
    transaction.on_commit(partial(publish_table_event, event), using=using, robust=True)


def _publish(model: type[models.Model], instance: models.Model, kind: str, using: str | None) -> None:
    table = table_of(model)
    if table is None:
        return
    try:
        event = TableEvent.for_instance(instance, kind, table)
    except Exception:  # e.g. the cache backend is down: the write itself must not fail
        logger.exception("Could not build the %s event of table %s", kind, table)
        return
    schedule(event, using)


def row_saved(
    sender: type[models.Model],
    instance: models.Model,
    created: bool = False,
    raw: bool = False,
    using: str | None = None,
    **kwargs: Any,
) -> None:
    if raw or getattr(instance, "_llana_soft_deleted", False):
        return  # fixtures; a soft delete is published by row_soft_deleted as DELETE
    _publish(sender, instance, INSERT if created else UPDATE, using)


def row_deleted(sender: type[models.Model], instance: models.Model, using: str | None = None, **kwargs: Any) -> None:
    _publish(sender, instance, DELETE, using)


def row_soft_deleted(sender: type[models.Model], instance: models.Model, **kwargs: Any) -> None:
    _publish(sender, instance, DELETE, instance._state.db)


# --- permission changes --------------------------------------------------------------------------------


def permissions_invalidated(sender: Any = None, users: list[str] | None = None, **kwargs: Any) -> None:
    """``llana.signals.permissions_invalidated`` → ``llana.permissions_changed`` to every process (after the
    commit when sent inside a transaction; never touches the database otherwise)."""
    if transaction.get_connection().in_atomic_block:
        transaction.on_commit(partial(publish_permissions_changed, users), robust=True)
    else:
        publish_permissions_changed(users)  # never raises


def connect() -> None:
    """Connect every receiver (idempotent: ``dispatch_uid``); called from ``LlanaRealtimeConfig.ready()``."""
    post_save.connect(row_saved, dispatch_uid="llana_realtime.row_saved")
    _connect_deletes()
    soft_deleted.connect(row_soft_deleted, dispatch_uid="llana_realtime.row_soft_deleted")
    setting_changed.connect(_forget_tables, dispatch_uid="llana_realtime.forget_tables")
    invalidated.connect(permissions_invalidated, dispatch_uid="llana_realtime.permissions_invalidated")
