"""The Socket.IO server API: connect/event handlers, acks, rooms, emit and disconnect.

``SocketIOServer`` implements the Engine.IO layer's ``EngineIOHandler``; ``default_server`` is the
process-wide instance that ``project/asgi.py`` mounts and that apps register namespaces on. Rooms and
fan-out live in the server's one ``manager`` (``llana_realtime.socketio.manager`` and its channel-layer
subclass in ``pubsub``)::

    from llana_realtime.socketio.namespace import Namespace
    from llana_realtime.socketio.server import ConnectionRefused, default_server

    class Chat(Namespace):
        async def on_connect(self, socket, auth):
            if auth.get("token") != "s3cret":
                raise ConnectionRefused("Not authorized", {"hint": "send auth.token"})
            socket.join("lobby")

        async def on_say(self, socket, text):          # client: socket.emit("say", "hi", ack)
            await self.emit("said", text, to="lobby")  # one encode, every socket in "lobby"
            return "ok"                                # the ack's arguments

    default_server.register(Chat("/chat"))
    default_server.emit_sync("said", "from a view", namespace="/chat", to="lobby")  # sync Django code

Handlers get the ``Socket`` first, then the event's arguments; they may be ``async def`` or plain
functions (run in Django's thread via ``database_sync_to_async``). See docs/realtime-server.md.
"""

from __future__ import annotations

import asyncio
import base64
import inspect
import logging
import os
from collections.abc import Callable
from typing import Any, cast

from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async

from llana_realtime.engineio.socket import EngineIOSocket
from llana_realtime.protocol.errors import ProtocolError
from llana_realtime.protocol.socketio import (
    RESERVED_EVENTS,
    Decoder,
    Packet,
    PacketType,
    encode,
)
from llana_realtime.settings import realtime_settings
from llana_realtime.socketio.manager import Frames
from llana_realtime.socketio.namespace import CATCH_ALL, Handler, Namespace, Room
from llana_realtime.socketio.pubsub import ChannelLayerManager

logger = logging.getLogger(__name__)

CLIENT_NAMESPACE_DISCONNECT = "client namespace disconnect"
SERVER_NAMESPACE_DISCONNECT = "server namespace disconnect"
TRANSPORT_CLOSE = "transport close"


