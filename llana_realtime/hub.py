"""The process-local hub (sockets by namespace, sid and room) and the channel-layer bridge between processes.

Fan-out happens here, inside each process: an emit is encoded once and its frames are handed to every
target socket's bounded outgoing queue. Between processes the channel layer carries one message per emit
(never one per socket): each process's bridge holds one channel in one broadcast group and delivers what
it receives through its own hub. Measurements behind this design: ``docs/benchmarks.md``.
"""
from __future__ import annotations

import asyncio
import logging
import os
import uuid
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Protocol

logger = logging.getLogger(__name__)

Frames = list[str | bytes]


class Member(Protocol):
    """What the hub needs from a socket."""

    sid: str
    namespace: str
    rooms_joined: set[str] | None

    def send_frames(self, frames: Frames) -> None: ...


class Hub:
    """Connected sockets of this process, indexed by namespace, then by sid and by room.

    A socket is always addressable by its sid (the implicit room every Socket.IO socket is in) without a
    room entry of its own, which keeps an idle connection small.
    """

    __slots__ = ("_rooms", "_sockets")

    def __init__(self) -> None:
        self._sockets: dict[str, dict[str, Member]] = {}
        self._rooms: dict[str, dict[str, set[Member]]] = {}

    def add(self, socket: Member) -> None:
        self._sockets.setdefault(socket.namespace, {})[socket.sid] = socket

    def remove(self, socket: Member) -> None:
        """Forget ``socket`` and take it out of all its rooms."""
        for room in list(socket.rooms_joined or ()):
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
        if socket.rooms_joined is None:
            socket.rooms_joined = set()
        socket.rooms_joined.add(room)
        self._rooms.setdefault(socket.namespace, {}).setdefault(room, set()).add(socket)

    def leave(self, socket: Member, room: str) -> None:
        if socket.rooms_joined is not None:
            socket.rooms_joined.discard(room)
            if not socket.rooms_joined:
                socket.rooms_joined = None
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


class LayerBridge:
    """One channel-layer channel per process in one group: publishes emits to, and receives them from, the others.

    The in-memory layer cannot reach another process, so with it the bridge does nothing and local
    delivery is the whole story. Messages this process published are ignored when they come back.
    """

    #: channel-layer group names must stay short ASCII (channels.layers); a group per server name.
    GROUP_PREFIX = "llana_realtime.socketio."
    MESSAGE_TYPE = "llana.socketio_emit"
    REFRESH_SECONDS = 3600.0  # re-add the channel before the layer's group_expiry (default one day)

    def __init__(self, name: str, alias: str | None, on_message: Callable[[dict[str, Any]], Awaitable[None] | None]) -> None:
        self.group = self.GROUP_PREFIX + name
        self.alias = alias
        self.origin = f"{os.getpid()}-{uuid.uuid4().hex[:12]}"
        self._on_message = on_message
        self._layer: Any = None
        self._resolved = False
        self._task: asyncio.Task[None] | None = None
        self.ready = asyncio.Event()  # set once the receiver is in the group (tests wait on it)

    @property
    def layer(self) -> Any:
        """The channel layer to publish on, or None (no layer, or the process-local in-memory layer)."""
        if not self._resolved:
            self._resolved = True
            if self.alias is not None:
                from channels.layers import InMemoryChannelLayer, get_channel_layer

                layer = get_channel_layer(self.alias)
                self._layer = None if layer is None or isinstance(layer, InMemoryChannelLayer) else layer
        return self._layer

    async def publish(self, message: dict[str, Any]) -> None:
        """Send ``message`` (msgpack-safe primitives) once to every other process."""
        layer = self.layer
        if layer is None:
            return
        await layer.group_send(self.group, {"type": self.MESSAGE_TYPE, "origin": self.origin, **message})

    def start(self) -> None:
        """Start the receiver on the running loop, once (called on each connect; cheap when running)."""
        task = self._task
        if task is not None and not task.done() and task.get_loop() is asyncio.get_running_loop():
            return
        if self.layer is not None:
            self.ready.clear()
            self._task = asyncio.get_running_loop().create_task(self._run(), name=f"llana-bridge-{self.group}")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass

    async def _run(self) -> None:
        layer = self.layer
        loop = asyncio.get_running_loop()
        while True:
            channel = None
            try:
                channel = await layer.new_channel("llana_realtime.")
                await layer.group_add(self.group, channel)
                refresh_at = loop.time() + self.REFRESH_SECONDS
                self.ready.set()
                logger.debug("bridge %s listening on %s", self.group, channel)
                while True:
                    message = await layer.receive(channel)
                    if loop.time() > refresh_at:
                        await layer.group_add(self.group, channel)
                        refresh_at = loop.time() + self.REFRESH_SECONDS
                    if message.get("type") != self.MESSAGE_TYPE or message.get("origin") == self.origin:
                        continue
                    result = self._on_message(message)
                    if result is not None:
                        await result
            except asyncio.CancelledError:
                if channel is not None:
                    try:
                        await asyncio.shield(layer.group_discard(self.group, channel))
                    except Exception:
                        logger.debug("bridge %s: group_discard failed on stop", self.group)
                raise
            except Exception:
                logger.exception("bridge %s: channel layer failed; retrying in 1 s", self.group)
                await asyncio.sleep(1.0)
