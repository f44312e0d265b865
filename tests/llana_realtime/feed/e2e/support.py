"""Clients of the table-feed tests: HTTP (login, REST writes), python-socketio, and the Node driver.

Every client records what it observes in order (``observed``: ``("event", name, payload)``,
``("connect_error", data)``, ``("disconnect", reason)``…); tests wait for what they expect with a deadline
(``wait_until``) and never assert on timings.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
import uuid
from collections.abc import Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any
from urllib.error import HTTPError
from urllib.request import Request, urlopen

import jwt
import socketio

from tests.llana_realtime.feed.e2e.conftest import JWT_KEY, ROOT
from tests.services import require_node

NODE_DRIVER = Path(__file__).with_name("feed_client.js")
WAIT = 15.0  # seconds: generous, the machine is shared
ADMIN = ("test@test.com", "test")
USER = ("user@test.com", "test")


# --- HTTP ---------------------------------------------------------------------------------------------


def http(
    base: str,
    method: str,
    path: str,
    *,
    token: str | None = None,
    body: Any = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any]:
    """One HTTP request; returns (status, JSON body or text)."""
    data = None if body is None else json.dumps(body).encode()
    request = Request(base + path, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urlopen(request, timeout=30) as response:
            status, raw = response.status, response.read()
    except HTTPError as exc:
        status, raw = exc.code, exc.read()
    text = raw.decode("utf-8", "replace")
    try:
        return status, json.loads(text)
    except ValueError:
        return status, text


async def arequest(base: str, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
    return await asyncio.to_thread(http, base, method, path, **kwargs)


async def rest(base: str, method: str, path: str, *, expect: int | tuple[int, ...] = (200, 201), **kwargs: Any) -> Any:
    """A REST call that must succeed with ``expect``; returns the JSON body."""
    status, body = await arequest(base, method, path, **kwargs)
    expected = (expect,) if isinstance(expect, int) else expect
    assert status in expected, f"{method} {path} → {status}: {body}"
    return body


def login(base: str, credentials: tuple[str, str] = ADMIN) -> str:
    status, body = http(base, "POST", "/auth/login", body={"username": credentials[0], "password": credentials[1]})
    assert status in (200, 201), f"login {credentials[0]} → {status}: {body}"
    return str(body["access_token"])


def claims(token: str) -> dict[str, Any]:
    """The payload of a JWT, unverified."""
    part = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))))


def forge(sub: str, *, expires_in: float, key: str = JWT_KEY) -> str:
    """An access token as the servers issue them (signed with their key), expiring in ``expires_in`` s."""
    now = int(time.time())
    payload = {
        "token_type": "access",
        "sub": sub,
        "user_id": sub,
        "jti": uuid.uuid4().hex,
        "iat": now - 60,
        "exp": int(now + expires_in),
    }
    return jwt.encode(payload, key, algorithm="HS256")


def tamper(token: str) -> str:
    """``token`` with its payload's ``sub`` changed and the original signature kept."""
    header, _, signature = token.split(".")
    payload = claims(token)
    payload["sub"] = payload["user_id"] = "999999"
    body = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
    return f"{header}.{body}.{signature}"


def unique(prefix: str = "Feed") -> str:
    """A company name no other test uses (≤ 40 characters)."""
    return f"{prefix} {uuid.uuid4().hex[:12]}"


# --- observing clients ----------------------------------------------------------------------------------


class Observer:
    """What a client saw, in order."""

    def __init__(self) -> None:
        self.observed: list[tuple[Any, ...]] = []

    def events(self, name: str | None = None) -> list[tuple[str, Any]]:
        return [(o[1], o[2]) for o in self.observed if o[0] == "event" and (name is None or o[1] == name)]

    def payloads(self, name: str, pk_name: str, pk: Any) -> list[str]:
        """The ``type`` of every ``name`` event about row ``pk``, in order."""
        return [p["type"] for n, p in self.events(name) if isinstance(p, dict) and p.get(pk_name) == str(pk)]

    def of_kind(self, kind: str) -> list[tuple[Any, ...]]:
        return [o for o in self.observed if o[0] == kind]

    async def wait_until(self, predicate: Callable[[], Any], timeout: float = WAIT, what: str = "") -> Any:
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what or predicate}; observed: {self.observed[-20:]}")
            await asyncio.sleep(0.05)

    async def wait_for(self, name: str, pk_name: str, pk: Any, types: list[str], timeout: float = WAIT) -> None:
        """Wait until row ``pk`` has had (at least) ``types`` events."""
        await self.wait_until(
            lambda: len(self.payloads(name, pk_name, pk)) >= len(types), timeout, f"{name} {types} for {pk_name}={pk}"
        )