class ConnectionRefused(Exception):
    """Raise in a connect handler to refuse the connection; the client's ``connect_error`` gets ``message``/``data``."""

    def __init__(self, message: str = "Connection refused", data: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.data = data

    def error_data(self) -> dict[str, Any]:
        """The CONNECT_ERROR payload: ``{"message": ...}`` plus ``"data"`` when given."""
        if self.data is None:
            return {"message": self.message}
        return {"message": self.message, "data": self.data}


def _new_sid() -> str:
    return base64.urlsafe_b64encode(os.urandom(15)).decode()


def _ack_args(result: Any) -> list[Any]:
    if result is None:
        return []
    if isinstance(result, tuple):
        return list(result)
    return [result]


def _check_event(event: str) -> None:
    if not isinstance(event, str) or not event:
        raise TypeError(f"event must be a non-empty string, not {event!r}")
    if event in RESERVED_EVENTS:
        raise ValueError(f"{event!r} is a reserved Socket.IO event name")


def _room_list(to: Room) -> list[str] | None:
    if to is None:
        return None
    if isinstance(to, str):
        return [to]
    return list(to)


class Socket:
    """One client connected to one namespace. ``sid`` is the Socket.IO id; ``eio_sid`` the Engine.IO session's."""

    __slots__ = (
        "_accepted",
        "_ack_seq",
        "_acks",
        "_buffer",
        "_left",
        "_state",
        "connected",
        "eio",
        "namespace",
        "rooms_joined",
        "server",
        "sid",
    )

    def __init__(self, server: SocketIOServer, eio: EngineIOSocket, namespace: str) -> None:
        self.server = server
        self.eio = eio
        self.namespace = namespace
        self.sid = _new_sid()
        self.connected = False
        self.rooms_joined: tuple[str, ...] | None = None  # the rooms joined besides its sid (the manager's)
        self._acks: dict[int, Callable[..., Any] | asyncio.Future[list[Any]]] | None = None
        self._ack_seq = 0
        self._buffer: list[Frames] | None = []  # frames emitted before the CONNECT ack went out
        self._state: dict[str, Any] | None = None
        # The handshake's end: the connect handler accepted a socket whose connection closed meanwhile (its
        # disconnect handler is still due), or the reason it was removed while the connect handler ran.
        self._accepted = False
        self._left: str | None = None

    def __repr__(self) -> str:
        return f"<Socket {self.namespace} sid={self.sid} eio_sid={self.eio_sid}>"

    @property
    def eio_sid(self) -> str:
        return self.eio.sid

    @property
    def scope(self) -> dict[str, Any]:
        """The ASGI scope of the Engine.IO handshake (headers, query string, client, ``user`` if set)."""
        return cast("dict[str, Any]", self.eio.scope)  # the engine types it as a Mapping; ASGI makes it a dict

    @property
    def state(self) -> dict[str, Any]:
        """A per-socket dict for the application."""
        if self._state is None:
            self._state = {}
        return self._state

    @property
    def rooms(self) -> set[str]:
        """The rooms this socket is in, its own sid included."""
        return {self.sid, *(self.rooms_joined or ())}

    def send_frames(self, frames: Frames) -> None:
        if self._buffer is not None:
            self._buffer.append(frames)
            return
        send = self.eio.send
        for frame in frames:
            send(frame)

    def _flush(self) -> None:
        buffered, self._buffer = self._buffer, None
        for frames in buffered or ():
            self.send_frames(frames)

    def join(self, room: str) -> None:
        """Add this socket to ``room`` (process-local)."""
        self.server.manager.join(self, room)

    def leave(self, room: str) -> None:
        self.server.manager.leave(self, room)

    async def emit(self, event: str, *args: Any, callback: Callable[..., Any] | None = None) -> None:
        """Send ``event`` to this client; ``callback(*ack_args)`` (sync or async) runs when it acks."""
        _check_event(event)
        ack_id = self._register_ack(callback) if callback is not None else None
        self.send_frames(encode(Packet(PacketType.EVENT, self.namespace, [event, *args], ack_id)))

    async def call(self, event: str, *args: Any, timeout: float = 60.0) -> list[Any]:
        """Send ``event`` and wait for the client's ack; returns its arguments.

        Raises ``TimeoutError``, or ``ConnectionError`` if the socket disconnects first.
        """
        _check_event(event)
        future: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()
        ack_id = self._register_ack(future)
        self.send_frames(encode(Packet(PacketType.EVENT, self.namespace, [event, *args], ack_id)))
        try:
            return await asyncio.wait_for(future, timeout)
        finally:
            if self._acks is not None:
                self._acks.pop(ack_id, None)

    def _register_ack(self, callback: Callable[..., Any] | asyncio.Future[list[Any]]) -> int:
        if self._acks is None:
            self._acks = {}
        ack_id = self._ack_seq
        self._ack_seq += 1
        self._acks[ack_id] = callback
        return ack_id

    async def disconnect(self, *, close: bool = False) -> None:
        """Disconnect from this namespace (the client gets DISCONNECT and does not reconnect by itself).

        ``close=True`` closes the whole Engine.IO connection instead, as a network failure would: the
        client sees "transport close" and reconnects if configured to.
        """
        await self.server.disconnect(self, close=close)


class _Client:
    """One Engine.IO connection: its decoder, its sockets by namespace, its connect timer."""

    __slots__ = ("decoder", "eio", "sockets", "timer")

    def __init__(self, eio: EngineIOSocket) -> None:
        self.eio = eio
        self.decoder = Decoder()
        self.sockets: dict[str, Socket] = {}
        self.timer: asyncio.TimerHandle | None = None


async def _call(handler: Handler, *args: Any) -> Any:
    if inspect.iscoroutinefunction(handler):
        return await handler(*args)
    # Django's thread for sync code, closing stale database connections around the call like a consumer.
    result = await database_sync_to_async(handler)(*args)
    if inspect.isawaitable(result):
        result = await result
    return result


class SocketIOServer:
    """A Socket.IO v5 server on top of an ``EngineIOServer`` (it is the Engine.IO layer's handler).

    ``connect_timeout`` (ms, default ``realtime_settings.CONNECT_TIMEOUT``) closes an Engine.IO session
    that connects to no namespace in time. ``channel_layer_alias`` (None: stay in this process) and
    ``name`` choose the broadcast group that carries emits between processes.
    """

    def __init__(
        self,
        *,
        connect_timeout: float | None = None,
        channel_layer_alias: str | None = "default",
        name: str = "default",
        max_attachments: int = 64,
    ) -> None:
        self.namespaces: dict[str, Namespace] = {}
        #: THE rooms/fan-out manager of this server, bridged to the other processes by the channel layer.
        self.manager = ChannelLayerManager(name, channel_layer_alias)
        self._connect_timeout = connect_timeout
        self._max_attachments = max_attachments
        self._clients: dict[str, _Client] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.register(Namespace("/"))  # the main namespace always exists, as in the reference server

    # --- configuration ----------------------------------------------------------------------------

    def register(self, namespace: Namespace) -> Namespace:
        """Serve ``namespace`` (replacing one of the same name)."""
        namespace.bind(self)
        self.namespaces[namespace.name] = namespace
        return namespace

    def of(self, name: str) -> Namespace:
        """The namespace called ``name``, created (accepting every connection) if missing."""
        if name not in self.namespaces:
            self.register(Namespace(name))
        return self.namespaces[name]

    def on(self, event: str, handler: Handler | None = None, *, namespace: str = "/") -> Any:
        """``of(namespace).on(event, handler)``; usable as a decorator."""
        return self.of(namespace).on(event, handler)

    @property
    def connect_timeout(self) -> float:
        if self._connect_timeout is None:
            return float(realtime_settings.CONNECT_TIMEOUT)
        return float(self._connect_timeout)

    # --- EngineIOHandler --------------------------------------------------------------------------

    async def engineio_connect(self, socket: EngineIOSocket) -> None:
        loop = asyncio.get_running_loop()
        self._loop = loop
        client = _Client(socket)
        client.decoder.max_attachments = self._max_attachments
        client.timer = loop.call_later(self.connect_timeout / 1000, self._connect_timed_out, client)
        self._clients[socket.sid] = client
        self.manager.start()

    async def engineio_message(self, socket: EngineIOSocket, data: str | bytes) -> None:
        client = self._clients.get(socket.sid)
        if client is None:
            return
        try:
            packet = client.decoder.feed(data)
        except ProtocolError as exc:
            logger.warning("closing a socket: bad Socket.IO packet: %s", exc)
            await socket.close("parse error")
            return
        if packet is None:
            return
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("%s received %s on %s", socket.sid, packet.type.name, packet.namespace)
        if packet.type is PacketType.CONNECT:
            await self._handle_connect(client, packet)
            return
        target = client.sockets.get(packet.namespace)
        if target is None or not target.connected:
            logger.debug("%s: packet for unconnected namespace %s ignored", socket.sid, packet.namespace)
            return
        if packet.is_event:
            self._spawn(self._handle_event(target, packet))
        elif packet.is_ack:
            self._handle_ack(target, packet)
        elif packet.type is PacketType.DISCONNECT:
            await self._remove(client, target, CLIENT_NAMESPACE_DISCONNECT)

    async def engineio_disconnect(self, socket: EngineIOSocket, reason: str) -> None:
        client = self._clients.pop(socket.sid, None)
        if client is None:
            return
        if client.timer is not None:
            client.timer.cancel()
        for target in list(client.sockets.values()):
            await self._remove(client, target, reason)

    # --- packets ----------------------------------------------------------------------------------

    async def _handle_connect(self, client: _Client, packet: Packet) -> None:
        name = packet.namespace
        namespace = self.namespaces.get(name)
        eio = client.eio
        if namespace is None:
            self._send(eio, Packet(PacketType.CONNECT_ERROR, name, {"message": "Invalid namespace"}))
            return
        if name in client.sockets:
            logger.debug("%s: second CONNECT to %s ignored", eio.sid, name)
            return
        socket = Socket(self, eio, name)
        client.sockets[name] = socket
        auth = packet.data if packet.data is not None else {}
        error: dict[str, Any] | None = None
        handler = namespace.handler("connect")
        try:
            if handler is not None and await _call(handler, socket, auth) is False:
                error = ConnectionRefused().error_data()
        except ConnectionRefused as refused:
            error = refused.error_data()
        except Exception:
            logger.exception("connect handler of %s failed", name)
            error = ConnectionRefused().error_data()
        if client.sockets.get(name) is not socket or eio.closed:  # closed or disconnected meanwhile
            # The socket never becomes connected (the client gets no CONNECT); but once the connect
            # handler accepted it, the disconnect handler runs (once), so the application can undo it.
            self.manager.remove(socket)
            if error is not None:
                return
            if client.sockets.get(name) is socket and self._clients.get(eio.sid) is client:
                # The connection closed and its engineio_disconnect() is still on its way.
                socket._accepted = True  # _remove() will run the disconnect handler with its reason
                return
            await self._disconnected(namespace, socket, socket._left or TRANSPORT_CLOSE)
            return
        if error is not None:
            del client.sockets[name]
            self.manager.remove(socket)
            logger.debug("%s refused on %s: %s", eio.sid, name, error["message"])
            self._send(eio, Packet(PacketType.CONNECT_ERROR, name, error))
            return
        if client.timer is not None:
            client.timer.cancel()
            client.timer = None
        socket.connected = True
        self.manager.add(socket)
        self._send(eio, Packet(PacketType.CONNECT, name, {"sid": socket.sid}))
        socket._flush()
        logger.debug("socket %s connected to %s (eio %s, %s)", socket.sid, name, eio.sid, eio.transport)

    async def _handle_event(self, socket: Socket, packet: Packet) -> None:
        event, *args = packet.data
        namespace = self.namespaces.get(socket.namespace)
        handler = namespace.handler(event) if namespace is not None and event != CATCH_ALL else None
        if handler is None and namespace is not None:
            handler = namespace.handler(CATCH_ALL)
            if handler is not None:
                args = [event, *args]
        if handler is None:
            logger.debug("no handler for %r on %s", event, socket.namespace)
            return
        try:
            result = await _call(handler, socket, *args)
        except Exception:
            logger.exception("handler for %r on %s failed", event, socket.namespace)
            return
        if packet.id is not None and socket.connected:
            try:
                frames = encode(Packet(PacketType.ACK, socket.namespace, _ack_args(result), packet.id))
            except (TypeError, ValueError):
                logger.exception("ack of %r on %s is not JSON-serializable", event, socket.namespace)
                return
            socket.send_frames(frames)

    def _handle_ack(self, socket: Socket, packet: Packet) -> None:
        callback = socket._acks.pop(packet.id, None) if socket._acks and packet.id is not None else None
        if callback is None:
            logger.debug("unexpected ack %s on %s", packet.id, socket.namespace)
            return
        if isinstance(callback, asyncio.Future):
            if not callback.done():
                callback.set_result(packet.data)
            return
        self._spawn(self._run_callback(callback, packet.data))

    async def _run_callback(self, callback: Callable[..., Any], args: list[Any]) -> None:
        try:
            await _call(callback, *args)
        except Exception:
            logger.exception("ack callback %r failed", callback)

    async def _remove(self, client: _Client, socket: Socket, reason: str) -> None:
        if client.sockets.get(socket.namespace) is socket:
            del client.sockets[socket.namespace]
        was_connected = socket.connected
        socket.connected = False
        self.manager.remove(socket)
        for pending in (socket._acks or {}).values():
            if isinstance(pending, asyncio.Future) and not pending.done():
                pending.set_exception(ConnectionError(f"socket disconnected before acking ({reason})"))
        socket._acks = None
        if not was_connected and not socket._accepted:
            socket._left = reason  # if its connect handler is still running, it will see why
            return
        socket._accepted = False
        logger.debug("socket %s left %s: %s", socket.sid, socket.namespace, reason)
        await self._disconnected(self.namespaces.get(socket.namespace), socket, reason)

    async def _disconnected(self, namespace: Namespace | None, socket: Socket, reason: str) -> None:
        handler = namespace.handler("disconnect") if namespace is not None else None
        if handler is not None:
            try:
                await _call(handler, socket, reason)
            except Exception:
                logger.exception("disconnect handler of %s failed", socket.namespace)

    def _connect_timed_out(self, client: _Client) -> None:
        client.timer = None
        if client.sockets or client.eio.closed:
            return
        logger.debug("closing %s: no Socket.IO CONNECT within %s ms", client.eio.sid, self.connect_timeout)
        self._spawn(client.eio.close("connect timeout"))

    def _send(self, eio: EngineIOSocket, packet: Packet) -> None:
        for frame in encode(packet):
            eio.send(frame)

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- application API --------------------------------------------------------------------------

    def get_socket(self, sid: str, namespace: str = "/") -> Socket | None:
        """The socket of this process with Socket.IO ``sid`` in ``namespace``, if any."""
        socket = self.manager.get(namespace, sid)
        return socket if isinstance(socket, Socket) else None

    async def emit(self, event: str, *args: Any, to: Room = None, namespace: str = "/", skip_sid: Room = None) -> None:
        """Send ``event`` to a socket (``to=sid``), a room, several rooms, or the whole namespace (``to=None``).

        The packet is encoded once; every target socket of this process gets the same frames, and the
        channel layer carries one message to each other process, which delivers to its own sockets.
        Raises ``TypeError``/``ValueError`` for a reserved event name or data that is not JSON-serializable.
        """
        _check_event(event)
        frames = encode(Packet(PacketType.EVENT, namespace, [event, *args]))
        rooms = _room_list(to)
        skip = _room_list(skip_sid) or []
        await self.manager.emit(namespace, frames, rooms, skip)

    def emit_sync(self, event: str, *args: Any, to: Room = None, namespace: str = "/", skip_sid: Room = None) -> None:
        """``emit`` for synchronous code (a Django view, a management command, a worker thread)."""
        loop = self._loop
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is not None:
            raise RuntimeError("emit_sync() called from async code: use `await server.emit(...)`")
        if loop is not None and loop.is_running():
            # The server's loop owns the sockets: run the emit there, whichever thread we are in.
            coroutine = self.emit(event, *args, to=to, namespace=namespace, skip_sid=skip_sid)
            asyncio.run_coroutine_threadsafe(coroutine, loop).result()
        else:
            async_to_sync(self.emit)(event, *args, to=to, namespace=namespace, skip_sid=skip_sid)

    async def disconnect(self, socket: Socket | str, *, namespace: str = "/", close: bool = False) -> None:
        """Disconnect ``socket`` (a ``Socket`` or a sid of this process) from its namespace; see ``Socket.disconnect``."""
        if isinstance(socket, str):
            found = self.get_socket(socket, namespace)
            if found is None:
                return
            socket = found
        client = self._clients.get(socket.eio_sid)
        if client is None:
            return
        if close:
            await socket.eio.close("server disconnect")
            return
        if socket.connected:
            self._send(socket.eio, Packet(PacketType.DISCONNECT, socket.namespace))
        await self._remove(client, socket, SERVER_NAMESPACE_DISCONNECT)

    async def shutdown(self) -> None:
        """Stop the channel-layer receiver and pending handler tasks (tests, server shutdown)."""
        await self.manager.stop()
        for task in list(self._tasks):
            task.cancel()


#: The process-wide server mounted by ``project/asgi.py`` at ``realtime_settings.PATH``.
default_server = SocketIOServer()
