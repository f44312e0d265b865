"""``EngineIOServer``: the Engine.IO sessions of one process, their options, and the ``Writer`` and
``Heartbeat`` that serve them all.

Sessions live here, not on a transport, so consecutive long-polling requests of one ``sid`` may be served by
different requests' handlers of the process. A multi-process deployment needs sticky sessions (see
docs/realtime-server.md).

API: for the transports ``get()``, ``open()``, ``allowed_origin()`` and the options; for everyone
``close_all()``; for the sockets ``handler``, ``writer``, ``heartbeat``, ``spawn()`` and ``remove()``.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os
from collections.abc import Coroutine, Iterable, Mapping
from typing import Any

from llana_realtime.engineio.heartbeat import Heartbeat
from llana_realtime.engineio.interfaces import EngineIOHandler
from llana_realtime.engineio.socket import EngineIOSocket
from llana_realtime.engineio.writer import Writer
from llana_realtime.protocol import session as s
from llana_realtime.protocol.engineio import Packet

logger = logging.getLogger(__name__)


def new_sid() -> str:
    """A random, URL-safe 20-character session id (like the reference engine.io server's)."""
    return base64.urlsafe_b64encode(os.urandom(15)).decode("ascii")


class EngineIOServer:
    """The Engine.IO sessions of this process, their options, the writer and the heartbeat (one timer in all)."""

    def __init__(
        self,
        handler: EngineIOHandler,
        *,
        ping_interval: int = 25000,
        ping_timeout: int = 20000,
        max_payload: int = 1_000_000,
        cors_allowed_origins: Iterable[str] = (),
        cors_allow_credentials: bool = True,
        outgoing_queue_size: int = 1024,
        max_buffered_bytes: int = 1_048_576,
    ) -> None:
        self.handler = handler
        self.ping_interval = ping_interval
        self.ping_timeout = ping_timeout
        self.max_payload = max_payload
        self.cors_allowed_origins = frozenset(cors_allowed_origins)
        self.cors_allow_credentials = cors_allow_credentials
        self.outgoing_queue_size = outgoing_queue_size
        self.max_buffered_bytes = max_buffered_bytes
        self.sockets: dict[str, EngineIOSocket] = {}
        # Strong references to background tasks (the event loop keeps only weak ones).
        self._tasks: set[asyncio.Task[None]] = set()
        self.writer = Writer(self.spawn, max_buffered_bytes=max_buffered_bytes)
        self.heartbeat = Heartbeat()

    def get(self, sid: str) -> EngineIOSocket | None:
        """The open (or lingering) session ``sid``, if this process holds it."""
        return self.sockets.get(sid)

    async def open(self, scope: Mapping[str, Any], transport: str) -> tuple[EngineIOSocket, Packet]:
        """Create a session for a handshake; returns the socket and its open packet (to send first)."""
        session = s.EngineIOSession(
            new_sid(),
            transport=transport,
            ping_interval=self.ping_interval / 1000,
            ping_timeout=self.ping_timeout / 1000,
            max_payload=self.max_payload,
        )
        socket = EngineIOSocket(self, session, scope)
        self.sockets[socket.sid] = socket
        (action,) = session.open(now=asyncio.get_running_loop().time())
        assert isinstance(action, s.Send)
        self.heartbeat.schedule(socket)
        logger.debug("engine.io %s: open (%s)", socket.sid, transport)
        return socket, action.packet

    async def close_all(self, reason: str = s.SERVER_DISCONNECT) -> None:
        """Close every session of this process (shutdown, tests)."""
        for socket in list(self.sockets.values()):
            socket.abort(reason)
        self.sockets.clear()

    def allowed_origin(self, origin: str, host: str | None) -> bool:
        """Whether a browser page at ``origin`` may use this server (same origin always may)."""
        if "*" in self.cors_allowed_origins or origin in self.cors_allowed_origins:
            return True
        if host is None:
            return False
        _, _, rest = origin.partition("://")
        return rest == host

    def spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        """Run ``coroutine`` in a task that the server keeps a reference to until it ends."""
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def remove(self, socket: EngineIOSocket, *, linger: bool = False) -> None:
        """Drop a closed session; with ``linger`` keep it for one more GET (its queue and the close packet)."""
        if linger and self.sockets.get(socket.sid) is socket:
            loop = asyncio.get_running_loop()
            loop.call_later(self.ping_timeout / 1000, self.remove, socket)
            return
        if self.sockets.get(socket.sid) is socket:
            del self.sockets[socket.sid]
