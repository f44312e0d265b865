"""Per-event authorisation of the table feed: own-records rules applied to events (DELETE: the row as it was),
no database work per socket, permission changes and token expiry applied to open sockets."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from llana.auth.tokens import AccessToken
from llana.models import PublicTable, Role
from llana.registry import clear_registry
from llana_realtime.feed.namespace import feed
from llana_realtime.socketio.server import default_server
from project.demo.models import Customer, Employee, SalesOrder, User
from tests.llana_realtime.feed_client import (
    FeedClient,
    make_user,
    token_for,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("feed_roles")]


async def follow(user: User | None, table: str = "Customer", token: str | None = None) -> FeedClient:
    client = FeedClient()
    auth: dict[str, Any] = {"x-llana-table": table}
    if user is not None or token is not None:
        auth["token"] = token or token_for(user)
    answer = await client.connect(auth)
    assert "sid" in answer, answer
    return client


def own_customers_only(identity_column: str = "userId", table: str = "Customer") -> None:
    Role.objects.create(
        custom=True, table=table, role="USER", records="NONE", own_records="READ", identity_column=identity_column
    )


def ids(events: list[tuple[str, Any]], pk: str = "custId") -> list[tuple[str, str]]:
    return [(data["type"], data[pk]) for _, data in events]


async def test_own_records_users_receive_only_their_rows_events_admins_all() -> None:
    await database_sync_to_async(own_customers_only)()
    ann, bob, admin = await make_user("ann@x.com"), await make_user("bob@x.com"), await make_user("adm@x.com", "ADMIN")
    clients = [await follow(ann), await follow(bob), await follow(admin)]
    try:

        def writes() -> tuple[str, str]:
            a = Customer.objects.create(user=ann, company_name="Ann's", city="A")
            b = Customer.objects.create(user=bob, company_name="Bob's", city="B")
            a.city = "AA"
            a.save()
            b_pk = str(b.pk)
            b.delete()
            a.user = bob  # reassigned: now Bob's row, no longer Ann's
            a.save()
            return str(a.pk), b_pk

        a_pk, b_pk = await database_sync_to_async(writes)()
        ann_c, bob_c, admin_c = clients
        assert ids(await admin_c.collect(5)) == [
            ("INSERT", a_pk),
            ("INSERT", b_pk),
            ("UPDATE", a_pk),
            ("DELETE", b_pk),
            ("UPDATE", a_pk),
        ]
        assert ids(await bob_c.collect(3)) == [("INSERT", b_pk), ("DELETE", b_pk), ("UPDATE", a_pk)]
        assert ids(await ann_c.quiet(0.3)) == [("INSERT", a_pk), ("UPDATE", a_pk)]
        assert ids(await bob_c.quiet(0.1)) == [("INSERT", b_pk), ("DELETE", b_pk), ("UPDATE", a_pk)]
    finally:
        for client in clients:
            await client.close()


async def test_sockets_share_one_room_of_the_servers_manager_per_table_and_access() -> None:
    """No hub of the feed's own: a socket is in one room of ``default_server.manager`` for its table and
    access; an event is decided once per room and encoded once."""
    await database_sync_to_async(own_customers_only)()
    ann, admin = await make_user("ann@x.com"), await make_user("adm@x.com", "ADMIN")
    clients = [await follow(ann), await follow(ann), await follow(admin), await follow(admin)]
    try:
        manager = default_server.manager
        everything, anns = "table:Customer:*", f"table:Customer:own:{ann.pk}:user"
        assert len(manager.room_members("/", everything)) == 2
        assert len(manager.room_members("/", anns)) == 2
        assert {frozenset(s.rooms - {s.sid}) for s in feed.subscriptions.sockets("Customer")} == {
            frozenset({everything}),
            frozenset({anns}),
        }
        before = feed.subscriptions.delivered
        bob = await make_user("bob@x.com")
        await database_sync_to_async(Customer.objects.create)(user=bob, company_name="Bob's", city="B")
        assert [len(await c.collect(1)) for c in clients[2:]] == [1, 1]
        assert feed.subscriptions.delivered - before == 2  # Ann's room was not admitted
    finally:
        for client in clients:
            await client.close()
    for _ in range(200):  # the server forgets closed sockets in tasks of their own
        if not manager.has_room("/", everything) and not manager.has_room("/", anns):
            break
        await asyncio.sleep(0.01)
    assert not manager.has_room("/", everything)
    assert not manager.has_room("/", anns)


async def test_own_records_through_a_relation_path() -> None:
    await database_sync_to_async(own_customers_only)("Customer.userId", "SalesOrder")
    ann, bob = await make_user("ann@x.com"), await make_user("bob@x.com")
    ann_c, bob_c = await follow(ann, "SalesOrder"), await follow(bob, "SalesOrder")
    try:

        def writes() -> tuple[str, str]:
            mine = SalesOrder.objects.create(
                customer=Customer.objects.create(user=ann, company_name="A", city="A"), ship_name="a"
            )
            theirs = SalesOrder.objects.create(
                customer=Customer.objects.create(user=bob, company_name="B", city="B"), ship_name="b"
            )
            mine_pk = str(mine.pk)
            mine.delete()
            return mine_pk, str(theirs.pk)

        mine, theirs = await database_sync_to_async(writes)()
        assert ids(await ann_c.collect(2), "orderId") == [("INSERT", mine), ("DELETE", mine)]
        assert ids(await bob_c.quiet(0.3), "orderId") == [("INSERT", theirs)]
        assert ids(await ann_c.quiet(0.1), "orderId") == [("INSERT", mine), ("DELETE", mine)]
    finally:
        await ann_c.close()
        await bob_c.close()


async def test_the_write_costs_the_same_queries_whatever_the_number_of_sockets() -> None:
    await database_sync_to_async(own_customers_only)()
    users = [await make_user(f"u{i}@x.com") for i in range(6)]
    admin = await make_user("adm@x.com", "ADMIN")

    def write(n: int) -> int:
        with CaptureQueriesContext(connection) as queries:
            Customer.objects.create(user=users[0], company_name=f"C{n}", city="X")
        return len(queries)

    one = await follow(users[0])
    try:
        await database_sync_to_async(write)(0)  # warms the identity cache (owner rules of the table)
        await one.collect(1)
        one.events.clear()
        alone = await database_sync_to_async(write)(1)
        assert len(await one.collect(1)) == 1
        many = [await follow(u) for u in users[1:]] + [await follow(admin) for _ in range(3)]
        crowded = await database_sync_to_async(write)(2)
        assert len(await one.collect(2)) == 2
        assert [len(await c.collect(1)) for c in many[-3:]] == [1, 1, 1]
        assert [len(await c.quiet(0.05)) for c in many[:-3]] == [0] * 5
        assert crowded == alone
    finally:
        await one.close()
        for client in many:
            await client.close()


async def test_revoked_role_disconnects_open_sockets_with_the_reason() -> None:
    user = await make_user("u@x.com")
    client = await follow(user)
    try:
        await database_sync_to_async(Role.objects.create)(custom=True, table="Customer", role="USER", records="NONE")
        await client.wait_disconnect()
        assert client.disconnected
        assert client.events == [
            ("exception", {"status": "error", "message": "Table Action READ - Permission Denied For Role USER"})
        ]
        assert feed.subscriptions.sockets("Customer") == []
    finally:
        await client.close()


async def test_narrowed_role_applies_own_records_to_open_sockets() -> None:
    ann, bob = await make_user("ann@x.com"), await make_user("bob@x.com")
    client = await follow(ann)
    try:
        await database_sync_to_async(own_customers_only)()
        for _ in range(100):  # the recompute runs shortly after the commit
            if not feed.subscriptions.subscription(feed.subscriptions.sockets("Customer")[0]).access.all_rows:  # type: ignore[union-attr]
                break
            await client.quiet(0.05)

        def writes() -> tuple[str, str]:
            return (
                str(Customer.objects.create(user=bob, company_name="B", city="B").pk),
                str(Customer.objects.create(user=ann, company_name="A", city="A").pk),
            )

        _, mine = await database_sync_to_async(writes)()
        await client.collect(1)
        assert ids(await client.quiet(0.2)) == [("INSERT", mine)]
    finally:
        await client.close()


async def test_deactivated_user_is_disconnected() -> None:
    user = await make_user("u@x.com")
    client = await follow(user)
    try:

        def deactivate() -> None:
            user.is_active = False
            user.save()

        await database_sync_to_async(deactivate)()
        await client.wait_disconnect()
        assert client.disconnected
        assert client.events == [("exception", {"status": "error", "message": "Authentication Failed"})]
    finally:
        await client.close()


async def test_password_change_disconnects_sockets_of_the_old_password() -> None:
    user = await make_user("u@x.com")
    client = await follow(user)
    try:

        def change_password() -> None:
            user.set_password("a new password")
            user.save()

        await database_sync_to_async(change_password)()
        await client.wait_disconnect()
        assert client.disconnected
        assert client.events == [("exception", {"status": "error", "message": "Authentication Failed"})]
    finally:
        await client.close()


async def test_soft_deleted_user_is_disconnected(settings: Any) -> None:
    settings.LLANA = {**settings.LLANA, "SOFT_DELETE_COLUMN": "deletedAt"}
    clear_registry()
    user, admin = await make_user("u@x.com"), await make_user("admin@x.com", "ADMIN")
    client = await follow(user)
    try:
        http = Client(HTTP_AUTHORIZATION=f"Bearer {token_for(admin)}")
        response = await database_sync_to_async(http.delete)(f"/User/{user.pk}")  # a soft delete
        assert response.status_code == 200, response.content
        await client.wait_disconnect()
        assert client.disconnected
        assert client.events == [("exception", {"status": "error", "message": "Authentication Failed"})]
    finally:
        await client.close()


async def test_invalidating_the_cache_by_hand_rechecks_open_sockets() -> None:
    from llana.permissions import cache

    user = await make_user("u@x.com")
    client = await follow(user)
    try:

        def revoke() -> None:
            Role.objects.filter(custom=False, role="USER").update(records="NONE")  # sends no model signal
            cache.invalidate()

        await database_sync_to_async(revoke)()
        await client.wait_disconnect()
        assert client.disconnected
        assert client.events == [
            ("exception", {"status": "error", "message": "Table Action READ - Permission Denied For Role USER"})
        ]
    finally:
        await client.close()


async def test_public_table_withdrawn_disconnects_anonymous_sockets() -> None:
    public = await database_sync_to_async(PublicTable.objects.create)(table="Employee", access_level="READ")
    client = await follow(None, "Employee")
    try:
        await database_sync_to_async(public.delete)()
        await client.wait_disconnect()
        assert client.disconnected
        assert client.events[0][1]["message"].startswith("Missing authorization token")
        await database_sync_to_async(Employee.objects.create)(last_name="Late", first_name="L")
        assert len(await client.quiet(0.1)) == 1
    finally:
        await client.close()


async def test_token_expiring_while_connected_disconnects() -> None:
    user = await make_user("u@x.com")
    token = AccessToken.for_user(user)
    # `exp` is whole seconds (truncated): 3 s leaves more than 2 s for the connect, under load too.
    token.set_exp(lifetime=dt.timedelta(seconds=3))
    client = await follow(user, token=str(token))
    try:
        await client.wait_disconnect(timeout=10)
        assert client.disconnected
        assert client.events == [("exception", {"status": "error", "message": "Access token expired"})]
        assert feed.subscriptions.sockets("Customer") == []
    finally:
        await client.close()
