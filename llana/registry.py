"""The table registry: which Django models the API exposes, and their columns and relations.

A *table* is a concrete Django model named by its ``db_table``. API column names are database column
names (``field.column``); the registry maps them to ORM attribute names (``field.attname``). Relations
are named by the other table: a model's foreign keys, the foreign keys pointing at it, its many-to-many
fields (both directions), and the manual ``_llana_relation`` rows, in both directions. The first relation
to a table takes the table's name; each further one is named ``<table>:<key>`` (``relation_name()``).

The registry is built once per process and cleared (``clear_registry()``, connected by ``llana.receivers``)
when ``LLANA`` changes or a ``_llana_relation`` row is saved or deleted.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field, replace
from typing import Any, cast

from django.apps import apps
from django.contrib.auth import get_user_model
from django.db import DatabaseError, models

from llana.models import Relation as RelationRow
from llana.settings import llana_settings

logger = logging.getLogger(__name__)

NUMBER_FIELDS = (models.IntegerField, models.FloatField, models.DecimalField, models.AutoField)
STRING_FIELDS = (
    models.CharField,
    models.TextField,
    models.UUIDField,
    models.GenericIPAddressField,
    models.FileField,
    models.FilePathField,
    models.TimeField,
    models.DurationField,
)
# Columns of these kinds accept the pattern operators (like, not_like, search).
TEXT_FIELDS = (models.CharField, models.TextField)


@dataclass(frozen=True)
class Column:
    """One API column: a concrete model field seen by its database column name."""

    name: str  # the DB column name (the API name)
    attname: str  # the ORM attribute (``customer_id`` for the FK column ``custId``)
    field: models.Field
    type: str  # string number boolean date json enum unknown
    nullable: bool
    required: bool
    unique: bool
    primary_key: bool
    foreign_key: bool
    auto: bool
    hidden: bool
    max_length: int | None
    enums: tuple[Any, ...] | None

    @property
    def target(self) -> models.Field:
        """The field that gives the column its values (the referenced field for a foreign key)."""
        return target_field(self.field) if self.foreign_key else self.field

    @property
    def is_text(self) -> bool:
        return isinstance(self.target, TEXT_FIELDS)

    def default(self) -> Any:
        """The field's static default (None for callables and database expressions)."""
        if not self.field.has_default() or callable(self.field.default):
            return None
        value = self.field.default
        return value if isinstance(value, str | int | float | bool | type(None)) else str(value)


@dataclass(frozen=True)
class Relation:
    """A relation seen from ``org_table``: rows of ``table`` whose ``column`` equals ``org_column``; for a
    many-to-many, rows of ``table`` (``column``: its pk) linked to the row (``org_column``: its pk) through
    the link table ``through``, whose ORM lookup from ``table``'s model to ``org_table``'s is ``lookup``."""

    table: str
    column: str
    org_table: str
    org_column: str
    name: str = ""  # the name in ``relations=`` and ``Rel.col``; set by add_relation()
    through: str | None = None
    lookup: str | None = None
    field: str | None = None  # the many-to-many field's name on org_table's model (its forward side)

    def as_dict(self) -> dict[str, str]:
        found = {
            "name": self.name,
            "table": self.table,
            "column": self.column,
            "org_table": self.org_table,
            "org_column": self.org_column,
        }
        if self.through is not None:
            found["through"] = self.through
        return found


@dataclass
class Table:
    """A model exposed by the API, with its columns (ordered) and relations (by related table name)."""

    name: str
    model: type[models.Model]
    pk: Column
    columns: dict[str, Column]  # visible columns, by API name
    hidden: dict[str, Column]  # write-only columns (the user's password)
    relations: dict[str, Relation] = field(default_factory=dict)
    soft_delete: Column | None = None

    def column(self, name: str) -> Column | None:
        return self.columns.get(name)


def related_model(f: models.Field) -> type[models.Model]:
    """The model a relation field points to (resolved once apps are loaded: never the string ``"self"``)."""
    return cast("type[models.Model]", f.related_model)


