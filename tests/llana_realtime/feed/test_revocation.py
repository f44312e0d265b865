"""Revocation is exact: with a writer running during a permission change, no event of a write committed after
the change reaches a socket that lost access by it (not even during the re-evaluation of open sockets).

Each scenario follows ``Customer`` with one socket, runs a writer creating rows the socket may read before
the change (owned by another user), applies the change, and keeps writing; every row created after the
change's commit returned must be missing from what the socket received, while an unaffected ADMIN socket
receives every row, in order (the events held during the re-evaluation are delivered after it)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from channels.db import database_sync_to_async

from llana.auth.identities import Identity
from llana.models import PublicTable, Role
from llana_realtime.feed import subscriptions as subscriptions_module
from llana_realtime.feed.access import reevaluate_many
from llana_realtime.feed.namespace import feed
from llana_realtime.feed.subscriptions import RESYNC_MESSAGE
from project.demo.models import Customer, User
from tests.llana_realtime.feed_client import FeedClient, make_user, token_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("feed_roles")]

WRITES_AFTER = 40  # rows written after the change, while the server re-evaluates its sockets


async def follow(user: User | None) -> FeedClient:
    client = FeedClient()
    auth: dict[str, Any] = {"x-llana-table": "Customer"}
    if user is not None:
        auth["token"] = token_for(user)
    answer = await client.connect(auth)
    assert "sid" in answer, answer
    return client


def _role_none(user: User) -> None:
    Role.objects.create(custom=True, table="Customer", role="USER", records="NONE")


def _default_role_downgraded(user: User) -> None:
    role = Role.objects.get(custom=False, role="USER")
    role.records = "NONE"
    role.save()


def _deactivated(user: User) -> None:
    user.is_active = False
    user.save()


def _deleted(user: User) -> None:
    user.delete()


def _admin_to_user(user: User) -> None:
    user.role = "USER"
    user.save()


def _public_table_removed(user: User) -> None:
    PublicTable.objects.filter(table="Customer").delete()


def _narrowed_to_own_rows(user: User) -> None:
    Role.objects.create(
        custom=True, table="Customer", role="USER", records="NONE", own_records="READ", identity_column="userId"
    )


def _setup_admin_to_user() -> None:
    Role.objects.create(custom=True, table="Customer", role="USER", records="NONE")


def _setup_public() -> None:
    PublicTable.objects.create(table="Customer", access_level="READ")


SCENARIOS: dict[str, tuple[str, Callable[[], None] | None, Callable[[User], None], bool]] = {
    # name: (the follower's role, or "public"), setup, change, is the socket disconnected?
    "role-none": ("USER", None, _role_none, True),
    "default-role-downgraded": ("USER", None, _default_role_downgraded, True),
    "user-deactivated": ("USER", None, _deactivated, True),
    "user-deleted": ("USER", None, _deleted, True),
    "admin-to-user": ("ADMIN", _setup_admin_to_user, _admin_to_user, True),
    "public-table-removed": ("public", _setup_public, _public_table_removed, True),
    "narrowed-to-own-rows": ("USER", None, _narrowed_to_own_rows, False),
}


@pytest.mark.parametrize("scenario", list(SCENARIOS))
async def test_no_event_after_the_change_commits(scenario: str) -> None:
    role, setup, change, disconnected = SCENARIOS[scenario]
    if setup is not None:
        await database_sync_to_async(setup)()
    owner = await make_user("owner@x.com")
    user = await make_user("follower@x.com", role if role != "public" else "USER")
    client = await follow(None if role == "public" else user)
    witness = await follow(await make_user("witness@x.com", "ADMIN"))  # unaffected: must lose nothing
    before: list[str] = []
    after: list[str] = []
    changed, started = asyncio.Event(), asyncio.Event()

    def create() -> str:
        return str(Customer.objects.create(user=owner, company_name="C", city="W").pk)

    async def writer() -> None:
        while len(after) < WRITES_AFTER:
            committed_after_change = changed.is_set()  # read before the write starts
            pk = await database_sync_to_async(create)()
            (after if committed_after_change else before).append(pk)
            if len(before) >= 5:
                started.set()
            await asyncio.sleep(0)

    try:
        writing = asyncio.ensure_future(writer())
        await started.wait()
        await database_sync_to_async(change)(user)  # committed when it returns
        changed.set()
        await writing
        await client.quiet(1.0)
        received = {data["custId"] for name, data in client.events if name == "Customer"}
        assert set(before[:3]) <= received  # the socket did receive events before the change
        assert received & set(after) == set()
        assert client.disconnected is disconnected, client.events[-3:]
        await witness.collect(len(before) + len(after), timeout=10)
        assert [data["custId"] for name, data in witness.events if name == "Customer"] == before + after
    finally:
        await client.close()
        await witness.close()


async def test_an_overflowing_hold_disconnects_instead_of_dropping_silently(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(feed.subscriptions, "HOLD_LIMIT", 3)
    monkeypatch.setattr(feed.subscriptions, "RECOMPUTE_DELAY", 1.0)  # the writes below land during the hold
    owner, user = await make_user("owner@x.com"), await make_user("follower@x.com")
    client = await follow(user)
    try:
        await database_sync_to_async(PublicTable.objects.create)(table="Employee", access_level="READ")  # a change

        def writes() -> None:
            for _ in range(10):
                Customer.objects.create(user=owner, company_name="C", city="W")

        await database_sync_to_async(writes)()
        await client.wait_disconnect(timeout=10)
        assert client.disconnected
        assert client.events[-1] == ("exception", {"status": "error", "message": RESYNC_MESSAGE})
    finally:
        await client.close()


# --- targeted re-checks ---------------------------------------------------------------------------------------


async def test_a_user_change_rechecks_only_that_users_sockets(monkeypatch: pytest.MonkeyPatch) -> None:
    checked: list[str | None] = []

    def recording(batch: list[tuple[Identity, list[str]]]) -> Any:
        checked.extend(identity.user_pk for identity, _ in batch)
        return reevaluate_many(batch)

    monkeypatch.setattr(subscriptions_module, "reevaluate_many", recording)
    ann, bob = await make_user("ann@x.com"), await make_user("bob@x.com")
    clients = [await follow(ann), await follow(bob)]
    try:
        generation = feed.subscriptions.generation

        def edit_profile() -> None:  # a full save() that changes no standing: nothing to re-check
            ann.first_name = "Ann"
            ann.save()

        await database_sync_to_async(edit_profile)()
        await database_sync_to_async(_deactivated)(ann)
        await clients[0].wait_disconnect()
        assert clients[0].disconnected
        assert feed.subscriptions.generation == generation + 1  # the deactivation only
        assert checked == [str(ann.pk)]
        assert not clients[1].disconnected
    finally:
        for client in clients:
            await client.close()


async def test_a_failed_recheck_disconnects_instead_of_delivering(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(batch: list[tuple[Identity, list[str]]]) -> Any:
        raise RuntimeError("database unreachable")

    monkeypatch.setattr(subscriptions_module, "reevaluate_many", broken)
    user = await make_user("follower@x.com")
    client = await follow(user)
    try:
        await database_sync_to_async(_role_none)(user)
        await client.wait_disconnect()
        assert client.disconnected
        assert client.events == [("exception", {"status": "error", "message": RESYNC_MESSAGE})]
    finally:
        await client.close()
