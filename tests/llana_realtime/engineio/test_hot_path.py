"""The fan-out's hot path: what one WebSocket delivery (``EngineIOSocket.send`` and the writer's flush) costs
in engine functions, counted (deterministic, unlike a time; bench/emit_inprocess.py measures the whole emit)."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable
from types import FrameType
from typing import Any

import llana_realtime
from llana_realtime.engineio.server import EngineIOServer
from llana_realtime.engineio.socket import EngineIOSocket

SOCKETS = 20
ENGINE = os.path.dirname(llana_realtime.__file__) + os.sep


class Handler:
    async def engineio_connect(self, socket: EngineIOSocket) -> None:
        pass

    async def engineio_message(self, socket: EngineIOSocket, data: str | bytes) -> None:
        pass

    async def engineio_disconnect(self, socket: EngineIOSocket, reason: str) -> None:
        pass


class Transport:
    """A WebSocket whose ASGI server takes every frame at once, with a write-buffer probe (as uvicorn's)."""

    def __init__(self) -> None:
        self.frames: list[str | bytes] = []
        self.buffered_amount: Callable[[], int] = int  # a C function: not an engine function

    async def send_frame(self, frame: str | bytes) -> None:
        self.frames.append(frame)

    async def close_transport(self) -> None:
        pass


async def test_a_websocket_delivery_runs_at_most_six_engine_functions() -> None:
    # send(), the session's ``closed``, message_frame(), schedule(); in the flush, _write() and ``closed``
    # again. Before: also _push(), _wake() and a third ``closed`` (nine).
    server = EngineIOServer(Handler())
    sockets, transports = [], []
    for _ in range(SOCKETS):
        socket, _ = await server.open({"type": "websocket"}, "websocket")
        transport = Transport()
        socket.attach_websocket(transport)
        await socket.start()
        sockets.append(socket)
        transports.append(transport)
    await asyncio.sleep(0)
    calls: list[str] = []

    def profile(frame: FrameType, event: str, arg: Any) -> None:
        if event == "call" and frame.f_code.co_filename.startswith(ENGINE):
            calls.append(frame.f_code.co_name)

    frame = '2["tick",1]'
    sys.setprofile(profile)
    try:
        for socket in sockets:
            socket.send(frame)
        await asyncio.sleep(0)  # the writer's one flush
    finally:
        sys.setprofile(None)
    assert all(transport.frames[-1] == "4" + frame for transport in transports)
    assert calls.count("_flush") == 1
    assert len(calls) - 1 <= 6 * SOCKETS, sorted(set(calls))
    await server.close_all()
