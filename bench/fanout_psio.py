"""The same fan-out workload on a minimal python-socketio ASGI server, for comparison (served by uvicorn).

Run: ``uvicorn bench.fanout_psio:application`` (bench/fanout.py does it).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import socketio

sio = socketio.AsyncServer(async_mode="asgi", cors_allowed_origins="*", logger=False, engineio_logger=False)
application = socketio.ASGIApp(sio)


@sio.event
async def connect(sid: str, environ: dict[str, Any], auth: Any = None) -> None:
    if not (isinstance(auth, dict) and auth.get("control")):
        await sio.enter_room(sid, "bench")


@sio.on("start")
async def start(sid: str, count: int, rate: float) -> int:
    loop = asyncio.get_running_loop()
    begin = loop.time()
    for seq in range(count):
        if rate:
            delay = begin + seq / rate - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
        await sio.emit("tick", (seq, time.time()), to="bench")
        if not rate:
            await asyncio.sleep(0)
    return count
