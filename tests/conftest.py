"""Shared fixtures."""

from __future__ import annotations

import pytest

from tests.services import clean_test_redis, redis_reachable, redis_url_for_tests


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Remove the suite's Redis keys (its own database, its own prefixes; see tests/services.py)."""
    url = redis_url_for_tests()
    if redis_reachable(url):
        clean_test_redis(url)


@pytest.fixture(autouse=True)
def _llana_fresh_permission_cache() -> None:
    """Test transactions roll back without signals: start each test with no cached identity/permission."""
    from llana.permissions.cache import invalidate

    invalidate(notify=False)


@pytest.fixture(autouse=True)
def _llana_no_login_failures() -> None:
    """Each test starts with no failed logins counted (llana.auth.throttling): the local cache is cleared,
    a shared one (Redis) loses only the throttle's counters, not the other processes' data."""
    from django.core.cache import caches
    from django.core.cache.backends.locmem import LocMemCache

    from llana.settings import llana_settings

    cache = caches[llana_settings.CACHE_ALIAS]
    if isinstance(cache, LocMemCache):
        cache.clear()
        return
    client = getattr(getattr(cache, "_cache", None), "get_client", None)
    if client is not None:  # django.core.cache.backends.redis.RedisCache
        redis = client(write=True)
        keys = list(redis.scan_iter(match="*llana:login:*"))
        if keys:
            redis.delete(*keys)
