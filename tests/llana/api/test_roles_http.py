"""Roles, public tables and identities end to end: the REST endpoints as ADMIN, USER and anonymous callers."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from llana.auth.tokens import RefreshToken
from llana.models import ApiKey, PublicTable, Role
from llana.registry import clear_registry
from project.demo.models import Customer, Shipper, User
from tests.llana.auth_support import PASSWORD, customer, make_user

pytestmark = pytest.mark.django_db

MISSING = "Missing authorization token. Use either <Bearer> token header or accessToken cookie"


@pytest.fixture(autouse=True)
def _fresh_registry() -> Any:
    clear_registry()
    yield
    clear_registry()


class Caller:
    """A test client sending one user's access token (or none)."""

    def __init__(self, user: User | None) -> None:
        self.client = Client()
        self.headers: dict[str, str] = {}
        if user is not None:
            self.headers["HTTP_AUTHORIZATION"] = "Bearer " + str(RefreshToken.for_user(user).access_token)

    def get(self, path: str, **extra: Any) -> Any:
        return self.client.get(path, **self.headers, **extra)

    def send(self, method: str, path: str, body: Any = None) -> Any:
        return getattr(self.client, method)(path, body, content_type="application/json", **self.headers)


@pytest.fixture
def admin_user() -> User:
    return make_user("admin@test.com", "ADMIN")


@pytest.fixture
def admin(admin_user: User) -> Caller:
    return Caller(admin_user)


@pytest.fixture
def user(alice: User) -> Caller:
    return Caller(alice)


@pytest.fixture
def anonymous() -> Caller:
    return Caller(None)


def message(response: Any) -> str:
    return response.json()["message"]


# --- ADMIN / USER / anonymous on a business table ---------------------------------------------------------


def test_admin_reads_and_writes(admin: Caller, alice: User) -> None:
    created = admin.send("post", "/Customer/", {"userId": alice.pk, "companyName": "Company 1"})
    assert created.status_code == 201
    assert admin.get("/Customer/").json()["total"] == 1
    assert admin.send("delete", f"/Customer/{created.json()['custId']}").status_code == 200


def test_user_reads_but_write_is_403_with_the_message(user: Caller, alice: User) -> None:
    customer(alice)
    assert user.get("/Customer/").json()["total"] == 1
    response = user.send("post", "/Customer/", {"userId": alice.pk, "companyName": "X"})
    assert (response.status_code, message(response)) == (403, "Table Action WRITE - Permission Denied For Role USER")


def test_anonymous_is_401_with_llanas_message(anonymous: Caller) -> None:
    response = anonymous.get("/Customer/")
    assert (response.status_code, message(response)) == (401, MISSING)


def test_expired_or_bad_token_message_reaches_the_client(anonymous: Caller) -> None:
    response = anonymous.get("/Customer/", HTTP_AUTHORIZATION="Bearer nonsense")
    assert (response.status_code, message(response)) == (401, "Authentication Failed")


# --- public tables ------------------------------------------------------------------------------------------


def test_employee_public_read(anonymous: Caller) -> None:
    PublicTable.objects.create(table="Employee", access_level="READ", allowed_fields="firstName,lastName")
    admin_row = Caller(make_user("root@test.com", "ADMIN")).send(
        "post", "/Employee/", {"firstName": "Nancy", "lastName": "Davolio", "city": "Seattle"}
    )
    assert admin_row.status_code == 201
    rows = anonymous.get("/Employee/").json()["data"]
    assert rows == [{"employeeId": admin_row.json()["employeeId"], "firstName": "Nancy", "lastName": "Davolio"}]
    assert anonymous.send("post", "/Employee/", {"firstName": "A", "lastName": "B"}).status_code == 401


def test_public_table_admits_a_bad_token(anonymous: Caller) -> None:
    PublicTable.objects.create(table="Shipper", access_level="READ")
    assert anonymous.get("/Shipper/", HTTP_AUTHORIZATION="Bearer nonsense").status_code == 200


# --- own records: User table (seeded) ------------------------------------------------------------------------


def test_user_lists_only_itself(user: Caller, alice: User, bob: User) -> None:
    rows = user.get("/User/").json()["data"]
    assert [r["id"] for r in rows] == [alice.pk]
    assert all("password" not in r for r in rows)
    assert user.get(f"/User/{bob.pk}").status_code == 404


def test_user_updates_itself_only(user: Caller, alice: User, bob: User) -> None:
    assert user.send("patch", f"/User/{alice.pk}", {"firstName": "Alice"}).json()["firstName"] == "Alice"
    assert user.send("patch", f"/User/{bob.pk}", {"firstName": "Hacked"}).status_code == 404
    bob.refresh_from_db()
    assert bob.first_name is None


