"""The demo's admin: the demo tables and users are listed and searchable, foreign keys use autocomplete."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command
from django.test import Client

from llana.models import ApiKey
from project.demo.models import Customer, User

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff() -> Client:
    call_command("llana_demo", verbosity=0)
    client = Client()
    client.force_login(User.objects.get(email="test@test.com"))
    return client


@pytest.mark.parametrize("model", ["user", "customer", "employee", "shipper", "salesorder", "supplier"])
def test_demo_tables_are_listed_and_their_pages_load(staff: Client, model: str) -> None:
    assert f'href="/admin/demo/{model}/"' in staff.get("/admin/").content.decode()
    assert staff.get(f"/admin/demo/{model}/").status_code == 200
    assert staff.get(f"/admin/demo/{model}/add/").status_code == 200


def test_users_are_searchable(staff: Client) -> None:
    page = staff.get("/admin/demo/user/?q=user%40test").content.decode()
    assert "user@test.com" in page
    assert "1 result" in page


def test_customers_are_searchable(staff: Client) -> None:
    name = Customer.objects.order_by("pk").first().company_name
    page = staff.get("/admin/demo/customer/", {"q": name}).content.decode()
    assert name in page


def test_api_key_user_is_picked_by_autocomplete(staff: Client) -> None:
    page = staff.get("/admin/llana/apikey/add/").content.decode()
    assert "admin-autocomplete" in page
    response = staff.get(
        "/admin/autocomplete/",
        {"app_label": "llana", "model_name": "apikey", "field_name": "user", "term": "user@"},
    )
    assert response.status_code == 200
    results = json.loads(response.content)["results"]
    assert [r["text"] for r in results] == ["user@test.com"]


def test_foreign_keys_of_demo_tables_use_autocomplete(staff: Client) -> None:
    assert "admin-autocomplete" in staff.get("/admin/demo/customer/add/").content.decode()
    response = staff.get(
        "/admin/autocomplete/",
        {"app_label": "demo", "model_name": "salesorder", "field_name": "customer", "term": "a"},
    )
    assert response.status_code == 200
    assert json.loads(response.content)["results"]


def test_creating_a_user_in_admin_sets_its_password(staff: Client) -> None:
    response = staff.post(
        "/admin/demo/user/add/",
        {"email": "new@test.com", "role": "USER", "is_active": "on", "new_password": "a-long-password-1"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    user = User.objects.get(email="new@test.com")
    assert user.check_password("a-long-password-1")


def test_creating_an_api_key_for_a_user_picked_in_admin(staff: Client) -> None:
    user = User.objects.get(email="user@test.com")
    response = staff.post("/admin/llana/apikey/add/", {"user": user.pk, "name": "from admin"})
    assert response.status_code == 302
    assert ApiKey.objects.filter(user=user, name="from admin").exists()
