"""Fixtures of the table-feed tests: the example project under daphne against a real database.

- ``Database``: a database of its own per server (group), migrated and loaded with ``llana_demo``. SQLite in
  a temp file by default (a copy of one template built per session); with ``DATABASE_URL`` (PostgreSQL or
  MariaDB) a dedicated database ``<LLANA_TEST_DB_NAME or test_feed>_<pid>_<n>`` created on that server and
  dropped at the end.
- ``Project``: ``daphne project.asgi:application`` on a free port with a chosen environment (``SKIP_AUTH``,
  ``HOSTS``, ``JWT_EXPIRES_IN``, ``REDIS_URL``…), its log in a temp file (``log_tail()`` for assertion
  messages), ``shell(code)`` to run ORM code in another process against the same database and settings.
- ``feed_server``: the default server (in-memory channel layer, ``SOFT_DELETE_COLUMN=deletedAt``), one per
  session; test modules needing another environment start their own with ``start_project()``.
"""

from __future__ import annotations

import itertools
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.llana_realtime.conftest import free_port
from tests.services import port_open

ROOT = Path(__file__).resolve().parents[4]
PYTHON = sys.executable
BIN = Path(sys.executable).parent  # daphne and uvicorn are installed next to the running interpreter
SETTINGS = "tests.llana_realtime.feed.e2e.server_settings"
JWT_KEY = "feed-tests-jwt-key-0123456789abcdef"  # the servers' signing key, so tests can forge tokens
# Variables of the developer's environment that would change what the servers do.
SCRUBBED = (
    "DATABASE_URL", "DATABASE_URI", "REDIS_URL", "REDIS_HOST", "REDIS_PORT", "REDIS_USER", "REDIS_PASS",
    "SKIP_AUTH", "HOSTS", "SOFT_DELETE_COLUMN", "JWT_KEY", "JWT_EXPIRES_IN", "TRUSTED_PROXY_HEADER",
    "DJANGO_SETTINGS_MODULE", "LLANA_FEED_PREFIX", "CACHE_WS_IDENTITY_DATA_TTL", "CACHE_IDENTITY_DATA_TTL",
)  # fmt: skip
_counter = itertools.count(1)


