"""End to end: the conformance app's ``/engine.io/`` echo under a real daphne, driven by the official
``engine.io-client`` (Node) and by raw HTTP / WebSocket requests with bad input."""

from __future__ import annotations

import http.client
import json
import subprocess
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from tests.llana_realtime.engineio.engineio_http import Q, request
from tests.services import require_node

pytestmark = pytest.mark.slow

SCRIPT = Path(__file__).parent / "node" / "engineio_echo.js"


def run_client(base: str, mode: str, hold_ms: int = 0) -> dict[str, Any]:
    node = require_node()
    result = subprocess.run(
        [node, str(SCRIPT), base, mode, str(hold_ms)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout)


def start_client(base: str, mode: str, hold_ms: int) -> subprocess.Popen[str]:
    node = require_node()
    return subprocess.Popen([node, str(SCRIPT), base, mode, str(hold_ms)], stdout=subprocess.PIPE, text=True)


def finish(process: subprocess.Popen[str]) -> dict[str, Any]:
    out, _ = process.communicate(timeout=60)
    assert process.returncode == 0, out
    return json.loads(out)


def handshake(base: str) -> str:
    status, body = request(base, "GET", Q)
    assert status == 200
    return str(json.loads(body[1:])["sid"])


ECHO = {"texts": ["hello", "héllo ☃ \U0001f600"], "binaries": [[1, 2, 3, 4]]}


def test_engineio_client_polling_then_upgrade(conformance_server: str) -> None:
    result = run_client(conformance_server, "upgrade")
    assert result["transports"] == ["polling", "websocket"]
    assert result["upgraded"] is True
    assert sorted(result["texts"]) == sorted(ECHO["texts"] * 2)
    assert result["binaries"] == ECHO["binaries"] * 2


@pytest.mark.parametrize("mode", ["websocket", "polling"])
def test_engineio_client_single_transport_with_heartbeats(conformance_server: str, mode: str) -> None:
    # Held for several ping intervals (300 ms) so the session must survive heartbeats on this transport.
    result = run_client(conformance_server, mode, hold_ms=1200)
    assert result["transports"] == [mode]
    assert result["texts"] == ECHO["texts"]
    assert result["binaries"] == ECHO["binaries"]


@pytest.mark.parametrize("mode", ["upgrade", "websocket", "polling"])
def test_engineio_client_under_uvicorn(conformance_server_uvicorn: str, mode: str) -> None:
    result = run_client(conformance_server_uvicorn, mode, hold_ms=700)
    assert result["transports"] == (["polling", "websocket"] if mode == "upgrade" else [mode])
    assert sorted(result["texts"]) == sorted(ECHO["texts"] * (2 if mode == "upgrade" else 1))


def test_open_packet_and_echo_over_raw_http(conformance_server: str) -> None:
    status, body = request(conformance_server, "GET", Q)
    sid = json.loads(body[1:])["sid"]
    assert body.decode() == (
        f'0{{"sid":"{sid}","upgrades":["websocket"],"pingInterval":300,"pingTimeout":200,"maxPayload":1000000}}'
    )
    assert request(conformance_server, "POST", f"{Q}&sid={sid}", b"4hello\x1ebAQIDBA==") == (200, b"ok")
    assert request(conformance_server, "GET", f"{Q}&sid={sid}") == (
        200,
        b"4hello\x1ebAQIDBA==",
    )


def test_bad_input_while_another_client_keeps_working(conformance_server: str) -> None:
    base = conformance_server
    survivor = start_client(base, "websocket", hold_ms=1500)
    try:
        # garbage body: 400, the session is closed
        sid = handshake(base)
        assert request(base, "POST", f"{Q}&sid={sid}", b"\x00garbage")[0] == 400
        assert json.loads(request(base, "GET", f"{Q}&sid={sid}")[1])["code"] == 1
        # oversize: 413
        sid = handshake(base)
        assert request(base, "POST", f"{Q}&sid={sid}", b"4" + b"x" * 1_000_000)[0] == 413
        assert request(base, "GET", f"{Q}&sid={sid}")[0] == 400
        # unknown sid, wrong method, unknown transport, unsupported version
        assert json.loads(request(base, "GET", f"{Q}&sid=doesnotexist")[1]) == {
            "code": 1,
            "message": "Session ID unknown",
        }
        assert json.loads(request(base, "POST", Q, b"4x")[1]) == {
            "code": 2,
            "message": "Bad handshake method",
        }
        assert json.loads(request(base, "GET", "EIO=4&transport=carrier-pigeon")[1])["code"] == 0
        assert json.loads(request(base, "GET", "EIO=2&transport=polling")[1])["code"] == 5
        sid = handshake(base)
        assert request(base, "DELETE", f"{Q}&sid={sid}")[0] == 400
        # garbage WebSocket frame: that connection is closed
        ws_url = base.replace("http", "ws", 1) + "/engine.io/?EIO=4&transport=websocket"
        with connect(ws_url) as ws:
            assert str(ws.recv(timeout=5)).startswith("0{")
            ws.send("not engine.io")
            with pytest.raises(ConnectionClosed):
                ws.recv(timeout=5)
        # a WebSocket for an unknown sid is refused
        with pytest.raises(InvalidStatus):
            connect(ws_url + "&sid=doesnotexist").close()
    finally:
        result = finish(survivor)
    assert result["texts"] == ECHO["texts"]


def test_silent_session_is_gone_after_interval_plus_timeout(
    conformance_server: str,
) -> None:
    sid = handshake(conformance_server)
    time.sleep((300 + 200) / 1000 + 0.3)  # waiting out the server's timers, not measuring them
    status, body = request(conformance_server, "GET", f"{Q}&sid={sid}")
    assert (status, json.loads(body)["code"]) == (400, 1)


def test_second_concurrent_get_closes_the_session(conformance_server: str) -> None:
    sid = handshake(conformance_server)
    parts = urlsplit(conformance_server)
    first = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    try:
        first.request("GET", f"/engine.io/?{Q}&sid={sid}")
        time.sleep(0.05)  # let the first GET arrive and wait (it is answered by the ping at 300 ms otherwise)
        second = request(conformance_server, "GET", f"{Q}&sid={sid}")
        response = first.getresponse()
        answers = sorted([second, (response.status, response.read())])
    finally:
        first.close()
    # One GET waits, the other overlaps: the waiting one gets the close packet, the overlapping one a 400.
    assert [status for status, _ in answers] == [200, 400]
    assert answers[0][1] == b"1"
    assert json.loads(answers[1][1]) == {"code": 3, "message": "Bad request"}
    assert request(conformance_server, "GET", f"{Q}&sid={sid}")[0] == 400
