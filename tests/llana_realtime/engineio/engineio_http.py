"""Plain HTTP requests to the conformance server's raw Engine.IO endpoint (``/engine.io/``), for e2e tests."""

from __future__ import annotations

import http.client
from urllib.parse import urlsplit

Q = "EIO=4&transport=polling"


def request(base: str, method: str, query: str, body: bytes | None = None) -> tuple[int, bytes]:
    """``(status, body)`` of one request to ``/engine.io/?<query>`` on the server at ``base``."""
    parts = urlsplit(base)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    try:
        connection.request(method, "/engine.io/?" + query, body=body)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()
