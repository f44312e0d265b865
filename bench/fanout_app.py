"""The fan-out benchmark's server app: ``project.asgi.application`` plus a ``/`` namespace on ``default_server``.

Every client joins room ``bench`` on connect, except the controller (CONNECT auth ``{"control": true}``), whose
``start`` event (count, rate; rate 0 = back to back) makes the server emit ``tick`` [seq, unix time] to the
room, then acks with the number of events emitted. Served by daphne or uvicorn (see bench/fanout.py).
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")

from llana_realtime.socketio.namespace import Namespace
from llana_realtime.socketio.server import Socket, default_server
from project.asgi import application

__all__ = ["application"]


class BenchNamespace(Namespace):
    async def on_connect(self, socket: Socket, auth: Any) -> None:
        if not (isinstance(auth, dict) and auth.get("control")):
            socket.join("bench")

    async def on_start(self, socket: Socket, count: int, rate: float) -> int:
        loop = asyncio.get_running_loop()
        start = loop.time()
        for seq in range(count):
            if rate:
                delay = start + seq / rate - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
            await default_server.emit("tick", seq, time.time(), to="bench")
            if not rate:
                await asyncio.sleep(0)
        return count


default_server.register(BenchNamespace("/"))
