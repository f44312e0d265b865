"""Django admin: pages load, table/column names are validated, API keys are shown once, "what can this user do?"."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.db.models import Q
from django.test import Client

from llana.admin import describe_restriction
from llana.auth.identities import identity_for_user
from llana.models import ApiKey, PublicTable, Role
from llana.permissions.engine import Level, decide
from project.demo.models import User
from tests.llana.auth_support import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff() -> Client:
    root = User.objects.create_superuser("root@test.com", "pw")
    client = Client()
    client.force_login(root)
    return client


@pytest.mark.parametrize(
    "url",
    [
        "/admin/llana/role/",
        "/admin/llana/role/add/",
        "/admin/llana/role/{role}/change/",
        "/admin/llana/publictable/",
        "/admin/llana/publictable/add/",
        "/admin/llana/apikey/",
        "/admin/llana/apikey/add/",
        "/admin/llana/relation/",
        "/admin/llana/role/effective/",
    ],
)
def test_admin_pages_load(staff: Client, url: str) -> None:
    assert staff.get(url.format(role=Role.objects.first().pk)).status_code == 200


def test_role_list_filters(staff: Client) -> None:
    page = staff.get("/admin/llana/role/?table=User").content.decode()
    assert "What can this user do?" in page
    assert "By table" in page
    assert "By role" in page


def role_form(**values: Any) -> dict[str, Any]:
    base = {
        "role": "USER",
        "custom": "on",
        "table": "Customer",
        "records": "NONE",
        "own_records": "",
        "identity_column": "",
        "allowed_fields": "",
    }
    base.update(values)
    return {k: v for k, v in base.items() if v is not None}


def test_table_is_a_choice_of_registry_tables(staff: Client) -> None:
    page = staff.get("/admin/llana/role/add/").content.decode()
    assert '<option value="Customer">Customer</option>' in page
    assert '<option value="_llana_api_key">_llana_api_key</option>' in page
    response = staff.post("/admin/llana/role/add/", role_form(table="NoSuchTable"))
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()


def test_identity_column_is_validated(staff: Client) -> None:
    response = staff.post("/admin/llana/role/add/", role_form(own_records="READ", identity_column="nope"))
    assert "&#x27;nope&#x27; is not a column of Customer" in response.content.decode()
    assert not Role.objects.filter(table="Customer").exists()
    response = staff.post("/admin/llana/role/add/", role_form(own_records="READ", identity_column="userId"))
    assert response.status_code == 302
    assert Role.objects.get(table="Customer").identity_column == "userId"


def test_relation_path_identity_column_is_accepted(staff: Client) -> None:
    response = staff.post(
        "/admin/llana/role/add/", role_form(table="SalesOrder", own_records="READ", identity_column="customer__user")
    )
    assert response.status_code == 302


def test_allowed_fields_are_validated(staff: Client) -> None:
    response = staff.post("/admin/llana/role/add/", role_form(records="READ", allowed_fields="companyName,bogus"))
    assert "Not columns of Customer: bogus" in response.content.decode()
    response = staff.post(
        "/admin/llana/publictable/add/",
        {"table": "Employee", "access_level": "READ", "allowed_fields": "firstName, nope"},
    )
    assert "Not columns of Employee: nope" in response.content.decode()
    response = staff.post(
        "/admin/llana/publictable/add/",
        {"table": "Employee", "access_level": "READ", "allowed_fields": "firstName,lastName"},
    )
    assert response.status_code == 302
    assert PublicTable.objects.get().allowed_fields == "firstName,lastName"


def test_custom_row_needs_a_table(staff: Client) -> None:
    response = staff.post("/admin/llana/role/add/", role_form(table=""))
    assert "A custom row needs a table." in response.content.decode()


def test_role_saved_in_admin_applies_at_once(staff: Client) -> None:
    alice = make_user("alice@test.com")
    assert not decide(identity_for_user(alice), "Customer", Level.WRITE).allowed
    staff.post("/admin/llana/role/add/", role_form(records="WRITE"))
    assert decide(identity_for_user(alice), "Customer", Level.WRITE).allowed


def test_api_key_created_in_admin_is_shown_once(staff: Client) -> None:
    alice = make_user("alice@test.com")
    response = staff.post("/admin/llana/apikey/add/", {"user": alice.pk, "name": "laptop", "expires": ""}, follow=True)
    assert response.status_code == 200
    texts = [str(m) for m in get_messages(response.wsgi_request)]
    shown = [t for t in texts if "will not be shown again" in t]
    assert len(shown) == 1
    plaintext = shown[0].split("<code>")[1].split("</code>")[0]
    row = ApiKey.objects.get_by_plaintext(plaintext)
    assert (row.user, row.name) == (alice, "laptop")
    assert plaintext not in staff.get(f"/admin/llana/apikey/{row.pk}/change/").content.decode()


def test_api_key_actions(staff: Client) -> None:
    alice = make_user("alice@test.com")
    old, _ = ApiKey.objects.create_key(alice, "old")
    staff.post("/admin/llana/apikey/", {"action": "replace_keys", "_selected_action": [old.pk]})
    old.refresh_from_db()
    assert old.revoked
    assert ApiKey.objects.filter(revoked=False, name="old").count() == 1
    staff.post(
        "/admin/llana/apikey/",
        {"action": "revoke_keys", "_selected_action": list(ApiKey.objects.values_list("pk", flat=True))},
    )
    assert not ApiKey.objects.filter(revoked=False).exists()


def test_what_can_this_user_do(staff: Client) -> None:
    alice = make_user("alice@test.com")
    page = staff.get(f"/admin/llana/role/effective/?user={alice.pk}").content.decode()
    assert "roles: USER" in page
    assert '<td>Customer</td><td class="llana-allowed">all records</td>' in page
    assert "Table Action WRITE - Permission Denied For Role USER" in page
    assert '<td>User</td><td class="llana-own">own records' in page
    assert '<td>_llana_role</td><td class="llana-denied">' in page


def test_effective_view_needs_staff(client: Client) -> None:
    assert client.get("/admin/llana/role/effective/").status_code == 302  # to the login page


def test_what_can_this_user_do_shows_readable_rules(staff: Client) -> None:
    """Own-records rules read as text ("userId is this user"), not as a Q object's repr."""
    alice = make_user("alice@test.com")
    page = staff.get(f"/admin/llana/role/effective/?user={alice.pk}").content.decode()
    assert "&lt;Q:" not in page
    assert "(AND:" not in page
    assert "own records: rows where " in page
    assert '<td>User</td><td class="llana-own">own records: rows where id is this user</td>' in page
    assert "own records: rows where user is this user" in page  # _llana_api_key


def test_describe_restriction() -> None:
    assert describe_restriction(Q(user=5), 5) == "user is this user"
    assert describe_restriction(Q(customer__user=5) | Q(employee__user__exact=5), 5) == (
        "(customer.user is this user or employee.user is this user)"
    )
    assert describe_restriction(~Q(status="x"), 5) == "not status = 'x'"
