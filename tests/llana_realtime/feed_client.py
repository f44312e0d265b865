"""A raw Engine.IO v4 / Socket.IO v5 client over ``WebsocketCommunicator`` for the table-feed tests.

It speaks the wire format itself (``0{...}`` open, ``40{auth}`` connect, ``42[...]`` events, ``2``/``3``
heartbeat), against the production ASGI application (``project.asgi.application``).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from llana.auth.tokens import AccessToken

PATH = "/socket.io/?EIO=4&transport=websocket"


def token_for(user: Any) -> str:
    return str(AccessToken.for_user(user))


class FeedClient:
    """One Socket.IO client on namespace ``/``; ``events`` collects ``(name, data)`` received so far."""

    def __init__(
        self,
        *,
        headers: dict[str, str] | None = None,
        query: str = "",
        client: tuple[str, int] | None = ("127.0.0.1", 50000),
        application: Any = None,
    ) -> None:
        if application is None:
            from project.asgi import application

        raw_headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()]
        self.communicator = WebsocketCommunicator(
            application, PATH + (("&" + query) if query else ""), headers=raw_headers
        )
        if client is not None:
            self.communicator.scope["client"] = client
        self.events: list[tuple[str, Any]] = []
        self.disconnected = False
        self.closed = False
        self.sid: str | None = None

    async def open(self) -> None:
        connected, _ = await self.communicator.connect(timeout=5)
        assert connected
        frame = await self.communicator.receive_from(timeout=5)
        assert frame.startswith("0{"), frame

    async def connect(self, auth: dict[str, Any] | None = None) -> dict[str, Any]:
        """Open the session and connect to ``/``; returns the CONNECT (``{"sid"}``) or CONNECT_ERROR payload."""
        await self.open()
        await self.communicator.send_to(text_data="40" + (json.dumps(auth) if auth is not None else ""))
        while True:
            frame = await self._frame(5)
            assert frame is not None, "no answer to CONNECT"
            if frame.startswith("40"):
                body = json.loads(frame[2:])
                self.sid = body["sid"]
                return dict(body)
            if frame.startswith("44"):
                return dict(json.loads(frame[2:]))
            self._handle(frame)

    async def _frame(self, timeout: float) -> str | None:
        # receive_output() cancels the application when it times out: wait with receive_nothing() instead.
        if await self.communicator.receive_nothing(timeout=timeout, interval=0.005):
            return None
        output = await self.communicator.receive_output(timeout=5)
        if output["type"] == "websocket.close":
            self.closed = True
            return None
        frame = output.get("text")
        if frame == "2":  # heartbeat ping
            await self.communicator.send_to(text_data="3")
            return await self._frame(timeout)
        return frame

    def _handle(self, frame: str) -> None:
        if frame.startswith("42"):
            name, *args = json.loads(frame[2:])
            self.events.append((name, args[0] if len(args) == 1 else args))
        elif frame.startswith("41"):
            self.disconnected = True
        elif frame.startswith("43"):
            ack_id = ""
            rest = frame[2:]
            while rest and rest[0].isdigit():
                ack_id, rest = ack_id + rest[0], rest[1:]
            self.events.append(("ack:" + ack_id, json.loads(rest)))

    async def collect(self, count: int = 1, timeout: float = 5.0) -> list[tuple[str, Any]]:
        """Wait until ``count`` events arrived in all (or ``timeout``); returns them all."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(self.events) < count and not self.disconnected and not self.closed:
            left = deadline - loop.time()
            if left <= 0:
                break
            frame = await self._frame(left)
            if frame is None:
                break
            self._handle(frame)
        return list(self.events)

    async def quiet(self, timeout: float = 0.3) -> list[tuple[str, Any]]:
        """Read whatever arrives within ``timeout`` (to show that nothing more came)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not self.disconnected and not self.closed:
            left = deadline - loop.time()
            if left <= 0:
                break
            frame = await self._frame(left)
            if frame is None:
                break
            self._handle(frame)
        return list(self.events)

    async def wait_disconnect(self, timeout: float = 5.0) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not self.disconnected and not self.closed:
            left = deadline - loop.time()
            if left <= 0:
                break
            frame = await self._frame(left)
            if frame is None:
                break
            self._handle(frame)

    async def emit(self, *args: Any, ack: int | None = None) -> None:
        await self.communicator.send_to(text_data="42" + ("" if ack is None else str(ack)) + json.dumps(list(args)))

    async def close(self) -> None:
        await self.communicator.disconnect()


def seed_default_roles() -> None:
    """Llana's default roles (migration 0003), which a ``transaction=True`` test's flush removed."""
    from llana.models import Role

    if Role.objects.exists():
        return
    Role.objects.bulk_create(
        [
            Role(custom=False, role="ADMIN", records="DELETE"),
            Role(custom=False, role="USER", records="READ"),
            Role(custom=True, table="User", role="USER", records="NONE", own_records="WRITE"),
        ]
    )


@database_sync_to_async
def make_user(email: str, role: str = "USER", **extra: Any) -> Any:
    """A demo ``User`` (password ``pw-123456``), created from async test code."""
    from project.demo.models import User

    return User.objects.create_user(email, "pw-123456", role=role, **extra)
