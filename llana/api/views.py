"""The REST endpoints: ``TableViewSet`` (list, get, schema, create, update, delete over any table) and ``TablesView``.

Every request is authenticated once (``llana.auth.authentication.LlanaAuthentication``: the caller's
``Identity`` is ``request.auth``); every endpoint then asks the permission policy
(``LLANA["PERMISSION_POLICY"]``, one instance per request) for its decision and applies its restriction
and fields. Response shapes and errors (``llana.exceptions``) are Llana's: ``docs/rest-api.md``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any, cast

from django.db import DatabaseError, models
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.parsers import BaseParser
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from llana.api.convert import instance_row, instance_values
from llana.api.pagination import pagination
from llana.api.parsers import LlanaJSONParser
from llana.api.query import parse_list_query, parse_one_query, single_values
from llana.api.rows import allowed_columns, fetch_rows, followable_relations, relation_plans, visible_queryset
from llana.api.writes import (
    apply_item,
    check_item,
    check_own_password_change,
    delete,
    find,
    parse_pk,
    save,
    split_current_password,
)
from llana.auth.authentication import LlanaAuthentication
from llana.auth.credentials import MISSING_TOKEN_MESSAGE
from llana.auth.identities import Identity
from llana.exceptions import (
    BadRequest,
    LlanaError,
    RecordNotFound,
    TableNotFound,
    denied,
    exception_handler,
)
from llana.permissions.engine import Decision, Level
from llana.registry import Table, get_table, is_system_table, registry
from llana.settings import llana_settings

logger = logging.getLogger(__name__)


class JSONOnlyNegotiation(BaseContentNegotiation):
    """JSON in and out, whatever ``Content-Type`` and ``Accept`` say (errors included)."""

    def select_parser(self, request: Request, parsers: Iterable[BaseParser]) -> BaseParser | None:
        return next(iter(parsers))  # bodies are JSON whatever the Content-Type says

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        renderer = next(iter(renderers))
        return renderer, renderer.media_type


class LlanaAPIView(APIView):
    """Common configuration: authenticated once by ``LlanaAuthentication`` (``request.auth`` is the caller's
    ``Identity``), decided by one ``PERMISSION_POLICY`` instance per request, no DRF permissions, JSON only."""

    authentication_classes = [LlanaAuthentication]
    permission_classes: list[Any] = []
    renderer_classes = [JSONRenderer]
    parser_classes = [LlanaJSONParser]
    content_negotiation_class = JSONOnlyNegotiation

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        self.policy = llana_settings.PERMISSION_POLICY()
        super().initial(request, *args, **kwargs)

    @property
    def identity(self) -> Identity:
        """The caller, as authenticated for this request."""
        return cast(Identity, self.request.auth)

    def decision(self, table: str, level: Level, data: Any = None) -> Decision:
        """The policy's decision for the caller on ``table`` (a refusal is returned, not raised)."""
        return self.policy.decide(self.identity, table, level, data)

    def read_decision(self, table: str) -> Decision:
        return self.decision(table, Level.READ)

    def decide(self, table: str, level: Level, data: Any = None) -> Decision:
        """The policy's decision for the caller on ``table``; a refusal raises 401/403 with its message."""
        decision = self.decision(table, level, data)
        if not decision.allowed:
            raise denied(decision.status_code, decision.message)
        return decision

    def require_user(self) -> Any:
        """The authenticated user; raises 401 (or 403 for a failed CSRF check) with the reason otherwise."""
        if self.identity.is_anonymous:
            raise denied(*(self.identity.error or (401, MISSING_TOKEN_MESSAGE)))
        return self.request.user

    def get_exception_handler(self) -> Any:
        return exception_handler

    def request_id(self) -> dict[str, str]:
        value = self.request.headers.get("x-request-id")
        return {"_x_request_id": value} if value is not None else {}


class TablesView(LlanaAPIView):
    """``GET /tables``: the data tables the caller may read (authenticated callers or ``SKIP_AUTH``); the
    ``_llana_*`` system tables are left out, as in Llana, and stay reachable by name."""

    def get(self, request: Request) -> Response:
        if not self.identity.skip_auth:
            self.require_user()
        names = [
            name for name in sorted(registry()) if not is_system_table(name) and self.decision(name, Level.READ).allowed
        ]
        return Response({"tables": names, **self.request_id()})


# A bulk report echoes client text (unknown column names, rejected values): each piece is cut to this many
# characters and at most REPORT_FIELDS columns are listed, so a report stays within MAX_BULK_ITEMS entries
# of a few KB each (``[1,1,…]`` of 2 MB once produced an 82 MB report).
REPORT_TEXT_CHARS = 200
REPORT_FIELDS = 20


