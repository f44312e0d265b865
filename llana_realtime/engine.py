"""The Engine.IO server of one process: its sessions (``EngineIOSocket``), one shared heartbeat scheduler, and
the I/O glue between the pure session (``protocol.session``) and the transports (``consumers``).

Sessions live here, not on a consumer, so consecutive long-polling requests of one ``sid`` may be served by
different consumer instances of the process. A multi-process deployment needs sticky sessions (see
docs/realtime-server.md).
"""

from __future__ import annotations

import asyncio
import base64
import heapq
import itertools
import logging
import os
from collections.abc import Coroutine, Generator, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from llana_realtime.protocol import session as s
from llana_realtime.protocol.engineio import (
    CLOSE,
    NOOP,
    Packet,
    PacketType,
    decode_packet,
    decode_payload,
    encode_packet,
)
from llana_realtime.protocol.errors import EngineIOError, ProtocolError

if TYPE_CHECKING:
    from llana_realtime.types import EngineIOHandler

logger = logging.getLogger(__name__)

OUTGOING_QUEUE_FULL = "outgoing queue full"
WRITE_BUFFER_FULL = "write buffer full"
HANDLER_ERROR = "server error"
# Seconds a WebSocket may take from connecting with a polling session's sid to sending "5" (as the reference
# server's upgradeTimeout); then it is closed and the session stays on polling.
UPGRADE_TIMEOUT = 10.0


class PollError(Exception):
    """A long-polling request the session cannot serve (a second concurrent GET or POST): answer 400."""


class WebSocketTransport(Protocol):
    """What a socket needs from a WebSocket consumer.

    ``send_frame`` must be a coroutine function (the writer steps its coroutine by hand, see
    ``EngineIOSocket._write``); it should hand the frame to the ASGI server's ``send`` and not wait otherwise.
    An optional attribute ``buffered_amount: Callable[[], int] | None`` returns the bytes the ASGI server has
    taken from ``send`` but not yet handed to the network (missing or ``None``: the server gives no way to
    know); it bounds what a client that does not read costs (``EngineIOServer.max_buffered_bytes``).
    """

    async def send_frame(self, frame: str | bytes) -> None: ...

    async def close_transport(self) -> None: ...


def new_sid() -> str:
    """A random, URL-safe 20-character session id (like the reference server's)."""
    return base64.urlsafe_b64encode(os.urandom(15)).decode("ascii")


# A socket's writer state (``EngineIOSocket._writing``).
IDLE = 0  # nothing to write, or no WebSocket
LISTED = 1  # in the server's list of sockets that the next flush writes (no task)
WRITING = 2  # being written now, or by a writer task because the ASGI server's send() had to wait

# A single-entry cache: an emit hands the same Socket.IO frame to every target socket; its Engine.IO frame
# ("4" + frame) is then built once, not once per socket.
_last_data: str = ""
_last_frame: str = "4"


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