def base_env(database_url: str, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in SCRUBBED}
    env.update(
        DJANGO_SETTINGS_MODULE=SETTINGS,
        PYTHONPATH=str(ROOT),
        DATABASE_URL=database_url,
        JWT_KEY=JWT_KEY,
        LLANA_LOG_LEVEL=os.environ.get("LLANA_FEED_LOG_LEVEL", "WARNING"),
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def manage(database_url: str, *args: str, env: dict[str, str] | None = None, timeout: float = 120) -> str:
    """Run ``manage.py <args>`` with the feed settings against ``database_url``; returns stdout, fails on error."""
    done = subprocess.run(
        [PYTHON, str(ROOT / "manage.py"), *args],
        cwd=ROOT, env=env or base_env(database_url), capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        pytest.fail(f"manage.py {args[0]} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}", pytrace=False)
    return done.stdout


def _with_name(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


class DatabaseFactory:
    """Makes databases for servers: SQLite files copied from a template, or dedicated server-side databases."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.server_url = os.environ.get("DATABASE_URL") or ""
        self.template: Path | None = None
        self.created: list[str] = []

    def new(self) -> str:
        if not self.server_url or self.server_url.startswith("sqlite"):
            if self.template is None:
                self.template = self.tmp / "template.sqlite3"
                url = f"sqlite:///{self.template}"
                manage(url, "migrate", "--noinput", "-v", "0")
                manage(url, "llana_demo")
            path = self.tmp / f"feed_{next(_counter)}.sqlite3"
            shutil.copyfile(self.template, path)
            return f"sqlite:///{path}"
        name = f"{os.environ.get('LLANA_TEST_DB_NAME') or 'test_feed'}_{os.getpid()}_{next(_counter)}"
        self._execute(f"CREATE DATABASE {self._quote(name)}")
        self.created.append(name)
        url = _with_name(self.server_url, name)
        manage(url, "migrate", "--noinput", "-v", "0")
        manage(url, "llana_demo")
        return url

    def _quote(self, name: str) -> str:
        return f"`{name}`" if self.server_url.startswith(("mysql", "mariadb")) else f'"{name}"'

    def _execute(self, sql: str) -> None:
        parts = urlsplit(self.server_url)
        if self.server_url.startswith(("mysql", "mariadb")):
            import pymysql

            conn = pymysql.connect(
                host=parts.hostname or "127.0.0.1",
                port=parts.port or 3306,
                user=parts.username or "root",
                password=parts.password or "",
                autocommit=True,
            )
            try:
                with conn.cursor() as cursor:
                    cursor.execute(sql)
            finally:
                conn.close()
        else:
            import psycopg

            with psycopg.connect(
                _with_name(self.server_url, "postgres").replace("postgresql", "postgres", 1), autocommit=True
            ) as conn:
                conn.execute(sql)  # type: ignore[arg-type]

    def close(self) -> None:
        for name in self.created:
            force = "" if self.server_url.startswith(("mysql", "mariadb")) else " WITH (FORCE)"
            self._execute(f"DROP DATABASE IF EXISTS {self._quote(name)}{force}")


@pytest.fixture(scope="session")
def databases() -> Iterator[DatabaseFactory]:
    tmp = Path(tempfile.mkdtemp(prefix="llana-feed-"))
    factory = DatabaseFactory(tmp)
    try:
        yield factory
    finally:
        factory.close()
        shutil.rmtree(tmp, ignore_errors=True)


@dataclass
class Project:
    """A running example project: ``url`` (``http://127.0.0.1:PORT``), its environment and process."""

    url: str
    env: dict[str, str]
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def database_url(self) -> str:
        return self.env["DATABASE_URL"]

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n--- server log ---\n" + "\n".join(text.splitlines()[-lines:])

    def shell(self, code: str) -> str:
        """Run ``code`` with ``manage.py shell -c`` in a new process: same database, settings and channel layer."""
        return manage(self.database_url, "shell", "-c", code, env=self.env)

    def rss_kib(self) -> int:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0


@contextmanager
def start_project(
    databases: DatabaseFactory,
    *,
    database_url: str | None = None,
    server: str = "daphne",
    server_args: tuple[str, ...] = (),
    **env: str,
) -> Iterator[Project]:
    """Serve ``project.asgi:application`` (daphne, or ``uvicorn``) with ``env`` on a fresh database (or
    ``database_url``), ``server_args`` added to the server's command line; stopped (SIGTERM, then SIGKILL)
    when the block ends."""
    url = database_url or databases.new()
    port = free_port()
    full_env = base_env(url, **env)
    log_path = databases.tmp / f"server_{port}.log"
    if server == "uvicorn":
        command = [
            str(BIN / "uvicorn"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--lifespan",
            "off",
            "--no-access-log",
            *server_args,
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
            *server_args,
            "project.asgi:application",
        ]
    with open(log_path, "ab") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=full_env, stdout=log, stderr=subprocess.STDOUT)
    project = Project(f"http://127.0.0.1:{port}", full_env, process, log_path)
    try:
        deadline = time.monotonic() + 60
        while not port_open("127.0.0.1", port, timeout=0.2):
            if process.poll() is not None:
                pytest.fail(
                    f"server exited with {process.returncode} before listening{project.log_tail()}", pytrace=False
                )
            if time.monotonic() > deadline:
                pytest.fail(f"server did not listen within 60 s{project.log_tail()}", pytrace=False)
            time.sleep(0.1)
        yield project
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def redis_prefix() -> str:
    """A channel-layer/cache prefix of its own for one group of servers sharing Redis."""
    return f"llana-feed-{uuid.uuid4().hex[:12]}"


@pytest.fixture
async def clients() -> AsyncIterator[AsyncExitStack]:
    """Closes every client a test opens with ``support.py_client``/``node_client``."""
    async with AsyncExitStack() as stack:
        yield stack


@pytest.fixture(scope="session")
def feed_server(databases: DatabaseFactory) -> Iterator[Project]:
    """The default server: in-memory channel layer, soft deletes on ``deletedAt`` (``?hard=1`` deletes)."""
    with start_project(databases, SOFT_DELETE_COLUMN="deletedAt") as project:
        yield project
