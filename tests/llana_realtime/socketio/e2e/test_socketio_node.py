"""The official ``socket.io-client`` (Node, node_modules) against the conformance app's ``/socket.io/`` under daphne."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.services import require_node

SCRIPT = Path(__file__).with_name("socketio_client.js")
pytestmark = [pytest.mark.slow, pytest.mark.service("node")]


def run(base: str, scenario: str) -> dict[str, Any]:
    node = require_node()
    done = subprocess.run([node, str(SCRIPT), base, scenario], capture_output=True, text=True, timeout=60, check=False)
    lines = done.stdout.strip().splitlines()
    assert lines, f"no output; stderr: {done.stderr}"
    result: dict[str, Any] = json.loads(lines[-1])
    assert "error" not in result, (result, done.stderr)
    assert done.returncode == 0, (result, done.stderr)
    return result


@pytest.mark.parametrize(
    ("scenario", "transports"), [("upgrade", ["polling", "websocket"]), ("websocket", ["websocket"])]
)
def test_emit_ack_and_binary_both_ways(conformance_server: str, scenario: str, transports: list[str]) -> None:
    result = run(conformance_server, scenario)
    assert result["transports"] == transports
    assert result["auth"] == {"token": "abc"}
    assert len(result["sid"]) == 20
    assert result["messageBack"] == [1, "2", {"3": [True]}, {"bytes": [1, 2, 3]}]
    assert result["ack"] == [1, "2", {"3": [False]}, {"bytes": [4, 5]}]


def test_custom_namespace_and_server_to_client_ack(conformance_server: str) -> None:
    result = run(conformance_server, "custom")
    assert result["nsp"] == "/custom"
    assert result["auth"] == {}
    assert result["serverCall"] == ["question", {"bytes": [7]}]
    assert result["serverCallResult"] == ["answer", {"bytes": [9, 8]}]


def test_refused_namespace_reaches_connect_error(conformance_server: str) -> None:
    result = run(conformance_server, "refused")
    assert result["message"] == "Invalid namespace"
    assert result["connected"] is False


def test_server_disconnect_then_automatic_reconnect(conformance_server: str) -> None:
    result = run(conformance_server, "reconnect")
    assert len(result["sids"]) == 2
    assert result["sids"][0] != result["sids"][1]
    assert result["reconnected"] is True
    assert result["reasons"] == ["transport close", "io server disconnect"]
    assert result["connectedAfterServerDisconnect"] is False


def test_silent_client_is_closed_by_the_heartbeat(conformance_server: str) -> None:
    result = run(conformance_server, "silent")
    assert result["pings"] >= 1
    assert result["reason"] in {"transport close", "ping timeout"}
