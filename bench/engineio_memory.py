"""Memory of idle Engine.IO WebSocket sessions (the transport layer alone, no Socket.IO).

    .venv/bin/python bench/engineio_memory.py --clients 1000

Serves a raw Engine.IO echo (``bench.engineio_memory:application``, default 25 s heartbeat) under daphne and
under uvicorn (with and without per-message-deflate), opens N WebSocket sessions (clients offer deflate, as
browsers and engine.io-client do) and prints the server's RSS growth per session.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent  # console scripts sit next to the interpreter
APP = "bench.engineio_memory:application"

if os.environ.get("LLANA_BENCH_APP") == "1":  # imported by the ASGI server
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django

    django.setup()
    from channels.routing import ProtocolTypeRouter, URLRouter

    from llana_realtime.channels.routing import engineio_urlpatterns
    from llana_realtime.engineio.server import EngineIOServer
    from llana_realtime.engineio.socket import EngineIOSocket

    class Echo:
        async def engineio_connect(self, socket: EngineIOSocket) -> None:
            pass

        async def engineio_message(self, socket: EngineIOSocket, data: str | bytes) -> None:
            socket.send(data)

        async def engineio_disconnect(self, socket: EngineIOSocket, reason: str) -> None:
            pass

    _http, _ws = engineio_urlpatterns("/engine.io/", EngineIOServer(Echo()))
    application = ProtocolTypeRouter({"http": URLRouter(_http), "websocket": URLRouter(_ws)})

SERVERS = {
    "daphne": [str(BIN / "daphne"), "-b", "127.0.0.1", "-p", "{port}", APP],
    "uvicorn": [
        str(BIN / "uvicorn"), "--host", "127.0.0.1", "--port", "{port}", "--loop", "uvloop", "--http", "httptools",
        "--ws", "websockets-sansio", "--ws-per-message-deflate", "false", "--lifespan", "off", "--no-access-log", APP,
    ],
    "uvicorn+deflate": [
        str(BIN / "uvicorn"), "--host", "127.0.0.1", "--port", "{port}", "--loop", "uvloop", "--http", "httptools",
        "--ws", "websockets-sansio", "--lifespan", "off", "--no-access-log", APP,
    ],
}  # fmt: skip


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        return int(status.read().split("VmRSS:")[1].split()[0])


async def measure(url: str, clients: int, pid: int) -> float:
    from websockets.asyncio.client import connect

    async def open_one() -> object:
        connection = await connect(url, ping_interval=None)
        await connection.recv()  # the open packet
        return connection

    warm = [await open_one() for _ in range(50)]
    await asyncio.sleep(1)
    before = rss_kib(pid)
    conns = []
    for _ in range(clients):
        conns.append(await open_one())
    await asyncio.sleep(2)
    after = rss_kib(pid)
    await asyncio.gather(*(c.close() for c in [*warm, *conns]))  # type: ignore[attr-defined]
    return (after - before) / clients


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=1000)
    args = parser.parse_args()
    for name, template in SERVERS.items():
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        command = [part.format(port=port) for part in template]
        env = {**os.environ, "LLANA_BENCH_APP": "1", "PYTHONPATH": str(ROOT)}
        server = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    if time.monotonic() > deadline or server.poll() is not None:
                        sys.exit(f"{name} did not start")
                    time.sleep(0.1)
            url = f"ws://127.0.0.1:{port}/engine.io/?EIO=4&transport=websocket"
            per_conn = asyncio.run(measure(url, args.clients, server.pid))
            print(f"{name:16} {args.clients} idle Engine.IO WebSocket sessions: {per_conn:.1f} KiB RSS per session")
        finally:
            server.terminate()
            server.wait(timeout=10)


if __name__ == "__main__":
    main()