class EngineIOSocket:
    """One Engine.IO session: the application's handle (``send``, ``close``) and the transports' state."""

    __slots__ = (
        "server",
        "session",
        "sid",
        "scope",
        "queue",
        "_poll",
        "_posting",
        "_ws",
        "_upgrade_ws",
        "_writing",
        "_lock",
        "_connected",
        "_scheduled_at",
        "__weakref__",
    )

    def __init__(
        self,
        server: EngineIOServer,
        session: s.EngineIOSession,
        scope: Mapping[str, Any],
    ) -> None:
        self.server = server
        self.session = session
        self.sid = session.sid
        self.scope = scope
        # Packets not yet written, oldest first; on a WebSocket, messages are queued as ready frames.
        self.queue: list[Packet | str | bytes] = []
        self._poll: asyncio.Future[str] | None = None  # the pending long-polling GET
        self._posting = False
        self._ws: WebSocketTransport | None = None
        self._upgrade_ws: WebSocketTransport | None = None
        self._writing = IDLE
        # Orders handler calls (connect, messages, disconnect): None when free, else the waiting futures.
        self._lock: list[asyncio.Future[None]] | None = None
        self._connected = False
        self._scheduled_at: float | None = None

    def __repr__(self) -> str:
        return f"<EngineIOSocket {self.sid} {self.transport}{' closed' if self.closed else ''}>"

    @property
    def transport(self) -> str:
        return self.session.transport

    @property
    def closed(self) -> bool:
        return self.session.closed

    # -- the application's API ------------------------------------------------------------------------------

    def send(self, data: str | bytes) -> None:
        """Queue one Engine.IO message; never blocks. A full outgoing queue closes the socket (logged)."""
        if self.session.closed:
            logger.debug("engine.io %s: message dropped, socket closed", self.sid)
            return
        if self._ws is None:
            self._push(Packet(PacketType.MESSAGE, data))
        elif isinstance(data, str):
            global _last_data, _last_frame
            if data is not _last_data:
                _last_data, _last_frame = data, "4" + data
            self._push(_last_frame)
        else:
            self._push(data)

    async def close(self, reason: str = s.SERVER_DISCONNECT) -> None:
        """Close the session after the packets already queued are delivered."""
        self._terminate(reason, graceful=True)

    # -- internals ------------------------------------------------------------------------------------------

    def _push(self, packet: Packet | str | bytes) -> None:
        if len(self.queue) >= self.server.outgoing_queue_size:
            logger.warning(
                "engine.io %s: closed, %s (%d packets unread)",
                self.sid,
                OUTGOING_QUEUE_FULL,
                len(self.queue),
            )
            self._terminate(OUTGOING_QUEUE_FULL, graceful=False)
            return
        self.queue.append(packet)
        self._wake()

    def _wake(self) -> None:
        if self._ws is not None:
            if self._writing == IDLE:
                self._writing = LISTED
                self.server._list(self)
        elif self._poll is not None and not self._poll.done():
            self._poll.set_result("data")

    def _write(self) -> None:
        """Write the queue to the WebSocket now, without a task (called by the server's flush).

        The ASGI servers' ``send()`` normally completes without waiting (it hands the frame to the transport),
        so each frame's ``send_frame()`` coroutine is run to its end right here. If one has to wait (the
        transport is paused: the client reads too slowly), a writer task takes over from that frame on.
        """
        ws = self._ws
        queue = self.queue
        self._writing = WRITING
        sent = 0
        probe = getattr(ws, "buffered_amount", None)
        if probe is not None and not self.session.closed:
            # The ASGI server's send() never waits (daphne, uvicorn's websockets-sansio): bound what the client
            # leaves unread in the server's buffer. Checked before writing, so it is what the network did not
            # take since the last flush, not a burst just written.
            buffered = probe()
            if buffered > self.server.max_buffered_bytes:
                self._drop_slow_reader(buffered)
        try:
            for item in queue:
                sent += 1
                coroutine = ws.send_frame(item if not isinstance(item, Packet) else encode_packet(item))  # type: ignore[union-attr]
                try:
                    yielded = coroutine.send(None)
                except StopIteration:
                    continue
                del queue[:sent]
                self.server._spawn(self._write_later(_Resume(coroutine, yielded)))
                return
            queue.clear()
            if self.session.closed and ws is not None:
                self.server._spawn(ws.close_transport())
        except Exception:  # the connection is gone (server-specific errors), and so is the session
            logger.debug("engine.io %s: websocket write failed", self.sid, exc_info=True)
            self._terminate(s.TRANSPORT_ERROR, graceful=False)
        self._writing = IDLE

    def _drop_slow_reader(self, buffered: int) -> None:
        logger.warning(
            "engine.io: closed a websocket client that does not read, %s (%d bytes unsent, over %d)",
            WRITE_BUFFER_FULL,
            buffered,
            self.server.max_buffered_bytes,
        )
        logger.debug("engine.io %s: closed, %s", self.sid, WRITE_BUFFER_FULL)
        self._terminate(WRITE_BUFFER_FULL, graceful=False)

    async def _write_later(self, pending: _Resume) -> None:
        """The writer task of a socket whose transport made ``send()`` wait: finish that frame, then the queue."""
        ws = self._ws
        queue = self.queue
        try:
            await pending
            while queue and ws is not None:
                item = queue.pop(0)
                await ws.send_frame(item if not isinstance(item, Packet) else encode_packet(item))
            if self.session.closed and ws is not None:
                await ws.close_transport()
        except Exception:  # the connection is gone (server-specific errors), and so is the session
            logger.debug("engine.io %s: websocket write failed", self.sid, exc_info=True)
            self._terminate(s.TRANSPORT_ERROR, graceful=False)
        finally:
            self._writing = IDLE

    def _terminate(self, reason: str, *, graceful: bool) -> None:
        """End the session now (idempotent); the handler's disconnect runs in its own task, after messages."""
        if self.session.close(reason):
            self._teardown(reason, graceful=graceful)

    def _teardown(self, reason: str, *, graceful: bool) -> None:
        """Release what a session closed by ``reason`` holds (the session itself is already closed)."""
        self.server._forget(self, graceful and self._ws is None)
        if not graceful:
            self.queue.clear()
        spawn = self.server._spawn
        if self._poll is not None and not self._poll.done():
            self._poll.set_result("close")
        if self._upgrade_ws is not None:
            spawn(self._upgrade_ws.close_transport())
            self._upgrade_ws = None
        if self._ws is not None and self._writing == IDLE:
            self._writing = LISTED
            self.server._list(self)
        logger.info("engine.io %s: closed (%s)", self.sid, reason)
        if self._connected:
            spawn(self._disconnected(reason))

    async def _acquire(self) -> None:
        """Take this socket's handler lock (first come, first served); a free lock costs no object."""
        waiters = self._lock
        if waiters is None:
            self._lock = []
            return
        turn = asyncio.get_running_loop().create_future()
        waiters.append(turn)
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():  # handed the lock, then cancelled: pass it on
                self._release()
            else:
                waiters.remove(turn)
            raise

    def _release(self) -> None:
        waiters = self._lock
        while waiters:
            turn = waiters.pop(0)
            if not turn.done():
                turn.set_result(None)  # the lock goes straight to the next waiter
                return
        self._lock = None

    async def _disconnected(self, reason: str) -> None:
        await self._acquire()
        try:
            self._connected = False
            try:
                await self.server.handler.engineio_disconnect(self, reason)
            except Exception:
                logger.exception("engine.io %s: disconnect handler failed", self.sid)
        finally:
            self._release()

    async def _connect(self) -> None:
        await self._acquire()
        try:
            if self.session.closed:
                return
            self._connected = True
            try:
                await self.server.handler.engineio_connect(self)
            except Exception:
                logger.exception("engine.io %s: connect handler failed", self.sid)
                self._terminate(HANDLER_ERROR, graceful=True)
        finally:
            self._release()

    async def _deliver(self, data: str | bytes) -> None:
        await self._acquire()
        try:
            if not self._connected or self.session.closed:
                return
            try:
                await self.server.handler.engineio_message(self, data)
            except Exception:
                logger.exception("engine.io %s: message handler failed", self.sid)
                self._terminate(HANDLER_ERROR, graceful=True)
        finally:
            self._release()

    async def _run(
        self, actions: Iterable[s.Action], upgrade_ws: WebSocketTransport | None = None
    ) -> None:
        """Carry out the session's actions."""
        for action in actions:
            if isinstance(action, s.Send):
                self._push(action.packet)
            elif isinstance(action, s.Deliver):
                await self._deliver(action.data)
            elif isinstance(action, s.SendUpgrade):
                if upgrade_ws is not None:
                    await upgrade_ws.send_frame(encode_packet(action.packet))
            elif isinstance(action, s.ReleasePoll):
                if self._poll is not None and not self._poll.done():
                    self._poll.set_result("noop")
            elif isinstance(action, s.Upgraded):
                self._ws, self._upgrade_ws = self._upgrade_ws, None
                logger.debug("engine.io %s: upgraded to websocket", self.sid)
                if self._poll is not None and not self._poll.done():
                    self._poll.set_result("noop")
                self._wake()
            elif isinstance(action, s.AbortUpgrade):
                ws, self._upgrade_ws = self._upgrade_ws, None
                if ws is not None:
                    await ws.close_transport()
            elif isinstance(action, s.Close):
                self._teardown(action.reason, graceful=False)
        self.server._schedule(self)

    def _receive(self, packet: Packet) -> list[s.Action]:
        return self.session.receive(packet, now=asyncio.get_running_loop().time())

    # -- long-polling -----------------------------------------------------------------------------------------

    def poll(self) -> Coroutine[Any, Any, list[Packet]]:
        """Serve a long-polling GET: register it as pending now, then (awaited) wait for packets and take them.

        The GET is pending from this call on, not from the first step of the returned coroutine: a POST handled
        in between (a close packet ``1`` sent together with the GET) must find it to release it with a noop.
        Raises ``PollError`` for a second concurrent GET (which also closes the session: the first GET gets
        a close packet, as the reference server does).
        """
        if self._poll is not None:
            logger.warning("engine.io %s: overlapping polling GETs, closing", self.sid)
            self._terminate(s.TRANSPORT_ERROR, graceful=False)
            raise PollError("overlapping GET")
        pending: asyncio.Future[str] | None = None
        if self.session.probed and not self.queue:
            # an upgrade is under way: release the client at once (reference: within 100 ms)
            pending = asyncio.get_running_loop().create_future()
            pending.set_result("noop")
        elif not self.queue and not self.session.closed:
            self._poll = pending = asyncio.get_running_loop().create_future()
        return self._answer_poll(pending)

    async def _answer_poll(self, pending: asyncio.Future[str] | None) -> list[Packet]:
        outcome = "data"
        if pending is not None:
            try:
                outcome = await pending
            finally:
                if self._poll is pending:
                    self._poll = None
        if outcome == "noop":
            return [NOOP]
        # Only a polling session (never upgraded) polls, so its queue holds packets, not frames.
        packets: list[Packet] = [item for item in self.queue if isinstance(item, Packet)]
        self.queue.clear()
        if self.session.closed:
            self.server._forget(self, False)
            packets.append(CLOSE)
        return packets

    async def receive_payload(self, body: bytes) -> None:
        """Serve a long-polling POST body.

        Raises ``PollError`` for a concurrent POST and ``ProtocolError`` for a malformed or oversize body; both
        close the session.
        """
        if self._posting:
            logger.warning("engine.io %s: overlapping polling POSTs, closing", self.sid)
            self._terminate(s.TRANSPORT_ERROR, graceful=False)
            raise PollError("overlapping POST")
        self._posting = True
        try:
            try:
                packets = decode_payload(body, max_payload=self.session.max_payload)
            except ProtocolError as exc:
                logger.warning(
                    "engine.io %s: bad polling payload, closing: %s", self.sid, exc
                )
                self._terminate(s.PARSE_ERROR, graceful=False)
                raise
            for packet in packets:
                if self.session.closed:
                    break
                await self._run(self._receive(packet))
        finally:
            self._posting = False

    def payload_too_large(self) -> None:
        """A POST body over ``maxPayload`` (not read to its end): close the session."""
        logger.warning(
            "engine.io %s: polling payload over maxPayload, closing", self.sid
        )
        self._terminate(s.PARSE_ERROR, graceful=False)

    # -- WebSocket --------------------------------------------------------------------------------------------

    async def receive_frame(self, frame: str | bytes, ws: WebSocketTransport) -> None:
        """A WebSocket frame from ``ws``, which is either this socket's transport or the one upgrading to."""
        if self.session.closed:
            return
        upgrading = ws is self._upgrade_ws
        size = (
            len(frame)
            if isinstance(frame, bytes)
            else len(frame.encode("utf-8", "surrogatepass"))
        )
        try:
            if size > self.session.max_payload:
                raise EngineIOError(
                    f"frame of {size} bytes exceeds maxPayload {self.session.max_payload}"
                )
            packet = decode_packet(frame)
        except ProtocolError as exc:
            logger.warning(
                "engine.io %s: bad websocket frame, closing: %s", self.sid, exc
            )
            if upgrading:
                await self._run(self.session.abort_upgrade())
            else:
                self._terminate(s.PARSE_ERROR, graceful=False)
            return
        if upgrading:
            await self._run(self.session.receive_upgrade(packet), upgrade_ws=ws)
        elif ws is self._ws:
            await self._run(self._receive(packet))

    def attach_upgrade(self, ws: WebSocketTransport) -> bool:
        """A WebSocket asks to upgrade this polling session; ``False`` if the session cannot be upgraded."""
        try:
            self.session.start_upgrade()
        except ProtocolError as exc:
            logger.warning("engine.io %s: upgrade refused: %s", self.sid, exc)
            return False
        self._upgrade_ws = ws
        asyncio.get_running_loop().call_later(
            UPGRADE_TIMEOUT, self._upgrade_timeout, ws
        )
        return True

    def _upgrade_timeout(self, ws: WebSocketTransport) -> None:
        if ws is self._upgrade_ws and not self.session.closed:
            logger.warning(
                "engine.io %s: upgrade not completed in %ss, aborted",
                self.sid,
                UPGRADE_TIMEOUT,
            )
            self._upgrade_ws = None
            self.session.abort_upgrade()
            self.server._spawn(ws.close_transport())

    async def transport_closed(self, ws: WebSocketTransport) -> None:
        """The client closed ``ws``."""
        if ws is self._upgrade_ws:
            self._upgrade_ws = None
            self.session.abort_upgrade()
        elif ws is self._ws:
            self._ws = None  # nothing more can be written to it
            self._terminate(s.TRANSPORT_CLOSE, graceful=False)


