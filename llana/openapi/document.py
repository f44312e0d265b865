"""The OpenAPI 3.1 document of the API, built from the table registry (``docs/rest-api.md``).

Every exposed table gets ``/T/`` (list, create, update many, delete many), ``/T/{id}`` (get, update,
delete) and ``/T/schema``, with a row schema ``T`` and an input schema ``T_input`` made from its
columns; plus ``/tables`` and the ``/auth/*`` endpoints, and the ``bearerAuth`` (JWT) and
``apiKeyAuth`` security schemes. drf-spectacular is not used: the API has one viewset for every
table, so the per-table paths and schemas only exist in the registry.

The document describes what its reader may read (``build_document(read=...)``): a table the caller's
``READ`` decision refuses is left out entirely (its name, paths, schemas and the relations naming it),
and a described table shows only the columns of the decision's ``fields`` (plus the pk). So an anonymous
reader sees the public tables only, and the system tables (``_llana_*``) appear only to callers who may
read them (``docs/security.md``, "Data exposure").
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.db import models

from llana.api.query import OPERATORS, column_visible
from llana.permissions.engine import Decision
from llana.registry import Column, Table, registry, related_model
from llana.settings import llana_settings

OPENAPI_VERSION = "3.1.0"
ERROR_RESPONSES = {
    "400": "Bad input: the message names the parameter or field.",
    "401": "Missing or invalid credentials.",
    "403": "Not permitted for your role.",
    "404": "Unknown table or row.",
}


SOURCE_PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"
PROJECT_VERSION = re.compile(
    r'^\[project\][^\[]*?^name\s*=\s*"django-llana"[^\[]*?^version\s*=\s*"([^"]+)"', re.MULTILINE | re.DOTALL
)


@cache
def api_version() -> str:
    """The installed django-llana version; from a source tree, the ``version`` of its ``pyproject.toml``.

    ``dev`` only when neither is found (a copied ``llana`` package without its checkout).
    """
    try:
        return version("django-llana")
    except PackageNotFoundError:
        pass
    try:
        match = PROJECT_VERSION.search(SOURCE_PYPROJECT.read_text(encoding="utf-8"))
    except OSError:
        match = None
    return match.group(1) if match else "dev"


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def json_body(schema: dict[str, Any], description: str = "") -> dict[str, Any]:
    body: dict[str, Any] = {"content": {"application/json": {"schema": schema}}}
    if description:
        body["description"] = description
    return body


def column_schema(column: Column) -> dict[str, Any]:
    """JSON Schema of one column's values, as the API reads and writes them (``llana.api.convert``)."""
    target = column.target
    schema: dict[str, Any]
    if isinstance(target, models.BooleanField):
        schema = {"type": "boolean"}
    elif isinstance(target, models.AutoField | models.IntegerField):
        schema = {"type": "integer"}
    elif isinstance(target, models.DecimalField | models.FloatField):
        schema = {"type": "number"}
    elif isinstance(target, models.DateTimeField):
        schema = {"type": "string", "format": "date-time"}
    elif isinstance(target, models.DateField):
        schema = {"type": "string", "format": "date"}
    elif isinstance(target, models.TimeField):
        schema = {"type": "string", "format": "time"}
    elif isinstance(target, models.JSONField):
        schema = {}
    elif isinstance(target, models.BinaryField):
        schema = {"type": "string", "contentEncoding": "base64"}
    else:
        schema = {"type": "string"}
        if isinstance(target, models.EmailField):
            schema["format"] = "email"
        elif isinstance(target, models.UUIDField):
            schema["format"] = "uuid"
    if column.enums:
        schema["enum"] = list(column.enums)
    if column.max_length and schema.get("type") == "string":
        schema["maxLength"] = column.max_length
    if column.nullable and "type" in schema:
        schema["type"] = [schema["type"], "null"]
        if "enum" in schema:
            schema["enum"].append(None)
    default = column.default()
    if default is not None:
        schema["default"] = default
    notes = []
    if column.primary_key:
        notes.append("Primary key.")
    if column.foreign_key:
        related = related_model(column.field)._meta.db_table
        notes.append(f"References {related}.{column.target.column}.")
    if column.unique:
        notes.append("Unique.")
    if notes:
        schema["description"] = " ".join(notes)
    return schema


