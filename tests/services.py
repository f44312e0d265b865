"""Skip a test whose external service is absent, unless ``LLANA_REQUIRE_SERVICES=1`` (CI) makes it a failure."""

from __future__ import annotations

import os
import shutil
import socket

import pytest

REQUIRED = os.environ.get("LLANA_REQUIRE_SERVICES") == "1"


def require(available: bool, reason: str) -> None:
    """Skip (locally) or fail (in CI) when ``available`` is False, with ``reason``."""
    if available:
        return
    if REQUIRED:
        pytest.fail(f"required service missing (LLANA_REQUIRE_SERVICES=1): {reason}", pytrace=False)
    pytest.skip(reason)


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def require_node() -> str:
    """The ``node`` executable with ``node_modules/socket.io-client`` installed."""
    node = shutil.which("node")
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    installed = os.path.isdir(os.path.join(here, "node_modules", "socket.io-client"))
    require(bool(node) and installed, "Node.js with node_modules/socket.io-client (run `npm ci`)")
    return node or ""


def require_redis() -> str:
    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    require(port_open("127.0.0.1", 6379), "Redis on 127.0.0.1:6379")
    return url


def require_chromium() -> str:
    path = shutil.which("chromium") or ("/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else "")
    require(bool(path), "Debian's chromium (apt-get install chromium)")
    return path
