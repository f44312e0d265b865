"""``ChannelLayerManager``: the process's ``Manager`` plus the cross-process bridge over a channel layer.

Each server process holds ONE channel-layer channel and ONE receiver task. The channel is in the
server's broadcast group (``llana_realtime.socketio.<name>``), which carries emits, and in every group an
application subscribed to (the table feed: one group per table it has sockets for, plus its permissions
group). Every message is sent once per process, never once per socket: an emit is delivered here to this
process's sockets and published once on the broadcast group; each other process delivers it through its
own manager. Application messages (``"llana.table_event"``, ``"llana.permissions_changed"``) are
dispatched by type to the handler the application registered with ``on_message()``. One refresh timer
re-adds the channel to all its groups before the layer's ``group_expiry``.

The in-memory layer cannot reach another process, so with it nothing is published or received here
(writers in this process hand their messages to ``receive_threadsafe()``). Messages this process
published are ignored when they come back.
"""

from __future__ import annotations

import asyncio
import logging
import os
import uuid
from typing import Any

from channels.layers import InMemoryChannelLayer, get_channel_layer

from llana_realtime.socketio.manager import Frames, Manager

logger = logging.getLogger(__name__)

#: channel-layer group names must stay short ASCII (channels.layers); one broadcast group per server name.
GROUP_PREFIX = "llana_realtime.socketio."
EMIT = "llana.socketio_emit"


def cross_process_layer(alias: str | None = "default") -> Any:
    """The channel layer ``alias`` if it reaches other processes, else None (none, or the in-memory layer)."""
    if alias is None:
        return None
    layer = get_channel_layer(alias)
    return None if layer is None or isinstance(layer, InMemoryChannelLayer) else layer


class ChannelLayerManager(Manager):
    """The rooms manager of one ``SocketIOServer``, bridged to the other processes by one channel-layer channel."""

    REFRESH_SECONDS = 3600.0  # re-add the channel before the layer's group_expiry (default one day)
    RETRY_SECONDS = 1.0

    def __init__(self, name: str = "default", alias: str | None = "default") -> None:
        super().__init__()
        self.group = GROUP_PREFIX + name
        self.alias = alias
        self.origin = f"{os.getpid()}-{uuid.uuid4().hex[:12]}"
        self.channel: str | None = None
        self.layer: Any = None
        self._groups: set[str] = set()
        self._task: asyncio.Task[None] | None = None
        self._channel_ready: asyncio.Future[str] | None = None
        self.ready = asyncio.Event()  # set once the receiver is in its groups (tests wait on it)
        self.on_message(EMIT, self._on_emit)

    @property
    def groups(self) -> frozenset[str]:
        """The channel-layer groups this process's one channel is in (or joins when it starts)."""
        return frozenset(self._groups)

    def start(self) -> None:
        """Start the receiver on the running loop, once (called on each connect; cheap when running).

        A new event loop (tests) starts over: the layer is looked up again, with a new channel.
        """
        if asyncio.get_running_loop() is self.loop:
            return
        super().start()
        self.layer = cross_process_layer(self.alias)
        self._task = None
        self.channel = None
        if self.layer is None:
            return
        assert self.loop is not None
        self.ready = asyncio.Event()
        self._groups = {self.group}
        self._channel_ready = self.loop.create_future()
        self._task = self.loop.create_task(self._run(self.layer), name=f"llana-pubsub-{self.group}")

    async def emit(self, namespace: str, frames: Frames, rooms: list[str] | None, skip: list[str]) -> None:
        """Deliver to this process's sockets, and publish once to every other process."""
        self.deliver(namespace, frames, rooms, skip)
        # Resolved once per event loop by start(); a process that serves no socket looks it up per emit.
        layer = self.layer if self.loop is not None else cross_process_layer(self.alias)
        if layer is None:
            return
        message = {
            "type": EMIT,
            "origin": self.origin,
            "namespace": namespace,
            "frames": frames,
            "rooms": rooms,
            "skip": skip,
        }
        await layer.group_send(self.group, message)

    def _on_emit(self, message: dict[str, Any]) -> None:
        self.deliver(message["namespace"], message["frames"], message.get("rooms"), message.get("skip") or ())

    async def subscribe(self, group: str) -> None:
        """Add this process's channel to ``group`` (waits until it is in; raises if the layer is unreachable)."""
        self.start()
        if self._task is None:
            return  # no cross-process layer
        assert self._channel_ready is not None
        channel = await asyncio.shield(self._channel_ready)
        if group not in self._groups:
            # Recorded once added, so that a concurrent subscriber also waits until the channel is in
            # (a second group_add is harmless).
            await self.layer.group_add(group, channel)
            self._groups.add(group)

    async def stop(self) -> None:
        """Stop the receiver (tests, server shutdown); the next connection starts it again."""
        self.loop = None
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass

    async def _run(self, layer: Any) -> None:
        loop = asyncio.get_running_loop()
        while True:
            channel = None
            try:
                channel = await layer.new_channel("llana_realtime.")
                for group in list(self._groups):
                    await layer.group_add(group, channel)
                self.channel = channel
                if self._channel_ready is None or self._channel_ready.done():
                    self._channel_ready = loop.create_future()
                self._channel_ready.set_result(channel)
                self.ready.set()
                logger.debug("pubsub %s listening on %s", self.group, channel)
                refresh_at = loop.time() + self.REFRESH_SECONDS
                while True:
                    message = await layer.receive(channel)
                    if loop.time() > refresh_at:
                        refresh_at = loop.time() + self.REFRESH_SECONDS
                        for group in list(self._groups):
                            await layer.group_add(group, channel)
                    if message.get("origin") == self.origin:
                        continue  # an emit of this process: already delivered here
                    self.receive(message)
            except asyncio.CancelledError:
                if channel is not None:
                    for group in list(self._groups):
                        try:
                            await asyncio.shield(layer.group_discard(group, channel))
                        except Exception:
                            logger.debug("pubsub %s: group_discard failed on stop", group)
                raise
            except Exception as exc:
                logger.exception("pubsub %s: channel layer failed; retrying in 1 s", self.group)
                waiting = self._channel_ready
                if waiting is not None and not waiting.done():
                    waiting.set_exception(exc)  # connects waiting for a subscription fail now
                    waiting.exception()  # (retrieved: no "never retrieved" warning without waiters)
                self._channel_ready = loop.create_future()
                self.ready.clear()
                self.channel = None
                await asyncio.sleep(self.RETRY_SECONDS)
