"""Fixtures of the frontend tests: the realtime tests' ``feed_roles`` and their executor cleanup (the socket
tests here use the same in-process feed client)."""

from __future__ import annotations

from tests.llana_realtime.conftest import _release_executor_connections, feed_roles

__all__ = ["_release_executor_connections", "feed_roles"]
