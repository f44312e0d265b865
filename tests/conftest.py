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
