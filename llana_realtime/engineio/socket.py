"""``EngineIOSocket``: one Engine.IO session, the I/O glue between the pure session (``protocol.session``) and
its transports, and the application's handle on it (``send``, ``close``).

The socket's API, by caller:

- the application (``EngineIOHandler``): ``sid``, ``scope``, ``transport``, ``closed``, ``send()``,
  ``close()``;
- the transports (``llana_realtime.channels.consumers``): ``start()``, ``poll()``, ``poll_ready``,
  ``receive_payload()``, ``payload_too_large()``, ``attach_websocket()``, ``attach_upgrade()``,
  ``receive_frame()``, ``transport_closed()``;
- the rest of the engine: ``queue``, ``websocket`` and ``writing`` (the ``Writer``), ``abort()`` (writer, server),
  ``session``, ``tick()`` and ``heartbeat_at`` (the ``Heartbeat``).

The socket reaches its server only through the server's public members: ``handler``,
``outgoing_queue_size``, ``writer``, ``heartbeat``, ``spawn()`` and ``remove()``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from llana_realtime.engineio.interfaces import WebSocketTransport
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

if TYPE_CHECKING:  # for annotations only: the server module imports this one
    from llana_realtime.engineio.server import EngineIOServer

logger = logging.getLogger(__name__)

OUTGOING_QUEUE_FULL = "outgoing queue full"
HANDLER_ERROR = "server error"
# Seconds a WebSocket may take from connecting with a polling session's sid to sending "5" (as the reference
# engine.io server's upgradeTimeout); then it is closed and the session stays on polling.
UPGRADE_TIMEOUT = 10.0


class PollError(Exception):
    """A long-polling request the session cannot serve (a second concurrent GET or POST): answer 400."""


class EngineIOSocket:
    """One Engine.IO session: the application's handle (``send``, ``close``) and the transports' state."""

    __slots__ = (
        "server",
        "session",
        "sid",
        "scope",
        "queue",
        "heartbeat_at",
        "writing",
        "_poll",
        "_posting",
        "websocket",
        "_upgrade_ws",
        "_lock",
        "_connected",
        "__weakref__",
    )

    def __init__(self, server: EngineIOServer, session: s.EngineIOSession, scope: Mapping[str, Any]) -> None:
        self.server = server
        self.session = session
        self.sid = session.sid
        self.scope = scope
        # Packets not yet written, oldest first; on a WebSocket, messages are queued as ready frames.
        self.queue: list[Packet | str | bytes] = []
        # The deadline the heartbeat last scheduled for this socket (the heartbeat's bookkeeping, kept here so
        # that it needs no per-socket object).
        self.heartbeat_at: float | None = None
        # Listed for the writer's next flush, or being written (the writer's bookkeeping, as above).
        self.writing = False
        self._poll: asyncio.Future[str] | None = None  # the pending long-polling GET
        self._posting = False
        # The WebSocket this session's packets are written to (None while on polling); set by the socket only.
        self.websocket: WebSocketTransport | None = None
        self._upgrade_ws: WebSocketTransport | None = None
        # Orders handler calls (connect, messages, disconnect): None when free, else the waiting futures.
        self._lock: list[asyncio.Future[None]] | None = None
        self._connected = False

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
        if self.websocket is None:
            self._push(Packet(PacketType.MESSAGE, data))
            return
        # The fan-out's hot path (once per socket per emit): ``_push`` and ``_wake`` inlined for a WebSocket.
        writer = self.server.writer
        frame = writer.message_frame(data) if isinstance(data, str) else data
        queue = self.queue
        if len(queue) >= self.server.outgoing_queue_size:
            self._push(frame)  # the queue is full: _push closes the socket (logged)
            return
        queue.append(frame)
        if not self.writing:
            writer.schedule(self)

    async def close(self, reason: str = s.SERVER_DISCONNECT) -> None:
        """Close the session after the packets already queued are delivered."""
        self._terminate(reason, graceful=True)

    # -- the engine's API -------------------------------------------------------------------------------------

    def abort(self, reason: str) -> None:
        """End the session now, dropping what is still queued (idempotent)."""
        self._terminate(reason, graceful=False)

    def tick(self, now: float) -> None:
        """Run the session's heartbeat at ``now`` (called by the heartbeat): queue a ping, or close the session."""
        for action in self.session.tick(now=now):
            if isinstance(action, s.Send):
                self._push(action.packet)
            elif isinstance(action, s.Close):
                self._teardown(action.reason, graceful=False)

    async def start(self) -> None:
        """Call the handler's ``engineio_connect`` (after the transport sent the open packet)."""
        await self._acquire()
        try:
            if self.session.closed:
                return
            self._connected = True
            try:
                await self.server.handler.engineio_connect(self)
            except Exception:
                logger.exception("engine.io: connect handler failed")
                self._terminate(HANDLER_ERROR, graceful=True)
        finally:
            self._release()

    # -- internals ------------------------------------------------------------------------------------------

    def _push(self, packet: Packet | str | bytes) -> None:
        if len(self.queue) >= self.server.outgoing_queue_size:
            logger.warning("engine.io: closed, %s (%d packets unread)", OUTGOING_QUEUE_FULL, len(self.queue))
            self._terminate(OUTGOING_QUEUE_FULL, graceful=False)
            return
        self.queue.append(packet)
        self._wake()

    def _wake(self) -> None:
        if self.websocket is not None:
            self.server.writer.schedule(self)
        elif self._poll is not None and not self._poll.done():
            self._poll.set_result("data")

    def _terminate(self, reason: str, *, graceful: bool) -> None:
        """End the session now (idempotent); the handler's disconnect runs in its own task, after messages."""
        if self.session.close(reason):
            self._teardown(reason, graceful=graceful)

    def _teardown(self, reason: str, *, graceful: bool) -> None:
        """Release what a session closed by ``reason`` holds (the session itself is already closed)."""
        self.server.remove(self, linger=graceful and self.websocket is None)
        if not graceful:
            self.queue.clear()
        spawn = self.server.spawn
        if self._poll is not None and not self._poll.done():
            self._poll.set_result("close")
        if self._upgrade_ws is not None:
            spawn(self._upgrade_ws.close_transport())
            self._upgrade_ws = None
        if self.websocket is not None:
            self.server.writer.schedule(self)  # writes what is left, then closes the transport
        logger.debug("engine.io %s: closed (%s)", self.sid, reason)
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
                logger.exception("engine.io: disconnect handler failed")
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
                logger.exception("engine.io: message handler failed")
                self._terminate(HANDLER_ERROR, graceful=True)
        finally:
            self._release()

    async def _run(self, actions: Iterable[s.Action], upgrade_ws: WebSocketTransport | None = None) -> None:
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
                self.websocket, self._upgrade_ws = self._upgrade_ws, None
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
        self.server.heartbeat.schedule(self)

    def _receive(self, packet: Packet) -> list[s.Action]:
        return self.session.receive(packet, now=asyncio.get_running_loop().time())

    # -- long-polling -----------------------------------------------------------------------------------------

    @property
    def poll_ready(self) -> bool:
        """Whether a long-polling GET would be answered at once (packets queued, closed, or an upgrade probing)."""
        return bool(self.queue) or self.session.closed or self.session.probed

    def poll(self) -> Coroutine[Any, Any, list[Packet]]:
        """Serve a long-polling GET: register it as pending now, then (awaited) wait for packets and take them.

        The GET is pending from this call on, not from the first step of the returned coroutine: a POST handled
        in between (a close packet ``1`` sent together with the GET) must find it to release it with a noop.
        Raises ``PollError`` for a second concurrent GET (which also closes the session: the first GET gets
        a close packet, as the reference engine.io server does).
        """
        if self._poll is not None:
            logger.warning("engine.io: overlapping polling GETs, closing")
            self._terminate(s.TRANSPORT_ERROR, graceful=False)
            raise PollError("overlapping GET")
        pending: asyncio.Future[str] | None = None
        if self.session.probed and not self.queue:
            # An upgrade is under way: release the client at once (the reference server does within 100 ms).
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
            self.server.remove(self)
            packets.append(CLOSE)
        return packets

    async def receive_payload(self, body: bytes) -> None:
        """Serve a long-polling POST body.

        Raises ``PollError`` for a concurrent POST and ``ProtocolError`` for a malformed or oversize body; both
        close the session.
        """
        if self._posting:
            logger.warning("engine.io: overlapping polling POSTs, closing")
            self._terminate(s.TRANSPORT_ERROR, graceful=False)
            raise PollError("overlapping POST")
        self._posting = True
        try:
            try:
                packets = decode_payload(body, max_payload=self.session.max_payload)
            except ProtocolError as exc:
                logger.warning("engine.io: bad polling payload, closing: %s", exc)
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
        logger.warning("engine.io: polling payload over maxPayload, closing")
        self._terminate(s.PARSE_ERROR, graceful=False)

    # -- WebSocket --------------------------------------------------------------------------------------------

    def attach_websocket(self, ws: WebSocketTransport) -> None:
        """Make ``ws`` the transport of this WebSocket-only session (its open packet already sent)."""
        self.websocket = ws
        self._wake()

    async def receive_frame(self, frame: str | bytes, ws: WebSocketTransport) -> None:
        """A WebSocket frame from ``ws``, which is either this socket's transport or the one upgrading to."""
        if self.session.closed:
            return
        upgrading = ws is self._upgrade_ws
        size = len(frame) if isinstance(frame, bytes) else len(frame.encode("utf-8", "surrogatepass"))
        try:
            if size > self.session.max_payload:
                raise EngineIOError(f"frame of {size} bytes exceeds maxPayload {self.session.max_payload}")
            packet = decode_packet(frame)
        except ProtocolError as exc:
            logger.warning("engine.io: bad websocket frame, closing: %s", exc)
            if upgrading:
                await self._run(self.session.abort_upgrade())
            else:
                self._terminate(s.PARSE_ERROR, graceful=False)
            return
        if upgrading:
            await self._run(self.session.receive_upgrade(packet), upgrade_ws=ws)
        elif ws is self.websocket:
            await self._run(self._receive(packet))

    def attach_upgrade(self, ws: WebSocketTransport) -> bool:
        """A WebSocket asks to upgrade this polling session; ``False`` if the session cannot be upgraded."""
        try:
            self.session.start_upgrade()
        except ProtocolError as exc:
            logger.warning("engine.io: upgrade refused: %s", exc)
            return False
        self._upgrade_ws = ws
        asyncio.get_running_loop().call_later(UPGRADE_TIMEOUT, self._upgrade_timeout, ws)
        return True

    def _upgrade_timeout(self, ws: WebSocketTransport) -> None:
        if ws is self._upgrade_ws and not self.session.closed:
            logger.warning("engine.io: upgrade not completed in %ss, aborted", UPGRADE_TIMEOUT)
            self._upgrade_ws = None
            self.session.abort_upgrade()
            self.server.spawn(ws.close_transport())

    async def transport_closed(self, ws: WebSocketTransport) -> None:
        """The client closed ``ws``."""
        if ws is self._upgrade_ws:
            self._upgrade_ws = None
            self.session.abort_upgrade()
        elif ws is self.websocket:
            self.websocket = None  # nothing more can be written to it
            self._terminate(s.TRANSPORT_CLOSE, graceful=False)
