"""Type aliases of the realtime app: ASGI callables and the Engine.IO handler protocol (see starlette's types.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from llana_realtime.engine import EngineIOSocket

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class EngineIOHandler(Protocol):
    """What an application on top of Engine.IO implements (the Socket.IO server does).

    Calls for one socket happen in order: ``engineio_connect``, then ``engineio_message`` for each message, then
    ``engineio_disconnect`` exactly once. If a call raises, the error is logged and that socket is closed.
    """

    async def engineio_connect(self, socket: EngineIOSocket) -> None: ...

    async def engineio_message(
        self, socket: EngineIOSocket, data: str | bytes
    ) -> None: ...

    async def engineio_disconnect(
        self, socket: EngineIOSocket, reason: str
    ) -> None: ...