class PyClient(Observer):
    """python-socketio's AsyncClient following one table."""

    def __init__(self) -> None:
        super().__init__()
        self.client = socketio.AsyncClient(reconnection=False)
        self.client.on("*", self._event)
        self.client.on("connect", lambda: self.observed.append(("connect", self.client.get_sid())))
        self.client.on("connect_error", lambda data: self.observed.append(("connect_error", data)))
        self.client.on("disconnect", self._disconnect)

    async def _event(self, name: str, *args: Any) -> None:
        self.observed.append(("event", name, args[0] if len(args) == 1 else list(args)))

    def _disconnect(self, reason: Any = None) -> None:
        self.observed.append(("disconnect", reason))

    async def connect(
        self,
        base: str,
        table: str | None,
        token: str | None = None,
        *,
        via: str = "auth",
        transports: list[str] | None = None,
        expect_error: bool = False,
    ) -> PyClient:
        """Connect, sending the table and token as ``via`` says: ``auth`` (auth.token, no Bearer),
        ``auth_bearer``, ``header`` (Authorization + x-llana-table), ``cookie`` or ``query``."""
        headers: dict[str, str] = {}
        auth: dict[str, str] = {}
        url = base
        if via == "query" and table is not None:
            url = f"{base}?x-llana-table={table}"
        elif via == "header" and table is not None:
            headers["x-llana-table"] = table
        elif table is not None:
            auth["x-llana-table"] = table
        if token:
            if via == "auth":
                auth["token"] = token
            elif via == "auth_bearer":
                auth["token"] = f"Bearer {token}"
            elif via == "cookie":
                headers["Cookie"] = f"accessToken={token}"
            else:
                headers["Authorization"] = f"Bearer {token}"
        try:
            await self.client.connect(
                url, headers=headers, auth=auth, transports=transports or ["websocket"], wait_timeout=WAIT
            )
        except socketio.exceptions.ConnectionError:
            if not expect_error:
                raise
            await self.wait_until(lambda: self.of_kind("connect_error"), what="connect_error")
        else:
            assert not expect_error, f"connected although an error was expected: {self.observed}"
        return self

    def error_message(self) -> str:
        errors = self.of_kind("connect_error")
        assert errors, f"no connect_error: {self.observed}"
        data = errors[0][1]
        return str(data.get("message") if isinstance(data, dict) else data)

    async def close(self) -> None:
        await self.client.disconnect()


class NodeClient(Observer):
    """The official ``socket.io-client`` in Node (``feed_client.js``), one JSON line per observation."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        super().__init__()
        self.process = process
        self.stderr = b""
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def start(
        cls, node: str, base: str, *, script: Path = NODE_DRIVER, timeout: float = WAIT, **options: Any
    ) -> NodeClient:
        """Start ``script`` (feed_client.js) with ``options`` and wait for its connect or connect_error."""
        process = await asyncio.create_subprocess_exec(
            node, str(script), base, json.dumps(options), cwd=ROOT,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        client = cls(process)
        await client.wait_until(
            lambda: client.of_kind("connect") or client.of_kind("connect_error") or client.of_kind("exit"),
            timeout,
            what=f"{script.name} connect",
        )
        return client

    async def _read(self) -> None:
        assert self.process.stdout is not None
        assert self.process.stderr is not None
        errors = asyncio.create_task(self.process.stderr.read())
        async for line in self.process.stdout:
            message = json.loads(line)
            kind = message.pop("kind")
            if kind == "event":
                self.observed.append(
                    ("event", message["name"], message["args"][0] if len(message["args"]) == 1 else message["args"])
                )
            else:
                self.observed.append((kind, message.get("value")))
        self.stderr = await errors
        self.observed.append(("exit", await self.process.wait()))

    def send(self, command: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write((json.dumps(command) + "\n").encode())

    def error_message(self) -> str:
        errors = self.of_kind("connect_error")
        assert errors, f"no connect_error: {self.observed}"
        return str(errors[0][1]["message"])

    async def close(self) -> None:
        if self.process.returncode is None:
            self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), 10)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        await asyncio.gather(self._reader, return_exceptions=True)


async def py_client(
    stack: AsyncExitStack, base: str, table: str | None, token: str | None = None, **kwargs: Any
) -> PyClient:
    """A connected ``PyClient`` (see ``PyClient.connect``), closed when ``stack`` closes."""
    client = PyClient()
    stack.push_async_callback(client.close)
    return await client.connect(base, table, token, **kwargs)


async def node_client(stack: AsyncExitStack, base: str, **options: Any) -> NodeClient:
    """A started ``NodeClient`` (after its connect or connect_error), closed when ``stack`` closes."""
    client = await NodeClient.start(require_node(), base, **options)
    stack.push_async_callback(client.close)
    return client


async def create_customer(base: str, token: str | None, owner: int, **fields: Any) -> str:
    """POST a new Customer owned by user ``owner``; returns its pk as a string."""
    body = await rest(
        base, "POST", "/Customer/", token=token, body={"companyName": unique(), "userId": owner, **fields}
    )
    return str(body["custId"])
