"""Table events from the writer to the sockets: one channel-layer message per event, fan-out inside each process.

Writer side: ``publish_table_event(event)`` (called on commit by ``llana_realtime.signals``) sends ONE
``llana.table_event`` message to the group ``table_group_name(table)``. With the in-memory layer (one
process) the message is handed to this process's hub directly, without the layer.

Socket side: ``TableHub`` holds this process's table-feed sockets, grouped by table and by ``ReadAccess``
(all rows, or the rows a user owns along some owner paths). Each process subscribes once per table it has
sockets for (``LayerLink``: one layer channel per process) and turns one message into one encoded frame,
written to every socket whose access admits the row: the decision is made once per distinct access, from
the owner values the event carries — no database work per socket or per event.

Permission changes (``llana.permissions_changed``, sent to every process) make each hub recompute the
access of every distinct identity once (not per socket) and disconnect sockets that lost READ; one
process-wide timer disconnects sockets whose token expired. Measurements behind this design:
/work/shared/realtime-fanout.md and docs/realtime.md.
"""
from __future__ import annotations

import asyncio
import contextvars
import hashlib
import heapq
import itertools
import logging
import re
import threading
import time
from typing import TYPE_CHECKING, Any

from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async

from llana.events import TableEvent
from llana_realtime.access import (
    ReadAccess,
    Subscription,
    forget_local_cache,
    reevaluate_many,
)
from llana_realtime.protocol.socketio import Packet, PacketType, encode

if TYPE_CHECKING:
    from llana.auth.identities import Identity
    from llana_realtime.server import Socket

logger = logging.getLogger(__name__)

TABLE_EVENT = "llana.table_event"
PERMISSIONS_CHANGED = "llana.permissions_changed"
GROUP_PREFIX = "llana_realtime.table."
PERMISSIONS_GROUP = "llana_realtime.permissions"
NAMESPACE = "/"
EXCEPTION_EVENT = "exception"
EXPIRED_MESSAGE = "Access token expired"

_GROUP_SAFE = re.compile(r"[^A-Za-z0-9_.-]")


def table_group_name(table: str) -> str:
    """The channel-layer group of ``table``'s events (ASCII ``[A-Za-z0-9_.-]``, under 100 characters)."""
    safe = _GROUP_SAFE.sub("_", table)
    if safe != table or len(safe) > 60:
        digest = hashlib.sha256(table.encode("utf-8")).hexdigest()[:16]
        safe = f"{safe[:40]}.{digest}"
    return GROUP_PREFIX + safe


# --- publishing (writer side) -------------------------------------------------------------------------


def _layer(alias: str = "default") -> Any:
    """The cross-process channel layer, or None for none / the in-memory layer (single process)."""
    from channels.layers import InMemoryChannelLayer, get_channel_layer

    layer = get_channel_layer(alias)
    return None if layer is None or isinstance(layer, InMemoryChannelLayer) else layer


def _send(group: str, message: dict[str, Any]) -> None:
    layer = _layer()
    if layer is None:
        hub.receive_threadsafe(message)
        return
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        loop = None
    if loop is not None:  # called from the event loop's own thread: can't block it
        task = loop.create_task(layer.group_send(group, message))
        task.add_done_callback(_log_failure)
        return
    async_to_sync(layer.group_send)(group, message)


