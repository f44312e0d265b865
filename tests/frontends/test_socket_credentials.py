"""The same authentication on sockets as on REST: API keys (header or ``auth`` payload) and "no token" values.

A socket authenticated by an API key receives exactly what the key's user may read; ``Bearer undefined``,
``Bearer null`` and empty tokens are no token (public tables) on REST and sockets alike.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.test import Client
from django.utils import timezone

from llana.auth.credentials import (
    ACCESS_COOKIE,
    api_key_from_handshake,
    bearer_token,
    token_from_handshake,
    token_from_request,
)
from llana.models import ApiKey, PublicTable, Role
from project.demo.models import Customer, Employee, User
from tests.llana_realtime.feed_client import FeedClient, make_user, token_for

NO_TOKENS = ["Bearer undefined", "Bearer null", "Bearer ", "Bearer", "undefined", "null", ""]


def scope(*headers: tuple[bytes, bytes], query: bytes = b"") -> dict[str, Any]:
    return {"type": "websocket", "path": "/socket.io/", "query_string": query, "headers": list(headers)}


# --- credentials.py ---------------------------------------------------------------------------------------


def test_api_key_from_handshake_header_then_auth(settings: Any) -> None:
    header = (b"x-api-key", b" from-header ")
    assert api_key_from_handshake(scope(header), {"x-api-key": "from-auth"}) == "from-header"
    assert api_key_from_handshake(scope(), {"x-api-key": "from-auth"}) == "from-auth"
    assert api_key_from_handshake(scope((b"x-api-key", b"undefined")), {"x-api-key": "from-auth"}) == "from-auth"
    assert api_key_from_handshake(scope(), {"x-api-key": 42}) is None
    assert api_key_from_handshake(scope(), {}) is None
    for value in ("", "undefined", "null"):
        assert api_key_from_handshake(scope(), {"x-api-key": value}) is None
    assert api_key_from_handshake(scope(query=b"x-api-key=q"), {}) is None  # HEADER: never the URL
    settings.LLANA = {"API_KEY_LOCATION": "QUERY"}
    assert api_key_from_handshake(scope(query=b"x-api-key=q"), {}) == "q"
    settings.LLANA = {"API_KEY_NAME": "X-Custom-Key"}
    assert api_key_from_handshake(scope((b"x-custom-key", b"h")), {}) == "h"
    assert api_key_from_handshake(scope(), {"X-Custom-Key": "a"}) == "a"


@pytest.mark.parametrize("value", NO_TOKENS)
def test_no_token_values(value: str, rf: Any) -> None:
    assert bearer_token(value) is None
    cookie = (b"cookie", f"{ACCESS_COOKIE}=from-cookie".encode())
    assert token_from_handshake(scope(), {"token": value}) is None
    assert token_from_handshake(scope(cookie), {"token": value}) == "from-cookie"
    assert token_from_handshake(scope((b"authorization", value.encode())), {}) is None
    request = rf.get("/", HTTP_AUTHORIZATION=value)
    assert token_from_request(request) == (None, False)
    request.COOKIES[ACCESS_COOKIE] = "from-cookie"
    assert token_from_request(request) == ("from-cookie", True)


# --- REST: "no token" is anonymous ---------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("value", ["Bearer undefined", "Bearer null", "Bearer "])
def test_rest_no_token_values_are_anonymous(value: str) -> None:
    PublicTable.objects.create(table="Employee", access_level="READ")
    assert Client().get("/Employee/", HTTP_AUTHORIZATION=value).status_code == 200
    private = Client().get("/Customer/", HTTP_AUTHORIZATION=value)
    assert private.status_code == 401
    assert private.json()["message"].startswith("Missing authorization token")


@pytest.mark.django_db
@pytest.mark.parametrize("value", ["undefined", "null", ""])
def test_rest_no_api_key_values_are_anonymous(value: str) -> None:
    PublicTable.objects.create(table="Employee", access_level="READ")
    assert Client().get("/Employee/", HTTP_X_API_KEY=value).status_code == 200


# --- sockets -------------------------------------------------------------------------------------------------

socket_tests = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("feed_roles")]


def own_customers_only() -> None:
    Role.objects.create(
        custom=True, table="Customer", role="USER", records="NONE", own_records="READ", identity_column="userId"
    )


@database_sync_to_async
def new_key(user: User, **extra: Any) -> str:
    return ApiKey.objects.create_key(user, **extra)[1]


async def follow(auth: dict[str, Any], headers: dict[str, str] | None = None) -> tuple[FeedClient, dict[str, Any]]:
    client = FeedClient(headers=headers)
    return client, await client.connect({"x-llana-table": "Customer", **auth})


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("feed_roles")
@pytest.mark.parametrize("where", ["auth", "header"])
async def test_a_socket_with_an_api_key_receives_what_the_keys_user_may_read(where: str) -> None:
    await database_sync_to_async(own_customers_only)()
    ann, bob = await make_user("ann@x.com"), await make_user("bob@x.com")
    key = await new_key(ann)
    auth, headers = ({"x-api-key": key}, None) if where == "auth" else ({}, {"x-api-key": key})
    client, answer = await follow(auth, headers)
    try:
        assert "sid" in answer, answer

        def writes() -> tuple[str, str]:
            mine = Customer.objects.create(user=ann, company_name="Ann's", city="A")
            Customer.objects.create(user=bob, company_name="Bob's", city="B")
            mine.city = "AA"
            mine.save()
            return str(mine.pk), "unused"

        mine, _ = await database_sync_to_async(writes)()
        events = await client.collect(2)
        assert [(name, data["type"], data["custId"]) for name, data in events] == [
            ("Customer", "INSERT", mine),
            ("Customer", "UPDATE", mine),
        ]
        assert len(await client.quiet()) == 2  # never Bob's row
    finally:
        await client.close()


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("feed_roles")
async def test_an_admin_key_reads_everything() -> None:
    admin, bob = await make_user("adm@x.com", "ADMIN"), await make_user("bob@x.com")
    client, answer = await follow({"x-api-key": await new_key(admin)})
    try:
        assert "sid" in answer, answer
        row = await database_sync_to_async(Customer.objects.create)(user=bob, company_name="B", city="B")
        assert await client.collect(1) == [("Customer", {"type": "INSERT", "custId": str(row.pk)})]
    finally:
        await client.close()


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("feed_roles")
async def test_bad_revoked_and_expired_keys_are_refused_like_on_rest() -> None:
    ann = await make_user("ann@x.com")
    revoked = await new_key(ann)
    await database_sync_to_async(ApiKey.objects.filter(user=ann).update)(revoked=True)
    expired = await new_key(ann, expires=timezone.now() - dt.timedelta(minutes=1))
    for key, message in (("nope", "Unauthorized"), (revoked, "Unauthorized"), (expired, "API key expired")):
        client, answer = await follow({"x-api-key": key})
        await client.close()
        assert answer == {"message": message, "data": {"status": 401}}, key


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("feed_roles")
async def test_a_refused_key_falls_back_to_the_token_as_on_rest() -> None:
    ann = await make_user("ann@x.com")
    client, answer = await follow({"x-api-key": "nope", "token": token_for(ann)})
    await client.close()
    assert "sid" in answer, answer


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("feed_roles")
async def test_keys_are_refused_on_sockets_when_rest_refuses_them(settings: Any) -> None:
    settings.LLANA = {"AUTHENTICATION_CLASSES": ["llana.auth.authentication.JWTAuthentication"]}
    ann = await make_user("ann@x.com")
    client, answer = await follow({"x-api-key": await new_key(ann)})
    await client.close()
    assert answer["data"] == {"status": 401}
    assert answer["message"].startswith("Missing authorization token")


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("feed_roles")
@pytest.mark.parametrize("token", ["Bearer undefined", "Bearer null", ""])
async def test_no_token_sockets_follow_public_tables(token: str) -> None:
    await database_sync_to_async(PublicTable.objects.create)(table="Employee", access_level="READ")
    client = FeedClient()
    try:
        answer = await client.connect({"x-llana-table": "Employee", "token": token})
        assert "sid" in answer, answer
        row = await database_sync_to_async(Employee.objects.create)(last_name="L", first_name="F")
        events = await client.collect(1)
        assert events[0][0] == "Employee", events
        assert events[0][1]["type"] == "INSERT", events
        assert str(row.pk) in events[0][1].values()
    finally:
        await client.close()
    private, answer = await follow({"token": token})
    await private.close()
    assert answer["message"].startswith("Missing authorization token"), answer
