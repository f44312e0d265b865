"""Refresh rotation against a live server (daphne) on an SQLite file: one refresh token sent by 8 clients at
once mints exactly one new pair. (The in-process test of ``test_token_lifecycle.py`` needs a database with
real locking; the test database in shared memory reports "table is locked" instead of waiting.)"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.error import HTTPError
from urllib.request import Request, urlopen

import pytest

from tests.services import port_open

ROOT = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent
PASSWORD = "race-password-0123456789"
SENDERS = 8


def post(url: str, body: dict[str, str]) -> tuple[int, dict[str, object]]:
    request = Request(url, data=json.dumps(body).encode(), method="POST")
    request.add_header("Content-Type", "application/json")
    try:
        with urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_", "DJANGO_", "JWT_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="project.settings",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(48),
        DJANGO_DEBUG="false",
        SKIP_AUTH="false",
        HOSTS="",
        LLANA_LOG_LEVEL="WARNING",
    )
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "--noinput"], cwd=ROOT, env=env, check=True, capture_output=True)
    create = f"from project.demo.models import User; User.objects.create_user('race@test.com', {PASSWORD!r})"
    subprocess.run([*manage, "shell", "-c", create], cwd=ROOT, env=env, check=True, capture_output=True)
    port = free_port()
    log = open(tmp_path / "server.log", "wb")  # noqa: SIM115  # closed below, after the server
    command = [str(BIN / "daphne"), "-b", "127.0.0.1", "-p", str(port), "project.asgi:application"]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while not port_open("127.0.0.1", port, timeout=0.2):
            assert process.poll() is None, (tmp_path / "server.log").read_text()
            assert time.monotonic() < deadline, "the server did not listen within 60 s"
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def test_concurrent_refreshes_with_one_token_succeed_once(server: str) -> None:
    status, body = post(server + "/auth/login", {"username": "race@test.com", "password": PASSWORD})
    assert status == 200, body
    token = str(body["refresh_token"])
    barrier = threading.Barrier(SENDERS)
    statuses: list[int] = []
    lock = threading.Lock()

    def send() -> None:
        barrier.wait(timeout=30)
        status, _ = post(server + "/auth/refresh", {"refresh_token": token})
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=send) for _ in range(SENDERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)
    assert sorted(statuses) == [200] + [401] * (SENDERS - 1)
