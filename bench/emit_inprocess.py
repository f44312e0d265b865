"""In-process emit-path micro-benchmark: CPU per delivery and memory per connection, without a network.

    .venv/bin/python bench/emit_inprocess.py --clients 1000 --events 200
    .venv/bin/python bench/emit_inprocess.py --tree ../other-checkout  # the same figures for another checkout

Drives ``bench.fanout_app:application`` (the whole ASGI stack of ``project.asgi`` plus the fan-out benchmark's
``/`` namespace, whose sockets join room ``bench``) with N in-process WebSocket connections whose ASGI
``send`` completes at once and, as uvicorn's, is a bound method of a protocol with an asyncio-like
``transport`` (so the write-buffer check runs). No wall clock is involved:

- memory: ``tracemalloc`` bytes held per connected socket (open, Socket.IO CONNECT, joined to the room);
- CPU: ``time.process_time()`` over M back-to-back emits to the room (as the fan-out benchmark's back-to-back
  phase: ``server.emit(...)`` then ``await asyncio.sleep(0)``), per delivery, best of ``--repeat`` runs;
- and, deterministic (the same on a busy machine): the function calls (``sys.setprofile``) and Python
  bytecodes (``sys.settrace``) that one emit and its flush execute, per delivery.

For machine instructions rather than a time, run it under callgrind, collecting only inside the timed emits
(they run in ``sys.call_tracing``, and nothing else does)::

    PYTHONHASHSEED=0 valgrind --tool=callgrind --toggle-collect=sys_call_tracing \\
        .venv/bin/python bench/emit_inprocess.py --clients 300 --events 20 --repeat 1 --no-count

and divide the instructions (``I refs``) by the deliveries (sockets × events).
``--tree`` imports the application from another checkout of the project (its own ``bench/fanout_app.py``) to
compare two versions with the same driver.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import importlib
import os
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

SCOPE_BASE = {
    "type": "websocket",
    "asgi": {"version": "3.0"},
    "http_version": "1.1",
    "scheme": "ws",
    "server": ("127.0.0.1", 8000),
    "path": "/socket.io/",
    "raw_path": b"/socket.io/",
    "root_path": "",
    "query_string": b"EIO=4&transport=websocket",
    "headers": [(b"host", b"127.0.0.1:8000")],
    "subprotocols": [],
}


class Transport:
    """An asyncio-like transport: what the write-buffer check reads."""

    def get_write_buffer_size(self) -> int:
        return 0


class Protocol:
    """One fake WebSocket connection of an ASGI server: ``send`` is a bound method, as uvicorn's."""

    __slots__ = ("frames", "inbox", "transport")

    def __init__(self, transport: Transport) -> None:
        self.transport = transport
        self.inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.frames = 0

    async def send(self, message: dict[str, Any]) -> None:
        if message["type"] == "websocket.send":
            if (
                "text" in message and message["text"] == "2"
            ):  # a ping: answer it, as a client does (slow runs outlive pingTimeout)
                self.inbox.put_nowait({"type": "websocket.receive", "text": "3"})
            else:
                self.frames += 1

    async def receive(self) -> dict[str, Any]:
        return await self.inbox.get()


async def settle(rounds: int = 20) -> None:
    for _ in range(rounds):
        await asyncio.sleep(0)


async def connect_all(application: Any, count: int, transport: Transport) -> tuple[list[Protocol], list[Any]]:
    protocols: list[Protocol] = []
    tasks = []
    loop = asyncio.get_running_loop()
    for i in range(count):
        protocol = Protocol(transport)
        scope = {**SCOPE_BASE, "client": ("127.0.0.1", 10000 + i), "headers": list(SCOPE_BASE["headers"])}
        tasks.append(loop.create_task(application(scope, protocol.receive, protocol.send)))
        protocol.inbox.put_nowait({"type": "websocket.connect"})
        protocols.append(protocol)
    await wait_for_frames(protocols, 1)  # the open packet
    for protocol in protocols:
        protocol.inbox.put_nowait({"type": "websocket.receive", "text": "40"})
    await wait_for_frames(protocols, 2)  # the CONNECT ack
    return protocols, tasks


