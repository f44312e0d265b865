"""Many servers: two daphne processes sharing Redis (channels-redis) and one database.

A write through either server, or by ORM code in a third process (``manage.py shell``, as a management
command or a worker would), reaches the sockets of both servers exactly once; a rolled-back transaction
reaches nobody; a role revoked through one server takes effect on the other's sockets.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import AsyncExitStack

import pytest

from tests.llana_realtime.feed.e2e.conftest import (
    DatabaseFactory,
    Project,
    redis_prefix,
    start_project,
)
from tests.llana_realtime.feed.e2e.support import (
    USER,
    claims,
    create_customer,
    login,
    node_client,
    py_client,
    rest,
    unique,
)
from tests.services import require_redis

pytestmark = [pytest.mark.slow, pytest.mark.service("redis")]


@pytest.fixture(scope="module")
def servers(databases: DatabaseFactory) -> Iterator[tuple[Project, Project]]:
    redis_url = require_redis()
    prefix = redis_prefix()
    url = databases.new()
    with (
        start_project(databases, database_url=url, REDIS_URL=redis_url, LLANA_FEED_PREFIX=prefix) as a,
        start_project(databases, database_url=url, REDIS_URL=redis_url, LLANA_FEED_PREFIX=prefix) as b,
    ):
        yield a, b


@pytest.fixture(scope="module")
def admin_token(servers: tuple[Project, Project]) -> str:
    return login(servers[0].url)


async def test_a_write_on_one_server_reaches_the_other_exactly_once(
    servers: tuple[Project, Project], admin_token: str, clients: AsyncExitStack
) -> None:
    a, b = servers
    admin_id = int(claims(admin_token)["sub"])
    on_b = await py_client(clients, b.url, "Customer", admin_token)
    node_on_b = await node_client(
        clients, b.url, table="Customer", token=admin_token, via="llana", transports=["polling", "websocket"]
    )
    on_a = await py_client(clients, a.url, "Customer", admin_token)
    pk = await create_customer(a.url, admin_token, admin_id)
    await rest(a.url, "PUT", f"/Customer/{pk}", token=admin_token, body={"city": "Graz"})
    await rest(b.url, "DELETE", f"/Customer/{pk}", token=admin_token)  # …and the other way round
    marker = await create_customer(a.url, admin_token, admin_id)
    for client in (on_b, node_on_b, on_a):
        await client.wait_for("Customer", "custId", marker, ["INSERT"])
        assert client.payloads("Customer", "custId", pk) == ["INSERT", "UPDATE", "DELETE"], client.observed


async def test_orm_writes_in_another_process_reach_every_server(
    servers: tuple[Project, Project], admin_token: str, clients: AsyncExitStack
) -> None:
    a, b = servers
    on_a = await py_client(clients, a.url, "Customer", admin_token)
    on_b = await py_client(clients, b.url, "Customer", admin_token)
    out = a.shell(
        "from project.demo.models import Customer, User\n"
        f"c = Customer.objects.create(company_name={unique()!r}, user=User.objects.get(email='test@test.com'))\n"
        "c.city = 'Kyiv'; c.save()\n"
        "print(c.pk); c.delete()\n"
    )
    pk = out.strip().splitlines()[-1]
    for client in (on_a, on_b):
        await client.wait_for("Customer", "custId", pk, ["INSERT", "UPDATE", "DELETE"])
        assert client.payloads("Customer", "custId", pk) == ["INSERT", "UPDATE", "DELETE"]


async def test_rolled_back_transaction_publishes_nothing(
    servers: tuple[Project, Project], admin_token: str, clients: AsyncExitStack
) -> None:
    a, b = servers
    admin_id = int(claims(admin_token)["sub"])
    victim = await create_customer(a.url, admin_token, admin_id)
    marker = await create_customer(a.url, admin_token, admin_id)
    on_b = await py_client(clients, b.url, "Customer", admin_token)
    a.shell(
        "from django.db import transaction\n"
        "from project.demo.models import Customer, User\n"
        "class Abort(Exception): pass\n"
        "try:\n"
        "    with transaction.atomic():\n"
        f"        Customer.objects.create(company_name={unique()!r}, user=User.objects.get(pk={admin_id}))\n"
        f"        v = Customer.objects.get(pk={victim}); v.city = 'Never'; v.save()\n"
        "        v.delete()\n"
        "        raise Abort\n"
        "except Abort:\n"
        "    pass\n"
        f"m = Customer.objects.get(pk={marker}); m.city = 'Committed'; m.save()\n"
    )
    await on_b.wait_for("Customer", "custId", marker, ["UPDATE"])
    # The marker's UPDATE is the only event: nothing of the rolled-back insert, update or delete.
    assert on_b.events("Customer") == [("Customer", {"type": "UPDATE", "custId": marker})]
    status_row = await rest(a.url, "GET", f"/Customer/{victim}", token=admin_token)
    assert status_row["city"] != "Never"


async def test_role_revoked_on_one_server_applies_on_the_other(
    servers: tuple[Project, Project], admin_token: str, clients: AsyncExitStack
) -> None:
    a, b = servers
    user = await py_client(clients, b.url, "Supplier", login(b.url, USER))
    admin = await py_client(clients, b.url, "Supplier", admin_token)
    role = await rest(
        a.url,
        "POST",
        "/_llana_role/",
        token=admin_token,
        body={"custom": True, "table": "Supplier", "role": "USER", "records": "NONE", "own_records": "NONE"},
    )
    try:
        deadline = asyncio.get_running_loop().time() + 15
        while True:
            body = await rest(a.url, "POST", "/Supplier/", token=admin_token, body={"companyName": unique()})
            pk = str(body["supplierId"])
            await admin.wait_for("Supplier", "supplierId", pk, ["INSERT"])
            await asyncio.sleep(0.2)
            if not user.payloads("Supplier", "supplierId", pk):
                break
            assert asyncio.get_running_loop().time() < deadline, f"the revoked role still receives events{b.log_tail()}"
    finally:
        await rest(a.url, "DELETE", f"/_llana_role/{role['id']}", token=admin_token)


async def test_no_event_after_a_revocation_reaches_the_other_server(
    servers: tuple[Project, Project], admin_token: str, clients: AsyncExitStack
) -> None:
    """A writer on one server runs while a role is revoked on it: the revoked socket on the other server gets
    no event of a row created after the revocation's response (the Redis path of the hold)."""
    a, b = servers
    user = await py_client(clients, b.url, "Shipper", login(b.url, USER))
    admin = await py_client(clients, b.url, "Shipper", admin_token)
    before: list[str] = []
    after: list[str] = []
    changed, started = asyncio.Event(), asyncio.Event()

    async def writer() -> None:
        while len(after) < 30:
            committed_after_change = changed.is_set()
            body = await rest(a.url, "POST", "/Shipper/", token=admin_token, body={"companyName": unique()})
            (after if committed_after_change else before).append(str(body["shipperId"]))
            if len(before) >= 3:
                started.set()

    writing = asyncio.ensure_future(writer())
    await started.wait()
    role = await rest(
        a.url,
        "POST",
        "/_llana_role/",
        token=admin_token,
        body={"custom": True, "table": "Shipper", "role": "USER", "records": "NONE", "own_records": "NONE"},
    )
    changed.set()
    try:
        await writing
        await admin.wait_for("Shipper", "shipperId", after[-1], ["INSERT"])
        received = {pk for pk in before + after if user.payloads("Shipper", "shipperId", pk)}
        assert received & set(after) == set(), b.log_tail()
    finally:
        await rest(a.url, "DELETE", f"/_llana_role/{role['id']}", token=admin_token)
