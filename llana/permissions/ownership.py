"""Tables and owners: the model behind a table name, and where a table records a row's owner.

``resolve_owner_path(model, identity_column)`` turns a role's ``identity_column`` (the pk when empty; a
column ``userId``/``user_id``/``user``; a relation path ``customer__user`` or Llana's ``Customer.userId``)
into an ``OwnerPath``: a ``Q`` for querysets and a row check for written rows and realtime events.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from django.apps import apps
from django.contrib.auth import get_user_model
from django.db import models
from django.db.models import Q

from llana.registry import get_table, registry, related_model

SYSTEM_TABLE_PREFIX = "_llana_"


@lru_cache(maxsize=1)
def _models_by_table() -> dict[str, type[models.Model]]:
    found: dict[str, type[models.Model]] = {}
    for model in apps.get_models():
        found.setdefault(model._meta.db_table, model)
    return found


def model_for_table(table: str) -> type[models.Model] | None:
    """The model behind a table name: the registry's exposed table, else any installed model's ``db_table``."""
    exposed = get_table(table)
    if exposed is not None:
        return exposed.model
    return _models_by_table().get(table)


def table_names() -> list[str]:
    """Every table the API exposes (the registry's), sorted."""
    return sorted(registry())


def is_system_table(table: str) -> bool:
    return table.startswith(SYSTEM_TABLE_PREFIX)


def is_user_table(table: str) -> bool:
    return get_user_model()._meta.db_table == table


def find_field(model: type[models.Model], name: str) -> models.Field | None:
    """A concrete field by column name, attribute name or field name (``userId``, ``user_id``, ``user``)."""
    for f in model._meta.concrete_fields:
        if name in (f.column, f.attname, f.name):
            return f
    return None


def same_value(a: Any, b: Any) -> bool:
    """``5 == "5" == 5.0``, but not ``True == 1``: identity values arrive as JSON numbers or strings."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if str(a) == str(b):
        return True
    try:
        return Decimal(str(a)) == Decimal(str(b))
    except (InvalidOperation, ValueError):
        return False


class IdentityColumnError(ValueError):
    """An ``identity_column`` that does not name a column (path) of its table."""


@dataclass(frozen=True)
class OwnerPath:
    """Where a table records its owner: ``path`` is the ORM lookup (``("customer", "user")``),
    ``column`` the table's own column it starts from (``custId``), ``hop_model`` the model the rest of
    the path starts from when it follows a relation (``"demo.Customer"``)."""

    label: str
    path: tuple[str, ...]
    column: str
    attname: str
    field_name: str
    hop_model: str | None = None

    @property
    def key(self) -> str:
        """The ORM lookup as one string (``"customer__user"``): the key of ``TableEvent.owners``."""
        return "__".join(self.path)

    def q(self, user_pk: Any) -> Q:
        return Q(**{self.key: user_pk})

    def value_of(self, row: Mapping[str, Any]) -> Any:
        for key in (self.column, self.attname, self.field_name):
            if key in row:
                value = row[key]
                return getattr(value, "pk", value)
        return None

    def matches(self, row: Mapping[str, Any], user_pk: Any) -> bool:
        """Is ``row`` (API column names) owned by ``user_pk``? One query when the path follows a relation."""
        value = self.value_of(row)
        if value is None or value == "":
            return False
        if self.hop_model is None:
            return same_value(value, user_pk)
        model = apps.get_model(self.hop_model)
        try:
            return model._default_manager.filter(pk=value, **{"__".join(self.path[1:]): user_pk}).exists()
        except (ValueError, TypeError):
            return False


def resolve_owner_path(model: type[models.Model], spec: str | None) -> OwnerPath:
    """``identity_column`` → ``OwnerPath``. Accepts the pk (empty), a column (``userId``/``user_id``/``user``),
    a Django path (``customer__user``) or Llana's dotted form (``Customer.userId``).

    Raises ``IdentityColumnError`` naming the bad segment.
    """
    label = (spec or "").strip()
    if not label:
        pk = model._meta.pk
        return OwnerPath(label=pk.column, path=(pk.name,), column=pk.column, attname=pk.attname, field_name=pk.name)
    segments = [s for s in label.replace(".", "__").split("__") if s]
    path: list[str] = []
    current = model
    first: models.Field | None = None
    hop_model: str | None = None
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        f = find_field(current, segment)
        if f is None and not last:
            # Llana's dotted form names the related *table*: Customer.userId
            f = next(
                (
                    r
                    for r in current._meta.concrete_fields
                    if r.is_relation and r.related_model is not None and related_model(r)._meta.db_table == segment
                ),
                None,
            )
        if f is None:
            raise IdentityColumnError(
                f"identity_column {label!r}: {segment!r} is not a column of {current._meta.db_table}"
            )
        if not last and not (f.is_relation and f.related_model is not None):
            raise IdentityColumnError(
                f"identity_column {label!r}: {segment!r} is not a relation of {current._meta.db_table}"
            )
        if first is None:
            first = f
            if not last:
                hop_model = related_model(f)._meta.label
        path.append(f.name)
        if not last:
            current = related_model(f)
    assert first is not None
    return OwnerPath(
        label=label,
        path=tuple(path),
        column=first.column,
        attname=first.attname,
        field_name=first.name,
        hop_model=hop_model,
    )