def test_user_cannot_make_itself_admin(user: Caller, alice: User) -> None:
    response = user.send("patch", f"/User/{alice.pk}", {"role": "ADMIN"})
    assert response.status_code == 403
    alice.refresh_from_db()
    assert alice.role == "USER"


def test_user_cannot_delete_users(user: Caller, alice: User) -> None:
    assert user.send("delete", f"/User/{alice.pk}").status_code == 403


def test_password_written_through_the_api_is_hashed(admin: Caller) -> None:
    response = admin.send("post", "/User/", {"email": "new@test.com", "password": "s3cret-password", "role": "USER"})
    assert response.status_code == 201
    assert "password" not in response.json()
    stored = User.objects.get(email="new@test.com")
    assert stored.password != "s3cret-password"
    assert stored.check_password("s3cret-password")


# --- own records on a business table: every operation -------------------------------------------------------


@pytest.fixture
def own_customers() -> None:
    Role.objects.create(
        custom=True, table="Customer", identity_column="userId", role="USER", records="NONE", own_records="DELETE"
    )


def test_own_records_list_and_get(user: Caller, alice: User, bob: User, own_customers: None) -> None:
    mine, theirs = customer(alice, "Mine"), customer(bob, "Theirs")
    assert [r["custId"] for r in user.get("/Customer/").json()["data"]] == [mine.pk]
    assert user.get(f"/Customer/{theirs.pk}").status_code == 404


def test_own_records_create(user: Caller, alice: User, bob: User, own_customers: None) -> None:
    assert user.send("post", "/Customer/", {"userId": alice.pk, "companyName": "Mine"}).status_code == 201
    refused = user.send("post", "/Customer/", {"userId": bob.pk, "companyName": "Theirs"})
    assert refused.status_code == 403
    assert message(refused).startswith("Identity Mismatch")
    bulk = user.send(
        "post", "/Customer/", [{"userId": alice.pk, "companyName": "A"}, {"userId": bob.pk, "companyName": "B"}]
    ).json()
    assert (bulk["successful"], bulk["errored"]) == (1, 1)
    assert not Customer.objects.filter(user=bob).exists()


def test_own_records_update_one_cannot_reassign(user: Caller, alice: User, bob: User, own_customers: None) -> None:
    mine = customer(alice)
    assert user.send("patch", f"/Customer/{mine.pk}", {"companyName": "Renamed"}).status_code == 200
    assert user.send("patch", f"/Customer/{mine.pk}", {"userId": bob.pk}).status_code == 403
    mine.refresh_from_db()
    assert mine.user == alice


def test_own_records_update_many_cannot_claim_rows(user: Caller, alice: User, bob: User, own_customers: None) -> None:
    theirs = customer(bob)
    report = user.send("patch", "/Customer/", [{"custId": theirs.pk, "userId": alice.pk}]).json()
    assert (report["successful"], report["errored"]) == (0, 1)
    theirs.refresh_from_db()
    assert theirs.user == bob


def test_own_records_delete_one_and_many(user: Caller, alice: User, bob: User, own_customers: None) -> None:
    mine, theirs = customer(alice), customer(bob)
    assert user.send("delete", f"/Customer/{theirs.pk}").status_code == 404
    report = user.send("delete", "/Customer/", [{"custId": theirs.pk}, {"custId": mine.pk}]).json()
    assert (report["deleted"], report["errored"]) == (1, 1)
    assert list(Customer.objects.values_list("pk", flat=True)) == [theirs.pk]  # Llana bug 12: no longer deleted


def test_own_records_schema_is_readable(user: Caller, own_customers: None) -> None:
    assert user.get("/Customer/schema").json()["table"] == "Customer"


def test_identity_column_through_a_relation(user: Caller, alice: User, bob: User) -> None:
    Role.objects.create(
        custom=True,
        table="SalesOrder",
        identity_column="customer__user",
        role="USER",
        records="NONE",
        own_records="WRITE",
    )
    mine, theirs = customer(alice), customer(bob)
    assert user.send("post", "/SalesOrder/", {"custId": mine.pk, "shipName": "ShipName_1"}).status_code == 201
    assert user.send("post", "/SalesOrder/", {"custId": theirs.pk, "shipName": "ShipName_2"}).status_code == 403
    Caller(make_user("root@test.com", "ADMIN")).send(
        "post", "/SalesOrder/", {"custId": theirs.pk, "shipName": "ShipName_3"}
    )
    assert [r["shipName"] for r in user.get("/SalesOrder/").json()["data"]] == ["ShipName_1"]


# --- fields and relations -------------------------------------------------------------------------------------