def row_schema(table: Table) -> dict[str, Any]:
    properties = {}
    for column in table.columns.values():
        schema = column_schema(column)
        if column.auto:
            schema["readOnly"] = True
        properties[column.name] = schema
    return {
        "type": "object",
        "title": table.name,
        "properties": properties,
        "additionalProperties": True,
        "description": f"A {table.name} row (related rows appear as arrays named after their table "
        "when requested with `relations`).",
    }


def input_schema(table: Table) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    required = []
    for column in [*table.columns.values(), *table.hidden.values()]:
        if column.auto:
            continue
        schema = column_schema(column)
        if column.hidden:
            schema["writeOnly"] = True
        properties[column.name] = schema
        if column.required:
            required.append(column.name)
    schema = {"type": "object", "title": f"{table.name} input", "properties": properties, "additionalProperties": False}
    if required:
        schema["required"] = required
    return schema


def common_schemas() -> dict[str, Any]:
    page_token = {"type": ["string", "null"], "description": "A base64 page token for `page`."}
    item_error = {
        "type": "object",
        "properties": {"item": {"type": "integer"}, "message": {}, "error": {"type": "string"}},
        "required": ["item", "message"],
    }
    return {
        "Error": {
            "type": "object",
            "required": ["statusCode", "error", "message"],
            "properties": {
                "statusCode": {"type": "integer"},
                "error": {"type": "string"},
                "message": {"description": "A string, or a list/object naming each problem."},
            },
        },
        "Pagination": {
            "type": "object",
            "properties": {
                "total": {"type": "integer", "description": "Rows in this page."},
                "page": {
                    "type": "object",
                    "properties": dict.fromkeys(("current", "prev", "next", "first", "last"), page_token),
                },
            },
        },
        "BulkResult": {
            "type": "object",
            "required": ["total", "successful", "errored", "errors", "data"],
            "properties": {
                "total": {"type": "integer"},
                "successful": {"type": "integer"},
                "errored": {"type": "integer"},
                "errors": {"type": "array", "items": item_error},
                "data": {"type": "array", "items": {"type": "object"}},
            },
        },
        "Deleted": {"type": "object", "required": ["deleted"], "properties": {"deleted": {"type": "integer"}}},
        "BulkDeleted": {
            "type": "object",
            "required": ["total", "deleted", "errored", "errors"],
            "properties": {
                "total": {"type": "integer"},
                "deleted": {"type": "integer"},
                "errored": {"type": "integer"},
                "errors": {"type": "array", "items": item_error},
            },
        },
        "Tables": {
            "type": "object",
            "required": ["tables"],
            "properties": {"tables": {"type": "array", "items": {"type": "string"}}},
        },
        "TableSchema": {
            "type": "object",
            "required": ["table", "primary_key", "columns", "relations"],
            "properties": {
                "table": {"type": "string"},
                "primary_key": {"type": "string"},
                "columns": {"type": "array", "items": {"type": "object"}},
                "relations": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            k: {"type": "string"}
                            for k in ("name", "table", "column", "org_table", "org_column", "through")
                        },
                    },
                },
            },
        },
        "Tokens": {
            "type": "object",
            "required": ["access_token", "expires_in", "refresh_token_expires_in"],
            "properties": {
                "access_token": {"type": "string"},
                "expires_in": {"type": "integer"},
                "refresh_token_expires_in": {"type": "integer"},
            },
        },
        "Login": {
            "type": "object",
            "required": ["username", "password"],
            "properties": {"username": {"type": "string"}, "password": {"type": "string", "format": "password"}},
        },
    }


