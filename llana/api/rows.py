"""Reading rows: the visible queryset of a table, output columns, and relations loaded without N+1.

Relations are loaded with one query per relation per request (never per row): the related rows whose
join column is in the parents' values, numbered per parent with ``ROW_NUMBER()`` so that at most
``DEFAULT_RELATIONS_LIMIT`` rows are attached to each parent.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import F, QuerySet, Window
from django.db.models.functions import RowNumber

from llana.api.convert import RowBuilder
from llana.api.query import Selection, column_visible
from llana.exceptions import BadRequest, Forbidden
from llana.permissions.engine import Decision
from llana.registry import Column, Relation, Table, get_table
from llana.settings import llana_settings

logger = logging.getLogger(__name__)


def visible_queryset(table: Table, decision: Decision | None) -> QuerySet[Any]:
    """The table's rows the caller may see: soft-deleted rows hidden, the decision's restriction applied."""
    qs = table.model._default_manager.all()
    if table.soft_delete is not None:
        qs = qs.filter(**{f"{table.soft_delete.attname}__isnull": True})
    if decision is not None and decision.restriction is not None:
        qs = qs.filter(decision.restriction)
    return qs


def allowed_columns(table: Table, decision: Decision, wanted: Sequence[Column] | None) -> list[Column]:
    """The requested columns (all when None) cut to the decision's fields; the pk is always allowed."""
    columns = list(table.columns.values()) if wanted is None else list(wanted)
    return [c for c in columns if column_visible(c, decision.fields)]


class RelationPlan:
    """How to attach one relation to parent rows: its related table, columns and decision
    (``read_decision(table)``: the caller's READ decision on a table)."""

    def __init__(
        self,
        table: Table,
        name: str,
        wanted: list[str] | None,
        read_decision: Callable[[str], Decision],
        parent_fields: frozenset[str] | None = None,
    ) -> None:
        self.name = name
        self.relation = table.relations[name]
        related = get_table(self.relation.table)
        if related is None:  # pragma: no cover - relations only name registered tables
            raise BadRequest(f"Relation {name} not found in table schema for {table.name}")
        self.related = related
        decision = read_decision(related.name)
        if not decision.allowed:
            raise Forbidden(f"Relation {name} is not permitted: {decision.message}")
        self.decision = decision
        self.join = related.columns[self.relation.column]
        self.org_column = table.columns[self.relation.org_column]
        # The related rows are grouped by the parent value they match: the join column, or for a
        # many-to-many the parent's pk reached through the link table (``relation.lookup``).
        self.key_column = self.org_column if self.relation.lookup is not None else self.join
        self.key_path = self.relation.lookup or self.join.attname
        # The related rows show the join value (their pk, their place under a parent): a join column the
        # caller may not see, on either side, refuses the relation (``docs/rest-api.md``, "Permissions").
        if not column_visible(self.org_column, parent_fields):
            raise Forbidden(f"Relation {name} is not permitted: column {self.org_column.name} is not permitted")
        if not column_visible(self.join, decision.fields):
            raise Forbidden(f"Relation {name} is not permitted: column {name}.{self.join.name} is not permitted")
        columns: list[Column] | None = None
        if wanted is not None:
            columns = []
            for col in wanted:
                column = related.column(col)
                if column is None:
                    raise BadRequest(f"Field {name}.{col} not found in table schema for {related.name}")
                if not column_visible(column, decision.fields):
                    raise Forbidden(f"Field {name}.{col} is not permitted")
                columns.append(column)
        self.columns = allowed_columns(related, decision, columns)
        # The parent's field list may name related columns (``User.email``): then only those.
        prefix = name + "."
        named = {f[len(prefix) :] for f in parent_fields or () if f.startswith(prefix)}
        if named:
            self.columns = [c for c in self.columns if c.name in named or c.primary_key]
        self.build = RowBuilder(self.columns)

    def keys(self, values: Iterable[Any]) -> list[Any]:
        """Parent join values usable against the related column (others can match nothing)."""
        keys: dict[str, Any] = {}
        for value in values:
            if value is None:
                continue
            try:
                keys.setdefault(str(value), self.key_column.target.to_python(value))
            except (ValidationError, ValueError, TypeError):
                continue
        return list(keys.values())

    def load(self, parent_values: Iterable[Any]) -> dict[str, list[dict[str, Any]]]:
        """Related rows grouped by ``str(join value)``; one query."""
        keys = self.keys(parent_values)
        if not keys:
            return {}
        pk = self.related.pk.attname
        qs = (
            visible_queryset(self.related, self.decision)
            .filter(**{f"{self.key_path}__in": keys})
            .annotate(_llana_rank=Window(RowNumber(), partition_by=[F(self.key_path)], order_by=F(pk).asc()))
            .filter(_llana_rank__lte=int(llana_settings.DEFAULT_RELATIONS_LIMIT))
            .order_by(pk)
        )
        attnames = [c.attname for c in self.columns]
        if self.key_path in attnames:  # values_list() drops repeated names
            at = attnames.index(self.key_path)
        else:
            at = len(attnames)
            attnames.append(self.key_path)
        groups: dict[str, list[dict[str, Any]]] = {}
        for values in qs.values_list(*attnames):
            groups.setdefault(str(values[at]), []).append(self.build(values))
        return groups


def followable_relations(table: Table, decision: Decision, read_decision: Callable[[str], Decision]) -> list[Relation]:
    """The relations of ``table`` the caller may follow: the related table is readable and both join columns
    are visible (``RelationPlan`` refuses the others); what ``/T/schema`` lists."""
    found = []
    for relation in table.relations.values():
        related = get_table(relation.table)
        org_column = table.columns.get(relation.org_column)
        if related is None or org_column is None or not column_visible(org_column, decision.fields):
            continue
        related_decision = read_decision(related.name)
        join = related.columns.get(relation.column)
        if related_decision.allowed and join is not None and column_visible(join, related_decision.fields):
            found.append(relation)
    return found


def relation_plans(
    table: Table,
    selection: Selection,
    read_decision: Callable[[str], Decision],
    parent_fields: frozenset[str] | None = None,
) -> list[RelationPlan]:
    """One plan per selected relation; each related table gets its own READ decision (403 if refused)."""
    return [
        RelationPlan(table, name, wanted, read_decision, parent_fields) for name, wanted in selection.relations.items()
    ]


def fetch_rows(qs: QuerySet[Any], columns: Sequence[Column], plans: Sequence[RelationPlan]) -> list[dict[str, Any]]:
    """Rows of ``qs`` as API dicts of ``columns``, each relation of ``plans`` attached as an array."""
    extra = [p.org_column for p in plans if p.org_column not in columns]
    fetched = [*columns, *dict.fromkeys(extra)]
    index = {c.name: i for i, c in enumerate(fetched)}
    raw = list(qs.values_list(*[c.attname for c in fetched]))
    build = RowBuilder(columns)
    rows = [build(values) for values in raw]
    for plan in plans:
        i = index[plan.org_column.name]
        groups = plan.load(values[i] for values in raw)
        for row, values in zip(rows, raw, strict=True):
            row[plan.name] = groups.get(str(values[i]), []) if values[i] is not None else []
    return rows
