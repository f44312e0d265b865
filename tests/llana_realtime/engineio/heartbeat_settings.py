"""The test settings with a short heartbeat (``LLANA_REALTIME``), for tests/llana_realtime/heartbeat_asgi.py."""

from __future__ import annotations

from tests.settings import *  # noqa: F403

LLANA_REALTIME = {"PING_INTERVAL": 300, "PING_TIMEOUT": 1500}