async def wait_for_frames(protocols: list[Protocol], frames: int) -> None:
    for _ in range(100_000):
        if all(protocol.frames >= frames for protocol in protocols):
            return
        await asyncio.sleep(0.001)
    raise SystemExit("the sockets did not connect")


async def disconnect_all(protocols: list[Protocol], tasks: list[Any]) -> None:
    for protocol in protocols:
        protocol.inbox.put_nowait({"type": "websocket.disconnect", "code": 1000})
    await asyncio.gather(*tasks)
    await settle()


async def connect(args: argparse.Namespace, application: Any, server: Any) -> tuple[list[Protocol], list[Any]]:
    """Connect the warm-up sockets and run every code path once, then the measured sockets; print their memory."""
    transport = Transport()
    warm, warm_tasks = await connect_all(application, 50, transport)
    await server.emit("tick", 0, 0.0, to="bench")
    await settle()

    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    protocols, tasks = await connect_all(application, args.clients, transport)
    await settle()
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    per_socket = (after - before) / args.clients
    print(
        f"memory: {per_socket:,.0f} bytes traced per connected socket ({args.clients} sockets, the driver's included)"
    )
    return [*warm, *protocols], [*warm_tasks, *tasks]


async def emit_back_to_back(server: Any, events: int) -> None:
    """As the fan-out benchmark's back-to-back phase: emit, let the writer flush, emit again."""
    for seq in range(events):
        await server.emit("tick", seq, 1.5, to="bench")
        await asyncio.sleep(0)
    await settle(3)


def run(args: argparse.Namespace, application: Any, server: Any) -> None:
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        protocols, tasks = loop.run_until_complete(connect(args, application, server))
        if args.events:
            deliveries = len(protocols) * args.events
            best = float("inf")
            for _ in range(args.repeat):
                start = time.process_time()
                # sys.call_tracing: a C function that runs only here, for callgrind's --toggle-collect.
                sys.call_tracing(loop.run_until_complete, (emit_back_to_back(server, args.events),))
                best = min(best, time.process_time() - start)
            missing = sum(1 for p in protocols if p.frames < 2 + args.events * args.repeat)
            print(
                f"emit: {best / deliveries * 1e6:.3f} µs CPU per delivery (best of {args.repeat}, {args.events} "
                f"back-to-back emits to {len(protocols)} sockets; {missing} sockets missed frames)"
            )
            if args.count:
                calls, opcodes = loop.run_until_complete(count_one_emit(server))
                print(
                    f"emit: {calls / len(protocols):.2f} function calls (Python and C) and "
                    f"{opcodes / len(protocols):.1f} Python bytecodes per delivery (one emit, counted)"
                )
        loop.run_until_complete(disconnect_all(protocols, tasks))
    finally:
        loop.close()


async def count_one_emit(server: Any) -> tuple[int, int]:
    """Function calls and bytecodes executed by one emit and its flush (deterministic, unlike a time)."""
    counts = {"calls": 0, "opcodes": 0}

    def profile(frame: Any, event: str, arg: Any) -> None:
        if event in ("call", "c_call"):
            counts["calls"] += 1

    def trace(frame: Any, event: str, arg: Any) -> Any:
        frame.f_trace_opcodes = True
        if event == "opcode":
            counts["opcodes"] += 1
        return trace

    for install in (sys.setprofile, sys.settrace):
        install(profile if install is sys.setprofile else trace)
        await server.emit("tick", 0, 1.5, to="bench")
        await asyncio.sleep(0)  # the writer's flush
        await asyncio.sleep(0)
        install(None)
        await settle(3)
    return counts["calls"], counts["opcodes"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-count", dest="count", action="store_false", help="skip the traced emit (valgrind)")
    parser.add_argument("--tree", type=Path, default=Path(__file__).resolve().parent.parent)
    args = parser.parse_args()
    sys.path.insert(0, str(args.tree.resolve()))
    os.chdir(args.tree)
    for name in ("REDIS_URL", "REDIS_HOST"):
        os.environ.pop(name, None)
    os.environ.setdefault("LLANA_LOG_LEVEL", "WARNING")
    os.environ["DJANGO_SETTINGS_MODULE"] = "project.settings"
    fanout_app = importlib.import_module("bench.fanout_app")  # from --tree

    run(args, fanout_app.application, fanout_app.default_server)


if __name__ == "__main__":
    main()
