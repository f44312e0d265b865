"""The suite keeps shared services clean: its own Redis database number and key prefix, removed at the end."""

from __future__ import annotations

import pytest
import redis
from django.conf import settings

from tests.services import (
    TEST_REDIS_DB,
    TEST_REDIS_PREFIX,
    clean_test_redis,
    redis_url_for_tests,
    require_redis,
)


def test_the_suite_never_uses_the_developers_redis_database() -> None:
    assert TEST_REDIS_DB != 0
    assert redis_url_for_tests("redis://u:p@cache:6380/0") == f"redis://u:p@cache:6380/{TEST_REDIS_DB}"
    assert redis_url_for_tests("redis://127.0.0.1:6379") == f"redis://127.0.0.1:6379/{TEST_REDIS_DB}"
    assert redis_url_for_tests("rediss://h/3?ssl_cert_reqs=none") == f"rediss://h/{TEST_REDIS_DB}?ssl_cert_reqs=none"


def test_the_settings_put_redis_in_the_suites_database() -> None:
    if "redis" not in settings.CACHES["default"]["BACKEND"].lower():
        pytest.skip("REDIS_URL unset: the suite runs on the in-memory layer and cache")
    assert settings.CACHES["default"]["LOCATION"].endswith(f"/{TEST_REDIS_DB}")
    assert settings.CACHES["default"]["KEY_PREFIX"] == TEST_REDIS_PREFIX
    assert settings.CHANNEL_LAYERS["default"]["CONFIG"]["hosts"] == [settings.CACHES["default"]["LOCATION"]]


@pytest.mark.service("redis")
def test_cleaning_removes_only_the_suites_keys() -> None:
    url = require_redis()
    client = redis.Redis.from_url(url)
    others = "a-developers-key-in-the-test-database"
    try:
        client.set(f"{TEST_REDIS_PREFIX}:1:identity", b"x")
        client.set("llana-feed-0123456789ab:1:identity", b"x")
        client.set(others, b"kept")
        assert clean_test_redis(url) >= 2
        assert client.get(f"{TEST_REDIS_PREFIX}:1:identity") is None
        assert client.get("llana-feed-0123456789ab:1:identity") is None
        assert client.get(others) == b"kept"
    finally:
        client.delete(others)
        client.close()
