"""Signals → channel layer: one ``llana.table_event`` per row change, on commit, to ``table_group_name(table)``.

Runs on the Redis pub/sub layer (``tests.services.require_redis``) with a test channel in the table's group;
the in-memory path (the manager fed in-process) is covered by test_delivery.py.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.db import transaction

from llana.models import Role
from llana.registry import clear_registry
from llana_realtime.feed.events import (
    PERMISSIONS_CHANGED,
    PERMISSIONS_GROUP,
    TABLE_EVENT,
    TableEvent,
    table_group_name,
)
from llana_realtime.feed.namespace import feed
from llana_realtime.socketio.pubsub import EMIT
from llana_realtime.socketio.server import default_server
from project.demo.models import Customer, SalesOrder, Shipper, User
from tests.llana_realtime.feed_client import (
    FeedClient,
    make_user,
    seed_default_roles,
    token_for,
)
from tests.services import require_redis

pytestmark = [pytest.mark.django_db(transaction=True)]


async def shutdown() -> None:
    """Stop this loop's channel-layer receiver and the feed's tasks (the next test starts them again)."""
    await default_server.manager.stop()
    await feed.subscriptions.shutdown()


@pytest.fixture
def redis_layer(settings: Any) -> str:
    url = require_redis()
    prefix = f"llana_test_{uuid.uuid4().hex[:8]}"
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [url], "prefix": prefix},
        }
    }
    seed_default_roles()
    clear_registry()
    return prefix


@pytest.fixture
async def listener(redis_layer: str) -> AsyncIterator[Any]:
    """A test channel in the Customer, SalesOrder and permissions groups."""
    layer = get_channel_layer()
    channel = await layer.new_channel("test.")
    for group in (table_group_name("Customer"), table_group_name("SalesOrder"), PERMISSIONS_GROUP):
        await layer.group_add(group, channel)

    # One reader for the whole test: a cancelled receive() makes the pub/sub layer drop the channel.
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def read() -> None:
        while True:
            queue.put_nowait(dict(await layer.receive(channel)))

    reader = asyncio.get_running_loop().create_task(read())

    async def receive(timeout: float = 5.0) -> dict[str, Any] | None:
        try:
            return await asyncio.wait_for(queue.get(), timeout)
        except asyncio.TimeoutError:
            return None

    yield receive
    reader.cancel()
    await asyncio.gather(reader, return_exceptions=True)
    await shutdown()


def test_group_names_are_valid_channel_names() -> None:
    from channels.layers import BaseChannelLayer

    layer = BaseChannelLayer()
    for table in ("Customer", "_llana_role", "Ünïcode table", "x" * 200, "a b", "a_b"):
        name = table_group_name(table)
        assert layer.require_valid_group_name(name)
    assert table_group_name("a b") != table_group_name("a_b")


async def test_one_message_per_row_change_on_commit(listener: Any, django_capture_on_commit_callbacks: Any) -> None:
    owner = await make_user("o@x.com")

    def writes() -> str:
        with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
            customer = Customer.objects.create(user=owner, company_name="C", city="X")
            customer.city = "Y"
            customer.save()
            pk = str(customer.pk)
            customer.delete()
            assert callbacks == []  # nothing published before the commit
        return pk

    pk = await database_sync_to_async(writes)()
    received = [await listener() for _ in range(3)]
    assert [(m["type"], m["table"], m["event"], m["pk_name"], m["pk"]) for m in received if m] == [
        (TABLE_EVENT, "Customer", kind, "custId", pk) for kind in ("INSERT", "UPDATE", "DELETE")
    ]
    assert await listener(0.3) is None  # exactly one message each


async def test_rolled_back_writes_and_unexposed_models_publish_nothing(listener: Any, settings: Any) -> None:
    settings.LLANA = {**settings.LLANA, "EXCLUDE_TABLES": ["Shipper"]}
    owner = await make_user("o@x.com")

    def writes() -> None:
        try:
            with transaction.atomic():
                Customer.objects.create(user=owner, company_name="Gone", city="X")
                raise RuntimeError
        except RuntimeError:
            pass
        Shipper.objects.create(company_name="Not exposed")

    await database_sync_to_async(writes)()
    assert await listener(0.5) is None


async def test_events_carry_owner_values_computed_at_signal_time(listener: Any) -> None:
    def setup() -> tuple[User, User]:
        Role.objects.create(
            custom=True, table="Customer", role="USER", records="NONE", own_records="READ", identity_column="userId"
        )
        Role.objects.create(
            custom=True,
            table="SalesOrder",
            role="USER",
            records="NONE",
            own_records="READ",
            identity_column="customer__user",
        )
        return User.objects.create_user("a@x.com", "pw-123456"), User.objects.create_user("b@x.com", "pw-123456")

    ann, bob = await database_sync_to_async(setup)()
    while (message := await listener(0.5)) is not None:  # the role rows' permission changes
        assert message["type"] == PERMISSIONS_CHANGED

    def writes() -> None:
        customer = Customer.objects.create(user=ann, company_name="C", city="X")
        order = SalesOrder.objects.create(customer=customer, ship_name="S")
        order.delete()  # the row as it was: still Ann's
        customer.user = bob
        customer.save()

    await database_sync_to_async(writes)()
    received = [await listener() for _ in range(4)]
    events = [TableEvent.from_message(m) for m in received if m]
    assert [(e.table, e.type, e.owners) for e in events] == [
        ("Customer", "INSERT", {"user": str(ann.pk)}),
        ("SalesOrder", "INSERT", {"customer__user": str(ann.pk)}),
        ("SalesOrder", "DELETE", {"customer__user": str(ann.pk)}),
        ("Customer", "UPDATE", {"user": str(bob.pk)}),
    ]


async def test_role_changes_publish_a_permission_change_after_commit(listener: Any) -> None:
    await database_sync_to_async(Role.objects.create)(custom=False, role="AUDITOR", records="READ")
    message = await listener()
    assert message is not None
    assert message["type"] == PERMISSIONS_CHANGED
    assert await listener(0.3) is None


async def test_socket_receives_events_through_redis_exactly_once(redis_layer: str) -> None:
    admin = await make_user("adm@x.com", "ADMIN")
    client = FeedClient()
    try:
        assert "sid" in await client.connect({"token": token_for(admin), "x-llana-table": "Customer"})
        customer = await database_sync_to_async(Customer.objects.create)(user=admin, company_name="C", city="X")
        await client.collect(1)
        assert await client.quiet(0.3) == [("Customer", {"type": "INSERT", "custId": str(customer.pk)})]
    finally:
        await client.close()
        await shutdown()


async def test_one_layer_channel_per_process_carries_emits_and_table_events(redis_layer: str) -> None:
    """The feed has no receiver of its own: the server's manager holds the process's one channel, in the
    emit group, the permissions group and the group of each followed table, and dispatches both kinds."""
    admin = await make_user("adm@x.com", "ADMIN")
    client = FeedClient()
    try:
        assert "sid" in await client.connect({"token": token_for(admin), "x-llana-table": "Customer"})
        manager = default_server.manager
        assert manager.channel is not None
        assert manager.groups == {manager.group, PERMISSIONS_GROUP, table_group_name("Customer")}
        # An emit published by another process, then a table event: both through that one channel.
        layer = get_channel_layer()
        emit = {
            "type": EMIT,
            "origin": "another-process",
            "namespace": "/",
            "frames": ['2["notice",{"n":1}]'],
            "rooms": None,
            "skip": [],
        }
        await layer.group_send(manager.group, emit)
        await client.collect(1)
        customer = await database_sync_to_async(Customer.objects.create)(user=admin, company_name="C", city="X")
        await client.collect(2)
        assert await client.quiet(0.3) == [
            ("notice", {"n": 1}),
            ("Customer", {"type": "INSERT", "custId": str(customer.pk)}),
        ]
    finally:
        await client.close()
        await shutdown()


async def test_broker_outage_never_fails_the_committed_write(settings: Any, caplog: Any) -> None:
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": ["redis://127.0.0.1:1/0"]},
        }
    }
    await database_sync_to_async(seed_default_roles)()
    clear_registry()
    owner = await make_user("o@x.com")
    with caplog.at_level(logging.ERROR, logger="llana_realtime.feed.publisher"):
        customer = await database_sync_to_async(Customer.objects.create)(user=owner, company_name="Kept", city="X")
    assert await database_sync_to_async(Customer.objects.filter(pk=customer.pk).exists)()
    assert any("Could not publish the INSERT event of table Customer" in r.getMessage() for r in caplog.records)
