"""The table feed's handshake (Llana's, with django-llana's fixes) and client → server messages."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from typing import Any

import pytest
from channels.db import database_sync_to_async

from llana.auth.tokens import AccessToken
from llana.models import PublicTable
from llana_realtime.feed.namespace import TableFeed, feed
from llana_realtime.socketio.server import SocketIOServer
from project.demo.models import Customer, Employee
from tests.llana_realtime.feed_client import (
    FeedClient,
    make_user,
    token_for,
)
from tests.llana_realtime.socketio.test_server import RecordingSocket

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("feed_roles")]


async def refused(client: FeedClient, auth: dict[str, Any] | None) -> dict[str, Any]:
    answer = await client.connect(auth)
    await client.close()
    assert "sid" not in answer, answer
    return answer


async def test_table_is_required() -> None:
    admin = await make_user("a@example.com", "ADMIN")
    answer = await refused(FeedClient(), {"token": token_for(admin)})
    assert answer["message"] == "No Table Provided In Headers[x-llana-table]"


async def test_unknown_table_is_refused() -> None:
    admin = await make_user("a@example.com", "ADMIN")
    answer = await refused(FeedClient(), {"token": token_for(admin), "x-llana-table": "Nope"})
    assert answer == {"message": "Table Nope not found", "data": {"status": 404}}


@pytest.mark.parametrize(
    "how",
    ["auth", "auth-bearer", "header", "cookie", "query-table"],
)
async def test_token_and_table_sources(how: str) -> None:
    admin = await make_user("a@example.com", "ADMIN")
    token = token_for(admin)
    auth: dict[str, Any] = {"x-llana-table": "Customer"}
    headers: dict[str, str] = {}
    query = ""
    if how == "auth":
        auth["token"] = token
    elif how == "auth-bearer":
        auth["token"] = "Bearer " + token
    elif how == "header":
        auth = {}
        headers = {"Authorization": "Bearer " + token, "x-llana-table": "Customer"}
    elif how == "cookie":
        headers = {"Cookie": f"other=1; accessToken={token}"}
    else:
        auth = {"token": token}
        query = "x-llana-table=Customer"
    client = FeedClient(headers=headers, query=query)
    try:
        answer = await client.connect(auth)
        assert "sid" in answer, answer
        customer = await database_sync_to_async(Customer.objects.create)(user=admin, company_name="C", city="X")
        assert await client.collect(1) == [("Customer", {"type": "INSERT", "custId": str(customer.pk)})]
    finally:
        await client.close()


async def test_missing_token_on_a_private_table() -> None:
    answer = await refused(FeedClient(), {"x-llana-table": "Customer"})
    assert answer["message"] == "Missing authorization token. Use either <Bearer> token header or accessToken cookie"
    assert answer["data"] == {"status": 401}


async def test_expired_and_tampered_tokens() -> None:
    admin = await make_user("a@example.com", "ADMIN")
    expired = AccessToken.for_user(admin)
    expired.set_exp(lifetime=-dt.timedelta(seconds=5))
    answer = await refused(FeedClient(), {"token": str(expired), "x-llana-table": "Customer"})
    assert answer["message"] == "Access token expired"
    good = token_for(admin)
    tampered = good[:-3] + ("AAA" if good[-3:] != "AAA" else "BBB")
    answer = await refused(FeedClient(), {"token": tampered, "x-llana-table": "Customer"})
    assert answer["message"] == "Authentication Failed"


async def test_inactive_user_is_refused() -> None:
    user = await make_user("gone@example.com", "ADMIN", is_active=False)
    answer = await refused(FeedClient(), {"token": token_for(user), "x-llana-table": "Customer"})
    assert answer["message"] == "Authentication Failed"


async def test_role_without_read_is_refused_with_the_reason() -> None:
    from llana.models import Role

    await database_sync_to_async(Role.objects.create)(custom=True, table="Customer", role="USER", records="NONE")
    user = await make_user("u@example.com")
    answer = await refused(FeedClient(), {"token": token_for(user), "x-llana-table": "Customer"})
    assert answer == {"message": "Table Action READ - Permission Denied For Role USER", "data": {"status": 403}}


async def test_public_table_admits_anonymous_sockets_even_with_a_bad_token() -> None:
    await database_sync_to_async(PublicTable.objects.create)(table="Employee", access_level="READ")
    client = FeedClient()
    other = FeedClient()
    try:
        assert "sid" in await client.connect({"x-llana-table": "Employee"})
        assert "sid" in await other.connect({"x-llana-table": "Employee", "token": "not-a-jwt"})
        employee = await database_sync_to_async(Employee.objects.create)(last_name="Public", first_name="P")
        expected = [("Employee", {"type": "INSERT", "employeeId": str(employee.pk)})]
        assert await client.collect(1) == expected
        assert await other.collect(1) == expected
    finally:
        await client.close()
        await other.close()


async def test_hosts_denial(settings: Any) -> None:
    settings.LLANA = {**settings.LLANA, "HOSTS": ["10.0.0.0/8"]}
    admin = await make_user("a@example.com", "ADMIN")
    outsider = FeedClient(client=("192.168.1.9", 4000))
    connected, _ = await outsider.communicator.connect(timeout=5)
    assert not connected  # refused by the Engine.IO transport, before the WebSocket is accepted
    client = FeedClient(client=("10.1.2.3", 4000))
    try:
        assert "sid" in await client.connect({"token": token_for(admin), "x-llana-table": "Customer"})
    finally:
        await client.close()


async def test_skip_auth_sockets_are_accepted_and_receive_events(settings: Any) -> None:
    settings.LLANA = {**settings.LLANA, "SKIP_AUTH": True}
    owner = await make_user("o@example.com")
    client = FeedClient()
    try:
        assert "sid" in await client.connect({"x-llana-table": "Customer"})
        customer = await database_sync_to_async(Customer.objects.create)(user=owner, company_name="C", city="X")
        assert await client.collect(1) == [("Customer", {"type": "INSERT", "custId": str(customer.pk)})]
    finally:
        await client.close()


async def test_client_messages_get_an_exception_event_and_the_socket_stays_usable() -> None:
    admin = await make_user("a@example.com", "ADMIN")
    client = FeedClient()
    try:
        assert "sid" in await client.connect({"token": token_for(admin), "x-llana-table": "Customer"})
        await client.emit("message", {"hello": 1})
        await client.emit("custom", 1, 2, ack=7)
        events = await client.collect(3)
        assert events[0] == (
            "exception",
            {
                "status": "error",
                "message": "Unsupported event 'message': this connection only receives table events",
                "cause": {"pattern": "message", "data": {"hello": 1}},
            },
        )
        assert events[1][0] == "exception"
        assert events[1][1]["cause"] == {"pattern": "custom", "data": [1, 2]}
        assert events[2] == ("ack:7", [events[1][1]])
        customer = await database_sync_to_async(Customer.objects.create)(user=admin, company_name="C", city="X")
        assert (await client.collect(4))[3] == ("Customer", {"type": "INSERT", "custId": str(customer.pk)})
        assert len(feed.subscriptions.sockets("Customer")) == 1
    finally:
        await client.close()


async def test_client_gone_during_the_handshake_leaves_nothing_in_the_feed() -> None:
    """The client closes while ``on_connect`` checks its token (in Django's thread): the server never
    connects the socket and calls ``on_disconnect`` once ``on_connect`` returned, which unregisters it."""

    admin = await make_user("a@example.com", "ADMIN")
    server = SocketIOServer(connect_timeout=60_000, channel_layer_alias=None)
    table_feed = server.register(TableFeed("/"))
    assert isinstance(table_feed, TableFeed)
    try:
        eio = RecordingSocket(server)
        await server.engineio_connect(eio)  # type: ignore[arg-type]
        auth = json.dumps({"token": token_for(admin), "x-llana-table": "Customer"})
        connecting = asyncio.ensure_future(server.engineio_message(eio, "0" + auth))  # type: ignore[arg-type]
        await asyncio.sleep(0)  # on_connect is now waiting for authorize() in Django's thread
        assert "/" in server._clients[eio.sid].sockets
        await eio.close("transport close")
        await asyncio.wait_for(connecting, 5)
        assert eio.take() == []
        assert table_feed.subscriptions.sockets() == []
        assert len(table_feed.subscriptions) == 0
    finally:
        await server.shutdown()