def test_allowed_fields_trim_reads_and_write_results(user: Caller, alice: User) -> None:
    Role.objects.create(
        custom=True, table="Customer", role="USER", records="WRITE", allowed_fields="companyName,contactName"
    )
    created = user.send("post", "/Customer/", {"userId": alice.pk, "companyName": "A", "city": "Berlin"}).json()
    assert set(created) == {"custId", "companyName", "contactName"}
    row = user.get("/Customer/?fields=companyName,contactName,contactTitle").json()["data"][0]
    assert set(row) - {"custId"} == {"companyName", "contactName"}


def test_relations_apply_the_related_tables_rules(user: Caller, alice: User, bob: User) -> None:
    customer(alice, "Mine")
    customer(bob, "Theirs")
    rows = user.get("/Customer/?relations=User").json()["data"]
    related = {r["companyName"]: r["User"] for r in rows}
    assert [u["id"] for u in related["Mine"]] == [alice.pk]
    assert related["Theirs"] == []  # bob's row is not alice's to read
    assert all("password" not in u for u in related["Mine"])


def test_relation_to_a_forbidden_table_is_refused(user: Caller, alice: User) -> None:
    Role.objects.create(custom=True, table="SalesOrder", role="USER", records="NONE")
    customer(alice)
    assert user.get("/Customer/").status_code == 200
    assert user.get("/Customer/?relations=SalesOrder").status_code == 403


def test_api_keys_of_others_and_hashes_are_never_shown(user: Caller, alice: User, bob: User) -> None:
    mine, _ = ApiKey.objects.create_key(alice, "mine")
    ApiKey.objects.create_key(bob, "theirs")
    rows = user.get("/_llana_api_key/").json()["data"]
    assert [r["id"] for r in rows] == [mine.pk]
    assert "key_hash" not in rows[0]


def test_user_may_rename_and_revoke_its_key_but_not_unrevoke_it(user: Caller, alice: User) -> None:
    row, plaintext = ApiKey.objects.create_key(alice, "old name")
    assert user.send("patch", f"/_llana_api_key/{row.pk}", {"name": "new name"}).status_code == 200
    assert user.send("patch", f"/_llana_api_key/{row.pk}", {"revoked": True}).status_code == 200
    refused = user.send("patch", f"/_llana_api_key/{row.pk}", {"revoked": False})
    assert (refused.status_code, message(refused)) == (
        403,
        "Permission Denied - revoked can only be changed by a role with WRITE on _llana_api_key",
    )
    assert user.send("patch", f"/_llana_api_key/{row.pk}", {"expires": None, "key_hash": "x"}).status_code == 403
    row.refresh_from_db()
    assert (row.name, row.revoked) == ("new name", True)
    assert Client().get("/Customer/", HTTP_X_API_KEY=plaintext).status_code == 401


def test_user_cannot_choose_its_own_key_hash(user: Caller, alice: User) -> None:
    from llana.models import hash_api_key

    chosen = user.send(
        "post", "/_llana_api_key/", {"user_id": alice.pk, "name": "mine", "key_hash": hash_api_key("chosen")}
    )
    assert chosen.status_code == 403
    inert = user.send("post", "/_llana_api_key/", {"user_id": alice.pk, "name": "placeholder"})
    assert inert.status_code == 201
    assert ApiKey.objects.get().key_hash.startswith("!")  # no plaintext hashes to it


# --- system tables and /tables --------------------------------------------------------------------------------


def test_tables_lists_only_readable_tables(admin: Caller, user: Caller) -> None:
    assert "_llana_role" not in admin.get("/tables").json()["tables"]  # system tables: reachable, not listed
    assert admin.get("/_llana_role/").status_code == 200
    tables = user.get("/tables").json()["tables"]
    assert "Customer" in tables
    assert "_llana_api_key" not in tables
    assert user.get("/_llana_api_key/").status_code == 200
    assert user.get("/_llana_role/").status_code == 403


def test_tables_answers_why_authentication_failed(anonymous: Caller, alice: User) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from llana.auth.tokens import AccessToken

    expired = AccessToken.for_user(alice)
    expired.set_exp(from_time=timezone.now() - timedelta(hours=1))
    answers = [
        anonymous.get("/tables"),
        anonymous.get("/tables", HTTP_AUTHORIZATION="Bearer nonsense"),
        anonymous.get("/tables", HTTP_AUTHORIZATION=f"Bearer {expired}"),
        anonymous.get("/tables", HTTP_X_API_KEY="not-a-key"),
    ]
    assert [(r.status_code, message(r)) for r in answers] == [
        (401, MISSING),
        (401, "Authentication Failed"),
        (401, "Access token expired"),
        (401, "Unauthorized"),
    ]


