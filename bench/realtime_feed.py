"""End-to-end benchmark of the realtime table feed: N socket clients, M REST updates, every delivery matched.

Starts the example project (``project.asgi:application``) on a fresh database, connects N authenticated
python-socketio clients (WebSocket transport, spread over ``--client-procs`` processes) to the
``SalesOrder`` feed, then a writer does M REST updates (``PUT /SalesOrder/<id>``), each to its own row, at a
fixed rate and then back-to-back (``--writers`` concurrent writers, 4 by default, so the write path is
busy all the time). Each client records when each row's ``UPDATE`` arrived, so every delivery
is matched to its write. Prints, per phase: deliveries/s, write-to-client latency p50/p99/max (from the
moment the writer sends the request), lost and duplicate deliveries, database queries per event; and the
server RSS per idle connection, and the server CPU time per delivery (which, unlike rates and latencies,
hardly depends on what else the machine runs).

Database queries are counted in the server (``bench/realtime_feed_settings.py`` wraps every connection with
``execute_wrapper`` and logs each query); "per event" = queries during the phase / M. That includes the
REST write itself; ``--baseline`` repeats the phase with 1 client so the per-socket part is the difference.

    DB=postgres://postgres@127.0.0.1:5432/llana_bench_feed
    python bench/realtime_feed.py --database-url $DB                # N=1000, M=200, daphne, in-memory layer
    python bench/realtime_feed.py --redis redis://127.0.0.1:6379/0  # channels-redis
    python bench/realtime_feed.py --redis redis://127.0.0.1:6379/0 --servers 2   # two daphne processes
    python bench/realtime_feed.py --server uvicorn
    python bench/realtime_feed.py --clients 200 --writes 50         # quicker
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
BIN = Path(sys.executable).parent  # daphne and uvicorn are installed next to the running interpreter
TABLE, PK = "SalesOrder", "orderId"
SCRUBBED = (
    "DATABASE_URL",
    "DATABASE_URI",
    "REDIS_URL",
    "REDIS_HOST",
    "REDIS_PORT",
    "SKIP_AUTH",
    "HOSTS",
    "DJANGO_SETTINGS_MODULE",
    "LLANA_FEED_PREFIX",
    "JWT_EXPIRES_IN",
)


# --- client process ---------------------------------------------------------------------------------------


async def client_main(url: str, count: int, tokens: list[str], impl: str) -> None:
    """``count`` clients on ``url``; prints {"ready": n}, then on stdin "report" the deliveries as JSON.

    ``impl``: ``python-socketio`` (one ``socketio.AsyncClient`` each) or ``raw`` (a minimal client on
    ``websockets``, about ten times cheaper per message, so the clients don't starve the server of CPU).
    """
    import socketio

    received: dict[str, list[float]] = {}
    per_client: list[set[str]] = [set() for _ in range(count)]
    duplicates = 0
    disconnects = 0
    clients: list[Any] = []
    readers: list[asyncio.Task[None]] = []

    def make(index: int) -> Any:
        client = socketio.AsyncClient(reconnection=False)
        seen = per_client[index]

        def on_event(payload: dict[str, str]) -> None:
            nonlocal duplicates
            now = time.time()
            pk = payload.get(PK, "")
            if pk in seen:
                duplicates += 1
            seen.add(pk)
            received.setdefault(pk, []).append(now)

        def on_disconnect(*args: Any) -> None:
            nonlocal disconnects
            disconnects += 1

        client.on(TABLE, on_event)
        client.on("disconnect", on_disconnect)
        return client

    gate = asyncio.Semaphore(25)
    failures: list[str] = []

    async def connect(index: int) -> None:
        client = make(index)
        async with gate:
            try:
                await client.connect(
                    url,
                    transports=["websocket"],
                    wait_timeout=60,
                    auth={"token": tokens[index % len(tokens)], "x-llana-table": TABLE},
                )
            except Exception as exc:  # report, don't crash: a failed connection is a finding
                failures.append(repr(exc))
                return
        clients.append(client)

    async def raw_connect(index: int) -> None:
        """A minimal Engine.IO v4 / Socket.IO v5 client over ``websockets``: handshake, pong, parse events."""
        from websockets.asyncio.client import connect as ws_connect

        seen = per_client[index]
        async with gate:
            try:
                ws = await ws_connect(
                    url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket",
                    max_queue=None,
                    compression=None,
                )
                opened = await ws.recv()
                assert str(opened).startswith("0{"), opened
                auth = {"token": tokens[index % len(tokens)], "x-llana-table": TABLE}
                await ws.send("40" + json.dumps(auth))
                answer = str(await ws.recv())
                assert answer.startswith("40{"), answer
            except Exception as exc:
                failures.append(repr(exc))
                return
        clients.append(ws)

        async def read() -> None:
            nonlocal duplicates, disconnects
            prefix = f'42["{TABLE}",'
            try:
                async for frame in ws:
                    if frame == "2":
                        await ws.send("3")
                    elif isinstance(frame, str) and frame.startswith(prefix):
                        now = time.time()
                        pk = json.loads(frame[len(prefix) : -1]).get(PK, "")
                        if pk in seen:
                            duplicates += 1
                        seen.add(pk)
                        received.setdefault(pk, []).append(now)
            finally:
                disconnects += 1

        readers.append(asyncio.create_task(read()))

    await asyncio.gather(*((raw_connect if impl == "raw" else connect)(i) for i in range(count)))
    print(json.dumps({"ready": len(clients), "failures": failures[:3]}), flush=True)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while True:
        line = (await reader.readline()).decode().strip()
        if line == "count":
            print(json.dumps({"count": sum(len(v) for v in received.values())}), flush=True)
        elif line == "reset":
            received.clear()
            for seen in per_client:
                seen.clear()
            duplicates = 0
            print(json.dumps({"reset": True}), flush=True)
        elif line == "report":
            print(
                json.dumps(
                    {
                        "received": received,
                        "duplicates": duplicates,
                        "disconnects": disconnects,
                        "connected": len(clients),
                    }
                ),
                flush=True,
            )
        elif line in ("", "quit"):
            break
    await asyncio.gather(*(c.close() if impl == "raw" else c.disconnect() for c in clients), return_exceptions=True)
    await asyncio.gather(*readers, return_exceptions=True)


# --- orchestration ----------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_port(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"server exited ({process.returncode}); log: {log}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    sys.exit(f"server did not listen; log: {log}")


async def warm_socket(port: int, token: str) -> None:
    """Connect one socket to the table feed and leave again."""
    from websockets.asyncio.client import connect as ws_connect

    async with ws_connect(f"ws://127.0.0.1:{port}/socket.io/?EIO=4&transport=websocket", compression=None) as ws:
        await ws.recv()
        await ws.send("40" + json.dumps({"token": token, "x-llana-table": TABLE}))
        answer = str(await ws.recv())
        assert answer.startswith("40{"), answer
        await asyncio.sleep(0.5)


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.tmp = Path(tempfile.mkdtemp(prefix="llana-feed-bench-"))
        self.query_log = self.tmp / "queries.log"
        self.env = {k: v for k, v in os.environ.items() if k not in SCRUBBED}
        self.env.update(
            DJANGO_SETTINGS_MODULE="bench.realtime_feed_settings", PYTHONPATH=str(ROOT),
            DATABASE_URL=args.database_url or f"sqlite:///{self.tmp / 'db.sqlite3'}",
            DJANGO_DEBUG="false", DJANGO_SECRET_KEY="bench-" + secrets.token_hex(24),
            JWT_KEY=secrets.token_hex(24), LLANA_LOG_LEVEL=os.environ.get("LLANA_BENCH_LOG_LEVEL", "WARNING"), LLANA_BENCH_QUERY_LOG=str(self.query_log),
        )  # fmt: skip
        if args.redis:
            self.env.update(REDIS_URL=args.redis, LLANA_FEED_PREFIX=f"llana-bench-{uuid.uuid4().hex[:10]}")
        self.servers: list[tuple[subprocess.Popen[bytes], int]] = []
        self.clients: list[subprocess.Popen[str]] = []

    def manage(self, *argv: str) -> None:
        subprocess.run(
            [PYTHON, str(ROOT / "manage.py"), *argv], cwd=ROOT, env=self.env, check=True, stdout=subprocess.DEVNULL
        )

    def start_servers(self) -> None:
        for index in range(self.args.servers):
            port = free_port()
            log = self.tmp / f"server{index}.log"
            if self.args.server == "uvicorn":
                command = [
                    str(BIN / "uvicorn"),
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--lifespan",
                    "off",
                    "--no-access-log",
                    "--loop",
                    "uvloop",
                    "--http",
                    "httptools",
                    "--ws",
                    "websockets-sansio",
                    "--ws-per-message-deflate",
                    "false",
                    "project.asgi:application",
                ]
            else:
                command = [
                    str(BIN / "daphne"),
                    "-b",
                    "127.0.0.1",
                    "-p",
                    str(port),
                    "--access-log",
                    os.devnull,
                    "project.asgi:application",
                ]
            with open(log, "ab") as out:
                process = subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT)
            wait_port(port, process, log)
            self.servers.append((process, port))

    def http(
        self,
        port: int,
        method: str,
        path: str,
        body: Any = None,
        token: str | None = None,
        conn: http.client.HTTPConnection | None = None,
    ) -> tuple[int, Any]:
        connection = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        connection.request(method, path, body=None if body is None else json.dumps(body), headers=headers)
        response = connection.getresponse()
        raw = response.read()
        if conn is None:
            connection.close()
        return response.status, json.loads(raw) if raw else None

    def login(self, email: str) -> str:
        status, body = self.http(self.servers[0][1], "POST", "/auth/login", {"username": email, "password": "test"})
        assert status == 200, body
        return str(body["access_token"])

    def start_clients(self, tokens: list[str]) -> int:
        procs = self.args.client_procs
        per = [self.args.clients // procs + (1 if i < self.args.clients % procs else 0) for i in range(procs)]
        for index, count in enumerate(per):
            port = self.servers[index % len(self.servers)][1]  # two servers: half the clients on each
            self.clients.append(subprocess.Popen(
                [PYTHON, __file__, "--client-process", f"http://127.0.0.1:{port}", str(count), json.dumps(tokens),
                 self.args.client],
                cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            ))  # fmt: skip
        ready = 0
        for client in self.clients:
            assert client.stdout is not None
            message = json.loads(client.stdout.readline())
            if message.get("failures"):
                print("  connect failures:", message["failures"], file=sys.stderr)
            ready += int(message["ready"])
        return ready

    def ask(self, command: str) -> list[dict[str, Any]]:
        answers = []
        for client in self.clients:
            assert client.stdin is not None
            client.stdin.write(command + "\n")
            client.stdin.flush()
        for client in self.clients:
            assert client.stdout is not None
            answers.append(json.loads(client.stdout.readline()))
        return answers

    def queries(self) -> list[str]:
        return self.query_log.read_text().splitlines() if self.query_log.exists() else []

    def phase(self, name: str, token: str, first_row: int, rate: float | None, connected: int) -> dict[str, Any]:
        """M updates of rows first_row.. (rate writes/s, or back-to-back); returns the figures."""
        m = self.args.writes
        self.ask("reset")
        queries_before = len(self.queries())
        cpu_before = sum(cpu_seconds(p.pid) for p, _ in self.servers)
        load = float(Path("/proc/loadavg").read_text().split()[0])  # what else the machine was doing
        port = self.servers[0][1]
        sent: dict[str, float] = {}
        write_times: list[float] = []
        writers = 1 if rate else self.args.writers

        def write(rows: list[int]) -> None:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            for i in rows:
                pk = str(first_row + i)
                if rate:
                    delay = start + i / rate - time.time()
                    if delay > 0:
                        time.sleep(delay)
                t0 = time.time()
                sent[pk] = t0
                status, body = self.http(port, "PUT", f"/{TABLE}/{pk}", {"shipName": f"bench {i}"}, token, conn)
                write_times.append(time.time() - t0)
                assert status == 200, (status, body)
            conn.close()

        start = time.time()
        threads = [threading.Thread(target=write, args=(list(range(w, m, writers)),)) for w in range(writers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        writes_done = time.time()
        expected = connected * m
        deadline, last, last_change = time.time() + 60, -1, time.time()
        while time.time() < deadline:  # until everything arrived, or nothing more for 3 s
            count = sum(a["count"] for a in self.ask("count"))
            if count >= expected:
                break
            if count != last:
                last, last_change = count, time.time()
            elif time.time() - last_change > 3:
                break
            time.sleep(0.2)
        cpu = sum(cpu_seconds(p.pid) for p, _ in self.servers) - cpu_before
        reports = self.ask("report")
        queries = self.queries()[queries_before:]
        latencies: list[float] = []
        first_recv, last_recv = float("inf"), 0.0
        delivered = duplicates = 0
        for report in reports:
            duplicates += report["duplicates"]
            for pk, times in report["received"].items():
                if pk not in sent:
                    continue
                delivered += len(times)
                latencies.extend(t - sent[pk] for t in times)
                first_recv, last_recv = min(first_recv, *times), max(last_recv, *times)
        latencies.sort()

        def pct(q: float) -> float:
            return 1000 * latencies[min(len(latencies) - 1, int(q * len(latencies)))] if latencies else float("nan")

        span = max(last_recv - start, 1e-9)
        return {
            "phase": name, "clients": connected, "writes": m, "writers": writers,
            "write_rate": round(m / (writes_done - start), 1),
            "write_ms_p50": round(1000 * statistics.median(write_times), 1),
            "delivered": delivered, "expected": expected, "lost": expected - (delivered - duplicates),
            "duplicates": duplicates,
            "deliveries_per_s": round(delivered / span),
            "latency_ms_p50": round(pct(0.50), 1), "latency_ms_p99": round(pct(0.99), 1),
            "latency_ms_max": round(1000 * latencies[-1], 1) if latencies else None,
            "db_queries": len(queries), "db_queries_per_event": round(len(queries) / m, 2),
            "server_cpu_s": round(cpu, 2), "server_cpu_us_per_delivery": round(1e6 * cpu / max(delivered, 1), 1),
            "disconnects": sum(r["disconnects"] for r in reports), "loadavg_1min_at_start": load,
        }  # fmt: skip

    def fresh_postgres(self) -> None:
        """Drop and create the PostgreSQL database named by the URL (through the ``postgres`` database)."""
        import psycopg

        url = self.env["DATABASE_URL"]
        base, name = url.rsplit("/", 1)
        with psycopg.connect(base.replace("postgresql://", "postgres://") + "/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # type: ignore[arg-type]
            conn.execute(f'CREATE DATABASE "{name}"')  # type: ignore[arg-type]

    def run(self) -> list[dict[str, Any]]:
        print(f"setting up ({self.env['DATABASE_URL'].split('@')[-1]})…", file=sys.stderr)
        if self.env["DATABASE_URL"].startswith("postgres"):
            self.fresh_postgres()
        elif self.args.writers > 1:
            print("SQLite: one writer (concurrent writers would hit 'database is locked')", file=sys.stderr)
            self.args.writers = 1
        self.manage("migrate", "--noinput", "-v", "0")
        self.manage("llana_demo")
        self.start_servers()
        tokens = [self.login("test@test.com"), self.login("user@test.com")]  # two permission sets
        for _process, port in self.servers:  # warm up every server (imports, first request, first socket)
            self.http(port, "GET", f"/{TABLE}/?limit=1", token=tokens[0])
            asyncio.run(
                warm_socket(port, tokens[0])
            )  # one-off costs (e.g. the Redis subscription) aren't per connection
        time.sleep(1)
        rss_before = [rss_kib(p.pid) for p, _ in self.servers]
        connected = self.start_clients(tokens)
        time.sleep(3)
        rss_after = [rss_kib(p.pid) for p, _ in self.servers]
        per_conn = (sum(rss_after) - sum(rss_before)) / max(connected, 1)
        print(
            f"connected {connected}/{self.args.clients}; server RSS {sum(rss_before)} → {sum(rss_after)} KiB "
            f"= {per_conn:.1f} KiB per idle connection",
            file=sys.stderr,
        )
        results = []
        results.append(self.phase(f"{self.args.rate:g} writes/s", tokens[0], 1, self.args.rate, connected))
        print(json.dumps(results[-1]), file=sys.stderr)
        results.append(self.phase("back-to-back", tokens[0], 1 + self.args.writes, None, connected))
        print(json.dumps(results[-1]), file=sys.stderr)
        for result in results:
            result.update(
                rss_per_connection_kib=round(per_conn, 1),
                servers=self.args.servers,
                client=self.args.client,
                server=self.args.server,
                layer="redis" if self.args.redis else "in-memory",
            )
        return results

    def close(self) -> None:
        for client in self.clients:
            try:
                if client.stdin:
                    client.stdin.write("quit\n")
                    client.stdin.flush()
                client.wait(timeout=30)
            except (OSError, subprocess.TimeoutExpired):
                client.kill()
        for process, _ in self.servers:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        if not self.args.keep:
            shutil.rmtree(self.tmp, ignore_errors=True)
        else:
            print(f"kept {self.tmp}", file=sys.stderr)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--client-process":
        asyncio.run(client_main(sys.argv[2], int(sys.argv[3]), json.loads(sys.argv[4]), sys.argv[5]))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=1000, help="N socket clients (default 1000)")
    parser.add_argument("--writes", type=int, default=200, help="M REST updates per phase (default 200, ≤ 250)")
    parser.add_argument("--rate", type=float, default=10.0, help="writes/s of the paced phase (default 10)")
    parser.add_argument(
        "--writers", type=int, default=4, help="concurrent writers of the back-to-back phase (default 4)"
    )
    parser.add_argument(
        "--client",
        choices=("python-socketio", "raw"),
        default="python-socketio",
        help="client implementation (raw: minimal Engine.IO/Socket.IO over websockets)",
    )
    parser.add_argument("--client-procs", type=int, default=2, help="client processes (default 2)")
    parser.add_argument("--servers", type=int, default=1, help="server processes (2 needs --redis)")
    parser.add_argument("--server", choices=("daphne", "uvicorn"), default="daphne")
    parser.add_argument("--redis", help="REDIS_URL: use channels-redis (a prefix of the run's own)")
    parser.add_argument(
        "--database-url",
        help="default: a temp SQLite file (one writer); a postgres:// URL's database is dropped and created afresh",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (server logs, query log)")
    args = parser.parse_args()
    if args.servers > 1 and not args.redis:
        parser.error("--servers 2 needs --redis")
    bench = Bench(args)
    try:
        results = bench.run()
    finally:
        bench.close()
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
