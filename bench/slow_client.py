"""Server memory for a WebSocket client that never reads while the server keeps sending.

    python bench/slow_client.py --seconds 20 --rate 1000 --size 1024

Serves ``bench.slow_client:application`` (an Engine.IO server that sends every connected socket a ``--size``
byte message ``--rate`` times a second; the ``LLANA_REALTIME`` defaults otherwise, from tests.settings) under
daphne and under uvicorn (websockets-sansio, as docs/realtime-server.md recommends). For each server it
opens one WebSocket session whose client reads the HTTP 101 answer and then nothing more (a small receive
buffer, so the kernel absorbs little), samples the server's RSS every second and prints its growth, then
does the same with a client that reads everything (the control). A line per sample with ``--verbose``.

The ASGI servers' ``send()`` never waits for these clients, so whatever the client does not read piles up in
the server's own write buffer unless the application bounds it (``LLANA_REALTIME["MAX_BUFFERED_BYTES"]``).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent  # console scripts sit next to the interpreter
APP = "bench.slow_client:application"

if os.environ.get("LLANA_BENCH_APP") == "1":  # imported by the ASGI server
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django

    django.setup()
    from channels.routing import ProtocolTypeRouter, URLRouter

    from llana_realtime.channels.asgi import engineio_server
    from llana_realtime.channels.routing import engineio_urlpatterns
    from llana_realtime.engineio.socket import EngineIOSocket

    RATE = int(os.environ.get("LLANA_BENCH_RATE", "1000"))
    MESSAGE = "x" * int(os.environ.get("LLANA_BENCH_SIZE", "1024"))
    _tasks: set[asyncio.Task[None]] = set()

    class Firehose:
        """Sends every socket ``MESSAGE`` ``RATE`` times a second (in batches of 10) until it is closed."""

        async def engineio_connect(self, socket: EngineIOSocket) -> None:
            task = asyncio.get_running_loop().create_task(self._send(socket))
            _tasks.add(task)
            task.add_done_callback(_tasks.discard)

        async def _send(self, socket: EngineIOSocket) -> None:
            while not socket.closed:
                for _ in range(10):
                    socket.send(MESSAGE)
                await asyncio.sleep(10 / RATE)

        async def engineio_message(self, socket: EngineIOSocket, data: str | bytes) -> None:
            pass

        async def engineio_disconnect(self, socket: EngineIOSocket, reason: str) -> None:
            print(f"closed: {reason}", flush=True)

    _http, _ws = engineio_urlpatterns("/engine.io/", engineio_server(Firehose()))
    application = ProtocolTypeRouter({"http": URLRouter(_http), "websocket": URLRouter(_ws)})

SERVERS = {
    "daphne": [str(BIN / "daphne"), "-b", "127.0.0.1", "-p", "{port}", APP],
    "uvicorn": [
        str(BIN / "uvicorn"), "--host", "127.0.0.1", "--port", "{port}", "--loop", "uvloop", "--http", "httptools",
        "--ws", "websockets-sansio", "--ws-per-message-deflate", "false", "--lifespan", "off", "--no-access-log", APP,
    ],
}  # fmt: skip
PATH = "/engine.io/?EIO=4&transport=websocket"


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        return int(status.read().split("VmRSS:")[1].split()[0])


def open_websocket(port: int) -> socket.socket:
    """A raw WebSocket: handshake done, nothing read after the 101 answer (receive buffer 4 KiB)."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            f"GET {PATH} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    answer = b""
    while b"\r\n\r\n" not in answer:
        chunk = sock.recv(1)  # byte by byte: take the 101 answer and nothing after it
        if not chunk:
            raise ConnectionError("closed during the handshake")
        answer += chunk
    if not answer.startswith(b"HTTP/1.1 101"):
        raise ConnectionError(answer.decode("latin-1"))
    return sock


def sample(pid: int, seconds: int, verbose: bool, label: str) -> tuple[int, int]:
    """The server's RSS before and its peak during ``seconds`` (KiB)."""
    before = peak = rss_kib(pid)
    for second in range(1, seconds + 1):
        time.sleep(1)
        rss = rss_kib(pid)
        peak = max(peak, rss)
        if verbose:
            print(f"  {label} t={second:3d}s RSS {rss / 1024:8.1f} MiB", flush=True)
    return before, peak


def run(name: str, template: list[str], args: argparse.Namespace) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [part.format(port=port) for part in template]
    env = {
        **os.environ,
        "LLANA_BENCH_APP": "1",
        "LLANA_BENCH_RATE": str(args.rate),
        "LLANA_BENCH_SIZE": str(args.size),
        "PYTHONPATH": str(ROOT),
    }
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[tuple[float, str]] = []  # (when, line) of the server's output

    def read() -> None:
        for line in server.stdout or ():
            lines.append((time.monotonic(), line.strip()))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
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
        time.sleep(1)
        stalled = open_websocket(port)
        start = time.monotonic()
        before, peak = sample(server.pid, args.seconds, args.verbose, "not reading")
        drops = [f"after {when - start:.1f} s ({line})" for when, line in lines if line.startswith("closed:")]
        stalled.close()
        time.sleep(2)
        rate = args.rate * args.size / 1024 / 1024
        print(
            f"{name:8} client not reading, {args.seconds} s at {rate:.2f} MiB/s: RSS +{(peak - before) / 1024:.1f} MiB "
            f"(peak {peak / 1024:.1f} MiB); dropped by the server: {', '.join(drops) or 'no'}",
            flush=True,
        )
        start = time.monotonic()
        reading = asyncio.run(_control(port, server.pid, args))
        # "transport close" is the client's own close at the end
        drops = [
            line for when, line in lines if when >= start and line.startswith("closed:") and "transport" not in line
        ]
        print(
            f"{name:8} client reading everything, same load: RSS +{reading / 1024:.1f} MiB; dropped by the server: "
            f"{', '.join(drops) or 'no'}",
            flush=True,
        )
    finally:
        server.terminate()
        server.wait(timeout=10)
        reader.join(5)
    warnings = sorted({line for _, line in lines if "WARNING" in line})
    if warnings:
        print(f"{name:8} server logged: {'; '.join(warnings)}")


async def _control(port: int, pid: int, args: argparse.Namespace) -> int:
    from websockets.asyncio.client import connect

    async with connect(f"ws://127.0.0.1:{port}{PATH}", ping_interval=None, compression=None) as ws:
        stop = time.monotonic() + args.seconds
        before = peak = rss_kib(pid)
        next_sample = time.monotonic() + 1
        while time.monotonic() < stop:
            frame = await ws.recv()
            if frame == "2":
                await ws.send("3")
            if time.monotonic() >= next_sample:
                peak = max(peak, rss_kib(pid))
                next_sample += 1
        return peak - before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=20, help="how long the client stays (default 20)")
    parser.add_argument("--rate", type=int, default=1000, help="messages per second to the client (default 1000)")
    parser.add_argument("--size", type=int, default=1024, help="bytes per message (default 1024)")
    parser.add_argument("--servers", default="daphne,uvicorn")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    for name in args.servers.split(","):
        run(name, SERVERS[name], args)


if __name__ == "__main__":
    main()
