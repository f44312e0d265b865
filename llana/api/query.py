"""Llana's query language (``docs/rest-api.md``), parsed and validated into ORM terms.

``fields=a,b,Rel.col`` · ``relations=Rel,Other`` · ``col[op]=value`` filters · ``sort=a.asc,b.desc`` ·
``limit``/``offset``/``page``. Every problem is a ``BadRequest`` naming the parameter; columns the caller
may not see (the permission decision's ``fields``) are a ``Forbidden``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db.models import F, Lookup, Q
from django.http import QueryDict

from llana.api.convert import parse_query_value
from llana.api.pagination import parse_pagination
from llana.auth.credentials import api_key_query_parameter
from llana.exceptions import BadRequest, Forbidden
from llana.registry import Column, Table

RESERVED = frozenset({"fields", "limit", "offset", "sort", "page", "relations", "join", "hard", "_"})
OPERATORS = (
    "equals",
    "not_equals",
    "lt",
    "lte",
    "gt",
    "gte",
    "like",
    "not_like",
    "in",
    "not_in",
    "null",
    "not_null",
    "search",
)
PATTERN_OPERATORS = {"like", "not_like", "search"}
BINARY_OPERATORS = {"null", "not_null"}
JSON_OPERATORS = {"equals", "not_equals", "null", "not_null"}


class Like(Lookup):
    """Case-insensitive SQL ``LIKE`` with ``!`` as escape character (portable: SQLite, PostgreSQL, MariaDB)."""

    lookup_name = "llana_like"
    prepare_rhs = False

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        lhs_sql, lhs_params = self.process_lhs(compiler, connection)
        rhs_sql, rhs_params = self.process_rhs(compiler, connection)
        return f"UPPER({lhs_sql}) LIKE UPPER({rhs_sql}) ESCAPE '!'", [*lhs_params, *rhs_params]


def like_pattern(text: str) -> str:
    """A Llana ``like`` value (``%`` any run, ``_`` one character, ``\\`` escapes) as a ``!``-escaped LIKE pattern."""
    out: list[str] = []
    escaped = False
    for char in text:
        if escaped:
            out.append("!" + char if char in "%_!" else char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "!":
            out.append("!!")
        else:
            out.append(char)
    if escaped:
        out.append("\\")
    return "".join(out)


def reserved_params() -> frozenset[str]:
    """Query parameters that are never filters (plus the API key's name when it travels in the query)."""
    api_key = api_key_query_parameter()
    return RESERVED | {api_key} if api_key else RESERVED


def single_values(params: QueryDict) -> dict[str, str]:
    """The query parameters as a dict; a repeated key is a 400 naming it."""
    values: dict[str, str] = {}
    for key, items in params.lists():
        if len(items) > 1:
            raise BadRequest(f"Parameter {key} given more than once")
        values[key] = items[0]
    return values


def split_list(value: str | None) -> list[str]:
    return [item.strip() for item in (value or "").split(",") if item.strip()]


def column_visible(column: Column, fields: frozenset[str] | None) -> bool:
    """May the caller see ``column``, given its decision's ``fields`` (None: every column)? The pk always."""
    return fields is None or column.name in fields or column.primary_key


@dataclass
class Selection:
    """What to return: the table's columns, and per relation the related columns (None = all)."""

    columns: list[Column] | None = None  # None = every visible column
    relations: dict[str, list[str] | None] = field(default_factory=dict)


def parse_fields(table: Table, raw: str | None) -> Selection:
    """``fields=a,b,Rel.col``. Unknown column or relation → 400 naming it."""
    selection = Selection()
    columns: list[Column] = []
    for item in split_list(raw):
        if "." in item:
            rel_name, _, col = item.partition(".")
            if rel_name not in table.relations or not col or "." in col:
                raise BadRequest(f"Field {item} not found in table schema for {table.name}")
            wanted = selection.relations.setdefault(rel_name, [])
            if wanted is not None and col not in wanted:
                wanted.append(col)
            continue
        column = table.column(item)
        if column is None:
            raise BadRequest(f"Field {item} not found in table schema for {table.name}")
        if column not in columns:
            columns.append(column)
    if columns:
        selection.columns = columns
    elif selection.relations:
        selection.columns = []  # only related columns were asked for
    return selection


def parse_relations(table: Table, raw: str | None, selection: Selection) -> None:
    """``relations=A,B``: adds every related table (all its columns unless ``fields`` chose some)."""
    for name in split_list(raw):
        if name not in table.relations:
            raise BadRequest(f"Relation {name} not found in table schema for {table.name}")
        selection.relations.setdefault(name, None)


def parse_key(key: str) -> tuple[str, str]:
    """``col[op]`` → ``(col, op)``; no bracket → ``equals``."""
    if "[" not in key:
        return key, "equals"
    name, _, rest = key.partition("[")
    if not rest.endswith("]") or "[" in rest or "]" in rest[:-1]:
        raise BadRequest(f"Invalid filter parameter {key}: use column[operator]=value")
    return name, rest[:-1]


def filter_q(column: Column, operator: str, value: str) -> Q:
    att = column.attname
    if operator == "null":
        return Q(**{f"{att}__isnull": True})
    if operator == "not_null":
        return Q(**{f"{att}__isnull": False})
    if operator in ("in", "not_in"):
        items = [parse_query_value(column, item.strip()) for item in value.split(",")]
        q = Q(**{f"{att}__in": items})
        return Q(**{f"{att}__isnull": False}) & ~q if operator == "not_in" else q
    if operator in ("like", "not_like"):
        parse_query_value(column, value)  # NUL check
        q = Q(Like(F(att), like_pattern(value)))
        return Q(**{f"{att}__isnull": False}) & ~q if operator == "not_like" else q
    if operator == "search":
        parse_query_value(column, value)
        return Q(**{f"{att}__icontains": value})
    parsed = parse_query_value(column, value)
    if operator == "equals":
        return Q(**{f"{att}__isnull": True}) if parsed is None else Q(**{att: parsed})
    if operator == "not_equals":
        return Q(**{f"{att}__isnull": False}) & ~Q(**{att: parsed})
    return Q(**{f"{att}__{operator}": parsed})


def parse_filters(table: Table, params: Mapping[str, str], allowed: frozenset[str] | None) -> Q:
    """Every non-reserved parameter as an AND-ed filter. Unknown column/operator or bad value → 400."""
    reserved = reserved_params()
    q = Q()
    for key, value in params.items():
        if not key or key in reserved:
            continue
        name, operator = parse_key(key)
        column = table.column(name)
        if column is None:
            raise BadRequest(f"Column {name} not found in schema (parameter {key})")
        if not column_visible(column, allowed):
            raise Forbidden(f"Column {name} is not permitted (parameter {key})")
        if operator not in OPERATORS:
            raise BadRequest(f"Unknown operator {operator} in parameter {key}; use one of {', '.join(OPERATORS)}")
        if (
            (operator in PATTERN_OPERATORS and not column.is_text)
            or (column.type == "json" and operator not in JSON_OPERATORS)
            or (column.target.get_internal_type() == "BinaryField" and operator not in BINARY_OPERATORS)
        ):
            raise BadRequest(f"Operator {operator} is not supported on column {name} (parameter {key})")
        try:
            q &= filter_q(column, operator, value)
        except ValueError as error:
            raise BadRequest(f"{error} (parameter {key})") from None
    return q


def parse_sort(table: Table, raw: str | None, allowed: frozenset[str] | None) -> list[str]:
    """``sort=a.asc,b.desc`` → ORM ordering, ending with the pk as tiebreaker."""
    order: list[str] = []
    for item in split_list(raw):
        name, dot, direction = item.rpartition(".")
        if not dot:
            raise BadRequest(f"Invalid order param {item}, missing direction, must be either {item}.asc or {item}.desc")
        if direction.lower() not in ("asc", "desc"):
            raise BadRequest(f"Invalid sort direction in {item}, must be either {name}.asc or {name}.desc")
        column = table.column(name)
        if column is None:
            raise BadRequest(f"Invalid sort column in {item}: column {name} not found in schema")
        if not column_visible(column, allowed):
            raise Forbidden(f"Column {name} is not permitted (sort)")
        order.append(("-" if direction.lower() == "desc" else "") + column.attname)
    if not any(o.lstrip("-") == table.pk.attname for o in order):
        order.append(table.pk.attname)
    return order


@dataclass
class ListQuery:
    selection: Selection
    filters: Q
    order_by: list[str]
    limit: int
    offset: int


def parse_list_query(table: Table, query: QueryDict, allowed: frozenset[str] | None) -> ListQuery:
    """The whole query string of a list request."""
    params = single_values(query)
    limit, offset = parse_pagination(params.get("limit"), params.get("offset"), params.get("page"))
    selection = parse_fields(table, params.get("fields"))
    parse_relations(table, params.get("relations"), selection)
    filters = parse_filters(table, params, allowed)
    order_by = parse_sort(table, params.get("sort"), allowed)
    return ListQuery(selection, filters, order_by, limit, offset)


def parse_one_query(table: Table, query: QueryDict) -> Selection:
    """The query string of a get-one request: only ``fields`` and ``relations`` apply."""
    params = single_values(query)
    selection = parse_fields(table, params.get("fields"))
    parse_relations(table, params.get("relations"), selection)
    return selection
