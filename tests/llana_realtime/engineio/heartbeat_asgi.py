"""A raw Engine.IO echo at ``/engine.io/``, configured by ``LLANA_REALTIME`` (``EngineIOServer.from_settings``)
with the short heartbeat of tests/llana_realtime/heartbeat_settings.py, for the heartbeat tests:

    daphne -b 127.0.0.1 -p PORT tests.llana_realtime.engineio.heartbeat_asgi:application
"""

from __future__ import annotations

import os

import django

# This app exists for its settings: they win over the DJANGO_SETTINGS_MODULE the test server was started with.
os.environ["DJANGO_SETTINGS_MODULE"] = "tests.llana_realtime.engineio.heartbeat_settings"
django.setup()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from llana_realtime.channels.asgi import engineio_server  # noqa: E402
from llana_realtime.channels.routing import engineio_urlpatterns  # noqa: E402
from llana_realtime.engineio.socket import EngineIOSocket  # noqa: E402


class Echo:
    """Sends every message back unchanged."""

    async def engineio_connect(self, socket: EngineIOSocket) -> None:
        pass

    async def engineio_message(self, socket: EngineIOSocket, data: str | bytes) -> None:
        socket.send(data)

    async def engineio_disconnect(self, socket: EngineIOSocket, reason: str) -> None:
        pass


server = engineio_server(Echo())
_http, _ws = engineio_urlpatterns("/engine.io/", server)
application = ProtocolTypeRouter({"http": URLRouter(_http), "websocket": URLRouter(_ws)})
