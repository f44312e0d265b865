"""Follow one table's realtime events from Python: log in over REST, then listen on Socket.IO.

Needs Python 3.10+ and the asyncio client of python-socketio (aiohttp is its HTTP/WebSocket transport)::

    pip install python-socketio aiohttp
    python examples/realtime_client.py                     # the demo: test@test.com / test, table Customer
    python examples/realtime_client.py --url https://api.example.com --email me@example.com --table Customer

Prints ``following <table>``, then one JSON line per event (``{"type": "INSERT", "custId": "42"}``). Change a
row (REST, admin, any ORM write) to see one. Stops after ``--count`` events (0: never) or when the server
disconnects the socket (token expired, access revoked: the reason is printed first).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import urllib.request

import socketio


def login(url: str, username: str, password: str) -> str:
    """``POST /auth/login``; ``username`` is the user model's ``USERNAME_FIELD`` (the email in the demo)."""
    request = urllib.request.Request(
        f"{url}/auth/login",
        data=json.dumps({"username": username, "password": password}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return str(json.load(response)["access_token"])


async def follow(url: str, token: str, table: str, count: int) -> None:
    sio = socketio.AsyncClient()
    finished = asyncio.Event()
    received = 0

    @sio.on(table)
    async def on_table_event(data: dict[str, str]) -> None:
        nonlocal received
        print(json.dumps(data), flush=True)
        received += 1
        if count and received >= count:
            finished.set()

    @sio.on("exception")
    async def on_exception(data: dict[str, str]) -> None:
        print(f"exception: {data.get('message')}", flush=True)  # sent before the server disconnects the socket

    @sio.event
    async def connect_error(data: object) -> None:  # the server's refusal, e.g. "Table Nope not found"
        message = data.get("message") if isinstance(data, dict) else data
        print(f"refused: {message}", file=sys.stderr, flush=True)

    @sio.event
    async def disconnect(*reason: object) -> None:
        finished.set()

    # Browsers must use `auth`; a Python client may also send headers={"Authorization": f"Bearer {token}", ...}.
    await sio.connect(url, auth={"token": token, "x-llana-table": table})
    print(f"following {table}", flush=True)
    await finished.wait()
    if sio.connected:
        await sio.disconnect()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--email", default="test@test.com", help="the login's username (USERNAME_FIELD)")
    parser.add_argument("--password", default="test")
    parser.add_argument("--table", default="Customer")
    parser.add_argument("--count", type=int, default=0, help="stop after this many events (0: never)")
    args = parser.parse_args()
    token = login(args.url.rstrip("/"), args.email, args.password)
    try:
        asyncio.run(follow(args.url.rstrip("/"), token, args.table, args.count))
    except socketio.exceptions.ConnectionError:  # refused (the reason was printed by connect_error)
        return 1
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