def security_schemes() -> dict[str, Any]:
    location = str(llana_settings.API_KEY_LOCATION).upper()
    api_key: dict[str, Any] = {
        "type": "apiKey",
        "name": llana_settings.API_KEY_NAME,
        "in": "query" if location == "QUERY" else "header",
    }
    if location == "BODY":
        api_key["description"] = (
            f"Sent as the `{llana_settings.API_KEY_NAME}` key of the JSON body (OpenAPI cannot express a body API key)."
        )
    return {
        "bearerAuth": {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "An access token from POST /auth/login (or the accessToken cookie).",
        },
        "apiKeyAuth": api_key,
    }


def error_responses(*codes: str) -> dict[str, Any]:
    return {code: {"description": ERROR_RESPONSES[code], **json_body(ref("Error"))} for code in codes}


def ok(code: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {code: {"description": description, **json_body(schema)}}


def query_param(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema}


REQUEST_ID = {"$ref": "#/components/parameters/RequestId"}


def table_paths(table: Table) -> dict[str, Any]:
    """The three paths of one table."""
    name, tags = table.name, [table.name]
    columns = ", ".join(f"`{c}`" for c in table.columns)
    relations = ", ".join(f"`{r}`" for r in table.relations) or "none"
    pk_schema = column_schema(table.pk)
    pk_schema.pop("description", None)
    pk_schema.pop("readOnly", None)
    if isinstance(pk_schema.get("type"), list):
        pk_schema["type"] = pk_schema["type"][0]
    id_param = {
        "name": "id",
        "in": "path",
        "required": True,
        "description": f"The `{table.pk.name}` value.",
        "schema": pk_schema,
    }
    read_params = [
        query_param(
            "fields",
            "Comma-separated columns to return; `Relation.column` picks a related table's column.",
            {"type": "string"},
        ),
        query_param(
            "relations", f"Comma-separated related tables to attach as arrays: {relations}.", {"type": "string"}
        ),
    ]
    list_params = [
        *read_params,
        query_param(
            "sort", "Comma-separated `column.asc` / `column.desc` (default: by primary key).", {"type": "string"}
        ),
        query_param(
            "limit",
            f"Rows per page (default {llana_settings.DEFAULT_LIMIT}, at most {llana_settings.MAX_LIMIT}).",
            {"type": "integer", "minimum": 1, "maximum": int(llana_settings.MAX_LIMIT)},
        ),
        query_param("offset", "Rows to skip.", {"type": "integer", "minimum": 0}),
        query_param("page", "A page token from `pagination.page` (replaces limit and offset).", {"type": "string"}),
        REQUEST_ID,
    ]
    hard = (
        [
            query_param(
                "hard", f"`true` deletes the row instead of setting `{table.soft_delete.name}`.", {"type": "boolean"}
            )
        ]
        if table.soft_delete
        else []
    )
    list_schema = {
        "type": "object",
        "required": ["limit", "offset", "total", "pagination", "data"],
        "properties": {
            "limit": {"type": "integer"},
            "offset": {"type": "integer"},
            "total": {"type": "integer"},
            "pagination": ref("Pagination"),
            "data": {"type": "array", "items": ref(name)},
        },
    }
    filters = (
        f"Filter with `column[operator]=value` (or `column=value` for equals) on the columns {columns}. "
        f"Operators: {', '.join(f'`{op}`' for op in OPERATORS)}. "
        "`in`/`not_in` take comma-separated values; `null`/`not_null` need no value."
    )
    many_input = {"type": "array", "items": ref(f"{name}_input")}
    return {
        f"/{name}/": {
            "get": {
                "tags": tags,
                "operationId": f"{name}_list",
                "summary": f"List {name} rows",
                "description": filters,
                "parameters": list_params,
                "responses": {
                    **ok("200", "A page of rows.", list_schema),
                    **error_responses("400", "401", "403", "404"),
                },
            },
            "post": {
                "tags": tags,
                "operationId": f"{name}_create",
                "summary": f"Create one {name} row (object) or many (array)",
                "parameters": [REQUEST_ID],
                "requestBody": {"required": True, **json_body({"oneOf": [ref(f"{name}_input"), many_input]})},
                "responses": {
                    **ok(
                        "201",
                        "The stored row (object body) or a bulk result (array body).",
                        {"oneOf": [ref(name), ref("BulkResult")]},
                    ),
                    **error_responses("400", "401", "403", "404"),
                },
            },
            "put": {
                "tags": tags,
                "operationId": f"{name}_update_many",
                "summary": f"Update many {name} rows (each item carries `{table.pk.name}`)",
                "parameters": [REQUEST_ID],
                "requestBody": {"required": True, **json_body({"type": "array", "items": {"type": "object"}})},
                "responses": {
                    **ok("200", "A bulk result.", ref("BulkResult")),
                    **error_responses("400", "401", "403", "404"),
                },
            },
            "patch": {
                "tags": tags,
                "operationId": f"{name}_partial_update_many",
                "summary": "Same as PUT",
                "parameters": [REQUEST_ID],
                "requestBody": {"required": True, **json_body({"type": "array", "items": {"type": "object"}})},
                "responses": {
                    **ok("200", "A bulk result.", ref("BulkResult")),
                    **error_responses("400", "401", "403", "404"),
                },
            },
            "delete": {
                "tags": tags,
                "operationId": f"{name}_delete_many",
                "summary": f'Delete many {name} rows (`[{{"{table.pk.name}": id}}, ...]`)',
                "parameters": [*hard, REQUEST_ID],
                "requestBody": {"required": True, **json_body({"type": "array", "items": {"type": "object"}})},
                "responses": {
                    **ok("200", "How many rows were deleted.", ref("BulkDeleted")),
                    **error_responses("400", "401", "403", "404"),
                },
            },
        },
        f"/{name}/{{id}}": {
            "parameters": [id_param, REQUEST_ID],
            "get": {
                "tags": tags,
                "operationId": f"{name}_get",
                "summary": f"Get one {name} row",
                "parameters": read_params,
                "responses": {**ok("200", "The row.", ref(name)), **error_responses("400", "401", "403", "404")},
            },
            "put": {
                "tags": tags,
                "operationId": f"{name}_update",
                "summary": f"Update one {name} row (partial body)",
                "requestBody": {"required": True, **json_body({"type": "object"})},
                "responses": {
                    **ok("200", "The updated row.", ref(name)),
                    **error_responses("400", "401", "403", "404"),
                },
            },
            "patch": {
                "tags": tags,
                "operationId": f"{name}_partial_update",
                "summary": "Same as PUT",
                "requestBody": {"required": True, **json_body({"type": "object"})},
                "responses": {
                    **ok("200", "The updated row.", ref(name)),
                    **error_responses("400", "401", "403", "404"),
                },
            },
            "delete": {
                "tags": tags,
                "operationId": f"{name}_delete",
                "summary": f"Delete one {name} row",
                "parameters": hard,
                "responses": {
                    **ok("200", '`{"deleted": 1}`', ref("Deleted")),
                    **error_responses("400", "401", "403", "404"),
                },
            },
        },
        f"/{name}/schema": {
            "get": {
                "tags": tags,
                "operationId": f"{name}_schema",
                "summary": f"The {name} table's columns and relations",
                "parameters": [REQUEST_ID],
                "responses": {
                    **ok("200", "The table schema.", ref("TableSchema")),
                    **error_responses("401", "403", "404"),
                },
            },
        },
    }


def auth_paths(user_table: str | None) -> dict[str, Any]:
    tags = ["Auth endpoints"]
    profile = ref(user_table) if user_table else {"type": "object"}
    return {
        "/auth/login": {
            "post": {
                "tags": tags,
                "operationId": "auth_login",
                "summary": "Log in with username (email) and password",
                "security": [],
                "requestBody": {"required": True, **json_body(ref("Login"))},
                "responses": {
                    **ok("200", "Tokens; also set as accessToken/refreshToken cookies.", ref("Tokens")),
                    **error_responses("400", "401"),
                },
            }
        },
        "/auth/refresh": {
            "post": {
                "tags": tags,
                "operationId": "auth_refresh",
                "summary": "New tokens from the refreshToken cookie",
                "security": [],
                "responses": {**ok("200", "New tokens.", ref("Tokens")), **error_responses("401")},
            }
        },
        "/auth/logout": {
            "post": {
                "tags": tags,
                "operationId": "auth_logout",
                "summary": "Clear the auth cookies",
                "security": [],
                "responses": ok(
                    "201", "Logged out.", {"type": "object", "properties": {"success": {"type": "boolean"}}}
                ),
            }
        },
        "/auth/profile": {
            "get": {
                "tags": tags,
                "operationId": "auth_profile",
                "summary": "The current user's row",
                "parameters": [query_param("relations", "Related tables to attach.", {"type": "string"})],
                "responses": {**ok("200", "The user row.", profile), **error_responses("400", "401")},
            }
        },
    }


def readable_tables(read: Callable[[str], Decision] | None) -> dict[str, Table]:
    """The registry as the reader may see it: tables its READ ``read(name)`` allows (every table when
    ``read`` is None), each cut to the decision's fields and to relations between described tables."""
    tables = registry()
    if read is None:
        return dict(tables)
    decisions = {name: read(name) for name in tables}
    described = {name for name, decision in decisions.items() if decision.allowed}

    def visible(table: str, column: str) -> bool:
        found = tables[table].columns.get(column)
        return found is not None and column_visible(found, decisions[table].fields)

    return {
        name: replace(
            tables[name],
            columns={k: c for k, c in tables[name].columns.items() if column_visible(c, decisions[name].fields)},
            relations={
                k: r
                for k, r in tables[name].relations.items()
                if r.table in described and visible(name, r.org_column) and visible(r.table, r.column)
            },
        )
        for name in sorted(described)
    }


def build_document(title: str | None = None, read: Callable[[str], Decision] | None = None) -> dict[str, Any]:
    """The OpenAPI document for the current registry and settings (a plain JSON-safe dict), describing the
    tables the reader's ``read(table)`` decision allows (``readable_tables()``; None: every table)."""
    tables = readable_tables(read)
    schemas = common_schemas()
    paths: dict[str, Any] = {
        "/tables": {
            "get": {
                "tags": ["Table list"],
                "operationId": "tables",
                "summary": "Every table name",
                "parameters": [REQUEST_ID],
                "responses": {**ok("200", "The table names.", ref("Tables")), **error_responses("401")},
            }
        },
    }
    user_table = get_user_model()._meta.db_table
    paths.update(auth_paths(user_table if user_table in tables else None))
    for name in sorted(tables):
        table = tables[name]
        schemas[name] = row_schema(table)
        schemas[f"{name}_input"] = input_schema(table)
        paths.update(table_paths(table))
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": title or llana_settings.DOCS_TITLE,
            "version": api_version(),
            "description": "A live API over this Django database, compatible with Llana.",
        },
        "servers": [{"url": "/"}],
        "tags": [
            {"name": "Table list"},
            {"name": "Auth endpoints"},
            *({"name": name, "description": f"The `{name}` table.", "x-llana-table": True} for name in sorted(tables)),
        ],
        "security": [{"bearerAuth": []}, {"apiKeyAuth": []}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": security_schemes(),
            "parameters": {
                "RequestId": {
                    "name": "x-request-id",
                    "in": "header",
                    "required": False,
                    "schema": {"type": "string"},
                    "description": "Echoed back as `_x_request_id` (`x_request_id` on created rows).",
                }
            },
        },
    }