def cut(text: str) -> str:
    return text if len(text) <= REPORT_TEXT_CHARS else text[: REPORT_TEXT_CHARS - 1] + "…"


def item_error(index: int, error: LlanaError) -> dict[str, Any]:
    entry: dict[str, Any] = {"item": index, "message": cut(error.message), "error": error.default_code}
    if error.errors:
        fields = list(error.errors.items())[:REPORT_FIELDS]
        entry["errors"] = {cut(str(key)): [cut(str(m)) for m in messages[:5]] for key, messages in fields}
    return entry


def check_bulk_length(items: Sequence[Any]) -> None:
    """400 for a bulk array longer than ``LLANA["MAX_BULK_ITEMS"]`` (before any item is handled)."""
    limit = int(llana_settings.MAX_BULK_ITEMS)
    if len(items) > limit:
        raise BadRequest(f"Body: at most {limit} items per bulk request (LLANA['MAX_BULK_ITEMS']), got {len(items)}")


class TableViewSet(LlanaAPIView, viewsets.ViewSet):
    """Llana's endpoints over one table, named in the URL (``/<table>/...``)."""

    lookup_field = "pk"
    lookup_value_regex = "[^/]+"
    table: Table

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        name = kwargs.get("table", "")
        table = get_table(name)
        if table is None:
            raise TableNotFound(name)
        self.table = table

    # --- reads --------------------------------------------------------------------------------------

    def list(self, request: Request, table: str) -> Response:
        decision = self.decide(self.table.name, Level.READ)
        query = parse_list_query(self.table, request.query_params, decision.fields)
        columns = allowed_columns(self.table, decision, query.selection.columns)
        plans = relation_plans(self.table, query.selection, self.read_decision, decision.fields)
        qs = visible_queryset(self.table, decision).filter(query.filters)
        try:
            total = qs.count()
            page = qs.order_by(*query.order_by)[query.offset : query.offset + query.limit]
            data = fetch_rows(page, columns, plans)
        except DatabaseError:
            logger.exception("Database error listing table %s", self.table.name)
            raise BadRequest("Error finding records") from None
        return Response(
            {
                "limit": query.limit,
                "offset": query.offset,
                "total": total,
                "pagination": pagination(query.limit, query.offset, total, len(data)),
                "data": data,
                **self.request_id(),
            }
        )

    def retrieve(self, request: Request, table: str, pk: str) -> Response:
        decision = self.decide(self.table.name, Level.READ)
        selection = parse_one_query(self.table, request.query_params)
        pk_value = parse_pk(self.table, pk)
        columns = allowed_columns(self.table, decision, selection.columns)
        plans = relation_plans(self.table, selection, self.read_decision, decision.fields)
        try:
            rows = fetch_rows(visible_queryset(self.table, decision).filter(pk=pk_value)[:1], columns, plans)
        except DatabaseError:
            logger.exception("Database error reading table %s", self.table.name)
            raise BadRequest("Error finding record") from None
        if not rows:
            raise RecordNotFound(pk)
        return Response({**rows[0], **self.request_id()})

    @action(detail=False, methods=["get"])
    def schema(self, request: Request, table: str) -> Response:
        decision = self.decide(self.table.name, Level.READ)
        columns = allowed_columns(self.table, decision, None)
        if self.table.hidden and self.decision(self.table.name, Level.WRITE).allowed:
            columns += self.table.hidden.values()  # write-only: a schema-driven form can set the password
        return Response(
            {
                "table": self.table.name,
                "primary_key": self.table.pk.name,
                "columns": [column_schema(c) for c in columns],
                "relations": [r.as_dict() for r in followable_relations(self.table, decision, self.read_decision)],
                **self.request_id(),
            }
        )

    # --- create -------------------------------------------------------------------------------------

    def create_item(self, item: Any) -> dict[str, Any]:
        item = check_item(self.table, item)
        decision = self.decide(self.table.name, Level.WRITE, data=item)
        instance = self.table.model()
        errors = apply_item(self.table, instance, item, creating=True)
        save(self.table, instance, True, errors)
        if any(f.db_default is not models.NOT_PROVIDED for f in self.table.model._meta.concrete_fields):
            instance.refresh_from_db()  # values computed by the database
        return instance_row(instance, allowed_columns(self.table, decision, None))

    def create(self, request: Request, table: str) -> Response:
        body = request.data
        if isinstance(body, list):
            self.decide(self.table.name, Level.WRITE)
            report = self.bulk(body, self.create_item)
            return Response({**report, **self.request_id()}, status=201)
        if not isinstance(body, dict):
            raise BadRequest("Body must be a JSON object or an array of objects")
        return Response({**self.create_item(body), **self.request_id()}, status=201)

    # --- update -------------------------------------------------------------------------------------

    def update_item(self, pk: Any, item: Any, restriction_decision: Any) -> dict[str, Any]:
        item, current_password = split_current_password(self.table, item)
        item = check_item(self.table, item)
        pk_value = parse_pk(self.table, pk)
        instance = find(self.table, visible_queryset(self.table, restriction_decision), pk_value)
        check_own_password_change(self.table, instance, item, self.request.user, current_password)
        columns = list(self.table.columns.values())
        stored = dict(zip([c.name for c in columns], instance_values(instance, columns), strict=True))
        decision = self.decide(self.table.name, Level.WRITE, data={**stored, **item})
        errors = apply_item(self.table, instance, item, creating=False)
        save(self.table, instance, False, errors)
        return instance_row(instance, allowed_columns(self.table, decision, None))

    def update(self, request: Request, table: str, pk: str) -> Response:
        decision = self.decide(self.table.name, Level.WRITE)
        if not isinstance(request.data, dict):
            raise BadRequest("Body must be a JSON object")
        return Response({**self.update_item(pk, request.data, decision), **self.request_id()})

    partial_update = update

    def update_many(self, request: Request, table: str) -> Response:
        decision = self.decide(self.table.name, Level.WRITE)
        body = request.data
        if not isinstance(body, list):
            raise BadRequest("Body must be an array")
        pk_name = self.table.pk.name

        def one(item: Any) -> dict[str, Any]:
            if not isinstance(item, dict) or item.get(pk_name) is None:
                raise BadRequest(f"Each item must be an object carrying its primary key {pk_name}")
            return self.update_item(item[pk_name], item, decision)

        return Response({**self.bulk(body, one), **self.request_id()})

    # --- delete -------------------------------------------------------------------------------------

    def hard(self) -> bool:
        return bool(single_values(self.request.query_params).get("hard", ""))

    def delete_item(self, pk: Any, decision: Any, hard: bool) -> None:
        pk_value = parse_pk(self.table, pk)
        instance = find(self.table, visible_queryset(self.table, decision), pk_value)
        delete(self.table, instance, hard)

    def destroy(self, request: Request, table: str, pk: str) -> Response:
        decision = self.decide(self.table.name, Level.DELETE)
        self.delete_item(pk, decision, self.hard())
        return Response({"deleted": 1, **self.request_id()})

    def destroy_many(self, request: Request, table: str) -> Response:
        decision = self.decide(self.table.name, Level.DELETE)
        hard = self.hard()
        body = request.data
        if not isinstance(body, list):
            raise BadRequest("Body must be an array")
        pk_name = self.table.pk.name

        def one(item: Any) -> None:
            pk = item.get(pk_name) if isinstance(item, dict) else item
            if pk is None or isinstance(pk, dict | list):
                raise BadRequest(f"Each item must be an object carrying its primary key {pk_name}")
            self.delete_item(pk, decision, hard)

        report = self.bulk(body, one)
        report.pop("data")
        report["deleted"] = report.pop("successful")
        return Response({key: report[key] for key in ("total", "deleted", "errored", "errors")} | self.request_id())

    # --- helpers ------------------------------------------------------------------------------------

    def bulk(self, items: Sequence[Any], handle: Any) -> dict[str, Any]:  # not list[]: the class has a list()
        """Run ``handle`` per item (each in its own transaction); errors are reported, not raised."""
        check_bulk_length(items)
        data: list[Any] = []
        errors: list[dict[str, Any]] = []
        for index, item in enumerate(items):
            try:
                result = handle(item)
            except LlanaError as error:
                errors.append(item_error(index, error))
                continue
            if result is not None:
                data.append(result)
        successful = len(items) - len(errors)
        return {"total": len(items), "successful": successful, "errored": len(errors), "errors": errors, "data": data}


def column_schema(column: Any) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "field": column.name,
        "type": column.type,
        "nullable": column.nullable,
        "required": column.required,
        "primary_key": column.primary_key,
        "unique_key": column.unique,
        "foreign_key": column.foreign_key,
        "default": column.default(),
        "extra": "auto_increment" if column.auto else "",
        "write_only": column.hidden,
    }
    if column.max_length is not None:
        schema["max_length"] = column.max_length
    if column.enums is not None:
        schema["enums"] = list(column.enums)
    return schema
