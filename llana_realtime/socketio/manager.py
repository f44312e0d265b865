"""``Manager``: THE rooms and fan-out manager of a process (sockets by namespace, sid and room).

Fan-out happens here, inside each process: an emit is encoded once by the server and its frames are handed
to every target socket's bounded outgoing queue (``deliver``), never one encode or one task per socket.
Applications on the server (the table feed) put their sockets in rooms of the same manager and send to
them with ``send_to_room``.

The manager is also the process's one receiver of messages addressed to it: ``on_message(type, handler)``
registers a handler per message type and ``receive()`` dispatches a message to it. Here, in one process,
only ``receive_threadsafe()`` feeds it (a writer in another thread of this process); the channel-layer
subclass (``llana_realtime.socketio.pubsub``) feeds it from other processes as well. Why one message per
process and fan-out in the process, with measurements: docs/realtime.md ("Design") and docs/benchmarks.md.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any, Protocol

logger = logging.getLogger(__name__)

Frames = list[str | bytes]
MessageHandler = Callable[[dict[str, Any]], object]  # what it returns is ignored


class Member(Protocol):
    """What the manager needs from a socket."""

    sid: str
    namespace: str
    rooms_joined: tuple[str, ...] | None  # kept by the manager; a tuple is far smaller than a set of one room

    def send_frames(self, frames: Frames) -> None: ...


class Manager:
    """Connected sockets of this process, indexed by namespace, then by sid and by room.

    A socket is always addressable by its sid (the implicit room every Socket.IO socket is in) without a
    room entry of its own, which keeps an idle connection small.
    """

    def __init__(self) -> None:
        self._sockets: dict[str, dict[str, Member]] = {}
        self._rooms: dict[str, dict[str, set[Member]]] = {}
        self._handlers: dict[str, MessageHandler] = {}
        self.loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None

    # --- sockets and rooms ------------------------------------------------------------------------

    def add(self, socket: Member) -> None:
        self._sockets.setdefault(socket.namespace, {})[socket.sid] = socket

    def remove(self, socket: Member) -> None:
        """Forget ``socket`` and take it out of all its rooms."""
        for room in socket.rooms_joined or ():
            self.leave(socket, room)
        sockets = self._sockets.get(socket.namespace)
        if sockets is not None and sockets.get(socket.sid) is socket:
            del sockets[socket.sid]
            if not sockets:
                del self._sockets[socket.namespace]

    def get(self, namespace: str, sid: str) -> Member | None:
        return self._sockets.get(namespace, {}).get(sid)

    def sockets(self, namespace: str) -> list[Member]:
        return list(self._sockets.get(namespace, {}).values())

    def join(self, socket: Member, room: str) -> None:
        if room == socket.sid:
            return
        # A socket is in few rooms (a feed socket in one): a tuple costs 48 bytes for one room, a set 216.
        joined = socket.rooms_joined
        if joined is None:
            socket.rooms_joined = (room,)
        elif room not in joined:
            socket.rooms_joined = (*joined, room)
        self._rooms.setdefault(socket.namespace, {}).setdefault(room, set()).add(socket)

    def leave(self, socket: Member, room: str) -> None:
        joined = socket.rooms_joined
        if joined is not None and room in joined:
            rest = tuple(other for other in joined if other != room)
            socket.rooms_joined = rest or None
        rooms = self._rooms.get(socket.namespace)
        if rooms is None or room not in rooms:
            return
        members = rooms[room]
        members.discard(socket)
        if not members:
            del rooms[room]
            if not rooms:
                del self._rooms[socket.namespace]

    def room_members(self, namespace: str, room: str) -> list[Member]:
        """Sockets in ``room`` (a room name or a sid) of ``namespace``."""
        socket = self._sockets.get(namespace, {}).get(room)
        if socket is not None:
            return [socket]
        return list(self._rooms.get(namespace, {}).get(room, ()))

    def has_room(self, namespace: str, room: str) -> bool:
        """Whether any socket of ``namespace`` is in ``room`` (a room is gone once its last socket left)."""
        return room in self._rooms.get(namespace, {})

    def targets(self, namespace: str, rooms: Iterable[str] | None, skip: Iterable[str] = ()) -> list[Member]:
        """The sockets an emit reaches: all of ``namespace`` when ``rooms`` is None, else the union."""
        if rooms is None:
            found = self.sockets(namespace)
        else:
            rooms = list(rooms)
            if len(rooms) == 1:
                found = self.room_members(namespace, rooms[0])
            else:
                union: dict[Member, None] = {}
                for room in rooms:
                    union.update(dict.fromkeys(self.room_members(namespace, room)))
                found = list(union)
        skip = set(skip)
        if skip:
            found = [socket for socket in found if socket.sid not in skip]
        return found

    def deliver(self, namespace: str, frames: Frames, rooms: Iterable[str] | None, skip: Iterable[str] = ()) -> int:
        """Hand already-encoded ``frames`` to every target socket; returns how many sockets got them."""
        targets = self.targets(namespace, rooms, skip)
        for socket in targets:
            socket.send_frames(frames)
        return len(targets)

    def send_to_room(self, namespace: str, room: str, frames: Frames) -> int:
        """Hand ``frames`` to every socket in the named ``room`` (no sid lookup, no copy); returns the count.

        Safe to iterate in place: ``send_frames`` never changes room membership (a socket closed by a full
        queue leaves its rooms later, in its own task).
        """
        members = self._rooms.get(namespace, {}).get(room)
        if not members:
            return 0
        for socket in members:
            socket.send_frames(frames)
        return len(members)

    # --- emits and messages -----------------------------------------------------------------------

    def start(self) -> None:
        """Bind to the running event loop (called on every connection; cheap)."""
        loop = asyncio.get_running_loop()
        if loop is not self.loop:
            self.loop = loop
            self._loop_thread = threading.get_ident()

    async def emit(self, namespace: str, frames: Frames, rooms: list[str] | None, skip: list[str]) -> None:
        """Deliver an encoded emit to the target sockets (of this process: the subclass adds the others)."""
        self.deliver(namespace, frames, rooms, skip)

    async def subscribe(self, group: str) -> None:
        """Receive the messages sent to channel-layer ``group`` (nothing to do within one process)."""

    async def stop(self) -> None:
        """Stop receiving (nothing to stop within one process)."""

    def on_message(self, kind: str, handler: MessageHandler) -> None:
        """Let ``handler(message)`` (sync, on the event loop) handle messages whose ``type`` is ``kind``."""
        self._handlers[kind] = handler

    def receive(self, message: dict[str, Any]) -> None:
        """Dispatch ``message`` to the handler of its ``type`` (unknown types are ignored)."""
        handler = self._handlers.get(message.get("type", ""))
        if handler is None:
            return
        try:
            handler(message)
        except Exception:
            logger.exception("handler of a %s message failed", message.get("type"))

    def receive_threadsafe(self, message: dict[str, Any]) -> None:
        """``receive()`` from any thread of this process (a writer handing a message to its own sockets)."""
        loop = self.loop
        if loop is None or loop.is_closed():
            return  # no socket was ever served here
        if threading.get_ident() == self._loop_thread:
            self.receive(message)
        else:
            # An empty context: the writer thread's (asgiref's executor markers) must not leak into the loop.
            loop.call_soon_threadsafe(self.receive, message, context=contextvars.Context())
