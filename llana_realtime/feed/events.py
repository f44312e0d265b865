"""``TableEvent``: one JSON-safe description of a row change, and the channel-layer messages that carry it.

One ``TableEvent`` is published to the realtime feed per row change (its payload shape is the one a
future webhook sender would reuse).

A ``TableEvent`` names the table, the change (``INSERT``, ``UPDATE``, ``DELETE``), the primary key's
column name and value (as a string, as Llana sends it) and the *owner values* of the row: for each
own-records rule on the table (``_llana_role`` custom rows with ``own_records``), the user pk that owns
the row along that rule's ``identity_column``. Owner values are computed in the writer's process when
the row changes (for a delete, from the row as it was), so a socket server can authorise the event for
each of its sockets without touching the database. They are never sent to clients::

    event = TableEvent.for_instance(customer, INSERT)
    event.payload()      # {"type": "INSERT", "custId": "42"}   (what clients receive)
    event.to_message()   # {"table": "Customer", "event": "INSERT", "pk_name": "custId", "pk": "42",
                         #  "owners": {"user": "7"}}             (msgpack/JSON-safe primitives)

Channel-layer messages (plain primitives, since channels_redis uses msgpack): ``{"type": TABLE_EVENT,
**event.to_message()}`` to the group ``table_group_name(table)`` (one per event), and ``{"type":
PERMISSIONS_CHANGED}`` to ``PERMISSIONS_GROUP`` (one per permission change).
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass, field
from typing import Any

from django.db import DatabaseError, models

from llana.models import Role
from llana.permissions import cache
from llana.permissions.ownership import IdentityColumnError, resolve_owner_path
from llana.settings import llana_settings

logger = logging.getLogger(__name__)

#: Channel-layer message types (``"llana.table_event"`` is handled by ``llana_table_event()``).
TABLE_EVENT = "llana.table_event"
PERMISSIONS_CHANGED = "llana.permissions_changed"
GROUP_PREFIX = "llana_realtime.table."
PERMISSIONS_GROUP = "llana_realtime.permissions"

_GROUP_SAFE = re.compile(r"[^A-Za-z0-9_.-]")


def table_group_name(table: str) -> str:
    """The channel-layer group of ``table``'s events (ASCII ``[A-Za-z0-9_.-]``, under 100 characters)."""
    safe = _GROUP_SAFE.sub("_", table)
    if safe != table or len(safe) > 60:
        digest = hashlib.sha256(table.encode("utf-8")).hexdigest()[:16]
        safe = f"{safe[:40]}.{digest}"
    return GROUP_PREFIX + safe


INSERT = "INSERT"
UPDATE = "UPDATE"
DELETE = "DELETE"
EVENT_TYPES = (INSERT, UPDATE, DELETE)


@dataclass(frozen=True)
class TableEvent:
    """A row of ``table`` was inserted, updated or deleted. ``owners`` maps an owner path (``"user"``,
    ``"customer__user"``, ``"cust_id"``) to the owning user's pk as a string."""

    table: str
    type: str
    pk_name: str
    pk: str
    owners: dict[str, str] = field(default_factory=dict, compare=False)

    def payload(self) -> dict[str, str]:
        """What a client receives (Llana's shape): ``{"type": "UPDATE", "<pk name>": "<pk>"}``."""
        return {"type": self.type, self.pk_name: self.pk}

    def to_message(self) -> dict[str, Any]:
        """Plain primitives for a channel layer (msgpack)."""
        return {
            "table": self.table,
            "event": self.type,
            "pk_name": self.pk_name,
            "pk": self.pk,
            "owners": dict(self.owners),
        }

    @classmethod
    def from_message(cls, message: dict[str, Any]) -> TableEvent:
        """The inverse of ``to_message()``. Raises ``KeyError``/``ValueError`` for a malformed message."""
        kind = message["event"]
        if kind not in EVENT_TYPES:
            raise ValueError(f"unknown table event type {kind!r}")
        owners = message.get("owners") or {}
        return cls(
            table=str(message["table"]),
            type=kind,
            pk_name=str(message["pk_name"]),
            pk=str(message["pk"]),
            owners={str(k): str(v) for k, v in owners.items()},
        )

    @classmethod
    def for_instance(cls, instance: models.Model, kind: str, table: str | None = None) -> TableEvent:
        """The event for a change of ``instance`` (may run owner queries: call it inside the write)."""
        meta = instance._meta
        name = table or meta.db_table
        pk = instance.pk
        return cls(
            table=name,
            type=kind,
            pk_name=meta.pk.column,
            pk="" if pk is None else str(pk),
            owners=owner_values(type(instance), name, instance),
        )


def owner_specs(table: str) -> list[str]:
    """The distinct ``identity_column`` values of the own-records rules on ``table`` (cached with the
    identity cache, so a ``Role`` change is seen at once)."""

    def load() -> list[str]:
        rows = (
            Role.objects.filter(custom=True, table=table)
            .exclude(own_records__isnull=True)
            .exclude(own_records__in=("", "NONE"))
            .values_list("identity_column", flat=True)
        )
        return sorted({(value or "").strip() for value in rows})

    return list(cache.get_or_compute("owner_specs", table, int(llana_settings.CACHE_IDENTITY_DATA_TTL), load))


def owner_values(model: type[models.Model], table: str, instance: models.Model) -> dict[str, str]:
    """``{owner path: owning user pk}`` for ``instance`` under each own-records rule of ``table``.

    A path on the table itself is read from the instance; a path through a relation costs one query.
    A rule whose ``identity_column`` does not resolve is skipped (``llana.permissions`` denies it).
    """
    specs = owner_specs(table)
    if not specs:
        return {}
    owners: dict[str, str] = {}
    for spec in specs:
        try:
            path = resolve_owner_path(model, spec)
        except IdentityColumnError:
            continue
        key = path.key
        if key in owners:
            continue
        value = getattr(instance, path.attname, None)
        if value is not None and path.hop_model is not None:
            related = model._meta.get_field(path.field_name).related_model
            try:
                value = (
                    related._default_manager.filter(pk=value)  # type: ignore[union-attr]
                    .values_list("__".join(path.path[1:]), flat=True)
                    .first()
                )
            except (DatabaseError, ValueError, TypeError):
                logger.warning("Owner of a %s row along %s could not be read", table, spec, exc_info=True)
                value = None
        if value is not None and value != "":
            owners[key] = str(value)
    return owners
