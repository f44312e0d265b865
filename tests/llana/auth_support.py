"""Helpers for the auth, roles, API-key, HOSTS and admin tests: demo users and rows."""

from __future__ import annotations

from typing import Any

from django.test import RequestFactory
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request

from llana.auth.identities import Identity, identity_for_user
from project.demo.models import Customer, SalesOrder, User

PASSWORD = "correct horse battery staple"


def make_user(email: str, role: str = "USER", **extra: Any) -> User:
    return User.objects.create_user(email, PASSWORD, role=role, **extra)


def identity(user: User) -> Identity:
    return identity_for_user(user)


def customer(owner: User, name: str = "Company 1") -> Customer:
    return Customer.objects.create(user=owner, company_name=name, city="Berlin")


def order(cust: Customer | None, name: str = "ShipName_1") -> SalesOrder:
    return SalesOrder.objects.create(customer=cust, ship_name=name, freight=12.5)


def drf_request(method: str = "get", path: str = "/Customer/", data: Any = None, **extra: Any) -> Request:
    """A DRF request with the JSON/form parsers, built by ``RequestFactory`` (which enforces CSRF)."""
    factory = RequestFactory()
    if method == "get":
        raw = factory.get(path, data or {}, **extra)
    else:
        raw = getattr(factory, method)(path, data, content_type="application/json", **extra)
    return Request(raw, parsers=[JSONParser(), FormParser(), MultiPartParser()])
