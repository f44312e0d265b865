"""Fixtures for the llana tests: an open API (``SKIP_AUTH``), a small demo dataset, two USER callers."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from llana.registry import clear_registry
from project.demo.models import Customer, Employee, SalesOrder, Shipper, Supplier, User
from tests.llana.auth_support import make_user


@pytest.fixture
def open_api(settings: Any, client: Any) -> Any:
    """The test client against an API with ``SKIP_AUTH`` and soft deletes on ``deletedAt``."""
    settings.LLANA = {"SKIP_AUTH": True, "SOFT_DELETE_COLUMN": "deletedAt", "DEFAULT_LIMIT": 20, "MAX_LIMIT": 100}
    clear_registry()
    yield client
    clear_registry()


class Demo:
    """Rows created by the ``demo`` fixture."""

    users: list[User]
    customers: list[Customer]
    employees: list[Employee]
    shippers: list[Shipper]
    orders: list[SalesOrder]


@pytest.fixture
def demo(db: Any) -> Demo:
    """2 users, 3 customers (Berlin, Paris, London), 2 employees, 2 shippers, 5 orders, 1 supplier."""
    d = Demo()
    d.users = [
        User.objects.create_user("admin@test.com", "secret-1", role="ADMIN", first_name="Jon"),
        User.objects.create_user("user@test.com", "secret-2", first_name="Ann"),
    ]
    d.customers = [
        Customer.objects.create(
            user=d.users[0],
            company_name="Alfreds Futterkiste",
            city="Berlin",
            contact_name="Maria Anders",
            country="Germany",
        ),
        Customer.objects.create(user=d.users[0], company_name="Bon app'", city="Paris", country="France"),
        Customer.objects.create(
            user=d.users[1], company_name="Around the Horn", city="London", contact_name=None, country="UK"
        ),
    ]
    d.employees = [
        Employee.objects.create(
            last_name="Davolio", first_name="Nancy", birth_date=dt.datetime(1968, 12, 8, tzinfo=dt.timezone.utc)
        ),
        Employee.objects.create(last_name="Fuller", first_name="Andrew", photo=b"\x00\x01binary"),
    ]
    d.shippers = [
        Shipper.objects.create(company_name="Speedy Express"),
        Shipper.objects.create(company_name="United Package"),
    ]
    specs = [
        (0, 0, 0, "58.17", "Destination JPAIY", dt.datetime(2024, 1, 5, 10, 30, tzinfo=dt.timezone.utc)),
        (0, 1, 1, "12.50", "Ship_100%", dt.datetime(2024, 2, 1, tzinfo=dt.timezone.utc)),
        (1, 0, 0, "3.05", "Destination QHWKI", None),
        (2, 1, None, "140.51", "Around", dt.datetime(2024, 3, 1, tzinfo=dt.timezone.utc)),
        (None, None, None, None, None, None),
    ]
    d.orders = [
        SalesOrder.objects.create(
            customer=d.customers[c] if c is not None else None,
            employee=d.employees[e] if e is not None else None,
            shipper=d.shippers[s] if s is not None else None,
            freight=Decimal(f) if f is not None else None,
            ship_name=name,
            order_date=when,
        )
        for c, e, s, f, name, when in specs
    ]
    Supplier.objects.create(company_name="Exotic Liquids", city="London")
    return d


@pytest.fixture
def alice() -> User:
    """A user with the role USER."""
    return make_user("alice@test.com")


@pytest.fixture
def bob() -> User:
    """Another user with the role USER."""
    return make_user("bob@test.com")