class EngineIOServer:
    """The Engine.IO sessions of this process, their options and the heartbeat scheduler (one timer in all)."""

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
        self._heap: list[tuple[float, int, EngineIOSocket]] = []
        self._counter = itertools.count()
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = 0.0
        self._loop: asyncio.AbstractEventLoop | None = None
        # Strong references to background tasks (the event loop keeps only weak ones).
        self._tasks: set[asyncio.Task[None]] = set()
        # Sockets with frames to write; one flush per event-loop iteration writes them all.
        self._listed: list[EngineIOSocket] = []
        self._flush_loop: asyncio.AbstractEventLoop | None = None

    @classmethod
    def from_settings(cls, handler: EngineIOHandler) -> EngineIOServer:
        """A server configured by ``realtime_settings`` (``LLANA_REALTIME``)."""
        from llana_realtime.settings import realtime_settings

        origins = realtime_settings.CORS_ALLOWED_ORIGINS
        return cls(
            handler,
            ping_interval=realtime_settings.PING_INTERVAL,
            ping_timeout=realtime_settings.PING_TIMEOUT,
            max_payload=realtime_settings.MAX_PAYLOAD,
            cors_allowed_origins=[origins] if isinstance(origins, str) else origins,
            cors_allow_credentials=realtime_settings.CORS_ALLOW_CREDENTIALS,
            outgoing_queue_size=realtime_settings.OUTGOING_QUEUE_SIZE,
            max_buffered_bytes=realtime_settings.MAX_BUFFERED_BYTES,
        )

    def get(self, sid: str) -> EngineIOSocket | None:
        return self.sockets.get(sid)

    async def open(
        self, scope: Mapping[str, Any], transport: str
    ) -> tuple[EngineIOSocket, Packet]:
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
        self._schedule(socket)
        logger.info("engine.io %s: open (%s)", socket.sid, transport)
        return socket, action.packet

    async def close_all(self, reason: str = s.SERVER_DISCONNECT) -> None:
        """Close every session of this process (shutdown, tests)."""
        for socket in list(self.sockets.values()):
            socket._terminate(reason, graceful=False)
        self.sockets.clear()

    def allowed_origin(self, origin: str, host: str | None) -> bool:
        """Whether a browser page at ``origin`` may use this server (same origin always may)."""
        if "*" in self.cors_allowed_origins or origin in self.cors_allowed_origins:
            return True
        if host is None:
            return False
        _, _, rest = origin.partition("://")
        return rest == host

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- writing ----------------------------------------------------------------------------------------------

    def _list(self, socket: EngineIOSocket) -> None:
        """Have ``socket``'s queue written by the next flush (scheduled once per event-loop iteration)."""
        if not self._listed:
            self._flush_loop = loop = asyncio.get_running_loop()
            loop.call_soon(self._flush)
        elif self._flush_loop is not asyncio.get_running_loop():  # an old loop closed before its flush (tests)
            self._listed.clear()
            self._flush_loop = loop = asyncio.get_running_loop()
            loop.call_soon(self._flush)
        self._listed.append(socket)

    def _flush(self) -> None:
        """Write the queues of every socket listed since the last flush: one callback for all, no task each."""
        listed, self._listed = self._listed, []
        for socket in listed:
            if socket._writing == LISTED:
                if socket._ws is None:
                    socket._writing = IDLE
                else:
                    socket._write()

    # -- heartbeat --------------------------------------------------------------------------------------------

    def _forget(self, socket: EngineIOSocket, linger: bool) -> None:
        """Drop a closed session; with ``linger`` keep it for one more GET (its queue and the close packet)."""
        if linger and self.sockets.get(socket.sid) is socket:
            loop = asyncio.get_running_loop()
            loop.call_later(self.ping_timeout / 1000, self._forget, socket, False)
            return
        if self.sockets.get(socket.sid) is socket:
            del self.sockets[socket.sid]

    def _schedule(self, socket: EngineIOSocket) -> None:
        when = socket.session.deadline()
        if when is None or when == socket._scheduled_at:
            return
        loop = asyncio.get_running_loop()
        if (
            loop is not self._loop
        ):  # a new event loop (tests): forget the old one's timer
            self._loop, self._heap, self._timer = loop, [], None
        socket._scheduled_at = when
        heapq.heappush(self._heap, (when, next(self._counter), socket))
        if self._timer is None or when < self._timer_at:
            if self._timer is not None:
                self._timer.cancel()
            self._timer_at = when
            self._timer = loop.call_at(when, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        loop = asyncio.get_running_loop()
        now = loop.time()
        heap = self._heap
        while heap and heap[0][0] <= now:
            when, _, socket = heapq.heappop(heap)
            if socket._scheduled_at != when or socket.closed:
                continue  # superseded by a later entry
            socket._scheduled_at = None
            for action in socket.session.tick(now=now):
                if isinstance(action, s.Send):
                    socket._push(action.packet)
                elif isinstance(action, s.Close):
                    socket._teardown(action.reason, graceful=False)
            self._schedule(socket)
        # Re-arm at the earliest deadline in the heap. Rescheduling a socket above may have armed the timer
        # at that socket's new deadline, later than other sockets' deadlines already in the heap.
        if heap and (self._timer is None or heap[0][0] < self._timer_at):
            if self._timer is not None:
                self._timer.cancel()
            self._timer_at = heap[0][0]
            self._timer = loop.call_at(self._timer_at, self._on_timer)
