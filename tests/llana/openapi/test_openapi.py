"""``GET /openapi.json`` and the ``GET /`` docs page, generated from the table registry."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import tomllib
from drf_spectacular.validation import validate_schema

from llana.auth.tokens import RefreshToken
from llana.openapi.document import api_version, build_document
from llana.registry import registry
from tests.llana.auth_support import make_user

pytestmark = pytest.mark.django_db

METHODS = {"get", "post", "put", "patch", "delete"}


def refs(node: Any) -> set[str]:
    """Every ``$ref`` target in a JSON document."""
    if isinstance(node, dict):
        found = {node["$ref"]} if isinstance(node.get("$ref"), str) else set()
        for value in node.values():
            found |= refs(value)
        return found
    if isinstance(node, list):
        return set().union(*(refs(v) for v in node)) if node else set()
    return set()


def pointer(document: dict[str, Any], target: str) -> Any:
    node: Any = document
    for part in target.removeprefix("#/").split("/"):
        node = node[part]
    return node


def test_openapi_json_is_a_valid_openapi_31_document(client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/openapi.json")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    document = json.loads(response.content)
    assert document["openapi"].startswith("3.1")
    assert document["info"]["title"] == "API Documentation"
    assert document["info"]["version"] == api_version()
    validate_schema(document)  # the official OpenAPI 3.1 JSON schema (shipped with drf-spectacular)
    for target in refs(document):
        assert pointer(document, target) is not None, target


def test_every_registry_table_has_its_paths_and_schemas() -> None:
    document = build_document()
    tables = registry()
    assert {"Customer", "Employee", "SalesOrder", "Shipper", "Supplier", "User"} <= set(tables)
    for name, table in tables.items():
        assert set(document["paths"][f"/{name}/"]) == METHODS
        assert set(document["paths"][f"/{name}/{{id}}"]) == {"parameters", "get", "put", "patch", "delete"}
        assert "get" in document["paths"][f"/{name}/schema"]
        row = document["components"]["schemas"][name]
        assert set(row["properties"]) == set(table.columns)
    assert "/tables" in document["paths"]
    assert {"/auth/login", "/auth/refresh", "/auth/logout", "/auth/profile"} <= set(document["paths"])
    operation_ids = [
        op["operationId"] for item in document["paths"].values() for method, op in item.items() if method in METHODS
    ]
    assert len(operation_ids) == len(set(operation_ids))


def test_column_schemas_follow_the_model() -> None:
    schemas = build_document()["components"]["schemas"]
    order = schemas["SalesOrder"]["properties"]
    assert order["orderId"]["type"] == "integer"
    assert order["orderId"]["readOnly"] is True
    assert order["freight"]["type"] == ["number", "null"]
    assert order["orderDate"]["format"] == "date-time"
    assert order["shipName"]["maxLength"] == 40
    assert "References Customer.custId" in order["custId"]["description"]
    user_input = schemas["User_input"]
    assert user_input["properties"]["role"]["enum"] == ["ADMIN", "USER"]
    assert user_input["properties"]["password"]["writeOnly"] is True
    assert "password" not in schemas["User"]["properties"]  # never shown
    assert {"email", "password"} <= set(user_input["required"])
    assert "companyName" in schemas["Customer_input"]["required"]
    assert "custId" not in schemas["Customer_input"]["properties"]  # serial primary key


def test_security_schemes_follow_the_settings(settings) -> None:  # type: ignore[no-untyped-def]
    settings.LLANA = {"API_KEY_NAME": "x-my-key", "API_KEY_LOCATION": "QUERY"}
    schemes = build_document()["components"]["securitySchemes"]
    assert schemes["bearerAuth"] == {**schemes["bearerAuth"], "type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    assert (schemes["apiKeyAuth"]["type"], schemes["apiKeyAuth"]["in"], schemes["apiKeyAuth"]["name"]) == (
        "apiKey",
        "query",
        "x-my-key",
    )


def test_soft_delete_tables_document_hard(settings) -> None:  # type: ignore[no-untyped-def]
    settings.LLANA = {"SOFT_DELETE_COLUMN": "deletedAt"}
    paths = build_document()["paths"]
    names = {p["name"] for p in paths["/Customer/{id}"]["delete"]["parameters"]}
    assert "hard" in names
    assert "hard" not in {p.get("name") for p in paths["/Shipper/{id}"]["delete"]["parameters"]}  # no deletedAt


def test_docs_page_renders_offline(client) -> None:  # type: ignore[no-untyped-def]
    admin = make_user("root@test.com", "ADMIN")  # the page describes what its reader may read
    response = client.get("/", HTTP_AUTHORIZATION="Bearer " + str(RefreshToken.for_user(admin).access_token))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert "<title>API Documentation</title>" in html
    for table in registry():
        assert f'<span class="path">/{table}/{{id}}</span>' in html
    assert "<td><code>companyName</code></td><td>string ≤ 40</td>" in html  # Customer's columns
    assert 'href="/openapi.json"' in html
    assert 'href="/admin/"' in html
    # Nothing is loaded from elsewhere: no scripts at all, no external stylesheets or images.
    assert "<script" not in html
    assert not re.search(r'(src|href)="(https?:)?//', html)


def test_docs_title_setting(client, settings) -> None:  # type: ignore[no-untyped-def]
    settings.LLANA = {"DOCS_TITLE": "Northwind <API>"}
    assert "<title>Northwind &lt;API&gt;</title>" in client.get("/").content.decode()
    assert json.loads(client.get("/openapi.json").content)["info"]["title"] == "Northwind <API>"


def test_skip_docs_answers_the_version_only(client, settings) -> None:  # type: ignore[no-untyped-def]
    settings.LLANA = {"SKIP_DOCS": True}
    for url in ("/", "/openapi.json"):
        response = client.get(url)
        assert response.status_code == 200
        assert json.loads(response.content) == {"version": api_version()}


@pytest.mark.parametrize("url", ["/", "/openapi.json"])
def test_docs_refuse_other_methods_with_json(client, url: str) -> None:  # type: ignore[no-untyped-def]
    response = client.post(url, data={})
    assert response.status_code == 405
    assert json.loads(response.content)["statusCode"] == 405


def test_api_version_is_the_projects_version() -> None:
    """From a source tree (the package not installed) the version is pyproject's, never "dev"."""
    pyproject = tomllib.loads((Path(__file__).resolve().parents[3] / "pyproject.toml").read_text(encoding="utf-8"))
    assert api_version() == pyproject["project"]["version"]