def _log_failure(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.error("Could not publish a realtime message: %s", task.exception())


def publish_table_event(event: TableEvent) -> None:
    """Send ``event`` once to every process serving ``event.table`` (sync; never raises: a broker outage is logged)."""
    try:
        _send(table_group_name(event.table), {"type": TABLE_EVENT, **event.to_message()})
    except Exception:
        logger.exception("Could not publish the %s event of table %s to the channel layer", event.type, event.table)


def publish_permissions_changed() -> None:
    """Tell every process to re-check its sockets' permissions (sync; never raises)."""
    try:
        _send(PERMISSIONS_GROUP, {"type": PERMISSIONS_CHANGED})
    except Exception:
        logger.exception("Could not publish a permission change to the channel layer")


# --- the process side -----------------------------------------------------------------------------------


class LayerLink:
    """One layer channel per process, in the permissions group and in one group per table with sockets here."""

    REFRESH_SECONDS = 3600.0  # re-add before the core layer's group_expiry (one day)

    def __init__(self, hub: TableHub) -> None:
        self.hub = hub
        self.channel: str | None = None
        self.tables: set[str] = set()
        self._task: asyncio.Task[None] | None = None
        self._ready: asyncio.Future[str] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def subscribe(self, table: str) -> None:
        """Make sure this process receives ``table``'s events (waits for the subscription)."""
        layer = _layer()
        if layer is None:
            return
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # first use, or a new event loop (tests): start over
            self._loop, self._task, self._ready, self.channel, self.tables = loop, None, None, None, set()
        if self._task is None or self._task.done():
            self._ready = loop.create_future()
            self.tables = set()
            self._task = loop.create_task(self._run(layer), name="llana-table-feed")
        assert self._ready is not None
        channel = await asyncio.shield(self._ready)
        if table not in self.tables:
            await layer.group_add(table_group_name(table), channel)
            self.tables.add(table)

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass

    async def _run(self, layer: Any) -> None:
        loop = asyncio.get_running_loop()
        try:
            channel = await layer.new_channel("llana_realtime.feed.")
            await layer.group_add(PERMISSIONS_GROUP, channel)
        except Exception as exc:
            logger.exception("Table feed: channel layer unavailable")
            if self._ready is not None and not self._ready.done():
                self._ready.set_exception(exc)
            self._task = None
            return
        self.channel = channel
        if self._ready is not None and not self._ready.done():
            self._ready.set_result(channel)
        refresh_at = loop.time() + self.REFRESH_SECONDS
        while True:
            try:
                message = await layer.receive(channel)
                if loop.time() > refresh_at:
                    refresh_at = loop.time() + self.REFRESH_SECONDS
                    for group in [PERMISSIONS_GROUP, *(table_group_name(t) for t in self.tables)]:
                        await layer.group_add(group, channel)
                self.hub.receive(message)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("Table feed: channel layer receive failed; retrying in 1 s")
                await asyncio.sleep(1.0)


class TableHub:
    """This process's table-feed sockets: by table, then by ``ReadAccess``; plus the expiry timer."""

    #: Coalesce bursts of permission changes (a role edit touches several rows) into one recompute.
    RECOMPUTE_DELAY = 0.2
    #: Identities re-evaluated per thread hop.
    RECOMPUTE_BATCH = 50

    def __init__(self) -> None:
        self._groups: dict[str, dict[ReadAccess, dict[Socket, None]]] = {}
        self._members: dict[Socket, Subscription] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._expiry: list[tuple[float, int, Socket]] = []
        self._counter = itertools.count()
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = 0.0
        self._recompute: asyncio.Task[None] | None = None
        self._recompute_again = False
        self._tasks: set[asyncio.Task[Any]] = set()
        self.link = LayerLink(self)
        self.generation = 0  # permission changes seen (a handshake that overlaps one re-checks)
        self.delivered = 0  # sockets written to (for tests and benchmarks)

    # -- membership ----------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._members)

    def subscription(self, socket: Socket) -> Subscription | None:
        return self._members.get(socket)

    def sockets(self, table: str | None = None) -> list[Socket]:
        if table is None:
            return list(self._members)
        return [s for group in self._groups.get(table, {}).values() for s in group]

    async def add(self, socket: Socket, subscription: Subscription, generation: int | None = None) -> None:
        """Register ``socket`` (after the subscription to its table's group is in place).

        ``generation``: ``self.generation`` when the subscription was computed; if permissions changed
        since, the new socket is re-checked with the others.
        """
        self._bind_loop()
        await self.link.subscribe(subscription.table)
        self._insert(socket, subscription)
        if subscription.expires_at is not None:
            self._schedule_expiry(socket, subscription.expires_at)
        if generation is not None and generation != self.generation:
            self.schedule_recompute()

    def _insert(self, socket: Socket, subscription: Subscription) -> None:
        self._members[socket] = subscription
        self._groups.setdefault(subscription.table, {}).setdefault(subscription.access, {})[socket] = None

    def remove(self, socket: Socket) -> Subscription | None:
        subscription = self._members.pop(socket, None)
        if subscription is None:
            return None
        if len(self._expiry) > 2 * len(self._members) + 64:  # drop entries of sockets gone before expiry
            members = self._members
            self._expiry = [entry for entry in self._expiry if entry[2] in members]
            heapq.heapify(self._expiry)
        groups = self._groups.get(subscription.table)
        if groups is not None:
            group = groups.get(subscription.access)
            if group is not None:
                group.pop(socket, None)
                if not group:
                    del groups[subscription.access]
                    if not groups:
                        del self._groups[subscription.table]
        return subscription

    def _bind_loop(self) -> None:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # a new event loop (tests): drop what belonged to the old one
            self._loop = loop
            self._loop_thread = threading.get_ident()
            self._groups, self._members, self._expiry, self._timer = {}, {}, [], None
            self._recompute = None

    # -- events ----------------------------------------------------------------------------------------

    def receive_threadsafe(self, message: dict[str, Any]) -> None:
        """``receive()`` from any thread (the in-memory layer's path: writer and sockets share this process)."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return  # no socket was ever served here
        if threading.get_ident() == self._loop_thread:
            self.receive(message)
        else:
            # An empty context: the writer thread's (asgiref's executor markers) must not leak into the loop.
            loop.call_soon_threadsafe(self.receive, message, context=contextvars.Context())

    def receive(self, message: dict[str, Any]) -> None:
        """A layer message: a table event, or a permission change."""
        kind = message.get("type")
        if kind == TABLE_EVENT:
            self.llana_table_event(message)
        elif kind == PERMISSIONS_CHANGED:
            self.llana_permissions_changed(message)

    def llana_table_event(self, message: dict[str, Any]) -> int:
        """Deliver one table event to the sockets allowed to see it; returns how many got it."""
        groups = self._groups.get(message.get("table", ""))
        if not groups:
            return 0
        try:
            event = TableEvent.from_message(message)
        except (KeyError, ValueError, TypeError, AttributeError):
            logger.warning("Ignored a malformed table event message")
            return 0
        owners = event.owners
        frames = None
        count = 0
        for access, group in list(groups.items()):
            if not access.allows(owners):
                continue
            if frames is None:
                frames = encode(Packet(PacketType.EVENT, NAMESPACE, [event.table, event.payload()]))
            for socket in group:
                socket.send_frames(frames)
                count += 1
        self.delivered += count
        return count

    # -- permission changes ---------------------------------------------------------------------------

    def llana_permissions_changed(self, message: dict[str, Any] | None = None) -> None:
        """Schedule one recompute of every distinct identity's access (coalescing bursts)."""
        self.generation += 1
        self.schedule_recompute()

    def schedule_recompute(self) -> None:
        if not self._members:
            return
        if self._recompute is not None and not self._recompute.done():
            self._recompute_again = True
            return
        self._recompute = self._spawn(self._recompute_loop())

    async def _recompute_loop(self) -> None:
        while True:
            self._recompute_again = False
            await asyncio.sleep(self.RECOMPUTE_DELAY)
            try:
                await self.recompute()
            except Exception:
                logger.exception("Table feed: permission recompute failed")
            if not self._recompute_again:
                return

    async def recompute(self) -> None:
        """Re-evaluate each distinct identity once and apply the result to its sockets.

        Identities are evaluated in batches (one ``database_sync_to_async`` call per batch), so a
        process with thousands of users doesn't hold Django's shared thread for long at a time.
        """
        by_identity: dict[Identity, dict[str, list[Socket]]] = {}
        for socket, subscription in self._members.items():
            by_identity.setdefault(subscription.identity, {}).setdefault(subscription.table, []).append(socket)
        await database_sync_to_async(forget_local_cache)()
        pending = [(identity, list(tables)) for identity, tables in by_identity.items()]
        for start in range(0, len(pending), self.RECOMPUTE_BATCH):
            batch = pending[start:start + self.RECOMPUTE_BATCH]
            outcomes = await database_sync_to_async(reevaluate_many)(batch)
            for (identity, _), (new_identity, results) in zip(batch, outcomes, strict=True):
                for table, (access, message) in results.items():
                    for socket in by_identity[identity][table]:
                        await self._apply(socket, identity, new_identity, access, message)

    async def _apply(
        self, socket: Socket, identity: Identity, new_identity: Identity, access: ReadAccess | None, message: str
    ) -> None:
        subscription = self._members.get(socket)
        if subscription is None or subscription.identity != identity:
            return
        if access is None:
            await self.kick(socket, message)
        elif access != subscription.access or new_identity != identity:
            self.remove(socket)
            subscription.identity, subscription.access = new_identity, access
            self._insert(socket, subscription)

    # -- expiry ---------------------------------------------------------------------------------------

    def _schedule_expiry(self, socket: Socket, expires_at: float) -> None:
        heapq.heappush(self._expiry, (expires_at, next(self._counter), socket))
        if self._timer is None or expires_at < self._timer_at:
            if self._timer is not None:
                self._timer.cancel()
            self._arm(expires_at)

    def _arm(self, expires_at: float) -> None:
        assert self._loop is not None
        self._timer_at = expires_at
        self._timer = self._loop.call_later(max(0.0, expires_at - time.time()), self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        now = time.time()
        heap = self._expiry
        while heap and heap[0][0] <= now:
            expires_at, _, socket = heapq.heappop(heap)
            subscription = self._members.get(socket)
            if subscription is not None and subscription.expires_at == expires_at:
                self._spawn(self.kick(socket, EXPIRED_MESSAGE))
        if heap:
            self._arm(heap[0][0])

    # -- helpers --------------------------------------------------------------------------------------

    async def kick(self, socket: Socket, message: str) -> None:
        """Disconnect ``socket`` from the feed, telling it why with an ``exception`` event first."""
        self.remove(socket)
        if not socket.connected:
            return
        logger.info("Table feed: disconnecting socket %s: %s", socket.sid, message)
        await socket.emit(EXCEPTION_EVENT, {"status": "error", "message": message})
        await socket.disconnect()

    def _spawn(self, coroutine: Any) -> asyncio.Task[Any]:
        assert self._loop is not None
        task = self._loop.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def shutdown(self) -> None:
        """Stop the layer receiver and pending tasks (tests, server shutdown)."""
        await self.link.stop()
        for task in list(self._tasks):
            task.cancel()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


#: The process-wide hub of the table feed (``llana_realtime.tables`` registers its sockets here).
hub = TableHub()
