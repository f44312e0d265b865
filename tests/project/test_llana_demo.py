"""``llana_demo`` loads Llana's demo dataset: counts, idempotence, determinism, working demo logins."""

from __future__ import annotations

from decimal import Decimal
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client

from llana.models import PublicTable
from project.demo.management.commands.llana_demo import load_api_key
from project.demo.models import Customer, Employee, SalesOrder, Shipper, Supplier

pytestmark = pytest.mark.django_db

MODELS = (Customer, Employee, SalesOrder, Shipper, Supplier)


def load(*args: str) -> str:
    out = StringIO()
    call_command("llana_demo", *args, stdout=out)
    return out.getvalue()


def snapshot() -> dict[str, list[tuple[Any, ...]]]:
    """Every demo row (all columns, by primary key) plus the users and public-table rules."""
    data = {m._meta.db_table: list(m._base_manager.order_by("pk").values_list()) for m in MODELS}
    data["User"] = list(get_user_model().objects.order_by("pk").values_list("email", "role", "password"))
    data["_llana_public_tables"] = list(PublicTable.objects.values_list("table", "access_level"))
    return data


def test_loads_the_demo_tables() -> None:
    output = load()
    assert "Customer: 100 created" in output
    assert Customer.objects.count() == 100
    assert Employee.objects.count() == 9
    assert Shipper.objects.count() == 3
    assert SalesOrder.objects.count() == 500
    assert Supplier.objects.count() == 29
    assert list(PublicTable.objects.values_list("table", "access_level")) == [("Employee", "READ")]
    # Llana's first rows: customer 1 is Customer NRZBB of user 1 (the admin), the first orders go to customers 1-9.
    admin = get_user_model().objects.get(email="test@test.com")
    first = Customer.objects.get(pk=1)
    assert (first.company_name, first.city, first.user_id) == ("Customer NRZBB", "Berlin", admin.pk)
    assert set(SalesOrder.objects.filter(pk__lte=20).values_list("customer_id", flat=True)) == set(range(1, 10))
    assert list(Employee.objects.values_list("last_name", flat=True)[:3]) == ["Davis", "Funk", "Lew"]
    order = SalesOrder.objects.get(pk=1)
    assert order.ship_name.startswith("Destination ")
    assert order.freight == order.freight.quantize(Decimal("0.01"))
    assert order.employee_id in range(1, 10)
    assert order.shipper_id in range(1, 4)


def test_demo_users_and_roles() -> None:
    load()
    users = get_user_model().objects
    admin = users.get(email="test@test.com")
    user = users.get(email="user@test.com")
    assert (admin.role, admin.is_superuser, admin.is_staff) == ("ADMIN", True, True)
    assert (user.role, user.is_superuser, user.is_staff) == ("USER", False, False)
    assert admin.check_password("test")
    assert user.check_password("test")
    # Some generated customers belong to the USER account, so "own records" rules have data to show.
    assert Customer.objects.filter(user=user).exists()


def test_running_twice_changes_nothing() -> None:
    load()
    before = snapshot()
    output = load()
    assert "Customer: 0 created, 100 already present" in output
    assert snapshot() == before


def test_existing_rows_are_kept_and_missing_ones_restored() -> None:
    load()
    Customer.objects.filter(pk=1).update(company_name="Edited")
    SalesOrder.objects.filter(pk=7).delete()
    output = load()
    assert "SalesOrder: 1 created, 499 already present" in output
    assert Customer.objects.get(pk=1).company_name == "Edited"
    assert SalesOrder.objects.count() == 500


def test_reset_reloads_the_same_data() -> None:
    load()
    before = snapshot()
    Customer.objects.filter(pk=2).update(company_name="Edited")
    Shipper.objects.create(company_name="Extra shipper")
    load("--reset")
    assert snapshot() == before


def test_new_rows_get_fresh_keys_after_loading() -> None:
    """The explicit demo keys must not collide with rows created later (PostgreSQL sequences are reset)."""
    load()
    admin = get_user_model().objects.get(email="test@test.com")
    created = Customer.objects.create(user=admin, company_name="Company 101")
    assert created.pk > 100
    assert Shipper.objects.create(company_name="Shipper NEW").pk > 3


def test_admin_logs_in_to_django_admin(client) -> None:  # type: ignore[no-untyped-def]
    load()
    response = client.post("/admin/login/?next=/admin/", {"username": "test@test.com", "password": "test"})
    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_plain_user_cannot_use_django_admin(client) -> None:  # type: ignore[no-untyped-def]
    load()
    response = client.post("/admin/login/?next=/admin/", {"username": "user@test.com", "password": "test"})
    assert response.status_code == 200  # the form again, with an error: not staff
    assert client.get("/admin/").status_code == 302


def test_demo_loader_adds_llanas_demo_key_once() -> None:
    alice = get_user_model().objects.create_user("alice@test.com", "pw", role="USER")
    assert load_api_key(alice) == 1
    assert load_api_key(alice) == 0
    assert Client().get("/auth/profile", HTTP_X_API_KEY="Ex@mp1eS$Cu7eAp!K3y").json()["email"] == "alice@test.com"
