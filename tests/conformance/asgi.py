"""The conformance app, one port for the Engine.IO and Socket.IO protocol test suites
(docs/realtime-server.md, "Conformance runs"):

    daphne -b 127.0.0.1 -p PORT tests.conformance.asgi:application

- ``/engine.io/``: a raw Engine.IO echo (every message sent back unchanged, text as text, binary as binary);
- ``/socket.io/``: the reference Socket.IO app (namespaces ``/`` and ``/custom``).

Options as the reference servers: pingInterval 300, pingTimeout 200, maxPayload 1000000, CORS ``*``.
"""

from __future__ import annotations

import asyncio
import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
django.setup()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from llana_realtime.channels.routing import engineio_urlpatterns  # noqa: E402
from llana_realtime.engineio.server import EngineIOServer  # noqa: E402
from llana_realtime.engineio.socket import EngineIOSocket  # noqa: E402

OPTIONS = {
    "ping_interval": 300,
    "ping_timeout": 200,
    "max_payload": 1_000_000,
    "cors_allowed_origins": ["*"],
    "cors_allow_credentials": False,
}

http_patterns: list = []
websocket_patterns: list = []


# --- /engine.io/: raw Engine.IO echo ------------------------------------------------------------------------------------------


class EchoHandler:
    """Sends every message back unchanged."""

    async def engineio_connect(self, socket: EngineIOSocket) -> None:
        pass

    async def engineio_message(self, socket: EngineIOSocket, data: str | bytes) -> None:
        socket.send(data)

    async def engineio_disconnect(self, socket: EngineIOSocket, reason: str) -> None:
        pass


engineio_server = EngineIOServer(EchoHandler(), **OPTIONS)
_http, _ws = engineio_urlpatterns("/engine.io/", engineio_server)
http_patterns += _http
websocket_patterns += _ws


# --- /socket.io/: reference Socket.IO app ------------------------------------------------------------------------------------

from llana_realtime.socketio.namespace import Namespace  # noqa: E402
from llana_realtime.socketio.server import Socket, SocketIOServer  # noqa: E402

# The reference test servers' ``auth`` event comes in a write of its own, a few ms after the CONNECT ack (an emit
# made in the connect handler would share the ack's write): a client that reads one frame per read, as the
# official test suites do, sees both.
AUTH_DELAY = 0.005
_auth_tasks: set[asyncio.Task[None]] = set()


class ConformanceNamespace(Namespace):
    """On connect: emits ``auth`` with the CONNECT payload (``{}`` without one), a few ms after the connect ack."""

    async def on_connect(self, socket: Socket, auth: object) -> None:
        task = asyncio.get_running_loop().create_task(self._emit_auth(socket, auth))
        _auth_tasks.add(task)  # the event loop keeps only a weak reference
        task.add_done_callback(_auth_tasks.discard)

    async def _emit_auth(self, socket: Socket, auth: object) -> None:
        await asyncio.sleep(AUTH_DELAY)
        if socket.connected:
            await socket.emit("auth", auth)


class RootNamespace(ConformanceNamespace):
    """``/``: ``message`` answered by ``message-back`` with the same arguments; ``message-with-ack`` acked with them."""

    async def on_message(self, socket: Socket, *args: object) -> None:
        await socket.emit("message-back", *args)

    def __init__(self) -> None:
        super().__init__("/")
        self.on("message-with-ack", self.message_with_ack)

    async def message_with_ack(self, socket: Socket, *args: object) -> tuple[object, ...]:
        return args


class CustomNamespace(ConformanceNamespace):
    """``/custom``: the reference behaviour, plus hooks our end-to-end tests use (unknown to the test suites).

    ``call-me`` (args...): the server emits ``server-call`` with the args and an ack id, waits for the client's
    ack, then emits ``server-call-result`` with the ack's arguments. ``disconnect-me`` (close): the server
    disconnects the socket (``close`` true: closes the Engine.IO connection). ``broadcast`` (args...): emits
    ``broadcast`` with the args to every socket of ``/custom``.
    """

    def __init__(self) -> None:
        super().__init__("/custom")
        self.on("call-me", self.call_me)
        self.on("disconnect-me", self.disconnect_me)

    async def call_me(self, socket: Socket, *args: object) -> None:
        result = await socket.call("server-call", *args, timeout=10)
        await socket.emit("server-call-result", *result)

    async def disconnect_me(self, socket: Socket, close: bool = False) -> None:
        await socket.disconnect(close=bool(close))

    async def on_broadcast(self, socket: Socket, *args: object) -> None:
        await self.emit("broadcast", *args)


socketio_server = SocketIOServer(connect_timeout=1000, channel_layer_alias=None, name="conformance")
socketio_server.register(RootNamespace())
socketio_server.register(CustomNamespace())
socketio_engine = EngineIOServer(socketio_server, **OPTIONS)
_http, _ws = engineio_urlpatterns("/socket.io/", socketio_engine)
http_patterns += _http
websocket_patterns += _ws


# --- the application ------------------------------------------------------------------------------------------

application = ProtocolTypeRouter(
    {
        "http": URLRouter(http_patterns),
        "websocket": URLRouter(websocket_patterns),
    }
)
