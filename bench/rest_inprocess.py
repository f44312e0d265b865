"""In-process cost of a REST request through the project's ASGI application (no HTTP server, no client).

Drives ``project.asgi.application`` directly with CONCURRENCY requests in flight (plain ASGI scopes, on
uvloop) and prints the process CPU milliseconds per request: the server-side cost of Django's ASGI path
plus the view, without the HTTP server or the load generator. Environment as ``bench/run_rest.sh``
(``DATABASE_URL`` of a database loaded by ``llana_demo``, ``SKIP_AUTH=true``, ``SKIP_AUTH_ACKNOWLEDGED=true``, ``DJANGO_DEBUG=false`` and
then a ``DJANGO_SECRET_KEY``).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/llana_bench SKIP_AUTH=true SKIP_AUTH_ACKNOWLEDGED=true DJANGO_DEBUG=false \\
        DJANGO_SECRET_KEY=<50 random characters> python bench/rest_inprocess.py --path '/SalesOrder/?limit=20'
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")


async def one(application: Any, target: str) -> int:
    path, _, query = target.partition("?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1"), (b"accept", b"application/json")],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    requested = False
    done = asyncio.Event()
    status: list[int] = []

    async def receive() -> dict[str, Any]:
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await done.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            status.append(message["status"])
        elif not message.get("more_body"):
            done.set()

    await application(scope, receive, send)
    done.set()
    return status[0] if status else 0


async def run(target: str, requests: int, concurrency: int, warmup: int) -> int:
    from project.asgi import application

    for _ in range(warmup):
        code = await one(application, target)
        if code != 200:
            print(f"GET {target}: status {code}", file=sys.stderr)
            return 1
    left = [requests]
    errors = [0]

    async def worker() -> None:
        while left[0] > 0:
            left[0] -= 1
            if await one(application, target) != 200:
                errors[0] += 1

    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    print(
        f"GET {target}: {requests} requests, concurrency {concurrency}: {cpu * 1000 / requests:.3f} ms CPU/request, "
        f"{requests / wall:.0f} req/s, errors {errors[0]}, load {os.getloadavg()[0]:.1f}"
    )
    return 1 if errors[0] else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--path", default="/SalesOrder/?limit=20", help="GET path with query string")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--warmup", type=int, default=100, help="uncounted requests first")
    args = parser.parse_args()
    import uvloop

    return uvloop.run(run(args.path, args.requests, args.concurrency, args.warmup))


if __name__ == "__main__":
    sys.exit(main())
