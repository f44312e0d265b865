"""A second WebSocket for a session that is already upgraded (or upgrading) is accepted, then closed at once,
as the reference engine.io server does (HTTP 101, then a close frame): a refusal before the handshake (HTTP
403) makes standard clients raise "Unexpected server response: 403". Raw WebSocket clients against the
conformance app under daphne and uvicorn."""

from __future__ import annotations

import json

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from tests.llana_realtime.engineio.engineio_http import Q, request

pytestmark = pytest.mark.slow


@pytest.fixture(params=["daphne", "uvicorn"])
def base(request: pytest.FixtureRequest) -> str:
    name = "conformance_server" if request.param == "daphne" else "conformance_server_uvicorn"
    return str(request.getfixturevalue(name))


def ws(base: str, sid: str) -> ClientConnection:
    """A WebSocket to ``/engine.io/`` for ``sid``; raises ``InvalidStatus`` if the handshake is refused."""
    url = base.replace("http", "ws", 1) + f"/engine.io/?EIO=4&transport=websocket&sid={sid}"
    return connect(url, compression=None, open_timeout=10)


def closed_at_once(connection: ClientConnection) -> bool:
    """Whether the server closes ``connection`` without sending it anything first."""
    try:
        frame = connection.recv(timeout=5)
    except ConnectionClosed:
        return True
    except TimeoutError:
        return False
    raise AssertionError(f"unexpected frame {frame!r}")


def test_second_websocket_after_the_upgrade_is_accepted_then_closed(base: str) -> None:
    sid = str(json.loads(request(base, "GET", Q)[1][1:])["sid"])
    with ws(base, sid) as first:
        first.send("2probe")
        assert first.recv(timeout=5) == "3probe"
        first.send("5")
        first.send("4first")
        assert first.recv(timeout=5) == "4first"  # "5" has been handled
        with ws(base, sid) as second:  # HTTP 101, not 403
            assert closed_at_once(second)
        first.send("4still here")
        assert first.recv(timeout=5) == "4still here"


def test_second_websocket_during_the_upgrade_is_accepted_then_closed(base: str) -> None:
    sid = str(json.loads(request(base, "GET", Q)[1][1:])["sid"])
    with ws(base, sid) as first:
        first.send("2probe")
        assert first.recv(timeout=5) == "3probe"
        with ws(base, sid) as second:  # the session is upgrading to ``first``
            assert closed_at_once(second)
        first.send("5")  # the first upgrade goes on
        first.send("4hello")
        assert first.recv(timeout=5) == "4hello"
