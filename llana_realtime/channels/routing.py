"""URL patterns that mount an ``EngineIOServer`` at a path, for both protocols (HTTP long-polling, WebSocket).

>>> http_patterns, websocket_patterns = engineio_urlpatterns("/socket.io/", server)  # doctest: +SKIP
>>> application = ProtocolTypeRouter({"http": URLRouter([*http_patterns, re_path(r"", django_asgi_app)]),
...                                   "websocket": URLRouter(websocket_patterns)})  # doctest: +SKIP
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any, cast

from django.urls import URLPattern, re_path

from llana_realtime.channels.consumers import EngineIOPollingApp, EngineIOWebSocketApp
from llana_realtime.engineio.server import EngineIOServer


def asgi_re_path(regex: str, app: Callable[..., Awaitable[None]]) -> URLPattern:
    """``re_path(regex, app)`` for an ASGI application, as Channels' ``URLRouter`` takes it."""
    # django-stubs types re_path() for views only; URLRouter calls any ASGI application.
    return re_path(regex, cast("Any", app))


def engineio_urlpatterns(path: str, server: EngineIOServer) -> tuple[list[URLPattern], list[URLPattern]]:
    """``(http patterns, websocket patterns)`` serving ``server`` at ``path`` (with or without the final slash)."""
    regex = rf"^{re.escape(path.strip('/'))}/?$"
    return [asgi_re_path(regex, EngineIOPollingApp(server))], [asgi_re_path(regex, EngineIOWebSocketApp(server))]