def test_system_tables_are_admin_only(admin: Caller, user: Caller) -> None:
    assert user.get("/_llana_role/").status_code == 403
    assert admin.get("/_llana_role/").json()["total"] == 4


def test_admin_manages_roles_through_the_api_and_they_apply_at_once(admin: Caller, user: Caller, alice: User) -> None:
    assert user.send("post", "/Shipper/", {"companyName": "Speedy"}).status_code == 403
    created = admin.send(
        "post", "/_llana_role/", {"custom": True, "table": "Shipper", "role": "USER", "records": "WRITE"}
    )
    assert created.status_code == 201
    assert user.send("post", "/Shipper/", {"companyName": "Speedy"}).status_code == 201
    assert admin.send("delete", f"/_llana_role/{created.json()['id']}").status_code == 200
    assert user.send("post", "/Shipper/", {"companyName": "Late"}).status_code == 403
    assert list(Shipper.objects.values_list("company_name", flat=True)) == ["Speedy"]


def test_admin_manages_public_tables_through_the_api(admin: Caller, anonymous: Caller) -> None:
    assert anonymous.get("/Shipper/").status_code == 401
    assert admin.send("post", "/_llana_public_tables/", {"table": "Shipper", "access_level": "READ"}).status_code == 201
    assert anonymous.get("/Shipper/").status_code == 200


def test_revoking_a_role_makes_the_next_request_403(admin_user: User, alice: User) -> None:
    editor = Role.objects.create(custom=True, table="Customer", role="USER", records="WRITE")
    user = Caller(alice)
    assert user.send("post", "/Customer/", {"userId": alice.pk, "companyName": "A"}).status_code == 201
    editor.delete()
    assert user.send("post", "/Customer/", {"userId": alice.pk, "companyName": "B"}).status_code == 403


def test_demoting_a_user_makes_the_next_request_403(admin_user: User) -> None:
    caller = Caller(admin_user)
    assert caller.get("/_llana_role/").status_code == 200
    admin_user.role = "USER"
    admin_user.save()
    assert caller.get("/_llana_role/").status_code == 403


# --- cookies and CSRF -----------------------------------------------------------------------------------------


def test_cookie_authenticated_writes_need_the_csrf_token(admin_user: User) -> None:
    client = Client(enforce_csrf_checks=True)
    login = client.post(
        "/auth/login", {"username": "admin@test.com", "password": PASSWORD}, content_type="application/json"
    )
    assert login.status_code == 200
    assert client.get("/Shipper/").status_code == 200  # safe method: no token needed
    refused = client.post("/Shipper/", {"companyName": "A"}, content_type="application/json")
    assert refused.status_code == 403
    assert message(refused).startswith("CSRF Failed")
    token = client.cookies["csrftoken"].value
    accepted = client.post("/Shipper/", {"companyName": "A"}, content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert accepted.status_code == 201


def test_bearer_requests_need_no_csrf_token(admin_user: User) -> None:
    client = Client(enforce_csrf_checks=True)
    token = str(RefreshToken.for_user(admin_user).access_token)
    response = client.post(
        "/Shipper/", {"companyName": "A"}, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}"
    )
    assert response.status_code == 201


def test_refresh_and_logout_work_from_the_cookie_alone(admin_user: User) -> None:
    client = Client(enforce_csrf_checks=True)
    client.post("/auth/login", {"username": "admin@test.com", "password": PASSWORD}, content_type="application/json")
    assert client.post("/auth/refresh").status_code == 200
    assert client.post("/auth/logout").status_code == 201


# --- API keys on the REST endpoints ---------------------------------------------------------------------------


def test_api_key_header_on_rest(alice: User) -> None:
    _, key = ApiKey.objects.create_key(alice)
    assert Client().get("/Customer/", HTTP_X_API_KEY=key).status_code == 200


def test_api_key_in_the_query_is_not_a_filter(settings: Any, alice: User) -> None:
    settings.LLANA = {"API_KEY_LOCATION": "QUERY"}
    _, key = ApiKey.objects.create_key(alice)
    response = Client().get("/Customer/", {"x-api-key": key})
    assert response.status_code == 200


def test_api_key_in_the_body(settings: Any, alice: User) -> None:
    settings.LLANA = {"API_KEY_LOCATION": "BODY"}
    Role.objects.create(custom=True, table="Shipper", role="USER", records="WRITE")
    _, key = ApiKey.objects.create_key(alice)
    response = Client().post("/Shipper/", {"x-api-key": key, "companyName": "A"}, content_type="application/json")
    assert response.status_code == 201
    assert Shipper.objects.get().company_name == "A"
