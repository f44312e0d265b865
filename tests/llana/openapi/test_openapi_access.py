"""The docs describe only what their reader may read: no system tables (nor any table, column or relation
the caller can't read) for anonymous readers, everything readable for an ADMIN (``docs/security.md``, "Data exposure")."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from llana.auth.tokens import RefreshToken
from llana.models import PublicTable, Role
from llana.registry import clear_registry, registry
from project.demo.models import User
from tests.llana.auth_support import make_user

pytestmark = pytest.mark.django_db

SYSTEM = ("_llana_role", "_llana_public_tables", "_llana_relation", "_llana_api_key")


@pytest.fixture(autouse=True)
def _fresh_registry() -> Any:
    clear_registry()
    yield
    clear_registry()


def bearer(user: User) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": "Bearer " + str(RefreshToken.for_user(user).access_token)}


def document(client: Client, **headers: str) -> dict[str, Any]:
    response = client.get("/openapi.json", **headers)
    assert response.status_code == 200
    return json.loads(response.content)


def described(doc: dict[str, Any]) -> set[str]:
    return {tag["name"] for tag in doc["tags"] if tag.get("x-llana-table")}


def test_anonymous_readers_see_no_system_table(client: Client) -> None:
    doc = document(client)
    text = json.dumps(doc)
    for name in SYSTEM:
        assert name not in text
    assert described(doc) == set()
    assert {"/auth/login", "/tables"} <= set(doc["paths"])
    html = client.get("/").content.decode()  # its prose may name the tables; it describes none of them
    for name in SYSTEM:
        assert f"/{name}/" not in html
        assert f'id="{name}"' not in html


def test_anonymous_readers_see_public_tables_and_their_public_columns(client: Client) -> None:
    PublicTable.objects.create(table="Employee", access_level="READ", allowed_fields="firstName,lastName")
    doc = document(client)
    assert described(doc) == {"Employee"}
    assert set(doc["components"]["schemas"]["Employee"]["properties"]) == {"employeeId", "firstName", "lastName"}
    assert "birthDate" not in json.dumps(doc)
    assert "SalesOrder" not in json.dumps(doc)  # not even as a relation of Employee
    assert set(doc["paths"]) >= {"/Employee/", "/Employee/{id}", "/Employee/schema"}
    assert not any(path.startswith("/Customer") for path in doc["paths"])


def test_users_see_their_tables_admins_see_the_system_tables(client: Client) -> None:
    user_doc = document(client, **bearer(make_user("alice@test.com")))
    assert {"Customer", "SalesOrder", "User"} <= described(user_doc)
    assert not {"_llana_role", "_llana_public_tables", "_llana_relation"} & described(user_doc)
    admin_doc = document(client, **bearer(make_user("root@test.com", "ADMIN")))
    assert described(admin_doc) == set(registry())


def test_hidden_columns_and_their_relations_are_not_described(client: Client) -> None:
    Role.objects.create(custom=True, table="SalesOrder", role="USER", records="READ", allowed_fields="orderId,freight")
    doc = document(client, **bearer(make_user("alice@test.com")))
    assert set(doc["components"]["schemas"]["SalesOrder"]["properties"]) == {"orderId", "freight"}
    relations = next(p for p in doc["paths"]["/SalesOrder/"]["get"]["parameters"] if p.get("name") == "relations")
    assert "Customer" not in relations["description"]


def test_the_answers_vary_with_the_credentials(client: Client) -> None:
    for url in ("/", "/openapi.json"):
        response = client.get(url)
        vary = {v.strip().lower() for v in response["Vary"].split(",")}
        assert {"authorization", "cookie"} <= vary
        assert "private" in response["Cache-Control"]
