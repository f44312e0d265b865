"""``GET /``: the API documentation page, and ``GET /openapi.json``: the OpenAPI document.

The page is rendered on the server from the OpenAPI document (``llana.openapi.document``) by a small template:
no JavaScript and no CDN, so it works offline. With ``LLANA["SKIP_DOCS"]`` both URLs answer
``{"version": "..."}`` only, as Llana does.

Both describe only what the caller may read: the request is authenticated as any API request
(``llana.auth.authentication.identify()``: a bearer token, the access-token cookie or an API key) and each
table is described through the caller's ``READ`` decision. Anonymous readers see the public tables.
The answers vary with the credentials (``Vary``) and are never stored by shared caches.
"""

from __future__ import annotations

import re
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.csrf import csrf_exempt

from llana.auth.authentication import identify
from llana.exceptions import error_body
from llana.openapi.document import api_version, build_document
from llana.permissions.engine import Decision, Level
from llana.settings import llana_settings

METHODS = ("get", "post", "put", "patch", "delete")
CODE_SPAN = re.compile(r"`([^`]+)`")


def inline_markdown(text: str) -> SafeString:
    """Escape ``text`` and turn its `code spans` into ``<code>`` elements."""
    return mark_safe(CODE_SPAN.sub(r"<code>\1</code>", str(escape(text))))  # escaped first


def resolve(document: dict[str, Any], item: dict[str, Any]) -> dict[str, Any]:
    """Follow a local ``$ref`` (``#/components/...``) once."""
    target = item.get("$ref")
    if not isinstance(target, str) or not target.startswith("#/"):
        return item
    node: Any = document
    for part in target[2:].split("/"):
        node = node.get(part, {}) if isinstance(node, dict) else {}
    return node if isinstance(node, dict) else {}


def schema_label(schema: dict[str, Any]) -> str:
    """A short human label for a JSON schema: ``integer``, ``Customer[]``, ``string (date-time) | null``."""
    if "$ref" in schema:
        return str(schema["$ref"]).rsplit("/", 1)[-1]
    if "oneOf" in schema:
        return " | ".join(schema_label(s) for s in schema["oneOf"])
    types = schema.get("type")
    if types is None:
        return "any"
    names = types if isinstance(types, list) else [types]
    labels = []
    for name in names:
        if name == "array":
            labels.append(f"{schema_label(schema.get('items', {}))}[]")
        elif name == "string" and "enum" in schema:
            labels.append("enum: " + ", ".join(str(v) for v in schema["enum"] if v is not None))
        elif name == "string" and schema.get("format"):
            labels.append(f"string ({schema['format']})")
        elif name == "string" and schema.get("maxLength"):
            labels.append(f"string ≤ {schema['maxLength']}")
        else:
            labels.append(str(name))
    return " | ".join(labels)


def body_label(body: dict[str, Any]) -> str:
    schema = body.get("content", {}).get("application/json", {}).get("schema", {})
    return schema_label(schema) if schema else ""