def target_field(f: models.Field) -> models.Field:
    """The field a foreign key refers to (usually the other model's pk)."""
    return cast(models.ForeignKey, f).target_field


def column_type(f: models.Field) -> str:
    if f.choices:
        return "enum"
    if isinstance(f, models.BooleanField):
        return "boolean"
    if isinstance(f, NUMBER_FIELDS):
        return "number"
    if isinstance(f, models.DateField | models.DateTimeField):
        return "date"
    if isinstance(f, models.JSONField):
        return "json"
    if isinstance(f, STRING_FIELDS):
        return "string"
    return "unknown"


def hidden_attnames(model: type[models.Model]) -> set[str]:
    """Attributes never shown: the user model's password, plus a model's ``LLANA_HIDDEN_FIELDS``."""
    hidden = set(getattr(model, "LLANA_HIDDEN_FIELDS", ()))
    if model is get_user_model():
        hidden.add("password")
    return hidden


def make_column(f: models.Field, hidden: bool) -> Column:
    fk = f.is_relation and f.many_to_one
    value_field = target_field(f) if fk else f
    auto = isinstance(f, models.AutoField) or getattr(f, "db_returning", False)
    has_default = f.has_default() or f.db_default is not models.NOT_PROVIDED
    enums = tuple(value for value, _label in f.flatchoices) if f.choices else None
    return Column(
        name=f.column,
        attname=f.attname,
        field=f,
        type=column_type(value_field) if not f.choices else "enum",
        nullable=f.null,
        required=not (f.null or auto or has_default or (f.blank and f.empty_strings_allowed)),
        unique=bool(f.unique) and not f.primary_key,
        primary_key=f.primary_key,
        foreign_key=bool(fk),
        auto=auto,
        hidden=hidden,
        max_length=f.max_length,
        enums=enums,
    )


def build_table(model: type[models.Model]) -> Table:
    hidden = hidden_attnames(model)
    columns: dict[str, Column] = {}
    hidden_columns: dict[str, Column] = {}
    pk: Column | None = None
    for f in model._meta.concrete_fields:
        col = make_column(f, f.attname in hidden or f.name in hidden)
        (hidden_columns if col.hidden else columns)[col.name] = col
        if f.primary_key:
            pk = col
    assert pk is not None  # every concrete Django model has a pk
    soft = columns.get(llana_settings.SOFT_DELETE_COLUMN) if llana_settings.SOFT_DELETE_COLUMN else None
    if soft is not None and not soft.nullable:
        logger.warning(
            "Table %s: soft-delete column %s is not nullable; hard deletes only", model._meta.db_table, soft.name
        )
        soft = None
    return Table(
        name=model._meta.db_table, model=model, pk=pk, columns=columns, hidden=hidden_columns, soft_delete=soft
    )


def is_project_app(app_config: Any) -> bool:
    """An app of the project itself: not Django's, not installed from a package index."""
    path = str(app_config.path)
    return not (app_config.name.startswith("django.") or "site-packages" in path or "dist-packages" in path)


def default_models() -> list[type[models.Model]]:
    chosen: list[type[models.Model]] = []
    for app_config in apps.get_app_configs():
        if app_config.label == "llana" or is_project_app(app_config):
            chosen.extend(app_config.get_models())
    user = get_user_model()
    if user not in chosen:
        chosen.append(user)
    return chosen


def selected_models() -> list[type[models.Model]]:
    if llana_settings.TABLES is None:
        candidates = default_models()
    else:
        wanted = set(llana_settings.TABLES)
        candidates = [m for m in apps.get_models() if m._meta.db_table in wanted]
    excluded = set(llana_settings.EXCLUDE_TABLES or ())
    return [
        m
        for m in candidates
        if not (m._meta.proxy or m._meta.abstract or m._meta.swapped) and m._meta.db_table not in excluded
    ]


def relation_name(relation: Relation, key: str, taken: dict[str, Relation]) -> str | None:
    """The first relation to a table is named after it (``User``); a further one ``<table>:<key>``, ``key``
    being the foreign key column (``User:recipientId``, in both directions) or, for a many-to-many, the link
    table. None when that name is taken too (a second self-referencing key: logged, not reachable)."""
    for name in (relation.table, f"{relation.table}:{key}"):
        if name not in taken:
            return name
    return None


