"""Races between concurrent long-polling requests of one session, forced deterministically: both requests are
driven through the consumers' ASGI app on one event loop, and their request messages are delivered in the
same loop iteration (as daphne does when a client sends both at once)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from channels.routing import ProtocolTypeRouter, URLRouter

from llana_realtime.channels.routing import engineio_urlpatterns
from llana_realtime.engineio.server import EngineIOServer
from llana_realtime.engineio.socket import EngineIOSocket

Q = "EIO=4&transport=polling"


class Echo:
    async def engineio_connect(self, socket: EngineIOSocket) -> None:
        pass

    async def engineio_message(self, socket: EngineIOSocket, data: str | bytes) -> None:
        socket.send(data)

    async def engineio_disconnect(self, socket: EngineIOSocket, reason: str) -> None:
        pass


class Request:
    """One HTTP request to the app, run as its own task; its body is delivered only when ``release()`` is
    called, so several requests can be released in one synchronous step."""

    def __init__(self, asgi: Any, method: str, query: str, body: bytes = b"") -> None:
        loop = asyncio.get_running_loop()
        self.released: asyncio.Future[None] = loop.create_future()
        self.done: asyncio.Future[None] = loop.create_future()  # the response is complete
        self.body = body
        self.messages: list[dict[str, Any]] = []
        self.delivered = False
        scope = {
            "type": "http",
            "http_version": "1.1",
            "method": method,
            "path": "/engine.io/",
            "raw_path": b"/engine.io/",
            "query_string": query.encode(),
            "headers": [],
        }
        self.task = loop.create_task(asgi(scope, self.receive, self.send))

    def release(self) -> None:
        self.released.set_result(None)

    async def receive(self) -> dict[str, Any]:
        if not self.delivered:
            await self.released
            self.delivered = True
            return {"type": "http.request", "body": self.body, "more_body": False}
        await asyncio.shield(self.done)  # the client stays until it has its answer
        return {"type": "http.disconnect"}

    async def send(self, message: dict[str, Any]) -> None:
        self.messages.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body"):
            self.done.set_result(None)

    async def response(self) -> tuple[int, bytes]:
        await asyncio.wait_for(asyncio.shield(self.done), 5)
        await asyncio.wait_for(self.task, 5)
        start = next(m for m in self.messages if m["type"] == "http.response.start")
        body = b"".join(m.get("body", b"") for m in self.messages if m["type"] == "http.response.body")
        return start["status"], body


def make_app() -> Any:
    server = EngineIOServer(Echo(), ping_interval=25000, ping_timeout=20000)
    http, ws = engineio_urlpatterns("/engine.io/", server)
    return ProtocolTypeRouter({"http": URLRouter(http), "websocket": URLRouter(ws)})


async def call(asgi: Any, method: str, query: str, body: bytes = b"") -> tuple[int, bytes]:
    request = Request(asgi, method, query, body)
    request.release()
    return await request.response()


async def handshake(asgi: Any) -> str:
    status, body = await call(asgi, "GET", Q)
    assert status == 200
    return str(json.loads(body[1:])["sid"])


async def test_close_packet_posted_with_a_get_releases_the_get_with_a_noop() -> None:
    """The protocol test suite's "forceful close" over polling: a GET and a POST ``1`` sent at once. The GET is
    pending from the moment its session is looked up, so the close releases it with a noop ``6`` (not a close
    packet ``1``), and later requests of that sid are refused."""
    asgi = make_app()
    sid = await handshake(asgi)
    get = Request(asgi, "GET", f"{Q}&sid={sid}")
    post = Request(asgi, "POST", f"{Q}&sid={sid}", b"1")
    await asyncio.sleep(0)  # both apps wait for their request message
    get.release()  # the GET is handled first, the POST in the same loop iteration
    post.release()
    assert await post.response() == (200, b"ok")
    assert await get.response() == (200, b"6")
    status, body = await call(asgi, "GET", f"{Q}&sid={sid}")
    assert (status, json.loads(body)) == (400, {"code": 1, "message": "Session ID unknown"})


async def test_message_posted_with_a_get_is_answered_by_that_get() -> None:
    asgi = make_app()
    sid = await handshake(asgi)
    get = Request(asgi, "GET", f"{Q}&sid={sid}")
    post = Request(asgi, "POST", f"{Q}&sid={sid}", b"4hello")
    await asyncio.sleep(0)
    get.release()
    post.release()
    assert await post.response() == (200, b"ok")
    assert await get.response() == (200, b"4hello")


async def test_second_get_released_with_the_first_closes_the_session() -> None:
    """Two GETs handled in one loop iteration: the second is refused (400) and the first gets a close packet,
    as for two GETs far apart."""
    asgi = make_app()
    sid = await handshake(asgi)
    first = Request(asgi, "GET", f"{Q}&sid={sid}")
    second = Request(asgi, "GET", f"{Q}&sid={sid}")
    await asyncio.sleep(0)
    first.release()
    second.release()
    assert (await second.response())[0] == 400
    assert await first.response() == (200, b"1")
