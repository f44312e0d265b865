"""Who may follow a table and which events each socket gets, against real daphne processes.

``auth_server`` (fresh database, in-memory layer) serves most tests; the HOSTS, SKIP_AUTH and short-token
cases each need a server started with that environment. Roles are changed the way an admin would: through
the REST API (``/_llana_role/``) as ADMIN, so the server's own signals invalidate its identity cache.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from typing import Any

import pytest

from tests.llana_realtime.feed.e2e.conftest import (
    DatabaseFactory,
    Project,
    start_project,
)
from tests.llana_realtime.feed.e2e.support import (
    USER,
    arequest,
    claims,
    create_customer,
    forge,
    login,
    node_client,
    py_client,
    rest,
    tamper,
    unique,
)

pytestmark = pytest.mark.slow

MISSING_TOKEN = "Missing authorization token. Use either <Bearer> token header or accessToken cookie"


@pytest.fixture(scope="module")
def auth_server(databases: DatabaseFactory) -> Iterator[Project]:
    with start_project(databases) as project:
        yield project


@pytest.fixture(scope="module")
def admin_token(auth_server: Project) -> str:
    return login(auth_server.url)


@pytest.fixture(scope="module")
def admin_id(admin_token: str) -> int:
    return int(claims(admin_token)["sub"])


@pytest.fixture(scope="module")
def user_token(auth_server: Project) -> str:
    return login(auth_server.url, USER)


@pytest.fixture(scope="module")
def user_id(user_token: str) -> int:
    return int(claims(user_token)["sub"])


@pytest.fixture
async def role_rows(auth_server: Project, admin_token: str) -> AsyncIterator[list[int]]:
    """Custom ``_llana_role`` rows a test adds (``await add_role(...)``); deleted afterwards."""
    created: list[int] = []
    yield created
    for pk in created:
        await rest(auth_server.url, "DELETE", f"/_llana_role/{pk}", token=admin_token)


async def add_role(base: str, admin_token: str, rows: list[int], **fields: Any) -> int:
    body = await rest(base, "POST", "/_llana_role/", token=admin_token, body={"custom": True, **fields})
    rows.append(int(body["id"]))
    return int(body["id"])


# --- refused handshakes -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("no token", MISSING_TOKEN),
        ("expired", "Access token expired"),
        ("tampered", "Authentication Failed"),
        ("other key", "Authentication Failed"),
        ("garbage", "Authentication Failed"),
    ],
)
async def test_bad_credentials_are_refused_with_llanas_message(
    auth_server: Project, admin_token: str, admin_id: int, clients: AsyncExitStack, case: str, message: str
) -> None:
    token = {
        "no token": None,
        "expired": forge(str(admin_id), expires_in=-30),
        "tampered": tamper(admin_token),
        "other key": forge(str(admin_id), expires_in=600, key="not-the-servers-key-0123456789abcdef"),
        "garbage": "not.a.jwt",
    }[case]
    python = await py_client(clients, auth_server.url, "Customer", token, expect_error=True)
    assert python.error_message() == message
    node = await node_client(clients, auth_server.url, table="Customer", token=token, via="llana")
    assert node.error_message() == message
    assert not node.of_kind("connect")


async def test_forged_token_with_the_servers_key_is_accepted(
    auth_server: Project, admin_id: int, admin_token: str, clients: AsyncExitStack
) -> None:
    """The counterpart of the refusals above: a token signed with the server's key and not expired works."""
    client = await py_client(clients, auth_server.url, "Customer", forge(str(admin_id), expires_in=600))
    pk = await create_customer(auth_server.url, admin_token, admin_id)
    await client.wait_for("Customer", "custId", pk, ["INSERT"])


async def test_missing_and_unknown_tables_are_refused(
    auth_server: Project, admin_token: str, clients: AsyncExitStack
) -> None:
    missing = await py_client(clients, auth_server.url, None, admin_token, expect_error=True)
    assert missing.error_message() == "No Table Provided In Headers[x-llana-table]"
    unknown = await py_client(clients, auth_server.url, "NoSuchTable", admin_token, expect_error=True)
    assert unknown.error_message() == "Table NoSuchTable not found"
    node = await node_client(clients, auth_server.url, table="NoSuchTable", token=admin_token, via="header")
    assert node.error_message() == "Table NoSuchTable not found"


async def test_role_without_read_is_refused_with_the_reason(
    auth_server: Project, admin_token: str, user_token: str, role_rows: list[int], clients: AsyncExitStack
) -> None:
    await add_role(
        auth_server.url, admin_token, role_rows, table="Shipper", role="USER", records="NONE", own_records="NONE"
    )
    client = await py_client(clients, auth_server.url, "Shipper", user_token, expect_error=True)
    assert client.error_message() == "Table Action READ - Permission Denied For Role USER"


# --- who receives what ------------------------------------------------------------------------------------


