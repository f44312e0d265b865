"""An Engine.IO server at ``/engine.io/`` that sends a client as much as it asks for, with a small
``max_buffered_bytes`` (256 KiB), for the slow-reader tests:

    daphne -b 127.0.0.1 -p PORT tests.llana_realtime.engineio.firehose_asgi:application

Messages: ``go N SIZE`` → N messages of SIZE bytes (``x``), a few per event-loop iteration, as events come;
``reasons`` → a JSON list of the disconnect reasons of the sessions closed so far.
"""

from __future__ import annotations

import asyncio
import json
import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
django.setup()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from llana_realtime.channels.routing import engineio_urlpatterns  # noqa: E402
from llana_realtime.engineio.server import EngineIOServer  # noqa: E402
from llana_realtime.engineio.socket import EngineIOSocket  # noqa: E402

MAX_BUFFERED_BYTES = 256 * 1024


class Firehose:
    def __init__(self) -> None:
        self.reasons: list[str] = []
        self.tasks: set[asyncio.Task[None]] = set()

    async def engineio_connect(self, socket: EngineIOSocket) -> None:
        pass

    async def engineio_message(self, socket: EngineIOSocket, data: str | bytes) -> None:
        if data == "reasons":
            socket.send(json.dumps(self.reasons))
        elif isinstance(data, str) and data.startswith("go "):
            _, count, size = data.split()
            task = asyncio.get_running_loop().create_task(self._send(socket, int(count), "x" * int(size)))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    async def _send(self, socket: EngineIOSocket, count: int, message: str) -> None:
        for sent in range(count):
            if socket.closed:
                return
            socket.send(message)
            if sent % 10 == 9:
                await asyncio.sleep(0.001)

    async def engineio_disconnect(self, socket: EngineIOSocket, reason: str) -> None:
        self.reasons.append(reason)


server = EngineIOServer(Firehose(), max_buffered_bytes=MAX_BUFFERED_BYTES)
_http, _ws = engineio_urlpatterns("/engine.io/", server)
application = ProtocolTypeRouter({"http": URLRouter(_http), "websocket": URLRouter(_ws)})
