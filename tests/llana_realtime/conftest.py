"""Fixtures of the realtime tests: ``conformance_server``, a daphne process serving tests/conformance/asgi.py;
``_release_executor_connections`` (autouse), which drops the database connection left in asgiref's thread."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from asgiref.sync import SyncToAsync

from tests.services import port_open

ROOT = Path(__file__).resolve().parents[2]


def _drop_thread_connections() -> None:
    from django.db import connections

    for conn in connections.all(initialized_only=True):
        if conn.connection is not None and conn.vendor == "sqlite" and conn.is_in_memory_db():
            # close() is a no-op on in-memory SQLite (it would drop the database): drop this thread's handle.
            conn.connection.close()
            conn.connection = None
        else:
            conn.close()


@pytest.fixture(autouse=True)
def _release_executor_connections() -> Iterator[None]:
    """Drop the database connections of asgiref's single thread-sensitive executor after each test.

    ``database_sync_to_async`` (sync Socket.IO handlers, the feed's permission checks) runs in that one
    thread for the whole session when no outer ``async_to_sync`` is active (pytest-asyncio tests). Its
    in-memory SQLite connection survives ``close_old_connections()`` (``close()`` is a no-op there), so a
    later test *without* database access would trip pytest-django's blocker in that thread. One thread hop
    per test, after the test's own teardown work, while database access is still allowed.
    """
    yield
    SyncToAsync.single_thread_executor.submit(_drop_thread_connections).result(timeout=60)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve(command: list[str]) -> Iterator[str]:
    """Run an ASGI server ``command`` (``PORT`` is replaced) until the caller is done; yields its base URL."""
    port = free_port()
    command = [str(port) if part == "PORT" else part for part in command]
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "PYTHONPATH": str(ROOT),
    }
    # LLANA_SERVER_LOG=/path/file keeps the server's output for debugging.
    log_path = os.environ.get("LLANA_SERVER_LOG")
    log = open(log_path, "ab") if log_path else None  # noqa: SIM115 (closed in finally)
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdout=log or subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while not port_open("127.0.0.1", port, timeout=0.2):
            if process.poll() is not None:
                pytest.fail(
                    f"{command[0]} exited with {process.returncode} before listening",
                    pytrace=False,
                )
            if time.monotonic() > deadline:
                pytest.fail(f"{command[0]} did not listen within 30 s", pytrace=False)
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if log is not None:
            log.close()


def _bin(name: str) -> list[str]:
    """The command of console script ``name``: next to this interpreter, else on PATH, else ``python -m``."""
    path = Path(sys.executable).parent / name
    if path.exists():
        return [str(path)]
    found = shutil.which(name)
    return [found] if found else [sys.executable, "-m", name]


@pytest.fixture(scope="session")
def conformance_server() -> Iterator[str]:
    """Base URL (``http://127.0.0.1:PORT``) of the conformance app (tests/conformance/asgi.py) under daphne, as
    documented: ``daphne -b 127.0.0.1 -p PORT tests.conformance.asgi:application``. Stopped at the end."""
    yield from serve(
        [
            *_bin("daphne"),
            "-b",
            "127.0.0.1",
            "-p",
            "PORT",
            "tests.conformance.asgi:application",
        ]
    )


@pytest.fixture(scope="session")
def conformance_server_uvicorn() -> Iterator[str]:
    """The same app under uvicorn, configured as docs/realtime-server.md recommends for production."""
    yield from serve(
        [
            *_bin("uvicorn"),
            "--host", "127.0.0.1", "--port", "PORT", "--lifespan", "off", "--no-access-log",
            "--loop", "uvloop", "--http", "httptools", "--ws", "websockets-sansio", "--ws-per-message-deflate", "false",
            "tests.conformance.asgi:application",
        ]
    )  # fmt: skip


@pytest.fixture
def feed_roles() -> Iterator[None]:
    """Llana's default roles and a fresh table registry around a feed test (``usefixtures("feed_roles")``)."""
    from llana.registry import clear_registry
    from tests.llana_realtime.feed_client import seed_default_roles

    seed_default_roles()
    clear_registry()
    yield
    clear_registry()
