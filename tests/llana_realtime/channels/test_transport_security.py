"""Security of the Engine.IO transports: HOSTS at the handshake, polls and upgrades (not only at the feed's
CONNECT), a ``sid`` bound to its client (address and credentials), and no ``sid`` in logs above DEBUG."""

from __future__ import annotations

import ast
import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from channels.routing import ProtocolTypeRouter, URLRouter
from channels.testing import HttpCommunicator, WebsocketCommunicator
from django.test import override_settings

from llana_realtime.channels.routing import engineio_urlpatterns
from llana_realtime.engineio.server import EngineIOServer
from tests.llana_realtime.channels.test_consumers import Q, Recorder, error

Headers = list[tuple[bytes, bytes]]
ALLOWED, REFUSED = ("10.0.0.1", 50001), ("192.0.2.1", 50002)
FORBIDDEN = {"code": 4, "message": "Forbidden"}


class App:
    """The polling and WebSocket apps of one server; each request comes from the ``client`` it names."""

    def __init__(self) -> None:
        self.handler = Recorder()
        self.server = EngineIOServer(self.handler, ping_interval=25000, ping_timeout=20000, max_payload=1000)
        http, ws = engineio_urlpatterns("/engine.io/", self.server)
        self.router = ProtocolTypeRouter({"http": URLRouter(http), "websocket": URLRouter(ws)})

    def asgi(self, client: tuple[str, int]) -> Any:
        async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
            await self.router({**scope, "client": client}, receive, send)

        return app

    async def request(
        self, method: str, query: str, client: tuple[str, int] = ALLOWED, headers: Headers | None = None
    ) -> dict[str, Any]:
        communicator = HttpCommunicator(self.asgi(client), method, "/engine.io/?" + query, b"", headers=headers or [])
        response = await communicator.get_response(timeout=5)
        await communicator.wait(timeout=1)
        return response

    async def handshake(self, client: tuple[str, int] = ALLOWED, headers: Headers | None = None) -> str:
        response = await self.request("GET", Q, client, headers)
        assert response["status"] == 200, response
        return str(json.loads(response["body"][1:])["sid"])

    async def websocket(
        self, query: str, client: tuple[str, int] = ALLOWED, headers: Headers | None = None
    ) -> tuple[WebsocketCommunicator, bool]:
        communicator = WebsocketCommunicator(self.asgi(client), "/engine.io/?" + query, headers=headers or [])
        connected, _ = await communicator.connect(timeout=5)
        return communicator, connected


# --- HOSTS at the transport --------------------------------------------------------------------------------------


@override_settings(LLANA={"HOSTS": ["10.0.0.0/8"]})
async def test_hosts_refuse_the_polling_handshake() -> None:
    app = App()
    assert error(await app.request("GET", Q, REFUSED)) == (403, FORBIDDEN)
    origin = [(b"origin", b"http://localhost:8000"), (b"host", b"localhost:8000")]
    assert error(await app.request("OPTIONS", Q, REFUSED, origin)) == (403, FORBIDDEN)  # CORS preflight
    assert app.server.sockets == {}
    assert app.handler.calls == []
    await app.handshake(ALLOWED)
    await app.server.close_all()


@override_settings(LLANA={"HOSTS": ["10.0.0.0/8"]})
async def test_hosts_refuse_a_websocket_before_accepting_it() -> None:
    app = App()
    _, connected = await app.websocket("EIO=4&transport=websocket", REFUSED)
    assert not connected  # closed before the accept: the ASGI server answers HTTP 403
    assert app.server.sockets == {}
    assert app.handler.calls == []
    allowed, connected = await app.websocket("EIO=4&transport=websocket", ALLOWED)
    assert connected
    await allowed.disconnect()


@override_settings(LLANA={"HOSTS": ["10.0.0.0/8"]})
async def test_hosts_refuse_polls_and_upgrades_for_an_existing_sid() -> None:
    app = App()
    sid = await app.handshake(ALLOWED)
    assert error(await app.request("GET", f"{Q}&sid={sid}", REFUSED)) == (403, FORBIDDEN)
    _, connected = await app.websocket(f"EIO=4&transport=websocket&sid={sid}", REFUSED)
    assert not connected
    await app.server.close_all()


# --- a sid belongs to its client -------------------------------------------------------------------------------


async def test_a_sid_from_another_address_is_refused() -> None:
    app = App()
    sid = await app.handshake(ALLOWED)
    other = ("10.0.0.2", 50003)
    assert error(await app.request("GET", f"{Q}&sid={sid}", other)) == (403, FORBIDDEN)
    _, connected = await app.websocket(f"EIO=4&transport=websocket&sid={sid}", other)
    assert not connected
    assert app.server.get(sid) is not None  # the owner's session is untouched
    await app.server.close_all()


@pytest.mark.parametrize(
    ("owner", "intruder"),
    [
        ([(b"authorization", b"Bearer owner-token")], [(b"authorization", b"Bearer other-token")]),
        ([(b"cookie", b"accessToken=owner-token")], [(b"cookie", b"accessToken=other-token")]),
        ([], [(b"authorization", b"Bearer other-token")]),
    ],
    ids=["authorization", "cookie", "session-without-credentials"],
)
async def test_a_sid_with_other_credentials_is_refused(owner: Headers, intruder: Headers) -> None:
    app = App()
    sid = await app.handshake(ALLOWED, owner)
    assert error(await app.request("GET", f"{Q}&sid={sid}", ALLOWED, intruder)) == (403, FORBIDDEN)
    _, connected = await app.websocket(f"EIO=4&transport=websocket&sid={sid}", ALLOWED, intruder)
    assert not connected
    # the owner, with its own credentials, still polls and upgrades (the port may differ: a new connection)
    pending = asyncio.ensure_future(app.request("GET", f"{Q}&sid={sid}", ("10.0.0.1", 50009), owner))
    ws, connected = await app.websocket(f"EIO=4&transport=websocket&sid={sid}", ALLOWED, owner)
    assert connected
    await ws.send_to(text_data="2probe")
    assert await ws.receive_from(timeout=5) == "3probe"
    assert (await pending)["status"] == 200
    await ws.disconnect()


async def test_a_websocket_upgrade_without_credentials_keeps_working() -> None:
    """A browser's WebSocket cannot repeat the ``Authorization`` header its polls carried."""
    app = App()
    sid = await app.handshake(ALLOWED, [(b"authorization", b"Bearer owner-token")])
    ws, connected = await app.websocket(f"EIO=4&transport=websocket&sid={sid}", ALLOWED)
    assert connected
    await ws.send_to(text_data="2probe")
    assert await ws.receive_from(timeout=5) == "3probe"
    await ws.disconnect()


# --- no sid in logs above DEBUG --------------------------------------------------------------------------------

PACKAGE = Path(__file__).resolve().parents[3] / "llana_realtime"
LOUD = {"info", "warning", "warn", "error", "exception", "critical", "log"}


def _mentions_sid(node: ast.AST) -> bool:
    return any(
        (isinstance(n, ast.Attribute) and n.attr == "sid") or (isinstance(n, ast.Name) and n.id == "sid")
        for n in ast.walk(node)
    )


def test_no_sid_is_logged_above_debug() -> None:
    """An Engine.IO sid alone lets its holder poll the session: it must not reach logs at INFO or above."""
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            if node.func.attr not in LOUD or not isinstance(node.func.value, ast.Name):
                continue
            if node.func.value.id not in ("logger", "logging", "log"):
                continue
            if any(_mentions_sid(arg) for arg in node.args[1:]) or any(_mentions_sid(k.value) for k in node.keywords):
                offenders.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}")
    assert offenders == []
