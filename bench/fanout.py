"""Fan-out benchmark: N WebSocket clients in one room, M events emitted by the server, for several servers.

    .venv/bin/python bench/fanout.py --clients 1000 --events 200 --rate 10

For each server (ours under daphne, ours under uvicorn, a minimal python-socketio app under uvicorn) it
starts the server on a free port, connects N clients (WebSocket transport) spread over client processes,
measures the server's RSS per idle connection, then runs the workload twice: M events at ``--rate``
events/s, and M events back to back. Each event carries the server's emit time; a client records its
receipt time, so latency is emit-to-receipt. Printed per server and phase: deliveries/s (received events
over first-emit-to-last-receipt), latency p50/p99/max, lost events, server CPU per delivery.

The clients are a minimal Engine.IO v4 / Socket.IO v5 client on ``websockets`` (handshake, CONNECT, pong,
event parsing), cheaper than python-socketio's, so that more of the two shared cores go to the server.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent  # console scripts sit next to the interpreter
CLK_TCK = os.sysconf("SC_CLK_TCK")

SERVERS: dict[str, list[str]] = {
    "llana / daphne": [
        str(BIN / "daphne"),
        "-v",
        "0",
        "-b",
        "127.0.0.1",
        "-p",
        "{port}",
        "bench.fanout_app:application",
    ],
    "llana / uvicorn": [
        str(BIN / "uvicorn"),
        "--host",
        "127.0.0.1",
        "--port",
        "{port}",
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--ws",
        "websockets-sansio",
        "--ws-per-message-deflate",
        "false",
        "--lifespan",
        "off",
        "--log-level",
        "warning",
        "--no-access-log",
        "bench.fanout_app:application",
    ],
    "python-socketio / uvicorn": [
        str(BIN / "uvicorn"),
        "--host",
        "127.0.0.1",
        "--port",
        "{port}",
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--ws",
        "websockets-sansio",
        "--ws-per-message-deflate",
        "false",
        "--lifespan",
        "off",
        "--log-level",
        "warning",
        "--no-access-log",
        "bench.fanout_psio:application",
    ],
}


# --- client process -------------------------------------------------------------------------------------


class Client:
    """One Socket.IO connection over a raw WebSocket; records (seq, latency) for each ``tick``."""

    def __init__(self, url: str, auth: dict[str, Any] | None = None) -> None:
        self.url = url
        self.auth = auth
        self.ws: Any = None
        self.received: list[tuple[int, float, float]] = []  # seq, latency s, receipt time
        self.acks: asyncio.Queue[Any] = asyncio.Queue()
        self.task: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        from websockets.asyncio.client import connect

        for attempt in range(20):
            try:
                self.ws = await connect(self.url, compression=None, ping_interval=None, open_timeout=60, max_queue=None)
                break
            except (OSError, TimeoutError):
                if attempt == 19:
                    raise
                await asyncio.sleep(0.2 * (attempt + 1))
        opened = await self.ws.recv()
        assert opened.startswith("0{"), opened
        await self.ws.send("40" + (json.dumps(self.auth) if self.auth else ""))
        while True:
            frame = await self.ws.recv()
            if frame == "2":
                await self.ws.send("3")
            elif frame.startswith("40"):
                break
            else:
                raise RuntimeError(f"unexpected frame during connect: {frame[:80]}")
        self.task = asyncio.get_running_loop().create_task(self.read())

    async def read(self) -> None:
        ws, received = self.ws, self.received
        try:
            async for frame in ws:
                if frame == "2":
                    await ws.send("3")
                elif frame.startswith("42["):
                    now = time.time()
                    _, seq, sent = json.loads(frame[2:])
                    received.append((seq, now - sent, now))
                elif frame.startswith("43"):
                    i = 2
                    while frame[i].isdigit():
                        i += 1
                    await self.acks.put(json.loads(frame[i:]))
        except Exception:  # a dropped connection shows up as lost events
            return

    async def close(self) -> None:
        if self.task is not None:
            self.task.cancel()
        with contextlib.suppress(Exception):
            await self.ws.close()


async def client_process(url: str, count: int) -> None:
    """Connect ``count`` clients, then obey stdin: ``report`` (print received, reset), ``quit``."""
    clients = [Client(url) for _ in range(count)]
    limit = asyncio.Semaphore(32)

    async def connect(client: Client) -> None:
        async with limit:
            await client.connect()

    await asyncio.gather(*(connect(client) for client in clients))
    print(json.dumps({"connected": count}), flush=True)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while True:
        line = (await reader.readline()).decode().strip()
        if line in ("", "quit"):
            break
        if line == "count":
            print(json.dumps({"count": sum(len(c.received) for c in clients)}), flush=True)
        elif line == "report":
            latencies = [lat for c in clients for (_, lat, _) in c.received]
            last = max((t for c in clients for (_, _, t) in c.received), default=0.0)
            first = min((t - lat for c in clients for (_, lat, t) in c.received), default=0.0)
            print(json.dumps({"latencies": latencies, "first": first, "last": last}), flush=True)
            for c in clients:
                c.received.clear()
    await asyncio.gather(*(c.close() for c in clients))


# --- orchestrator ---------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


class ClientProcess:
    def __init__(self, url: str, count: int) -> None:
        self.count = count
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--client-of", url, "--client-count", str(count)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )

    def ask(self, command: str | None = None) -> dict[str, Any]:
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        if command is not None:
            self.process.stdin.write(command + "\n")
            self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"client process exited ({self.process.wait()})")
        result: dict[str, Any] = json.loads(line)
        return result

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            assert self.process.stdin is not None
            self.process.stdin.write("quit\n")
            self.process.stdin.flush()
        try:
            self.process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.communicate()


async def run_phase(
    name: str, control: Client, workers: list[ClientProcess], pid: int, n: int, m: int, rate: float
) -> dict[str, Any]:
    expected = n * m
    cpu_before = cpu_seconds(pid)
    await control.ws.send(f'420["start",{m},{rate}]')
    await asyncio.wait_for(control.acks.get(), timeout=m / (rate or 1) + 300)
    # wait for stragglers: until everything arrived or nothing new for 3 s
    last_total, still = -1, time.monotonic()
    while True:
        total = sum([(await asyncio.to_thread(w.ask, "count"))["count"] for w in workers])
        if total >= expected:
            break
        if total != last_total:
            last_total, still = total, time.monotonic()
        elif time.monotonic() - still > 3:
            break
        await asyncio.sleep(0.2)
    cpu = cpu_seconds(pid) - cpu_before
    reports = [await asyncio.to_thread(w.ask, "report") for w in workers]
    latencies = sorted(lat for r in reports for lat in r["latencies"])
    received = len(latencies)
    first = min((r["first"] for r in reports if r["latencies"]), default=0.0)  # the first emit's server time
    last = max(r["last"] for r in reports)
    return {
        "phase": name,
        "received": received,
        "lost": expected - received,
        "deliveries_per_s": received / (last - first) if last > first else 0.0,
        "latencies": latencies,
        "p50_ms": 1000 * percentile(latencies, 0.5),
        "p99_ms": 1000 * percentile(latencies, 0.99),
        "max_ms": 1000 * (latencies[-1] if latencies else float("nan")),
        "cpu_us_per_delivery": 1e6 * cpu / max(1, received),
    }


async def bench_server(label: str, command: list[str], args: argparse.Namespace) -> list[dict[str, Any]]:
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DJANGO_SETTINGS_MODULE": "project.settings",
        "LLANA_LOG_LEVEL": "WARNING",
    }
    if args.redis:
        env.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0")
    else:
        for name in ("REDIS_URL", "REDIS_HOST"):
            env.pop(name, None)
    server = subprocess.Popen([part.format(port=port) for part in command], cwd=ROOT, env=env)  # noqa: ASYNC220
    workers: list[ClientProcess] = []
    control: Client | None = None
    try:
        url = f"ws://127.0.0.1:{port}/socket.io/?EIO=4&transport=websocket"
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{label}: server did not start") from None
                await asyncio.sleep(0.1)
        control = Client(url, {"control": True})
        await control.connect()
        await asyncio.sleep(1)
        rss_before = rss_kib(server.pid)
        n = args.clients
        shares = [n // args.processes + (1 if i < n % args.processes else 0) for i in range(args.processes)]
        workers = [ClientProcess(url, share) for share in shares if share]
        for worker in workers:
            await asyncio.to_thread(worker.ask)  # {"connected": k}
        await asyncio.sleep(2)
        rss_after = rss_kib(server.pid)
        per_connection = (rss_after - rss_before) / n
        print(
            f"\n{label}: {n} clients connected; server RSS {rss_before / 1024:.1f} -> {rss_after / 1024:.1f} MiB, "
            f"{per_connection:.1f} KiB per idle connection",
            flush=True,
        )
        results = []
        for phase, rate in ((f"{args.rate:g} events/s", args.rate), ("back to back", 0.0)):
            result = await run_phase(phase, control, workers, server.pid, n, args.events, rate)
            results.append({"server": label, "rss_kib_per_conn": per_connection, **result})
            print_result(results[-1], n, args.events)
        return results
    finally:
        if control is not None:
            await control.close()
        for worker in workers:
            await asyncio.to_thread(worker.stop)
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def print_result(result: dict[str, Any], n: int, m: int) -> None:
    print(
        f"  {result['phase']:>14}: {result['deliveries_per_s']:>9,.0f} deliveries/s  latency p50 {result['p50_ms']:7.1f} ms"
        f"  p99 {result['p99_ms']:7.1f} ms  max {result['max_ms']:7.1f} ms  lost {result['lost']}/{n * m}"
        f"  server CPU {result['cpu_us_per_delivery']:.1f} µs/delivery",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=1000, help="N, WebSocket clients in the room (default 1000)")
    parser.add_argument("--events", type=int, default=200, help="M, events per phase (default 200)")
    parser.add_argument("--rate", type=float, default=10.0, help="events/s of the fixed-rate phase (default 10)")
    parser.add_argument("--processes", type=int, default=2, help="client processes (default 2)")
    parser.add_argument("--servers", default=",".join(SERVERS), help="comma-separated, from: " + ", ".join(SERVERS))
    parser.add_argument(
        "--redis",
        action="store_true",
        help="give our server the Redis pub/sub channel layer (REDIS_URL, default redis://127.0.0.1:6379/0): each emit is also published once on it",
    )
    parser.add_argument("--json", help="also write the figures (without raw latencies) to this file")
    parser.add_argument("--client-of", help=argparse.SUPPRESS)
    parser.add_argument("--client-count", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client_of:
        asyncio.run(client_process(args.client_of, args.client_count))
        return
    print(
        f"fan-out: {args.clients} clients over {args.processes} processes, {args.events} events per phase; "
        f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    summary = []
    for label in args.servers.split(","):
        label = label.strip()
        for result in asyncio.run(bench_server(label, SERVERS[label], args)):
            result.pop("latencies")
            summary.append(result)
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
