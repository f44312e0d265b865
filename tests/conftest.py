"""Shared fixtures."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _llana_fresh_permission_cache() -> None:
    """Test transactions roll back without signals: start each test with no cached identity/permission."""
    from llana.permissions.cache import invalidate

    invalidate(notify=False)
