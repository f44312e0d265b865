"""Skip a test whose external service is absent, unless ``LLANA_REQUIRE_SERVICES=1`` (CI) makes it a failure.

Redis: the suite uses a database number of its own (``LLANA_TEST_REDIS_DB``, default 15; never the 0 of a
developer's ``REDIS_URL``) and keys under its own prefix (``LLANA_TEST_REDIS_PREFIX``, one per session), which
``clean_test_redis()`` removes at the end of the session: a developer's own Redis data is never touched.
"""

from __future__ import annotations

import os
import shutil
import socket
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis

REQUIRED = os.environ.get("LLANA_REQUIRE_SERVICES") == "1"
TEST_REDIS_DB = int(os.environ.get("LLANA_TEST_REDIS_DB") or "15")
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
# One prefix per test session, inherited by the servers the tests start (they copy os.environ).
TEST_REDIS_PREFIX = os.environ.setdefault("LLANA_TEST_REDIS_PREFIX", f"llana-tests-{os.getpid()}")
# Prefixes of the keys the suite writes: this session's, and the feed servers' (tests/llana_realtime/feed/e2e).
TEST_KEY_PATTERNS = (f"{TEST_REDIS_PREFIX}:*", "llana-feed-*")


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


def redis_url_for_tests(url: str | None = None) -> str:
    """``url`` (default ``REDIS_URL``, else local Redis) with the suite's own database number."""
    parts = urlsplit(url or os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL)
    return urlunsplit((parts.scheme, parts.netloc, f"/{TEST_REDIS_DB}", parts.query, parts.fragment))


def redis_reachable(url: str) -> bool:
    parts = urlsplit(url)
    return port_open(parts.hostname or "127.0.0.1", parts.port or 6379)


def require_redis() -> str:
    """The URL of the suite's Redis database (see the module docstring); skips (fails in CI) without Redis."""
    url = redis_url_for_tests()
    parts = urlsplit(url)
    require(redis_reachable(url), f"Redis on {parts.hostname or '127.0.0.1'}:{parts.port or 6379}")
    return url


def clean_test_redis(url: str) -> int:
    """Delete the suite's keys (``TEST_KEY_PATTERNS``) from the suite's database; the number deleted."""
    client = redis.Redis.from_url(redis_url_for_tests(url), socket_timeout=5)
    try:
        deleted = 0
        for pattern in TEST_KEY_PATTERNS:
            batch = list(client.scan_iter(match=pattern, count=500))
            for start in range(0, len(batch), 500):
                deleted += int(client.delete(*batch[start : start + 500]))  # type: ignore[arg-type]
        return deleted
    finally:
        client.close()


def require_chromium() -> str:
    path = shutil.which("chromium") or ("/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else "")
    require(bool(path), "Debian's chromium (apt-get install chromium)")
    return path
