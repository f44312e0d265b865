"""``Subscriptions``: this process's table-feed sockets, kept in access rooms of the server's one manager.

A feed socket joins ONE room of the Socket.IO server's manager, keyed by its table and its read access
(``table:<table>:<access key>``, see ``llana_realtime.feed.access.room_name``): all sockets with the same
access to a table share a room. When a table event arrives (``llana_table_event``, dispatched by the
manager's receiver), the decision is made once per distinct access room from the owner values the event
carries (no database work per socket or per event), the Socket.IO frame is encoded once per event (it is
the same for every room) and each admitted room gets it through ``Manager.send_to_room``.

Permission changes (``llana_permissions_changed``) re-evaluate each distinct identity once (not once per
socket; only the identities of the message's ``users`` when it names some) and move sockets to their new access room, or disconnect those that lost READ; one process-wide
timer disconnects sockets whose token expired. Why fan-out works this way: docs/realtime.md ("Design").

Revocation is exact: table events and permission changes reach a process through the same channel, in the
order they were published (on commit). From the moment a permission change arrives until its re-evaluation
has been applied, the table events that follow it are held, then delivered with the new access; so no
event committed after a permission change reaches a socket that lost access by it. The hold is bounded
(``HOLD_LIMIT`` events): past it, the held events are dropped and every feed socket of the process is
disconnected (``RESYNC_MESSAGE``) rather than silently missing events. A failed re-evaluation (say the
database is down) disconnects every feed socket too. See docs/realtime.md, "Permission changes".
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import time
from typing import Any

from channels.db import database_sync_to_async

from llana.auth.identities import Identity
from llana_realtime.feed.access import (
    ReadAccess,
    Subscription,
    forget_local_cache,
    reevaluate_many,
    room_name,
)
from llana_realtime.feed.events import PERMISSIONS_GROUP, TableEvent, table_group_name
from llana_realtime.protocol.socketio import Packet, PacketType, encode
from llana_realtime.socketio.manager import Manager
from llana_realtime.socketio.server import Socket

logger = logging.getLogger(__name__)

EXCEPTION_EVENT = "exception"
EXPIRED_MESSAGE = "Access token expired"
RESYNC_MESSAGE = "Permissions changed; reconnect to resume the feed"


class Subscriptions:
    """The feed sockets of one namespace: their ``Subscription``, their access rooms, the expiry timer."""

    #: Coalesce bursts of permission changes (a role edit touches several rows) into one recompute.
    RECOMPUTE_DELAY = 0.2
    #: Identities re-evaluated per thread hop.
    RECOMPUTE_BATCH = 50
    #: Table events held while a permission change is being applied (per process).
    HOLD_LIMIT = 10_000

    def __init__(self, namespace: str = "/") -> None:
        self.namespace = namespace
        self.manager: Manager | None = None  # the server's, set when the feed is registered
        self._rooms: dict[str, dict[ReadAccess, str]] = {}  # table → access → room name
        self._members: dict[Socket, Subscription] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._expiry: list[tuple[float, int, Socket]] = []
        self._counter = itertools.count()
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = 0.0
        self._recompute: asyncio.Task[None] | None = None
        self._recompute_again = False
        self._recompute_all = False  # what the next recompute covers: everyone, or these user pks
        self._recompute_users: set[str] = set()
        self._held: list[dict[str, Any]] | None = None  # table events held during a recompute
        self._hold_overflowed = False
        self._tasks: set[asyncio.Task[Any]] = set()
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
        return [socket for socket, subscription in self._members.items() if subscription.table == table]

    async def add(self, socket: Socket, subscription: Subscription, generation: int | None = None) -> None:
        """Put ``socket`` in its access room (once this process receives its table's events).

        ``generation``: ``self.generation`` when the subscription was computed; if permissions changed
        since, the new socket is re-checked with the others. Raises if the channel layer is unreachable.
        """
        manager = self._manager()
        self._bind_loop()
        await manager.subscribe(PERMISSIONS_GROUP)
        await manager.subscribe(table_group_name(subscription.table))
        self._insert(socket, subscription)
        if subscription.expires_at is not None:
            self._schedule_expiry(socket, subscription.expires_at)
        if generation is not None and generation != self.generation:
            self.schedule_recompute()

    def _manager(self) -> Manager:
        if self.manager is None:
            raise RuntimeError(f"the table feed on {self.namespace} is not registered on a server")
        return self.manager

    def _insert(self, socket: Socket, subscription: Subscription) -> None:
        rooms = self._rooms.setdefault(subscription.table, {})
        room = rooms.get(subscription.access)
        if room is None:
            room = rooms[subscription.access] = room_name(subscription.table, subscription.access)
        self._members[socket] = subscription
        self._manager().join(socket, room)

    def remove(self, socket: Socket) -> Subscription | None:
        subscription = self._members.pop(socket, None)
        if subscription is None:
            return None
        if len(self._expiry) > 2 * len(self._members) + 64:  # drop entries of sockets gone before expiry
            members = self._members
            self._expiry = [entry for entry in self._expiry if entry[2] in members]
            heapq.heapify(self._expiry)
        self._leave(socket, subscription)
        return subscription

    def _leave(self, socket: Socket, subscription: Subscription) -> None:
        rooms = self._rooms.get(subscription.table)
        room = rooms.get(subscription.access) if rooms is not None else None
        if rooms is None or room is None:
            return
        manager = self._manager()
        manager.leave(socket, room)
        if not manager.has_room(self.namespace, room):
            del rooms[subscription.access]
            if not rooms:
                del self._rooms[subscription.table]

    def _bind_loop(self) -> None:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # a new event loop (tests): drop what belonged to the old one
            for socket, subscription in list(self._members.items()):
                self._leave(socket, subscription)
            self._loop = loop
            self._members, self._expiry, self._timer = {}, [], None
            self._recompute, self._held, self._hold_overflowed = None, None, False
            self._recompute_all, self._recompute_users = False, set()

    # -- events ----------------------------------------------------------------------------------------

    def llana_table_event(self, message: dict[str, Any]) -> int:
        """Deliver one table event to the access rooms allowed to see it; returns how many sockets got it.

        While a permission change is being applied, the event is held instead (0), and delivered after it.
        """
        held = self._held
        if held is not None:
            if len(held) < self.HOLD_LIMIT:
                held.append(message)
            elif not self._hold_overflowed:
                self._hold_overflowed = True
                logger.warning("Table feed: over %d events held during a permission change", self.HOLD_LIMIT)
            return 0
        return self.deliver(message)

    def deliver(self, message: dict[str, Any]) -> int:
        """Deliver one table event now (see ``llana_table_event``)."""
        rooms = self._rooms.get(message.get("table", ""))
        manager = self.manager
        if not rooms or manager is None:
            return 0
        try:
            event = TableEvent.from_message(message)
        except (KeyError, ValueError, TypeError, AttributeError):
            logger.warning("Ignored a malformed table event message")
            return 0
        owners = event.owners
        namespace = self.namespace
        frames = None
        count = 0
        for access, room in list(rooms.items()):
            if not access.allows(owners):
                continue
            if frames is None:  # the same frames for every room: encoded once per event
                frames = encode(Packet(PacketType.EVENT, namespace, [event.table, event.payload()]))
            count += manager.send_to_room(namespace, room, frames)
        self.delivered += count
        return count

    # -- permission changes ---------------------------------------------------------------------------

    def llana_permissions_changed(self, message: dict[str, Any] | None = None) -> None:
        """Schedule one recompute of the distinct identities' access (coalescing bursts): of every identity,
        or of the identities of the message's ``users`` (user pks) only."""
        self.generation += 1
        users = (message or {}).get("users")
        self.schedule_recompute(users if isinstance(users, list) else None)

    def schedule_recompute(self, users: list[Any] | None = None) -> None:
        """Re-evaluate every socket (or those of ``users``) soon; table events arriving meanwhile are held
        until it is applied."""
        if not self._members:
            return
        if users is None:
            self._recompute_all = True
        else:
            self._recompute_users.update(str(pk) for pk in users)
        if self._held is None:
            self._held = []
        if self._recompute is not None and not self._recompute.done():
            self._recompute_again = True
            return
        self._recompute = self._spawn(self._recompute_loop())

    async def _recompute_loop(self) -> None:
        failed = False
        try:
            while True:
                self._recompute_again = False
                await asyncio.sleep(self.RECOMPUTE_DELAY)
                try:
                    await self.recompute()
                except Exception:
                    logger.exception("Table feed: permission recompute failed; disconnecting the feed's sockets")
                    failed = True
                if not self._recompute_again:
                    break
        except asyncio.CancelledError:  # shutdown: nothing is delivered any more
            self._held, self._hold_overflowed = None, False
            raise
        await self._release_held(failed)

    async def _release_held(self, failed: bool) -> None:
        """Deliver the events held during a recompute with the new access; or, if the recompute failed or
        the hold overflowed, drop them and disconnect every feed socket (they reconnect and are re-checked)."""
        held, overflowed = self._held or [], self._hold_overflowed
        self._held, self._hold_overflowed = None, False
        if failed or overflowed:
            for socket in list(self._members):
                await self.kick(socket, RESYNC_MESSAGE)
            return
        for message in held:
            self.deliver(message)

    async def recompute(self) -> None:
        """Re-evaluate each distinct identity once and apply the result to its sockets.

        Identities are evaluated in batches (one ``database_sync_to_async`` call per batch), so a
        process with thousands of users doesn't hold Django's shared thread for long at a time.
        """
        everyone, users = self._recompute_all, self._recompute_users
        self._recompute_all, self._recompute_users = False, set()
        if not everyone and not users:
            everyone = True  # a direct call (tests, tools)
        by_identity: dict[Identity, dict[str, list[Socket]]] = {}
        for socket, subscription in self._members.items():
            identity = subscription.identity
            if everyone or identity.user_pk in users:
                by_identity.setdefault(identity, {}).setdefault(subscription.table, []).append(socket)
        await database_sync_to_async(forget_local_cache)(None if everyone else users)
        pending = [(identity, list(tables)) for identity, tables in by_identity.items()]
        for start in range(0, len(pending), self.RECOMPUTE_BATCH):
            batch = pending[start : start + self.RECOMPUTE_BATCH]
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
            self.remove(socket)  # leaves the old access room
            subscription.identity, subscription.access = new_identity, access
            self._insert(socket, subscription)  # joins the new one

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
        logger.debug("Table feed: disconnecting socket %s: %s", socket.sid, message)
        await socket.emit(EXCEPTION_EVENT, {"status": "error", "message": message})
        await socket.disconnect()

    def _spawn(self, coroutine: Any) -> asyncio.Task[Any]:
        assert self._loop is not None
        task = self._loop.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def shutdown(self) -> None:
        """Stop pending tasks and the expiry timer (tests, server shutdown)."""
        for task in list(self._tasks):
            task.cancel()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
