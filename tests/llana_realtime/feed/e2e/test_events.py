"""Table events reach real clients (python-socketio and Node's socket.io-client) of a daphne process.

One server (``feed_server``: in-memory channel layer, soft deletes on ``deletedAt``, shared with the browser
test). Every test works on rows it creates, and checks "no event" claims with a marker: a later write that
must arrive; a process delivers its events in order, so an unwanted earlier event would have arrived first.
"""

from __future__ import annotations

import asyncio
import re
from contextlib import AsyncExitStack
from http.cookiejar import CookieJar
from urllib.parse import urlencode
from urllib.request import HTTPCookieProcessor, build_opener

import pytest

from tests.llana_realtime.feed.e2e.conftest import Project
from tests.llana_realtime.feed.e2e.support import (
    USER,
    claims,
    create_customer,
    http,
    login,
    node_client,
    py_client,
    rest,
    unique,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def admin_token(feed_server: Project) -> str:
    return login(feed_server.url)


@pytest.fixture(scope="module")
def admin_id(admin_token: str) -> int:
    return int(claims(admin_token)["sub"])


async def test_rest_insert_update_delete_reach_python_and_node_clients(
    feed_server: Project, admin_token: str, admin_id: int, clients: AsyncExitStack
) -> None:
    base = feed_server.url
    # Llana's documented client (extraHeaders + auth), polling then upgrade; and python-socketio over WebSocket.
    node = await node_client(
        clients, base, table="Customer", token=admin_token, via="llana", transports=["polling", "websocket"]
    )
    python = await py_client(clients, base, "Customer", admin_token)
    assert node.of_kind("open")[0][1] == "polling", node.observed
    pk = await create_customer(base, admin_token, admin_id)
    await rest(base, "PUT", f"/Customer/{pk}", token=admin_token, body={"city": "Oslo"})
    await rest(base, "PATCH", f"/Customer/{pk}", token=admin_token, body={"city": "Bergen"})
    await rest(base, "DELETE", f"/Customer/{pk}?hard=true", token=admin_token)
    for client in (node, python):
        await client.wait_for("Customer", "custId", pk, ["INSERT", "UPDATE", "UPDATE", "DELETE"])
        assert client.payloads("Customer", "custId", pk) == ["INSERT", "UPDATE", "UPDATE", "DELETE"]
    # Exactly Llana's payload: the type and the primary key (as a string), nothing else.
    assert ("Customer", {"type": "INSERT", "custId": pk}) in python.events("Customer")
    assert ("Customer", {"type": "INSERT", "custId": pk}) in node.events("Customer")
    assert {name for name, _ in node.events()} == {"Customer"}
    assert ("upgrade", "websocket") in node.observed  # the transport upgraded, headers were sent on polling


@pytest.mark.parametrize("via", ["auth", "auth_bearer", "header", "cookie", "query"])
async def test_every_handshake_form_receives_events(
    feed_server: Project, admin_token: str, admin_id: int, clients: AsyncExitStack, via: str
) -> None:
    """Token from auth.token (with or without ``Bearer``), the Authorization header or the accessToken
    cookie; table from auth, the ``x-llana-table`` header or the query string."""
    client = await py_client(
        clients,
        feed_server.url,
        "Customer",
        admin_token,
        via=via,
        transports=["polling"] if via in ("header", "cookie") else ["websocket"],
    )
    pk = await create_customer(feed_server.url, admin_token, admin_id)
    await client.wait_for("Customer", "custId", pk, ["INSERT"])


async def test_soft_delete_through_the_api_is_a_delete(
    feed_server: Project, admin_token: str, admin_id: int, clients: AsyncExitStack
) -> None:
    client = await py_client(clients, feed_server.url, "Customer", admin_token)
    pk = await create_customer(feed_server.url, admin_token, admin_id)
    await rest(feed_server.url, "DELETE", f"/Customer/{pk}", token=admin_token)
    status, _ = http(feed_server.url, "GET", f"/Customer/{pk}", token=admin_token)
    assert status != 200  # soft deleted: hidden from the API
    await client.wait_for("Customer", "custId", pk, ["INSERT", "DELETE"])
    assert client.payloads("Customer", "custId", pk) == ["INSERT", "DELETE"]


async def test_bulk_endpoints_publish_one_event_per_row(
    feed_server: Project, admin_token: str, admin_id: int, clients: AsyncExitStack
) -> None:
    base = feed_server.url
    client = await py_client(clients, base, "Customer", admin_token)
    created = await rest(
        base,
        "POST",
        "/Customer/",
        token=admin_token,
        body=[{"companyName": unique(), "userId": admin_id} for _ in range(3)],
    )
    pks = [str(row["custId"]) for row in created["data"]]
    assert len(pks) == 3, created
    await rest(base, "PUT", "/Customer/", token=admin_token, body=[{"custId": int(pk), "city": "Lyon"} for pk in pks])
    await rest(base, "DELETE", "/Customer/?hard=true", token=admin_token, body=[{"custId": int(pk)} for pk in pks])
    for pk in pks:
        await client.wait_for("Customer", "custId", pk, ["INSERT", "UPDATE", "DELETE"])
    marker = await create_customer(base, admin_token, admin_id)
    await client.wait_for("Customer", "custId", marker, ["INSERT"])
    for pk in pks:  # exactly one event per row and operation (Llana sends INSERT twice)
        assert client.payloads("Customer", "custId", pk) == ["INSERT", "UPDATE", "DELETE"]


async def test_failed_write_publishes_nothing(
    feed_server: Project, admin_token: str, admin_id: int, clients: AsyncExitStack
) -> None:
    """A bulk create whose second item is invalid: the valid items get one INSERT each, the invalid none."""
    base = feed_server.url
    client = await py_client(clients, base, "Customer", admin_token)
    before = len(client.events("Customer"))
    body = await rest(
        base,
        "POST",
        "/Customer/",
        token=admin_token,
        body=[{"companyName": unique(), "userId": admin_id}, {"companyName": "x" * 80, "userId": admin_id}],
    )
    assert (body["successful"], body["errored"]) == (1, 1), body
    pk = str(body["data"][0]["custId"])
    marker = await create_customer(base, admin_token, admin_id)
    await client.wait_for("Customer", "custId", marker, ["INSERT"])
    new = client.events("Customer")[before:]
    assert [p["custId"] for _, p in new] == [pk, marker], new


async def test_admin_writes_publish(feed_server: Project, admin_token: str, clients: AsyncExitStack) -> None:
    """A write through Django's admin (an ORM save in the server, no REST involved) reaches the feed of
    that table: a ``_llana_role`` row added and deleted in the admin."""
    base = feed_server.url
    client = await py_client(clients, base, "_llana_role", admin_token)
    jar = CookieJar()
    opener = build_opener(HTTPCookieProcessor(jar))

    def csrf(path: str) -> str:
        page = opener.open(base + path, timeout=30).read().decode()
        match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        assert match, page[:500]
        return match.group(1)

    def post(path: str, data: dict[str, str]) -> str:
        form = urlencode({"csrfmiddlewaretoken": csrf(path), **data}).encode()
        with opener.open(base + path, data=form, timeout=30) as response:
            return str(response.geturl())

    landed = await asyncio.to_thread(
        post, "/admin/login/?next=/admin/", {"username": "test@test.com", "password": "test"}
    )
    assert landed.rstrip("/").endswith("/admin"), landed
    role = unique("ROLE")[:20]
    await asyncio.to_thread(post, "/admin/llana/role/add/", {"role": role, "records": "READ", "table": ""})
    rows = await rest(base, "GET", f"/_llana_role/?role={role.replace(' ', '%20')}", token=admin_token)
    assert len(rows["data"]) == 1, rows
    pk = str(rows["data"][0]["id"])
    await asyncio.to_thread(post, f"/admin/llana/role/{pk}/delete/", {"post": "yes"})
    await client.wait_for("_llana_role", "id", pk, ["INSERT", "DELETE"])
    assert client.payloads("_llana_role", "id", pk) == ["INSERT", "DELETE"]


async def test_no_events_of_other_tables(
    feed_server: Project, admin_token: str, admin_id: int, clients: AsyncExitStack
) -> None:
    base = feed_server.url
    node = await node_client(clients, base, table="Shipper", token=admin_token, via="auth")
    python = await py_client(clients, base, "Shipper", admin_token, via="header")
    await create_customer(base, admin_token, admin_id)
    await rest(base, "POST", "/Employee/", token=admin_token, body={"firstName": "Ada", "lastName": unique()[:20]})
    shipper = await rest(base, "POST", "/Shipper/", token=admin_token, body={"companyName": unique()})
    pk = str(shipper["shipperId"])
    for client in (node, python):
        await client.wait_for("Shipper", "shipperId", pk, ["INSERT"])
        assert {name for name, _ in client.events()} == {"Shipper"}, client.observed


async def test_client_message_gets_an_exception_event_and_the_socket_stays_usable(
    feed_server: Project, admin_token: str, admin_id: int, clients: AsyncExitStack
) -> None:
    base = feed_server.url
    node = await node_client(clients, base, table="Customer", token=admin_token, via="auth")
    python = await py_client(clients, base, "Customer", admin_token)
    node.send({"emit": "message", "args": [{"hello": "server"}]})
    await python.client.emit("message", {"hello": "server"})
    for client in (node, python):
        error = await client.wait_until(lambda c=client: c.events("exception"), what="exception event")
        payload = error[0][1]
        assert payload["status"] == "error", payload
        assert payload.get("message"), payload
    pk = await create_customer(base, admin_token, admin_id)
    for client in (node, python):
        await client.wait_for("Customer", "custId", pk, ["INSERT"])
        assert not client.of_kind("disconnect"), client.observed


async def test_user_role_receives_every_row_by_default(
    feed_server: Project, admin_token: str, admin_id: int, clients: AsyncExitStack
) -> None:
    """The seeded USER role reads every table: a USER socket gets the events of the admin's rows too."""
    user = await py_client(clients, feed_server.url, "Customer", login(feed_server.url, USER))
    pk = await create_customer(feed_server.url, admin_token, admin_id)
    await user.wait_for("Customer", "custId", pk, ["INSERT"])
