"""REST load generator for a running django-llana server (asyncio + aiohttp).

Runs each operation on the demo's ``SalesOrder`` table at a fixed concurrency for a fixed time and
prints requests/s, latency percentiles and the error count:

    list    GET  /SalesOrder/?limit=20
    get     GET  /SalesOrder/<random id of the demo's 500>
    create  POST /SalesOrder/            (one new order)
    update  PUT  /SalesOrder/<random id> (freight and shipName)

``--soak MINUTES`` instead runs the list workload for that long and prints one line per minute, so that a
slowdown (last minute vs first) is visible.

    python bench/rest_load.py --url http://127.0.0.1:8000 --duration 30
    python bench/rest_load.py --url http://127.0.0.1:8000 --soak 10
    python bench/rest_load.py --url ... --token <JWT>      # when the server does not run with SKIP_AUTH=true
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

TABLE = "SalesOrder"
DEMO_ORDERS = 500
OPERATIONS = ("list", "get", "create", "update")


@dataclass
class Stats:
    """Latencies (seconds) of successful requests and the error count, over ``elapsed`` seconds."""

    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    elapsed: float = 0.0
    first_error: str = ""
    load: float = field(default_factory=lambda: os.getloadavg()[0])  # machine load when the period started

    def percentile(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    def summary(self) -> dict[str, Any]:
        done = len(self.latencies)
        return {
            "requests": done,
            "errors": self.errors,
            "req_per_s": round(done / self.elapsed, 1) if self.elapsed else 0.0,
            "p50_ms": round(self.percentile(0.50) * 1000, 1),
            "p99_ms": round(self.percentile(0.99) * 1000, 1),
            "max_ms": round(max(self.latencies, default=float("nan")) * 1000, 1),
            "mean_ms": round(statistics.fmean(self.latencies) * 1000, 1) if done else float("nan"),
            "load": round(self.load, 1),
        }


Request = tuple[str, str, Any]  # method, path, JSON body (or None)


def process_cpu_seconds(pid: int | None) -> float | None:
    """User + system CPU time of process ``pid`` and its threads (Linux ``/proc``), None when unknown."""
    if not pid:
        return None
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def make_request(operation: str, rng: random.Random, counter: list[int]) -> Request:
    """The next request of ``operation``, on the demo's SalesOrder rows."""
    if operation == "list":
        return "GET", f"/{TABLE}/?limit=20", None
    if operation == "get":
        return "GET", f"/{TABLE}/{rng.randint(1, DEMO_ORDERS)}", None
    if operation == "create":
        counter[0] += 1
        return (
            "POST",
            f"/{TABLE}/",
            {
                "custId": rng.randint(1, 100),
                "employeeId": rng.randint(1, 9),
                "shipperId": rng.randint(1, 3),
                "orderDate": "2025-06-01T10:00:00Z",
                "freight": round(rng.uniform(1, 500), 2),
                "shipName": f"ShipName_{counter[0]}",
                "shipCity": "Berlin",
                "shipCountry": "Germany",
            },
        )
    if operation == "update":
        return (
            "PUT",
            f"/{TABLE}/{rng.randint(1, DEMO_ORDERS)}",
            {
                "freight": round(rng.uniform(1, 500), 2),
                "shipName": f"Updated_{rng.randint(1, 99999)}",
            },
        )
    raise ValueError(f"unknown operation {operation!r}")


async def worker(
    session: aiohttp.ClientSession,
    base: str,
    next_request: Callable[[], Request],
    until: float,
    record: Callable[[float, float, bool, str], None],
) -> None:
    while True:
        start = time.perf_counter()
        if start >= until:
            return
        method, path, body = next_request()
        ok, reason = False, ""
        try:
            async with session.request(method, base + path, json=body) as response:
                payload = await response.read()
                ok = 200 <= response.status < 300
                if not ok:
                    reason = f"{method} {path}: {response.status} {payload[:200]!r}"
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            reason = f"{method} {path}: {type(exc).__name__} {exc}"
        end = time.perf_counter()
        record(start, end, ok, reason)