def outline(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The document grouped by tag: each tag's operations and, for a table, its row schema."""
    sections: dict[str, dict[str, Any]] = {}
    for tag in document.get("tags", []):
        sections[tag["name"]] = {
            "name": tag["name"],
            "description": inline_markdown(tag.get("description", "")),
            "operations": [],
            "columns": [],
            "table": bool(tag.get("x-llana-table")),
        }
    for path, item in document.get("paths", {}).items():
        shared = [resolve(document, p) for p in item.get("parameters", [])]
        for method in METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            params = shared + [resolve(document, p) for p in operation.get("parameters", [])]
            tag = (operation.get("tags") or ["Other"])[0]
            section = sections.setdefault(
                tag, {"name": tag, "description": "", "operations": [], "columns": [], "table": False}
            )
            section["operations"].append(
                {
                    "method": method.upper(),
                    "path": path,
                    "anchor": operation.get("operationId", f"{method}-{path}"),
                    "summary": inline_markdown(operation.get("summary", "")),
                    "description": inline_markdown(operation.get("description", "")),
                    "public": operation.get("security") == [],
                    "parameters": [
                        {
                            "name": p.get("name", ""),
                            "in": p.get("in", ""),
                            "required": p.get("required", False),
                            "type": schema_label(p.get("schema", {})),
                            "description": inline_markdown(p.get("description", "")),
                        }
                        for p in params
                    ],
                    "body": body_label(operation.get("requestBody", {})),
                    "responses": [
                        {
                            "code": code,
                            "description": inline_markdown(r.get("description", "")),
                            "type": body_label(r),
                        }
                        for code, r in operation.get("responses", {}).items()
                    ],
                }
            )
    schemas = document.get("components", {}).get("schemas", {})
    for name, section in sections.items():
        if not section["table"]:
            continue
        schema = schemas.get(name, {})
        required = set(schemas.get(f"{name}_input", {}).get("required", []))
        section["columns"] = [
            {
                "name": column,
                "type": schema_label(prop),
                "required": column in required,
                "read_only": prop.get("readOnly", False),
                "description": inline_markdown(prop.get("description", "")),
            }
            for column, prop in schema.get("properties", {}).items()
        ]
    return [s for s in sections.values() if s["operations"]]


def method_not_allowed(request: HttpRequest) -> JsonResponse:
    message = f'Method "{request.method}" not allowed.'
    response = JsonResponse(error_body(405, message), status=405)
    response["Allow"] = "GET, HEAD"
    return response


def version_only() -> JsonResponse:
    return JsonResponse({"version": api_version()})


def admin_url() -> str | None:
    try:
        return reverse("admin:index")
    except NoReverseMatch:
        return None


def caller_document(request: HttpRequest) -> dict[str, Any]:
    """The OpenAPI document as the request's caller may read it."""
    _, identity = identify(request)
    policy = llana_settings.PERMISSION_POLICY()

    def read(table: str) -> Decision:
        return policy.decide(identity, table, Level.READ)

    return build_document(read=read)


def per_caller(response: HttpResponse) -> HttpResponse:
    """Mark a per-caller answer: it varies with the credentials and is for the caller only."""
    vary = ["Authorization", "Cookie"]
    if str(llana_settings.API_KEY_LOCATION).upper() == "HEADER":
        vary.append(str(llana_settings.API_KEY_NAME))
    patch_vary_headers(response, vary)
    patch_cache_control(response, private=True)
    return response


@csrf_exempt
def openapi_view(request: HttpRequest) -> HttpResponse:
    """``GET /openapi.json``: the OpenAPI 3.1 document of the tables the caller may read."""
    if request.method not in ("GET", "HEAD"):
        return method_not_allowed(request)
    if llana_settings.SKIP_DOCS:
        return version_only()
    return per_caller(JsonResponse(caller_document(request), json_dumps_params={"ensure_ascii": False}))


@csrf_exempt
def docs_view(request: HttpRequest) -> HttpResponse:
    """``GET /``: the API documentation as one HTML page (rendered from the OpenAPI document)."""
    if request.method not in ("GET", "HEAD"):
        return method_not_allowed(request)
    if llana_settings.SKIP_DOCS:
        return version_only()
    document = caller_document(request)
    schemes = document["components"]["securitySchemes"]
    sections = outline(document)
    context = {
        "title": document["info"]["title"],
        "version": document["info"]["version"],
        "description": document["info"].get("description", ""),
        "sections": sections,
        "bearer": schemes.get("bearerAuth", {}),
        "api_key": schemes.get("apiKeyAuth", {}),
        "admin_url": admin_url(),
        "base_url": request.build_absolute_uri("/").rstrip("/"),
        "skip_auth": bool(llana_settings.SKIP_AUTH),
        "default_limit": llana_settings.DEFAULT_LIMIT,
        "example_table": next(
            (s["name"] for s in sections if s["table"] and not s["name"].startswith("_")), "Customer"
        ),
    }
    return per_caller(HttpResponse(render_to_string("llana/docs.html", context, request=request)))
