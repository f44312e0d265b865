"""HOSTS under real servers: a client at 127.0.0.1 claiming ``X-Forwarded-For: 127.0.0.2`` must not pass
``HOSTS=127.0.0.2``, under uvicorn with its defaults (``--proxy-headers``, trusting 127.0.0.1), under the
documented uvicorn command (``--no-proxy-headers``) and under daphne; a client really at 127.0.0.2 passes.
Every route is covered: REST, the admin, ``/auth/login``, the Engine.IO polling handshake and the WebSocket
handshake (refused before it is accepted)."""

from __future__ import annotations

import base64
import http.client
import os
from urllib.parse import urlsplit

import pytest

from tests.llana_realtime.feed.e2e.conftest import DatabaseFactory, start_project

#: The production flags of README.md's uvicorn command (what the project tells users to run).
DOCUMENTED_UVICORN = ("--ws-per-message-deflate", "false", "--no-proxy-headers")
SPOOF = {"X-Forwarded-For": "127.0.0.2", "X-Real-IP": "127.0.0.2"}
ROUTES = [
    ("GET", "/Customer/"),
    ("GET", "/admin/login/"),
    ("POST", "/auth/login"),
    ("GET", "/socket.io/?EIO=4&transport=polling"),
]


def request(base: str, method: str, path: str, headers: dict[str, str], source: str = "127.0.0.1") -> int:
    parts = urlsplit(base)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30, source_address=(source, 0))
    try:
        body = b'{"username": "test@test.com", "password": "test"}' if method == "POST" else None
        connection.request(method, path, body=body, headers={"Content-Type": "application/json", **headers})
        return connection.getresponse().status
    finally:
        connection.close()


def websocket_status(base: str, headers: dict[str, str], source: str = "127.0.0.1") -> int:
    """The HTTP status of a WebSocket handshake (101 accepted, 403 refused before the accept)."""
    key = base64.b64encode(os.urandom(16)).decode()
    upgrade = {"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Key": key, "Sec-WebSocket-Version": "13"}
    return request(base, "GET", "/socket.io/?EIO=4&transport=websocket", {**upgrade, **headers}, source)


@pytest.mark.parametrize(
    ("server", "server_args"),
    [("uvicorn", ()), ("uvicorn", DOCUMENTED_UVICORN), ("daphne", ())],
    ids=["uvicorn-defaults", "uvicorn-documented", "daphne"],
)
def test_a_forwarded_for_header_does_not_pass_hosts(
    databases: DatabaseFactory, server: str, server_args: tuple[str, ...]
) -> None:
    with start_project(databases, server=server, server_args=server_args, HOSTS="127.0.0.2") as project:
        for method, path in ROUTES:
            assert request(project.url, method, path, SPOOF) == 403, (method, path, project.log_tail())
            assert request(project.url, method, path, SPOOF, source="127.0.0.2") != 403, (method, path)
        assert websocket_status(project.url, SPOOF) == 403
        assert websocket_status(project.url, {}, source="127.0.0.2") == 101
