"""The shared heartbeat timer of ``EngineIOServer``: every session is pinged at its own due time and closed by
ping timeout at interval + timeout, whatever the other sessions' deadlines.

The first tests drive the scheduler with a fake event loop (exact times, no sleeping); the last one runs the
real stack (daphne and uvicorn, raw Engine.IO over WebSocket and polling) with bounds generous enough for a
loaded machine that still fail when one session's deadline hides another's.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from llana_realtime.engineio.server import EngineIOServer
from llana_realtime.engineio.socket import EngineIOSocket
from llana_realtime.protocol import session as s
from llana_realtime.protocol.engineio import PING, Packet, PacketType
from tests.llana_realtime.conftest import _bin, serve
from tests.llana_realtime.engineio.engineio_http import Q, request

# --- the scheduler under a fake clock ------------------------------------------------------------------------


class FakeHandle:
    def __init__(self, callback: Callable[..., None], args: tuple[Any, ...]) -> None:
        self.callback, self.args, self.cancelled = callback, args, False

    def cancel(self) -> None:
        self.cancelled = True


class FakeLoop:
    """The part of an event loop the heartbeat uses (``time``, ``call_at``, ``call_later``), on a fake clock."""

    def __init__(self) -> None:
        self.now = 0.0
        self.timers: list[tuple[float, int, FakeHandle]] = []
        self.counter = itertools.count()

    def time(self) -> float:
        return self.now

    def call_at(self, when: float, callback: Callable[..., None], *args: Any) -> FakeHandle:
        handle = FakeHandle(callback, args)
        heapq.heappush(self.timers, (when, next(self.counter), handle))
        return handle

    def call_later(self, delay: float, callback: Callable[..., None], *args: Any) -> FakeHandle:
        return self.call_at(self.now + delay, callback, *args)

    def run_until(self, end: float, after_each: Callable[[], None]) -> None:
        """Fire every timer due up to ``end`` at its own time (as a loop whose callbacks are never late)."""
        while self.timers and self.timers[0][0] <= end:
            when, _, handle = heapq.heappop(self.timers)
            if handle.cancelled:
                continue
            self.now = max(self.now, when)
            handle.callback(*handle.args)
            after_each()
        self.now = end


class Silent:
    """A handler that is never called: the sockets here are never connected to it."""

    async def engineio_connect(self, socket: EngineIOSocket) -> None:
        raise AssertionError("not called")

    async def engineio_message(self, socket: EngineIOSocket, data: str | bytes) -> None:
        raise AssertionError("not called")

    async def engineio_disconnect(self, socket: EngineIOSocket, reason: str) -> None:
        raise AssertionError("not called")


def simulate(
    interval: float, timeout: float, opened: list[tuple[float, bool]], until: float, rtt: float = 0.001
) -> tuple[dict[int, list[float]], dict[int, float]]:
    """Open a polling session at each ``(time, answers_pings)`` of ``opened``; run the heartbeat to ``until``.

    A session that answers pings sends its pong ``rtt`` after each ping. Returns each session's ping times and
    the time each closed session was closed.
    """
    loop = FakeLoop()
    server = EngineIOServer(Silent(), ping_interval=round(interval * 1000), ping_timeout=round(timeout * 1000))
    sockets: list[EngineIOSocket] = []
    pings: dict[int, list[float]] = {}
    closed: dict[int, float] = {}

    def open_session(index: int) -> None:
        session = s.EngineIOSession(
            f"sid{index}", transport="polling", ping_interval=interval, ping_timeout=timeout, max_payload=1000
        )
        socket = EngineIOSocket(server, session, {})
        server.sockets[socket.sid] = socket
        session.open(now=loop.now)
        server.heartbeat.schedule(socket)
        sockets.append(socket)
        pings[index] = []

    def pong(index: int) -> None:
        socket = sockets[index]
        socket.session.receive(Packet(PacketType.PONG), now=loop.now)
        server.heartbeat.schedule(socket)  # what EngineIOSocket does after a packet

    def observe() -> None:
        for index, socket in enumerate(sockets):
            if socket.queue:
                assert socket.queue == [PING]
                socket.queue.clear()
                pings[index].append(loop.now)
                if live[index]:
                    loop.call_later(rtt, pong, index)
            if socket.closed and index not in closed:
                closed[index] = loop.now

    live = [answers for _, answers in opened]
    for index, (when, _) in enumerate(opened):
        loop.call_at(when, open_session, index)
    with pytest.MonkeyPatch.context() as patch:  # the engine asks asyncio for its loop
        patch.setattr(asyncio, "get_running_loop", lambda: loop)
        loop.run_until(until, observe)
    return pings, closed


def expected_pings(opened_at: float, interval: float, until: float, rtt: float) -> list[float]:
    times, due = [], opened_at + interval
    while due <= until:
        times.append(due)
        due += rtt + interval
    return times


@pytest.mark.parametrize(
    ("interval", "timeout", "offsets"),
    [
        (0.3, 0.2, [0.0, 0.01, 0.05, 0.1, 0.15]),  # the conformance app's settings
        (0.3, 0.2, [i * 0.037 for i in range(20)]),  # many sessions, staggered
        (25.0, 20.0, [0.0, 0.02, 1.0, 7.5, 19.9]),  # the defaults
    ],
)
def test_every_live_session_is_pinged_at_its_own_due_time(
    interval: float, timeout: float, offsets: list[float]
) -> None:
    rtt = 0.001
    until = offsets[-1] + 5 * interval
    pings, closed = simulate(interval, timeout, [(at, True) for at in offsets], until, rtt)
    assert closed == {}
    for index, at in enumerate(offsets):
        assert pings[index] == pytest.approx(expected_pings(at, interval, until, rtt), abs=1e-9), index


@pytest.mark.parametrize(
    ("interval", "timeout", "opened"),
    [
        # dead sessions opened after a live one, and live ones after a dead one
        (0.3, 0.2, [(0.0, True), (0.05, False), (0.1, True), (0.15, False), (0.18, True)]),
        (0.3, 0.2, [(i * 0.023, i % 3 != 0) for i in range(30)]),
        (25.0, 20.0, [(0.0, True), (0.02, False), (0.04, True), (3.0, False)]),
    ],
)
def test_every_dead_session_is_closed_at_interval_plus_timeout(
    interval: float, timeout: float, opened: list[tuple[float, bool]]
) -> None:
    rtt = 0.001
    until = opened[-1][0] + 4 * (interval + timeout)
    pings, closed = simulate(interval, timeout, opened, until, rtt)
    for index, (at, live) in enumerate(opened):
        if live:
            assert index not in closed
            assert pings[index] == pytest.approx(expected_pings(at, interval, until, rtt), abs=1e-9), index
        else:
            assert pings[index] == pytest.approx([at + interval], abs=1e-9), index
            assert closed[index] == pytest.approx(at + interval + timeout, abs=1e-9), index


# --- the real stack --------------------------------------------------------------------------------------------

INTERVAL, TIMEOUT = 0.3, 1.5  # heartbeat_settings.py; a long timeout makes a hidden deadline obvious


def _server(kind: str) -> Iterator[str]:
    app = "tests.llana_realtime.engineio.heartbeat_asgi:application"
    if kind == "daphne":
        yield from serve([*_bin("daphne"), "-b", "127.0.0.1", "-p", "PORT", app])
    else:
        yield from serve(
            [
                *_bin("uvicorn"),
                "--host", "127.0.0.1", "--port", "PORT", "--lifespan", "off", "--no-access-log",
                "--loop", "uvloop", "--http", "httptools", "--ws", "websockets-sansio",
                "--ws-per-message-deflate", "false", app,
            ]
        )  # fmt: skip


@pytest.fixture(scope="module", params=["daphne", "uvicorn"])
def heartbeat_server(request: pytest.FixtureRequest) -> Iterator[str]:
    yield from _server(request.param)


class LiveClient(threading.Thread):
    """A WebSocket session that answers every ping at once, for ``duration`` seconds; records ping times
    relative to its handshake."""

    def __init__(self, base: str, duration: float) -> None:
        super().__init__(daemon=True)
        self.url = base.replace("http", "ws", 1) + "/engine.io/?EIO=4&transport=websocket"
        self.duration = duration
        self.pings: list[float] = []
        self.closed = False
        self.opened = threading.Event()

    def run(self) -> None:
        with connect(self.url, compression=None, open_timeout=10) as ws:
            assert str(ws.recv(timeout=10)).startswith("0{")
            start = time.monotonic()
            self.opened.set()
            try:
                while (left := start + self.duration - time.monotonic()) > 0:
                    try:
                        frame = ws.recv(timeout=left)
                    except TimeoutError:
                        break
                    if frame == "2":
                        self.pings.append(time.monotonic() - start)
                        ws.send("3")
            except ConnectionClosed:
                self.closed = True


class DeadWebSocket(threading.Thread):
    """A WebSocket session that never answers: records its ping times and when it is closed."""

    def __init__(self, base: str) -> None:
        super().__init__(daemon=True)
        self.url = base.replace("http", "ws", 1) + "/engine.io/?EIO=4&transport=websocket"
        self.pings: list[float] = []
        self.closed_after: float | None = None
        self.opened = threading.Event()

    def run(self) -> None:
        with connect(self.url, compression=None, open_timeout=10) as ws:
            assert str(ws.recv(timeout=10)).startswith("0{")
            start = time.monotonic()
            self.opened.set()
            try:
                while time.monotonic() - start < 10:
                    if ws.recv(timeout=10) == "2":
                        self.pings.append(time.monotonic() - start)
            except ConnectionClosed:
                self.closed_after = time.monotonic() - start


class DeadPolling(threading.Thread):
    """A polling session that receives its ping but never answers: records when a GET gets the close packet."""

    def __init__(self, base: str) -> None:
        super().__init__(daemon=True)
        self.base = base
        self.pings: list[float] = []
        self.closed_after: float | None = None
        self.opened = threading.Event()

    def run(self) -> None:
        status, body = request(self.base, "GET", Q)
        start = time.monotonic()
        self.opened.set()
        sid = json.loads(body[1:])["sid"]
        while time.monotonic() - start < 10:
            status, body = request(self.base, "GET", f"{Q}&sid={sid}")
            if status != 200:
                break
            for packet in body.split(b"\x1e"):
                if packet == b"2":
                    self.pings.append(time.monotonic() - start)
                elif packet == b"1":
                    self.closed_after = time.monotonic() - start
                    return


@pytest.mark.slow
def test_staggered_sessions_keep_their_own_heartbeat(heartbeat_server: str) -> None:
    """A dead session opened first must not hold back the pings of sessions opened after it, nor the ping
    timeout of another dead one.

    Today's expectations (pingInterval 300 ms, pingTimeout 1.5 s): each live session's first ping 0.3 s after
    its handshake and the next every 0.3 s; each dead session closed 1.8 s after its handshake. When a
    session's deadline hid the others', the live sessions' first pings came ≈1.5 s late and the second dead
    session was closed ≈1.4 s late; the bounds below leave 0.7 s and 0.8 s for a loaded machine.
    """
    first = DeadWebSocket(heartbeat_server)
    first.start()
    assert first.opened.wait(10)
    threads: list[threading.Thread] = [first]
    live: list[LiveClient] = []
    dead: list[DeadWebSocket | DeadPolling] = [first]
    for step in range(5):
        time.sleep(0.04)
        client: threading.Thread
        if step == 2:
            client = DeadPolling(heartbeat_server)
            dead.append(client)
        else:
            client = LiveClient(heartbeat_server, duration=2.4)
            live.append(client)
        client.start()
        threads.append(client)
    for thread in threads:
        thread.join(15)
        assert not thread.is_alive()
    for client in live:
        assert not client.closed
        assert client.pings, "no ping at all"
        assert client.pings[0] < 1.0, client.pings
        # ≈7 pings in 2.4 s; a ping held back until the first dead session's timeout leaves at most 2
        assert len(client.pings) >= 4, client.pings
    for client in dead:
        assert client.pings, "no ping at all"
        assert client.pings[0] < 1.0, client.pings
        assert client.closed_after is not None
        assert INTERVAL + TIMEOUT - 0.1 < client.closed_after < INTERVAL + TIMEOUT + 0.8, client.closed_after
