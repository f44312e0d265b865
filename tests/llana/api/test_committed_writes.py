"""A committed write never answers an error: what fails after the commit (publishing the realtime event to
a channel layer that is down or does not answer) is logged once, as an ERROR without row data, and the
write answers its normal status (``docs/security.md``, "Data exposure", "Commit first, publish after")."""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client

from project.demo.models import Customer, User

pytestmark = pytest.mark.django_db(transaction=True)

SECRET = "Confidential Company 7"  # a row value that must never reach the log


@pytest.fixture
def silent_broker() -> Iterator[str]:
    """A "Redis" that accepts TCP connections and never answers (a hung or half-dead broker)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    yield f"redis://127.0.0.1:{server.getsockname()[1]}/0"
    server.close()


@pytest.fixture
def closed_port() -> str:
    """A "Redis" address where nothing listens (connection refused)."""
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return f"redis://127.0.0.1:{port}/0"


def use_broker(settings: Any, url: str) -> None:
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer", "CONFIG": {"hosts": [url]}}
    }
    settings.LLANA_REALTIME = {"PUBLISH_TIMEOUT": 300}


def answered(call: Any) -> Any:
    """``call()`` in a thread: its result, or a failure if it has not returned after 60 s (a hung request)."""
    result: dict[str, Any] = {}
    thread = threading.Thread(target=lambda: result.setdefault("value", call()), daemon=True)
    thread.start()
    thread.join(60)
    assert not thread.is_alive(), "the committed write never answered"
    return result["value"]


def publish_errors(caplog: Any) -> list[logging.LogRecord]:
    records = [r for r in caplog.records if r.levelno >= logging.ERROR]
    for record in records:
        text = record.getMessage() + (caplog.text or "")
        assert SECRET not in text
    return records


@pytest.mark.parametrize("broker", ["silent_broker", "closed_port"])
def test_create_answers_201_when_the_broker_is_down(
    open_api: Client, demo: Any, settings: Any, caplog: Any, broker: str, request: Any
) -> None:
    use_broker(settings, request.getfixturevalue(broker))
    body = {"companyName": SECRET, "city": "Y", "userId": demo.users[0].pk}
    with caplog.at_level(logging.ERROR):
        response = answered(lambda: open_api.post("/Customer/", body, content_type="application/json"))
    assert response.status_code == 201, response.content
    assert Customer.objects.filter(pk=response.json()["custId"], company_name=SECRET).exists()
    errors = publish_errors(caplog)
    assert [r.name for r in errors] == ["llana_realtime.feed.publisher"]
    assert errors[0].getMessage() == "Could not publish the INSERT event of table Customer to the channel layer"


def test_update_delete_and_bulk_answer_normally_when_the_broker_hangs(
    open_api: Client, demo: Any, settings: Any, caplog: Any, silent_broker: str
) -> None:
    use_broker(settings, silent_broker)
    pk = demo.customers[0].pk
    with caplog.at_level(logging.ERROR):
        patched = answered(
            lambda: open_api.patch(f"/Customer/{pk}", {"companyName": SECRET}, content_type="application/json")
        )
        bulk = answered(
            lambda: open_api.post(
                "/Shipper/", [{"companyName": "A"}, {"companyName": "B"}], content_type="application/json"
            )
        )
        deleted = answered(lambda: open_api.delete(f"/Customer/{pk}"))
    assert (patched.status_code, bulk.status_code, deleted.status_code) == (200, 201, 200)
    assert bulk.json()["successful"] == 2
    assert len(publish_errors(caplog)) == 4  # one per write: UPDATE, 2 INSERTs, DELETE


def test_autocommit_write_outside_a_transaction_returns(
    demo: Any, settings: Any, caplog: Any, silent_broker: str
) -> None:
    """Outside ``atomic()`` the on-commit callback runs inside ``save()`` itself: it must return too."""
    use_broker(settings, silent_broker)
    owner = User.objects.get(pk=demo.users[0].pk)
    with caplog.at_level(logging.ERROR):
        created = answered(lambda: Customer.objects.create(user=owner, company_name=SECRET, city="Z"))
    assert Customer.objects.filter(pk=created.pk).exists()
    assert len(publish_errors(caplog)) == 1
