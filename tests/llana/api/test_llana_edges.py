"""Llana-compatible edges: ``/tables`` lists data tables only, write-only columns in ``/T/schema``
(``docs/rest-api.md``, "Tables and columns")."""

from __future__ import annotations

from typing import Any

import pytest

from llana.models import PublicTable
from llana.registry import clear_registry
from project.demo.models import User

pytestmark = pytest.mark.django_db


def test_tables_leaves_out_system_tables_which_stay_reachable(open_api: Any) -> None:
    tables = open_api.get("/tables").json()["tables"]
    assert "Customer" in tables
    assert [name for name in tables if name.startswith("_llana_")] == []
    assert open_api.get("/_llana_role/").status_code == 200
    assert open_api.get("/_llana_relation/schema").status_code == 200


def test_user_created_from_its_schema(open_api: Any) -> None:
    """A schema-driven form sends every required or write-only column: the password is hashed, never read."""
    columns = open_api.get("/User/schema").json()["columns"]
    password = next(c for c in columns if c["field"] == "password")
    assert password["write_only"] is True
    assert password["type"] == "string"
    values = {"email": "form@test.com", "password": "s3cret-form"}
    body = {c["field"]: values[c["field"]] for c in columns if c["required"] or c["write_only"]}
    assert set(body) == {"email", "password"}
    response = open_api.post("/User/", body, content_type="application/json")
    assert response.status_code == 201, response.content
    assert "password" not in response.json()
    user = User.objects.get(email="form@test.com")
    assert user.check_password("s3cret-form")
    assert user.password != "s3cret-form"
    assert "password" not in open_api.get(f"/User/{user.pk}").json()


def test_write_only_columns_not_listed_to_readers_who_cannot_write(client: Any, settings: Any) -> None:
    settings.LLANA = {"SKIP_AUTH": False}
    clear_registry()
    PublicTable.objects.create(table="User", access_level="READ", allowed_fields="id,email")
    fields = [c["field"] for c in client.get("/User/schema").json()["columns"]]
    assert "email" in fields
    assert "password" not in fields
    clear_registry()
