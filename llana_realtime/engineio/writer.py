"""``Writer``: writes the outgoing queues of a server's WebSocket sessions, one flush per event-loop iteration.

A fan-out queues one frame on many sockets at once. ``schedule(socket)`` lists a socket; one ``call_soon``
callback (``_flush``) then writes every listed socket's queue, without a task per socket: the ASGI servers'
``send()`` normally completes without waiting (it hands the frame to the transport), so each frame's
``send_frame()`` coroutine is run to its end right there. If one has to wait (the transport is paused: the
client reads too slowly), a writer task takes over that socket from that frame on, keeping the order.

The writer reads a socket through ``queue``, ``websocket``, ``session.closed``, ``sid`` and ``abort()``,
and keeps its own bookkeeping in ``socket.writing``; it starts tasks through the ``spawn`` callable it was
given (the server's).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Generator
from typing import TYPE_CHECKING, Any

from llana_realtime.engineio.interfaces import WebSocketTransport
from llana_realtime.protocol.engineio import Packet, encode_packet
from llana_realtime.protocol.session import TRANSPORT_ERROR

if TYPE_CHECKING:
    from llana_realtime.engineio.socket import EngineIOSocket

logger = logging.getLogger(__name__)

Spawn = Callable[[Coroutine[Any, Any, None]], None]

WRITE_BUFFER_FULL = "write buffer full"


class _Resume:
    """Await a coroutine that already ran up to its first suspension (``yielded`` is what it yielded)."""

    __slots__ = ("coroutine", "yielded")

    def __init__(self, coroutine: Coroutine[Any, Any, None], yielded: Any) -> None:
        self.coroutine = coroutine
        self.yielded = yielded

    def __await__(self) -> Generator[Any, None, None]:
        coroutine, yielded = self.coroutine, self.yielded
        while True:
            try:
                yield yielded  # the task waits on it, as it would have if it had started the coroutine
            except BaseException as exc:  # cancellation: pass it on
                try:
                    yielded = coroutine.throw(exc)
                except StopIteration:
                    return
            else:
                try:
                    yielded = coroutine.send(None)
                except StopIteration:
                    return


class Writer:
    """The WebSocket writes of one server's sessions.

    API: ``schedule(socket)`` (have its queue written soon; called by the socket whenever it queues
    something, or closes, on a WebSocket) and ``message_frame(data)`` (the frame of a text message).
    """

    def __init__(self, spawn: Spawn, *, max_buffered_bytes: int = 1_048_576) -> None:
        self._spawn = spawn
        self.max_buffered_bytes = max_buffered_bytes
        # Sockets listed for the next flush, in order. A listed socket, or one a writer task serves, has
        # ``socket.writing`` set (the writer's bookkeeping, kept on the socket: no per-socket object).
        self._listed: list[EngineIOSocket] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        # A single-entry cache: an emit hands the same Socket.IO frame to every target socket; its Engine.IO
        # frame ("4" + frame) is then built once, not once per socket.
        self._last_data = ""
        self._last_frame = "4"

    def message_frame(self, data: str) -> str:
        """The WebSocket frame of text message ``data``: ``"4" + data``, built once for consecutive equal sends."""
        if data is not self._last_data:
            self._last_data, self._last_frame = data, "4" + data
        return self._last_frame

    def schedule(self, socket: EngineIOSocket) -> None:
        """Have ``socket``'s queue written by the next flush, unless it is listed or being written already.

        A closed socket's transport is closed once its queue is written.
        """
        if socket.writing:
            return
        if not self._listed:
            self._loop = loop = asyncio.get_running_loop()
            loop.call_soon(self._flush)
        elif self._loop is not asyncio.get_running_loop():  # an old loop closed before its flush (tests)
            for stale in self._listed:
                stale.writing = False
            self._listed.clear()
            self._loop = loop = asyncio.get_running_loop()
            loop.call_soon(self._flush)
        socket.writing = True
        self._listed.append(socket)

    def _flush(self) -> None:
        """Write the queues of every socket listed since the last flush: one callback for all, no task each."""
        listed, self._listed = self._listed, []
        for socket in listed:
            ws = socket.websocket
            if ws is None:
                socket.writing = False
            else:
                self._write(socket, ws)

    def _write(self, socket: EngineIOSocket, ws: WebSocketTransport) -> None:
        """Write ``socket``'s queue to ``ws`` now, without a task; hand over to a task if a write has to wait."""
        queue = socket.queue
        sent = 0
        # Read once: only this method's own steps close the session while it writes (a dropped slow reader,
        # a failed write), and they set ``closed`` or leave through ``except``.
        closed = socket.session.closed
        probe = getattr(ws, "buffered_amount", None)
        if probe is not None and not closed:
            # The ASGI server's send() never waits (daphne, uvicorn's websockets-sansio): bound what the client
            # leaves unread in the server's buffer. Checked before writing, so it is what the network did not
            # take since the last flush, not a burst just written.
            buffered = probe()
            if buffered > self.max_buffered_bytes:
                self._drop_slow_reader(socket, buffered)
                closed = True
        try:
            for item in queue:
                sent += 1
                coroutine = ws.send_frame(item if not isinstance(item, Packet) else encode_packet(item))
                try:
                    yielded = coroutine.send(None)
                except StopIteration:
                    continue
                del queue[:sent]
                self._spawn(self._write_later(socket, _Resume(coroutine, yielded)))
                return  # still busy: the task goes on
            queue.clear()
            if closed:
                self._spawn(ws.close_transport())
        except Exception:  # the connection is gone (server-specific errors), and so is the session
            logger.debug("engine.io %s: websocket write failed", socket.sid, exc_info=True)
            socket.abort(TRANSPORT_ERROR)
        socket.writing = False

    def _drop_slow_reader(self, socket: EngineIOSocket, buffered: int) -> None:
        logger.warning(
            "engine.io: closed a websocket client that does not read, %s (%d bytes unsent, over %d)",
            WRITE_BUFFER_FULL,
            buffered,
            self.max_buffered_bytes,
        )
        logger.debug("engine.io %s: closed, %s", socket.sid, WRITE_BUFFER_FULL)
        socket.abort(WRITE_BUFFER_FULL)

    async def _write_later(self, socket: EngineIOSocket, pending: _Resume) -> None:
        """The writer task of a socket whose transport made ``send()`` wait: finish that frame, then the queue."""
        ws = socket.websocket
        queue = socket.queue
        try:
            await pending
            while queue and ws is not None:
                item = queue.pop(0)
                await ws.send_frame(item if not isinstance(item, Packet) else encode_packet(item))
            if socket.session.closed and ws is not None:
                await ws.close_transport()
        except Exception:  # the connection is gone (server-specific errors), and so is the session
            logger.debug("engine.io %s: websocket write failed", socket.sid, exc_info=True)
            socket.abort(TRANSPORT_ERROR)
        finally:
            socket.writing = False