def add_relation(table: Table, relation: Relation, key: str) -> None:
    if any(replace(r, name="") == relation for r in table.relations.values()):
        return  # a _llana_relation row repeating a foreign key: one relation, not a second name for it
    name = relation_name(relation, key, table.relations)
    if name is None:
        logger.warning("Table %s: relation to %s by %s has no free name; ignored", table.name, relation.table, key)
        return
    table.relations[name] = replace(relation, name=name)


def add_many_to_many(table: Table, parent: Table, f: models.ManyToManyField[Any, Any]) -> None:
    """``table.f`` links ``table`` and ``parent`` both ways through ``f``'s link table. Rows of ``parent``
    are found by ``f``'s reverse query name: without one (``related_name="+"``, a symmetrical self link)
    only the other direction is a relation."""
    through = f.remote_field.through._meta.db_table  # type: ignore[union-attr]
    if not (f.remote_field.related_name or "").endswith("+"):
        add_relation(
            table,
            Relation(
                parent.name,
                parent.pk.name,
                table.name,
                table.pk.name,
                through=through,
                lookup=f.related_query_name(),
                field=f.name,
            ),
            through,
        )
    add_relation(
        parent,
        Relation(table.name, table.pk.name, parent.name, parent.pk.name, through=through, lookup=f.name),
        through,
    )


def manual_relations() -> list[Any]:
    try:
        return list(RelationRow.objects.all())
    except DatabaseError:  # table not migrated yet
        logger.warning("Could not read _llana_relation; manual relations ignored")
        return []


def build_registry() -> dict[str, Table]:
    tables = {m._meta.db_table: build_table(m) for m in selected_models()}
    by_model = {t.model: t for t in tables.values()}
    for table in tables.values():
        for f in table.model._meta.concrete_fields:
            if not (f.is_relation and f.many_to_one):
                continue
            parent = by_model.get(related_model(f))
            if parent is None:
                continue
            target = target_field(f).column
            add_relation(table, Relation(parent.name, target, table.name, f.column), f.column)
            add_relation(parent, Relation(table.name, f.column, parent.name, target), f.column)
        for m2m in table.model._meta.many_to_many:
            other = by_model.get(related_model(m2m))
            if other is not None:
                add_many_to_many(table, other, m2m)
    for row in manual_relations():
        child, parent = tables.get(row.org_table), tables.get(row.table)
        if child is None or parent is None or row.org_column not in child.columns or row.column not in parent.columns:
            logger.warning("Ignoring _llana_relation row %s: unknown table or column", row.pk)
            continue
        add_relation(child, Relation(parent.name, row.column, child.name, row.org_column), row.org_column)
        add_relation(parent, Relation(child.name, row.org_column, parent.name, row.column), row.org_column)
    return tables


_lock = threading.Lock()
_registry: dict[str, Table] | None = None


def registry() -> dict[str, Table]:
    """Every exposed table by name (built on first use, then cached for the process)."""
    global _registry
    current = _registry
    if current is None:
        with _lock:
            if _registry is None:
                _registry = build_registry()
            current = _registry
    return current


SYSTEM_TABLE_PREFIX = "_llana_"


def is_system_table(name: str) -> bool:
    """One of llana's own tables (``_llana_role``, ``_llana_public_tables``, …), left out of ``/tables``."""
    return name.startswith(SYSTEM_TABLE_PREFIX)


def get_table(name: str) -> Table | None:
    return registry().get(name)


def table_for_model(model: type[models.Model]) -> Table | None:
    """The exposed table of ``model`` (None when it is not exposed)."""
    table = registry().get(model._meta.db_table)
    return table if table is not None and table.model is model else None


def clear_registry() -> None:
    """Forget the cached tables (after a ``_llana_relation`` change, or in tests)."""
    global _registry
    with _lock:
        _registry = None
