"""The table registry: default selection, TABLES/EXCLUDE_TABLES, columns, relations, cache."""

from __future__ import annotations

from typing import Any

import pytest

from llana.registry import (
    clear_registry,
    get_table,
    is_project_app,
    registry,
    table_for_model,
)
from project.demo.models import Customer


@pytest.fixture
def fresh(settings: Any) -> Any:
    settings.LLANA = {"SOFT_DELETE_COLUMN": "deletedAt"}
    clear_registry()
    yield settings
    clear_registry()


def test_default_tables(fresh: Any, db: Any) -> None:
    names = set(registry())
    assert {"Customer", "Employee", "SalesOrder", "Shipper", "Supplier", "User"} <= names
    assert {"_llana_role", "_llana_public_tables", "_llana_relation"} <= names
    assert not any(name.startswith(("django_", "auth_")) for name in names)
    assert "User_groups" not in names  # auto-created many-to-many tables are not tables


def test_project_app_detection() -> None:
    from django.apps import apps

    assert is_project_app(apps.get_app_config("demo"))
    assert not is_project_app(apps.get_app_config("auth"))
    assert not is_project_app(apps.get_app_config("rest_framework"))


def test_tables_and_exclude(fresh: Any, db: Any) -> None:
    fresh.LLANA = {"TABLES": ["Customer", "SalesOrder", "User", "auth_group"], "EXCLUDE_TABLES": ["User"]}
    assert set(registry()) == {"Customer", "SalesOrder", "auth_group"}
    assert "User" not in get_table("Customer").relations  # relations only between exposed tables


def test_columns(fresh: Any, db: Any) -> None:
    table = get_table("SalesOrder")
    assert table.pk.name == "orderId"
    assert table.pk.attname == "order_id"
    cust = table.columns["custId"]
    assert (cust.attname, cust.type, cust.foreign_key, cust.nullable, cust.required) == (
        "customer_id",
        "number",
        True,
        True,
        False,
    )
    assert table.columns["freight"].type == "number"
    assert table.columns["shipName"].max_length == 40
    assert table.soft_delete is not None
    assert table.soft_delete.name == "deletedAt"
    assert get_table("Shipper").soft_delete is None
    customer = get_table("Customer")
    assert customer.columns["companyName"].required
    assert not customer.columns["city"].required
    assert customer.columns["userId"].required
    user = get_table("User")
    assert "password" not in user.columns
    assert "password" in user.hidden
    assert user.columns["email"].unique
    assert user.columns["role"].enums == ("ADMIN", "USER")
    assert user.columns["role"].default() == "USER"
    assert get_table("Employee").columns["photo"].type == "unknown"
    assert table_for_model(Customer) is customer


def test_relations_both_directions(fresh: Any, db: Any) -> None:
    order = get_table("SalesOrder").relations
    assert order["Customer"].as_dict() == {
        "name": "Customer",
        "table": "Customer",
        "column": "custId",
        "org_table": "SalesOrder",
        "org_column": "custId",
    }
    customer = get_table("Customer").relations
    assert customer["SalesOrder"].as_dict() == {
        "name": "SalesOrder",
        "table": "SalesOrder",
        "column": "custId",
        "org_table": "Customer",
        "org_column": "custId",
    }
    assert customer["User"].as_dict() == {
        "name": "User",
        "table": "User",
        "column": "id",
        "org_table": "Customer",
        "org_column": "userId",
    }


def test_cache_cleared_on_relation_rows(fresh: Any, db: Any) -> None:
    from llana.models import Relation

    first = registry()
    assert registry() is first  # cached
    row = Relation.objects.create(table="Customer", column="city", org_table="Supplier", org_column="city")
    assert "Customer" in get_table("Supplier").relations
    row.delete()
    assert "Customer" not in get_table("Supplier").relations


def test_bad_manual_relation_ignored(fresh: Any, db: Any) -> None:
    from llana.models import Relation

    Relation.objects.create(table="Customer", column="nope", org_table="Supplier", org_column="city")
    assert "Customer" not in get_table("Supplier").relations
