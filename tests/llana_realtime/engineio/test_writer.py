"""The Engine.IO socket's WebSocket writer: frames written without a task while the ASGI server's ``send()``
completes at once, a writer task when it has to wait, order kept across both, and the bounded queue."""

from __future__ import annotations

import asyncio
import logging

import pytest

from llana_realtime.engineio.server import EngineIOServer
from llana_realtime.engineio.socket import EngineIOSocket


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, object]] = []
        self.disconnected = asyncio.Event()

    async def engineio_connect(self, socket: EngineIOSocket) -> None:
        self.calls.append(("connect", socket.transport))

    async def engineio_message(self, socket: EngineIOSocket, data: str | bytes) -> None:
        self.calls.append(("message", data))

    async def engineio_disconnect(self, socket: EngineIOSocket, reason: str) -> None:
        self.calls.append(("disconnect", reason))
        self.disconnected.set()


class Transport:
    """A WebSocket transport whose ``send_frame`` waits while ``open`` is clear (a client that reads slowly)."""

    def __init__(self) -> None:
        self.frames: list[str | bytes] = []
        self.closed = False
        self.open = asyncio.Event()
        self.open.set()
        self.waits = 0

    async def send_frame(self, frame: str | bytes) -> None:
        if not self.open.is_set():
            self.waits += 1
            await self.open.wait()
        self.frames.append(frame)

    async def close_transport(self) -> None:
        self.closed = True


async def websocket(server: EngineIOServer) -> tuple[EngineIOSocket, Transport]:
    socket, _ = await server.open({"type": "websocket"}, "websocket")
    transport = Transport()
    socket.attach_websocket(transport)
    await socket.start()
    return socket, transport


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_frames_of_many_sockets_are_written_in_order_by_one_flush() -> None:
    server = EngineIOServer(Recorder())
    pairs = [await websocket(server) for _ in range(3)]
    for n in range(4):
        for socket, _ in pairs:
            socket.send(f"m{n}")
    socket0 = pairs[0][0]
    socket0.send(b"\x01\x02")
    assert all(not transport.frames for _, transport in pairs)  # nothing written inside send()
    await settle()
    assert pairs[0][1].frames == ["4m0", "4m1", "4m2", "4m3", b"\x01\x02"]
    assert pairs[2][1].frames == ["4m0", "4m1", "4m2", "4m3"]
    assert not server._tasks  # no task was needed
    await server.close_all()


async def test_a_waiting_send_hands_over_to_a_writer_task_and_keeps_the_order() -> None:
    server = EngineIOServer(Recorder())
    socket, transport = await websocket(server)
    other, other_transport = await websocket(server)
    socket.send("a")
    await settle()
    transport.open.clear()  # the client stops reading
    for text in ("b", "c", "d"):
        socket.send(text)
        other.send(text)
    await settle()
    assert transport.waits == 1
    assert transport.frames == ["4a"]
    assert other_transport.frames == ["4b", "4c", "4d"]  # one slow socket does not hold up the others
    socket.send("e")
    transport.open.set()
    await settle()
    socket.send("f")
    await settle()
    assert transport.frames == ["4a", "4b", "4c", "4d", "4e", "4f"]
    assert not socket.closed
    await server.close_all()


async def test_a_client_that_stops_reading_is_disconnected_with_a_logged_reason(
    caplog: pytest.LogCaptureFixture,
) -> None:
    handler = Recorder()
    server = EngineIOServer(handler, outgoing_queue_size=4)
    socket, transport = await websocket(server)
    transport.open.clear()
    with caplog.at_level(logging.WARNING, logger="llana_realtime.engineio.socket"):
        for n in range(10):
            socket.send(f"m{n}")
            await settle()
    await asyncio.wait_for(handler.disconnected.wait(), 5)
    assert handler.calls[-1] == ("disconnect", "outgoing queue full")
    assert "outgoing queue full" in caplog.text
    assert socket.closed
    assert server.get(socket.sid) is None
    transport.open.set()
    await settle()
    assert transport.frames == ["4m0"]  # the frame in flight; the rest was dropped with the session


async def test_graceful_close_writes_the_queue_then_closes_the_transport() -> None:
    handler = Recorder()
    server = EngineIOServer(handler)
    socket, transport = await websocket(server)
    socket.send("one")
    socket.send("two")
    await socket.close()
    assert not transport.closed
    await asyncio.wait_for(handler.disconnected.wait(), 5)
    await settle()
    assert transport.frames == ["4one", "4two"]
    assert transport.closed
    assert handler.calls == [("connect", "websocket"), ("disconnect", "server disconnect")]


async def test_graceful_close_behind_a_waiting_send_still_writes_everything_first() -> None:
    handler = Recorder()
    server = EngineIOServer(handler)
    socket, transport = await websocket(server)
    transport.open.clear()
    socket.send("one")
    await settle()
    socket.send("two")
    await socket.close()
    await settle()
    assert transport.frames == []
    assert not transport.closed
    transport.open.set()
    await settle()
    assert transport.frames == ["4one", "4two"]
    assert transport.closed


async def test_a_failing_send_closes_the_session_as_a_transport_error() -> None:
    class Broken(Transport):
        async def send_frame(self, frame: str | bytes) -> None:
            raise ConnectionResetError("gone")

    handler = Recorder()
    server = EngineIOServer(handler)
    socket, _ = await server.open({"type": "websocket"}, "websocket")
    socket.attach_websocket(Broken())
    await socket.start()
    socket.send("x")
    await asyncio.wait_for(handler.disconnected.wait(), 5)
    assert handler.calls[-1] == ("disconnect", "transport error")


async def test_handler_calls_stay_ordered_when_the_connect_handler_waits() -> None:
    class Slow(Recorder):
        async def engineio_connect(self, socket: EngineIOSocket) -> None:
            await asyncio.sleep(0.05)
            await super().engineio_connect(socket)

    handler = Slow()
    server = EngineIOServer(handler)
    socket, _ = await server.open({"type": "websocket"}, "websocket")
    socket.attach_websocket(Transport())
    connecting = asyncio.ensure_future(socket.start())
    await asyncio.sleep(0)
    delivering = [asyncio.ensure_future(socket._deliver(text)) for text in ("a", "b", "c")]
    await asyncio.sleep(0)
    socket.abort("transport close")
    await asyncio.gather(connecting, *delivering)
    await asyncio.wait_for(handler.disconnected.wait(), 5)
    assert handler.calls == [("connect", "websocket"), ("disconnect", "transport close")]
    assert socket._lock is None  # a free handler lock holds no object


async def test_a_cancelled_waiter_does_not_block_the_handler_lock() -> None:
    handler = Recorder()
    server = EngineIOServer(handler)
    socket, _ = await websocket(server)
    await socket._acquire()
    waiting = asyncio.ensure_future(socket._acquire())
    await asyncio.sleep(0)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    socket._release()
    assert socket._lock is None
    await socket._deliver("after")
    assert handler.calls[-1] == ("message", "after")
    await server.close_all()
