"""The two interfaces of the Engine.IO layer: ``EngineIOHandler`` (implemented by the application on top, the
Socket.IO server) and ``WebSocketTransport`` (implemented by the WebSocket transport below)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from llana_realtime.engineio.socket import EngineIOSocket


class EngineIOHandler(Protocol):
    """What an application on top of Engine.IO implements (the Socket.IO server does).

    Calls for one socket happen in order: ``engineio_connect``, then ``engineio_message`` for each message, then
    ``engineio_disconnect`` exactly once. If a call raises, the error is logged and that socket is closed.
    """

    async def engineio_connect(self, socket: EngineIOSocket) -> None: ...

    async def engineio_message(self, socket: EngineIOSocket, data: str | bytes) -> None: ...

    async def engineio_disconnect(self, socket: EngineIOSocket, reason: str) -> None: ...


class WebSocketTransport(Protocol):
    """What a socket needs from one WebSocket connection.

    ``send_frame`` must be a coroutine function (the writer steps its coroutine by hand, see
    ``writer.Writer``); it should hand the frame to the ASGI server's ``send`` and not wait otherwise.
    An optional attribute ``buffered_amount: Callable[[], int] | None`` returns the bytes the ASGI server has
    taken from ``send`` but not yet handed to the network (missing or ``None``: the server gives no way to
    know); it bounds what a client that does not read costs (``EngineIOServer.max_buffered_bytes``).
    """

    async def send_frame(self, frame: str | bytes) -> None: ...

    async def close_transport(self) -> None: ...
