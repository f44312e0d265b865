"""``Namespace``: the handlers of one Socket.IO namespace (``on_<event>`` methods or ``on()``).

A namespace is registered on a ``SocketIOServer`` (``server.register(namespace)``), which then calls its
connect, event and disconnect handlers; ``namespace.emit()`` emits on it through the server.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the server imports this module to create its main namespace
    from llana_realtime.socketio.server import SocketIOServer

Handler = Callable[..., Any]
#: A room, a sid, several of them, or None (the whole namespace).
Room = str | Iterable[str] | None

#: ``Namespace.on(CATCH_ALL, handler)``: ``handler(socket, event, *args)`` gets events without a handler.
CATCH_ALL = "*"


class Namespace:
    """Handlers of one namespace: define ``on_connect``, ``on_disconnect`` and ``on_<event>``, or use ``on()``."""

    def __init__(self, name: str = "/") -> None:
        if not name.startswith("/"):
            raise ValueError(f"namespace must start with '/': {name!r}")
        self.name = name
        self.server: SocketIOServer | None = None
        self._handlers: dict[str, Handler] = {}

    def bind(self, server: SocketIOServer) -> None:
        """Called by ``server.register(self)``; a subclass may hook into the server here (call super)."""
        self.server = server

    def on(self, event: str, handler: Handler | None = None) -> Any:
        """Register ``handler(socket, *args)`` for ``event`` (also usable as a decorator).

        ``"connect"`` registers the connect handler ``(socket, auth)``, ``"disconnect"`` the disconnect
        handler ``(socket, reason)``, and ``"*"`` the catch-all handler ``(socket, event, *args)``: it gets
        every event that has no handler of its own (like python-socketio's ``on("*")``), and what it
        returns is the ack, as for any event handler.
        """

        def register(function: Handler) -> Handler:
            self._handlers[event] = function
            return function

        return register(handler) if handler is not None else register

    def handler(self, event: str) -> Handler | None:
        """The handler registered for ``event`` (``on(event)``, else an ``on_<event>`` method), or None."""
        handler = self._handlers.get(event)
        if handler is None and event != CATCH_ALL:
            handler = getattr(self, "on_" + event, None)
        return handler if callable(handler) else None

    async def emit(self, event: str, *args: Any, to: Room = None, skip_sid: Room = None) -> None:
        """``SocketIOServer.emit`` on this namespace."""
        if self.server is None:
            raise RuntimeError(f"namespace {self.name} is not registered on a server")
        await self.server.emit(event, *args, to=to, namespace=self.name, skip_sid=skip_sid)
