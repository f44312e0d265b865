"""URL patterns that mount an ``EngineIOServer`` at a path, for both protocols (HTTP long-polling, WebSocket).

>>> http_patterns, websocket_patterns = engineio_urlpatterns("/socket.io/", server)  # doctest: +SKIP
>>> application = ProtocolTypeRouter({"http": URLRouter([*http_patterns, re_path(r"", django_asgi_app)]),
...                                   "websocket": URLRouter(websocket_patterns)})  # doctest: +SKIP
"""

from __future__ import annotations

import re
from typing import Any

from django.urls import re_path

from llana_realtime.consumers import EngineIOPollingConsumer, EngineIOWebSocketConsumer
from llana_realtime.engine import EngineIOServer


def engineio_urlpatterns(
    path: str, server: EngineIOServer
) -> tuple[list[Any], list[Any]]:
    """``(http patterns, websocket patterns)`` serving ``server`` at ``path`` (with or without the final slash)."""
    stripped = path.strip("/")
    regex = rf"^{re.escape(stripped)}/?$"
    return (
        [re_path(regex, EngineIOPollingConsumer.as_asgi(server=server))],
        [re_path(regex, EngineIOWebSocketConsumer.as_asgi(server=server))],
    )
