"""``realtime_settings``: the ``LLANA_REALTIME`` Django setting, read lazily, with documented defaults."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.signals import setting_changed

DEFAULTS: dict[str, Any] = {
    # URL path of the Socket.IO endpoint (both transports).
    "PATH": "/socket.io/",
    # Engine.IO heartbeat: the server pings every PING_INTERVAL ms and closes after PING_TIMEOUT ms without pong.
    "PING_INTERVAL": 25000,
    "PING_TIMEOUT": 20000,
    # Largest HTTP long-polling body / WebSocket message accepted, in bytes.
    "MAX_PAYLOAD": 1_000_000,
    # A session that sends no Socket.IO CONNECT within this many ms is closed.
    "CONNECT_TIMEOUT": 45000,
    # Origins allowed to use the transports from a browser ("*" = any); [] = same origin only. None (default):
    # the REST policy, django-cors-headers' CORS_ALLOWED_ORIGINS / CORS_ALLOW_ALL_ORIGINS (llana.auth.origins).
    "CORS_ALLOWED_ORIGINS": None,
    "CORS_ALLOW_CREDENTIALS": True,
    # Frames queued for one socket before it is considered stuck and disconnected.
    "OUTGOING_QUEUE_SIZE": 1024,
    # Bytes a WebSocket client may leave unsent in the ASGI server's write buffer (it does not read) before it
    # is disconnected; for servers whose send() never waits (daphne, uvicorn's websockets-sansio).
    "MAX_BUFFERED_BYTES": 1_048_576,
    # A table event / permission change is published after the write commits; a channel layer that does not
    # answer within this many ms is given up on (logged), so a broker outage never holds a committed request.
    "PUBLISH_TIMEOUT": 2000,
}


class RealtimeSettings:
    """Attribute access to ``settings.LLANA_REALTIME`` merged over ``DEFAULTS``; cached until ``reload()``."""

    def __getattr__(self, name: str) -> Any:
        if name not in DEFAULTS:
            raise AttributeError(f"Invalid LLANA_REALTIME setting: {name!r}")
        value = getattr(settings, "LLANA_REALTIME", {}).get(name, DEFAULTS[name])
        setattr(self, name, value)
        return value

    def reload(self) -> None:
        self.__dict__.clear()


realtime_settings = RealtimeSettings()


def _reload(*, setting: str, **kwargs: Any) -> None:
    if setting == "LLANA_REALTIME":
        realtime_settings.reload()


setting_changed.connect(_reload, dispatch_uid="llana_realtime.settings.reload")
