"""``Heartbeat``: one timer for the heartbeats of all sessions of a server, not a task per connection.

Each session's next deadline (a ping to send, or a pong that is overdue; ``EngineIOSession.deadline()``) sits
in a heap; one ``call_at`` timer on the event loop, whose clock gives ``now``, fires for the earliest. On
each deadline the socket's ``tick(now)`` carries out what its session decides (ping, or close on a missed
pong), then the socket is scheduled again.

The heartbeat reads a socket through ``session.deadline()``, ``closed`` and ``heartbeat_at`` (its own
bookkeeping, kept on the socket), and calls ``tick(now)``.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from llana_realtime.engineio.socket import EngineIOSocket


class Heartbeat:
    """The heartbeat timer of one server. API: ``schedule(socket)``, after anything that may move its deadline."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, EngineIOSocket]] = []
        self._counter = itertools.count()
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = 0.0
        self._loop: asyncio.AbstractEventLoop | None = None

    def schedule(self, socket: EngineIOSocket) -> None:
        """Have ``socket``'s next deadline run (a no-op if it is already scheduled, or has none)."""
        when = socket.session.deadline()
        if when is None or when == socket.heartbeat_at:
            return
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # a new event loop (tests): forget the old one's timer
            self._loop, self._heap, self._timer = loop, [], None
        socket.heartbeat_at = when
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
            if socket.heartbeat_at != when or socket.closed:
                continue  # superseded by a later entry
            socket.heartbeat_at = None
            socket.tick(now)
            self.schedule(socket)
        # Re-arm at the earliest deadline in the heap. Rescheduling a socket above may have armed the timer
        # at that socket's new deadline, later than other sockets' deadlines already in the heap.
        if heap and (self._timer is None or heap[0][0] < self._timer_at):
            if self._timer is not None:
                self._timer.cancel()
            self._timer_at = heap[0][0]
            self._timer = loop.call_at(self._timer_at, self._on_timer)
