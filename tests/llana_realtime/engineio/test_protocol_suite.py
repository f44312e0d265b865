"""The cases of the official Engine.IO v4 protocol test suite (socketio/engine.io-protocol ``test-suite``),
replayed in Python against the conformance app's ``/engine.io/`` under daphne."""

from __future__ import annotations

import json
import threading
import time

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from tests.llana_realtime.engineio.engineio_http import Q, request

pytestmark = pytest.mark.slow

PING_INTERVAL, PING_TIMEOUT = 0.3, 0.2


def session(base: str) -> str:
    return str(json.loads(request(base, "GET", Q)[1][1:])["sid"])


def ws(base: str, query: str = "EIO=4&transport=websocket") -> ClientConnection:
    return connect(base.replace("http", "ws", 1) + "/engine.io/?" + query, compression=None)


def closes(connection: ClientConnection) -> bool:
    try:
        while True:
            connection.recv(timeout=5)
    except ConnectionClosed:
        return True
    except TimeoutError:
        return False


@pytest.mark.parametrize(("transport", "upgrades"), [("polling", ["websocket"]), ("websocket", [])])
def test_handshake_opens_a_session(conformance_server: str, transport: str, upgrades: list[str]) -> None:
    if transport == "polling":
        status, body = request(conformance_server, "GET", Q)
        assert status == 200
        data = body.decode()
    else:
        with ws(conformance_server) as connection:
            data = str(connection.recv(timeout=5))
    assert data[0] == "0"
    value = json.loads(data[1:])
    assert sorted(value) == [
        "maxPayload",
        "pingInterval",
        "pingTimeout",
        "sid",
        "upgrades",
    ]
    assert (
        value["upgrades"],
        value["pingInterval"],
        value["pingTimeout"],
        value["maxPayload"],
    ) == (upgrades, 300, 200, 1000000)


@pytest.mark.parametrize(
    "query",
    [
        "transport=websocket",
        "EIO=abc&transport=websocket",
        "EIO=4",
        "EIO=4&transport=abc",
    ],
)
def test_websocket_handshake_failures_close(conformance_server: str, query: str) -> None:
    with pytest.raises(InvalidStatus):
        ws(conformance_server, query).close()


@pytest.mark.parametrize("body", ["4hello", "4test1\x1e4test2\x1e4test3", "4hello\x1ebAQIDBA=="])
def test_polling_echo(conformance_server: str, body: str) -> None:
    sid = session(conformance_server)
    assert request(conformance_server, "POST", f"{Q}&sid={sid}", body.encode()) == (
        200,
        b"ok",
    )
    assert request(conformance_server, "GET", f"{Q}&sid={sid}") == (200, body.encode())


def test_websocket_echo_and_invalid_packet(conformance_server: str) -> None:
    with ws(conformance_server) as connection:
        connection.recv(timeout=5)
        connection.send("4hello")
        assert connection.recv(timeout=5) == "4hello"
        connection.send(bytes([1, 2, 3, 4]))
        assert connection.recv(timeout=5) == bytes([1, 2, 3, 4])
        connection.send("abc")
        assert closes(connection)


def test_polling_heartbeat(conformance_server: str) -> None:
    sid = session(conformance_server)
    for _ in range(3):
        assert request(conformance_server, "GET", f"{Q}&sid={sid}") == (200, b"2")
        assert request(conformance_server, "POST", f"{Q}&sid={sid}", b"3") == (
            200,
            b"ok",
        )


def test_websocket_heartbeat_then_timeout(conformance_server: str) -> None:
    with ws(conformance_server) as connection:
        connection.recv(timeout=5)
        for _ in range(3):
            assert connection.recv(timeout=5) == "2"
            connection.send("3")
        assert closes(connection)  # no more pongs: closed after the ping timeout


def test_polling_forceful_close(conformance_server: str) -> None:
    sid = session(conformance_server)
    results: list[tuple[int, bytes]] = []
    poller = threading.Thread(target=lambda: results.append(request(conformance_server, "GET", f"{Q}&sid={sid}")))
    poller.start()
    time.sleep(0.05)  # the suite sends both at once; the GET must be pending for the noop answer
    assert request(conformance_server, "POST", f"{Q}&sid={sid}", b"1") == (200, b"ok")
    poller.join(10)
    assert results == [(200, b"6")]
    assert request(conformance_server, "GET", f"{Q}&sid={sid}")[0] == 400


def test_websocket_forceful_close(conformance_server: str) -> None:
    with ws(conformance_server) as connection:
        connection.recv(timeout=5)
        connection.send("1")
        assert closes(connection)


def test_upgrade(conformance_server: str) -> None:
    sid = session(conformance_server)
    with ws(conformance_server, f"EIO=4&transport=websocket&sid={sid}") as connection:
        connection.send("2probe")
        assert connection.recv(timeout=5) == "3probe"
        assert request(conformance_server, "GET", f"{Q}&sid={sid}") == (200, b"6")
        connection.send("5")
        connection.send("4hello")
        assert connection.recv(timeout=5) == "4hello"


def test_http_refused_and_second_websocket_closed_after_upgrade(
    conformance_server: str,
) -> None:
    sid = session(conformance_server)
    with ws(conformance_server, f"EIO=4&transport=websocket&sid={sid}") as connection:
        connection.send("2probe")
        connection.send("5")
        assert connection.recv(timeout=5) == "3probe"
        connection.send("4first")
        assert connection.recv(timeout=5) == "4first"  # "5" has been handled
        assert request(conformance_server, "GET", f"{Q}&sid={sid}")[0] == 400
        # accepted (HTTP 101, as the reference server), then closed at once
        with ws(conformance_server, f"EIO=4&transport=websocket&sid={sid}") as second:
            assert closes(second)
        connection.send("4hello")
        assert connection.recv(timeout=5) == "4hello"