async def run(
    base: str,
    operation: str,
    duration: float,
    concurrency: int,
    headers: dict[str, str],
    warmup: float = 2.0,
    buckets: float | None = None,
    seed: int = 1,
    on_start: Callable[[], None] | None = None,
) -> tuple[Stats, list[Stats]]:
    """Run ``operation`` for ``warmup`` (not counted) then ``duration`` seconds; optional per-bucket stats."""
    rng = random.Random(seed)
    counter = [int(time.time())]
    connector = aiohttp.TCPConnector(limit=concurrency, force_close=False)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout, headers=headers) as session:
        if warmup > 0:
            until = time.perf_counter() + warmup
            await asyncio.gather(
                *(
                    worker(session, base, lambda: make_request(operation, rng, counter), until, lambda *a: None)
                    for _ in range(concurrency)
                )
            )
        total = Stats()
        per_bucket: list[Stats] = []
        if on_start is not None:
            on_start()
        started = time.perf_counter()

        def record(start: float, end: float, ok: bool, reason: str) -> None:
            target = [total]
            if buckets:
                index = int((end - started) // buckets)
                while len(per_bucket) <= index:
                    per_bucket.append(Stats(elapsed=buckets))
                target.append(per_bucket[index])
            for stats in target:
                if ok:
                    stats.latencies.append(end - start)
                else:
                    stats.errors += 1
                    stats.first_error = stats.first_error or reason

        until = started + duration
        await asyncio.gather(
            *(
                worker(session, base, lambda: make_request(operation, rng, counter), until, record)
                for _ in range(concurrency)
            )
        )
        total.elapsed = time.perf_counter() - started
        # Requests finishing after the deadline land in a short extra bucket: fold it into the last one.
        if buckets and len(per_bucket) > round(duration / buckets):
            extra = per_bucket.pop()
            per_bucket[-1].latencies += extra.latencies
            per_bucket[-1].errors += extra.errors
        return total, per_bucket


def line(name: str, summary: dict[str, Any]) -> str:
    cpu = f"  server CPU {summary['server_cpu_ms']:.2f} ms/req" if summary.get("server_cpu_ms") is not None else ""
    return (
        f"{name:<8} {summary['req_per_s']:>8.1f} req/s  p50 {summary['p50_ms']:>7.1f} ms  "
        f"p99 {summary['p99_ms']:>7.1f} ms  max {summary['max_ms']:>7.1f} ms  "
        f"requests {summary['requests']:>6}  errors {summary['errors']}{cpu}  load {summary['load']:.1f}"
    )


def with_cpu(summary: dict[str, Any], before: float | None, after: float | None) -> dict[str, Any]:
    """Add the server's CPU milliseconds per request (warm-up excluded) when its pid is known."""
    if before is not None and after is not None and summary["requests"]:
        summary["server_cpu_ms"] = round((after - before) * 1000 / (summary["requests"] + summary["errors"]), 2)
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:8000", help="server base URL")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds per operation (default 30)")
    parser.add_argument("--concurrency", type=int, default=16, help="requests in flight (default 16)")
    parser.add_argument("--ops", default=",".join(OPERATIONS), help="operations to run, comma-separated")
    parser.add_argument("--warmup", type=float, default=2.0, help="uncounted seconds before each run")
    parser.add_argument("--soak", type=float, metavar="MINUTES", help="run the list workload this long, per minute")
    parser.add_argument("--token", help="JWT access token (Authorization: Bearer)")
    parser.add_argument("--api-key", help="API key (x-api-key header)")
    parser.add_argument("--json", action="store_true", help="also print the figures as one JSON line")
    parser.add_argument("--server-pid", type=int, help="server process id: also report its CPU ms per request")
    args = parser.parse_args(argv)

    headers = {"Accept": "application/json"}
    if args.token:
        headers["Authorization"] = f"Bearer {args.token}"
    if args.api_key:
        headers["x-api-key"] = args.api_key
    base = args.url.rstrip("/")
    results: dict[str, Any] = {}
    failed = False

    if args.soak:
        print(f"soak: list ?limit=20, concurrency {args.concurrency}, {args.soak:g} min against {base}", flush=True)
        soak_marks: list[float | None] = []
        total, minutes = asyncio.run(
            run(
                base,
                "list",
                args.soak * 60,
                args.concurrency,
                headers,
                args.warmup,
                buckets=60.0,
                on_start=lambda: soak_marks.append(process_cpu_seconds(args.server_pid)),
            )
        )
        for number, stats in enumerate(minutes, start=1):
            print(line(f"min {number}", stats.summary()), flush=True)
        print(line("total", with_cpu(total.summary(), soak_marks[-1], process_cpu_seconds(args.server_pid))))
        first, last = minutes[0].summary()["req_per_s"], minutes[-1].summary()["req_per_s"]
        drift = (last - first) / first * 100 if first else float("nan")
        print(f"last minute vs first: {drift:+.1f} % ({first} -> {last} req/s)")
        results = {"soak": [m.summary() for m in minutes], "total": total.summary(), "drift_percent": round(drift, 1)}
        failed = total.errors > 0
        if total.first_error:
            print(f"first error: {total.first_error}", file=sys.stderr)
    else:
        print(f"concurrency {args.concurrency}, {args.duration:g} s per operation against {base}", flush=True)
        marks: list[float | None] = []
        for operation in [op.strip() for op in args.ops.split(",") if op.strip()]:
            if operation not in OPERATIONS:
                parser.error(f"--ops: unknown operation {operation!r} (choose from {', '.join(OPERATIONS)})")
            total, _ = asyncio.run(
                run(
                    base,
                    operation,
                    args.duration,
                    args.concurrency,
                    headers,
                    args.warmup,
                    on_start=lambda: marks.append(process_cpu_seconds(args.server_pid)),
                )
            )
            results[operation] = with_cpu(total.summary(), marks[-1], process_cpu_seconds(args.server_pid))
            print(line(operation, results[operation]), flush=True)
            if total.first_error:
                print(f"  first error: {total.first_error}", file=sys.stderr)
            failed = failed or total.errors > 0
    if args.json:
        print(json.dumps(results))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
