"""Table events reach table-feed sockets in-process: ORM and REST writes → publisher → manager → feed rooms → Socket.IO frames.

Runs the production ASGI application (``project.asgi``) with raw Engine.IO/Socket.IO frames over
``WebsocketCommunicator``, on the in-memory channel layer (one process).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.db import transaction
from django.test import Client

from llana.registry import clear_registry
from llana_realtime.feed.namespace import feed
from project.demo.models import Customer, Employee, User
from tests.llana_realtime.feed_client import (
    FeedClient,
    make_user,
    seed_default_roles,
    token_for,
)

pytestmark = [pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _fresh_registry() -> Any:
    seed_default_roles()
    clear_registry()
    yield
    clear_registry()


async def admin_client(table: str = "Customer") -> tuple[FeedClient, User]:
    admin = await make_user("admin@example.com", "ADMIN")
    client = FeedClient()
    answer = await client.connect({"token": token_for(admin), "x-llana-table": table})
    assert "sid" in answer, answer
    return client, admin


async def test_admin_socket_receives_insert_update_delete_of_orm_writes() -> None:
    client, admin = await admin_client()
    try:
        customer = await database_sync_to_async(Customer.objects.create)(user=admin, company_name="Acme", city="Oslo")
        pk = str(customer.pk)

        def update() -> None:
            customer.city = "Bergen"
            customer.save()

        await database_sync_to_async(update)()
        await database_sync_to_async(customer.delete)()
        events = await client.collect(3)
        assert events == [
            ("Customer", {"type": "INSERT", "custId": pk}),
            ("Customer", {"type": "UPDATE", "custId": pk}),
            ("Customer", {"type": "DELETE", "custId": pk}),
        ]
    finally:
        await client.close()


async def test_no_event_for_other_tables_or_rolled_back_writes() -> None:
    client, admin = await admin_client("Customer")
    try:

        def writes() -> None:
            Employee.objects.create(last_name="Elsewhere", first_name="E")
            try:
                with transaction.atomic():
                    Customer.objects.create(user=admin, company_name="Rolled back", city="X")
                    raise RuntimeError("roll back")
            except RuntimeError:
                pass
            Customer.objects.create(user=admin, company_name="Kept", city="Y")

        await database_sync_to_async(writes)()
        kept = await database_sync_to_async(Customer.objects.get)(company_name="Kept")
        events = await client.collect(1)
        events = await client.quiet(0.3)
        assert events == [("Customer", {"type": "INSERT", "custId": str(kept.pk)})]
    finally:
        await client.close()


async def test_rest_writes_and_bulk_endpoints_publish_one_event_per_row(settings: Any) -> None:
    client, admin = await admin_client()
    token = token_for(admin)
    http = Client(HTTP_AUTHORIZATION=f"Bearer {token}")

    def rest() -> list[Any]:
        one = http.post(
            "/Customer/",
            json.dumps({"userId": admin.pk, "companyName": "One", "city": "A"}),
            content_type="application/json",
        )
        assert one.status_code in (200, 201), one.content
        many = http.post(
            "/Customer/",
            json.dumps(
                [
                    {"userId": admin.pk, "companyName": "Two", "city": "B"},
                    {"userId": admin.pk, "companyName": "Three", "city": "C"},
                ]
            ),
            content_type="application/json",
        )
        assert many.status_code in (200, 201), many.content
        return list(Customer.objects.order_by("cust_id").values_list("cust_id", flat=True))

    pks = await database_sync_to_async(rest)()
    events = await client.collect(3)
    await client.quiet(0.2)
    try:
        assert sorted(events, key=lambda e: int(e[1]["custId"])) == [
            ("Customer", {"type": "INSERT", "custId": str(pk)}) for pk in pks
        ]
    finally:
        await client.close()


async def test_soft_delete_through_the_api_publishes_delete_only(settings: Any) -> None:
    settings.LLANA = {**settings.LLANA, "SOFT_DELETE_COLUMN": "deletedAt"}
    clear_registry()
    client, admin = await admin_client()
    customer = await database_sync_to_async(Customer.objects.create)(user=admin, company_name="Soft", city="S")
    await client.collect(1)
    client.events.clear()
    http = Client(HTTP_AUTHORIZATION=f"Bearer {token_for(admin)}")
    response = await database_sync_to_async(http.delete)(f"/Customer/{customer.pk}")
    assert response.status_code == 200, response.content
    try:
        await client.collect(1)
        assert await client.quiet(0.2) == [("Customer", {"type": "DELETE", "custId": str(customer.pk)})]
    finally:
        await client.close()


async def test_disconnect_removes_the_socket_from_its_room() -> None:
    client, _ = await admin_client()
    assert len(feed.subscriptions.sockets("Customer")) == 1
    await client.communicator.send_to(text_data="41")
    await client.quiet(0.1)
    assert feed.subscriptions.sockets("Customer") == []
    await client.close()


async def test_polling_transport_with_handshake_headers() -> None:
    """Browsers send headers on the polling requests only: the handshake request's are the ones used."""
    from channels.testing import HttpCommunicator

    from project.asgi import application

    admin = await make_user("admin@example.com", "ADMIN")
    headers = [(b"authorization", f"Bearer {token_for(admin)}".encode()), (b"x-llana-table", b"Customer")]

    async def request(method: str, query: str, body: bytes = b"") -> str:
        communicator = HttpCommunicator(
            application,
            method,
            "/socket.io/?EIO=4&transport=polling" + query,
            body,
            headers=headers if not query else [],
        )
        response = await communicator.get_response(timeout=5)
        assert response["status"] == 200, response
        return bytes(response["body"]).decode()

    sid = json.loads((await request("GET", ""))[1:])["sid"]
    assert await request("POST", f"&sid={sid}", b"40") == "ok"
    assert (await request("GET", f"&sid={sid}")).startswith("40{")
    customer = await database_sync_to_async(Customer.objects.create)(user=admin, company_name="Polled", city="P")
    assert await request("GET", f"&sid={sid}") == '42["Customer",{"type":"INSERT","custId":"' + str(customer.pk) + '"}]'
    assert await request("POST", f"&sid={sid}", b"1") == "ok"