async def test_anonymous_socket_on_a_public_table(
    auth_server: Project, admin_token: str, clients: AsyncExitStack
) -> None:
    """Employee is public READ (the demo seeds it, as Llana does): no token needed, events arrive."""
    python = await py_client(clients, auth_server.url, "Employee", None)
    node = await node_client(clients, auth_server.url, table="Employee", via="auth")
    assert node.of_kind("connect"), node.observed
    body = await rest(
        auth_server.url, "POST", "/Employee/", token=admin_token, body={"firstName": "Ada", "lastName": unique()[:20]}
    )
    pk = str(body["employeeId"])
    for client in (python, node):
        await client.wait_for("Employee", "employeeId", pk, ["INSERT"])
    # …but the same anonymous caller may not follow a private table.
    refused = await py_client(clients, auth_server.url, "Customer", None, expect_error=True)
    assert refused.error_message() == MISSING_TOKEN


async def test_own_records_user_receives_only_its_rows(
    auth_server: Project, admin_token: str, admin_id: int, user_token: str, user_id: int,
    role_rows: list[int], clients: AsyncExitStack,
) -> None:  # fmt: skip
    base = auth_server.url
    await add_role(
        base,
        admin_token,
        role_rows,
        table="Customer",
        role="USER",
        records="NONE",
        own_records="READ",
        identity_column="userId",
    )
    admin = await py_client(clients, base, "Customer", admin_token)
    user = await py_client(clients, base, "Customer", user_token)
    user_node = await node_client(clients, base, table="Customer", token=user_token, via="auth")
    theirs = await create_customer(base, admin_token, admin_id)
    mine = await create_customer(base, admin_token, user_id)
    for pk in (theirs, mine):
        await rest(base, "PUT", f"/Customer/{pk}", token=admin_token, body={"city": "Rome"})
    # A row given away: the UPDATE is judged on the new row (no longer mine), its DELETE on the row as it was.
    given = await create_customer(base, admin_token, user_id)
    await rest(base, "PUT", f"/Customer/{given}", token=admin_token, body={"userId": admin_id})
    for pk in (theirs, mine, given):
        await rest(base, "DELETE", f"/Customer/{pk}", token=admin_token)
    marker = await create_customer(base, admin_token, user_id)
    await admin.wait_for("Customer", "custId", marker, ["INSERT"])
    for client in (user, user_node):
        await client.wait_for("Customer", "custId", marker, ["INSERT"])
        assert client.payloads("Customer", "custId", mine) == ["INSERT", "UPDATE", "DELETE"]
        assert client.payloads("Customer", "custId", theirs) == []
        assert client.payloads("Customer", "custId", given) == ["INSERT"]
    assert admin.payloads("Customer", "custId", theirs) == ["INSERT", "UPDATE", "DELETE"]
    assert admin.payloads("Customer", "custId", given) == ["INSERT", "UPDATE", "DELETE"]


async def test_role_revoked_while_connected_stops_events(
    auth_server: Project, admin_token: str, user_token: str, role_rows: list[int], clients: AsyncExitStack
) -> None:
    base = auth_server.url
    admin = await py_client(clients, base, "Supplier", admin_token)
    user = await py_client(clients, base, "Supplier", user_token)

    async def new_supplier() -> str:
        body = await rest(base, "POST", "/Supplier/", token=admin_token, body={"companyName": unique()})
        return str(body["supplierId"])

    before = await new_supplier()
    await user.wait_for("Supplier", "supplierId", before, ["INSERT"])
    await add_role(base, admin_token, role_rows, table="Supplier", role="USER", records="NONE", own_records="NONE")
    # Within seconds the user's socket hears nothing more (it may also be disconnected, with a reason).
    deadline = asyncio.get_running_loop().time() + 15
    while True:
        pk = await new_supplier()
        await admin.wait_for("Supplier", "supplierId", pk, ["INSERT"])
        await asyncio.sleep(0.2)
        if not user.payloads("Supplier", "supplierId", pk):
            break
        assert asyncio.get_running_loop().time() < deadline, (
            f"the revoked role still receives events{auth_server.log_tail()}"
        )
    after = await new_supplier()
    await admin.wait_for("Supplier", "supplierId", after, ["INSERT"])
    marker = await new_supplier()
    await admin.wait_for("Supplier", "supplierId", marker, ["INSERT"])
    assert user.payloads("Supplier", "supplierId", after) == []
    assert user.payloads("Supplier", "supplierId", marker) == []
    if user.of_kind("disconnect"):  # disconnected: with the reason
        assert user.events("exception")[-1][1]["message"] == "Table Action READ - Permission Denied For Role USER"


async def test_public_table_rule_added_then_removed(
    auth_server: Project, admin_token: str, clients: AsyncExitStack
) -> None:
    """Making Shipper public admits anonymous sockets; removing the rule disconnects them within seconds."""
    base = auth_server.url
    refused = await py_client(clients, base, "Shipper", None, expect_error=True)
    assert refused.error_message() == MISSING_TOKEN
    rule = await rest(
        base, "POST", "/_llana_public_tables/", token=admin_token, body={"table": "Shipper", "access_level": "READ"}
    )
    try:
        anonymous = await py_client(clients, base, "Shipper", None)
        body = await rest(base, "POST", "/Shipper/", token=admin_token, body={"companyName": unique()})
        await anonymous.wait_for("Shipper", "shipperId", body["shipperId"], ["INSERT"])
    finally:
        await rest(base, "DELETE", f"/_llana_public_tables/{rule['id']}", token=admin_token)
    await anonymous.wait_until(lambda: anonymous.of_kind("disconnect"), what="disconnect after the rule was removed")
    assert anonymous.events("exception")[-1][1]["message"] == MISSING_TOKEN


async def test_deactivated_user_is_disconnected(
    auth_server: Project, admin_token: str, databases: DatabaseFactory, clients: AsyncExitStack
) -> None:
    """A user whose account is deactivated (through the API) loses its open socket."""
    base = auth_server.url
    email = f"{unique('u').replace(' ', '')}@example.com"
    created = await rest(
        base, "POST", "/User/", token=admin_token, body={"email": email, "password": "pw-123456", "role": "USER"}
    )
    token = login(base, (email, "pw-123456"))
    client = await py_client(clients, base, "Customer", token)
    await rest(base, "PUT", f"/User/{created['id']}", token=admin_token, body={"is_active": False})
    await client.wait_until(lambda: client.of_kind("disconnect"), what="disconnect after deactivation")
    reasons = client.events("exception")  # the reason comes first, as an ``exception`` event
    assert reasons, client.observed
    assert reasons[-1][1]["status"] == "error"
    assert reasons[-1][1]["message"], reasons


# --- servers with another environment ----------------------------------------------------------------------


async def test_hosts_denial(databases: DatabaseFactory, admin_id: int, clients: AsyncExitStack) -> None:
    """``HOSTS`` without the client's address: the Engine.IO handshake itself is refused (403 ``Forbidden``),
    token or not, so the clients see a connection error before any Socket.IO CONNECT."""
    with start_project(databases, HOSTS="10.9.9.9") as project:
        token = forge(str(admin_id), expires_in=600)
        assert await arequest(project.url, "GET", "/socket.io/?EIO=4&transport=polling", token=token) == (
            403,
            {"code": 4, "message": "Forbidden"},
        )
        python = await py_client(clients, project.url, "Employee", token, expect_error=True)
        assert python.error_message() == "Connection error"
        node = await node_client(clients, project.url, table="Customer", token=token, via="llana")
        assert node.error_message() == "websocket error"  # via="llana": WebSocket first
        await clients.aclose()
    with start_project(databases, HOSTS="10.9.9.9,127.0.0.1") as project:
        async with AsyncExitStack() as stack:
            allowed = await py_client(stack, project.url, "Customer", forge(str(admin_id), expires_in=600))
            assert allowed.of_kind("connect")


async def test_skip_auth_sockets_connect_and_receive(databases: DatabaseFactory, clients: AsyncExitStack) -> None:
    """Fixed against Llana (whose SKIP_AUTH sockets never get events): with ``SKIP_AUTH=true`` a socket without a token is accepted and gets events."""
    with start_project(databases, SKIP_AUTH="true") as project:
        python = await py_client(clients, project.url, "Customer", None)
        node = await node_client(clients, project.url, table="Customer", via="header")
        assert node.of_kind("connect"), node.observed
        pk = await create_customer(project.url, None, 1)
        await rest(project.url, "DELETE", f"/Customer/{pk}", token=None)
        for client in (python, node):
            await client.wait_for("Customer", "custId", pk, ["INSERT", "DELETE"])
        await clients.aclose()


async def test_token_expiring_while_connected_disconnects(databases: DatabaseFactory, clients: AsyncExitStack) -> None:
    """Llana never enforces expiry on open sockets; here a socket is disconnected when its token expires,
    and the same token is then refused as expired."""
    with start_project(databases, JWT_EXPIRES_IN="3s") as project:
        token = login(project.url)
        python = await py_client(clients, project.url, "Customer", token)
        node = await node_client(clients, project.url, table="Customer", token=token, via="auth")
        assert node.of_kind("connect"), node.observed
        for client in (python, node):
            await client.wait_until(lambda c=client: c.of_kind("disconnect"), timeout=20, what="disconnect at expiry")
        assert node.of_kind("disconnect")[0][1] == "io server disconnect"
        for client in (python, node):
            assert ("exception", {"status": "error", "message": "Access token expired"}) in client.events(), (
                client.observed
            )
        again = await py_client(clients, project.url, "Customer", token, expect_error=True)
        assert again.error_message() == "Access token expired"
        await clients.aclose()
