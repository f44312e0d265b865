"""The Engine.IO transports (consumers) in-process, through channels.testing communicators: every error answer,
polling, WebSocket, the upgrade, CORS, heartbeat, limits and the handler protocol."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from typing import Any

import pytest
from channels.routing import ProtocolTypeRouter, URLRouter
from channels.testing import HttpCommunicator, WebsocketCommunicator

from llana_realtime.channels.asgi import engineio_server
from llana_realtime.channels.routing import engineio_urlpatterns
from llana_realtime.engineio.server import EngineIOServer, new_sid
from llana_realtime.engineio.socket import EngineIOSocket

Q = "EIO=4&transport=polling"


class Recorder:
    """A real handler: echoes every message and records the calls it gets."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.disconnected = asyncio.Event()
        self.fail_on: str | None = None

    async def engineio_connect(self, socket: EngineIOSocket) -> None:
        self.calls.append(("connect", socket.transport))

    async def engineio_message(self, socket: EngineIOSocket, data: str | bytes) -> None:
        self.calls.append(("message", data))
        if data == self.fail_on:
            raise RuntimeError("handler bug")
        if data == "flood":
            for i in range(10):
                socket.send(f"f{i}")
            return
        if data == "bye":
            socket.send("last words")
            await socket.close()
            return
        socket.send(data)

    async def engineio_disconnect(self, socket: EngineIOSocket, reason: str) -> None:
        self.calls.append(("disconnect", reason))
        self.disconnected.set()


class App:
    def __init__(self, **options: Any) -> None:
        self.handler = Recorder()
        defaults: dict[str, Any] = {
            "ping_interval": 25000,
            "ping_timeout": 20000,
            "max_payload": 1000,
        }
        self.server = EngineIOServer(self.handler, **{**defaults, **options})
        http, ws = engineio_urlpatterns("/engine.io/", self.server)
        self.asgi = ProtocolTypeRouter({"http": URLRouter(http), "websocket": URLRouter(ws)})

    async def request(
        self,
        method: str,
        query: str,
        body: bytes = b"",
        headers: list[tuple[bytes, bytes]] | None = None,
    ) -> dict[str, Any]:
        communicator = HttpCommunicator(self.asgi, method, "/engine.io/?" + query, body, headers=headers or [])
        response = await communicator.get_response(timeout=5)
        await communicator.wait(timeout=1)
        return response

    async def handshake(self) -> str:
        response = await self.request("GET", Q)
        assert response["status"] == 200
        assert response["body"][:1] == b"0"
        return str(json.loads(response["body"][1:])["sid"])

    def poll(self, sid: str) -> asyncio.Task[dict[str, Any]]:
        return asyncio.ensure_future(self.request("GET", f"{Q}&sid={sid}"))

    async def post(self, sid: str, body: bytes) -> dict[str, Any]:
        return await self.request("POST", f"{Q}&sid={sid}", body)


def error(response: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    return response["status"], json.loads(response["body"])


async def wait_pending(app: App, sid: str) -> None:
    """Let a GET task reach its wait (no timing assumption: loops on the server's state, 10 s deadline)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while loop.time() < deadline:
        socket = app.server.get(sid)
        if socket is not None and socket._poll is not None:
            return
        await asyncio.sleep(0.001)
    raise AssertionError("the GET never became pending")


# --- handshake and error answers -------------------------------------------------------------------------------


async def test_polling_handshake() -> None:
    app = App(ping_interval=300, ping_timeout=200)
    response = await app.request("GET", Q)
    assert response["status"] == 200
    assert (b"content-type", b"text/plain; charset=UTF-8") in response["headers"]
    body = response["body"].decode()
    open_data = json.loads(body[1:])
    sid = open_data["sid"]
    assert body == f'0{{"sid":"{sid}","upgrades":["websocket"],"pingInterval":300,"pingTimeout":200,"maxPayload":1000}}'
    assert app.handler.calls == [("connect", "polling")]
    await app.server.close_all()


@pytest.mark.parametrize(
    ("method", "query", "status", "code", "message"),
    [
        ("GET", "EIO=4", 400, 0, "Transport unknown"),
        ("GET", "EIO=4&transport=tcp", 400, 0, "Transport unknown"),
        ("GET", "EIO=4&transport=polling&sid=nope", 400, 1, "Session ID unknown"),
        ("POST", "EIO=4&transport=polling", 400, 2, "Bad handshake method"),
        ("PUT", "EIO=4&transport=polling", 400, 2, "Bad handshake method"),
        ("GET", "EIO=4&transport=websocket", 400, 3, "Bad request"),
        ("GET", "transport=polling", 400, 5, "Unsupported protocol version"),
        ("GET", "EIO=3&transport=polling", 400, 5, "Unsupported protocol version"),
        ("GET", "EIO=abc&transport=polling", 400, 5, "Unsupported protocol version"),
    ],
)
async def test_error_answers(method: str, query: str, status: int, code: int, message: str) -> None:
    app = App()
    response = await app.request(method, query)
    assert error(response) == (status, {"code": code, "message": message})
    assert (b"content-type", b"application/json") in response["headers"]
    assert app.server.sockets == {}


async def test_wrong_method_with_sid_is_a_bad_request() -> None:
    app = App()
    sid = await app.handshake()
    assert error(await app.request("PUT", f"{Q}&sid={sid}")) == (
        400,
        {"code": 3, "message": "Bad request"},
    )
    await app.server.close_all()


async def test_forbidden_origin() -> None:
    app = App(cors_allowed_origins=["https://good.example"])
    response = await app.request("GET", Q, headers=[(b"origin", b"https://evil.example")])
    assert error(response) == (403, {"code": 4, "message": "Forbidden"})


# --- polling ---------------------------------------------------------------------------------------------------


async def test_post_answers_ok_and_get_returns_the_echo() -> None:
    app = App()
    sid = await app.handshake()
    response = await app.post(sid, "4hello\x1e4héllo\x1ebAQIDBA==".encode())
    assert response["status"] == 200
    assert response["body"] == b"ok"
    response = await app.request("GET", f"{Q}&sid={sid}")
    assert response["body"].decode() == "4hello\x1e4héllo\x1ebAQIDBA=="
    assert app.handler.calls[1:] == [
        ("message", "hello"),
        ("message", "héllo"),
        ("message", b"\x01\x02\x03\x04"),
    ]
    await app.server.close_all()


async def test_pending_get_is_answered_by_a_later_post_on_another_consumer() -> None:
    app = App()
    sid = await app.handshake()
    pending = app.poll(sid)
    await wait_pending(app, sid)
    assert (await app.post(sid, b"4ping-pong"))["body"] == b"ok"
    assert (await pending)["body"] == b"4ping-pong"
    await app.server.close_all()


@pytest.mark.parametrize("body", [b"abc", b"4a\x1e", b"b!!!", b"\xff", b""])
async def test_malformed_post_closes_that_session_only(body: bytes) -> None:
    app = App()
    sid = await app.handshake()
    other = await app.handshake()
    assert error(await app.post(sid, body)) == (
        400,
        {"code": 3, "message": "Bad request"},
    )
    assert error(await app.request("GET", f"{Q}&sid={sid}"))[1]["code"] == 1
    assert app.handler.calls[-1] == ("disconnect", "parse error")
    assert (await app.post(other, b"4still here"))["body"] == b"ok"
    assert (await app.request("GET", f"{Q}&sid={other}"))["body"] == b"4still here"
    await app.server.close_all()


async def test_oversize_post_is_413_and_closes_the_session() -> None:
    app = App(max_payload=100)
    sid = await app.handshake()
    response = await app.post(sid, b"4" + b"x" * 100)
    assert error(response) == (413, {"code": 3, "message": "Bad request"})
    assert error(await app.request("GET", f"{Q}&sid={sid}"))[1]["code"] == 1
    sid2 = await app.handshake()
    assert (await app.post(sid2, b"4" + b"x" * 99))["body"] == b"ok"  # exactly maxPayload is fine
    await app.server.close_all()


async def test_second_concurrent_get_closes_the_session() -> None:
    app = App()
    sid = await app.handshake()
    first = app.poll(sid)
    await wait_pending(app, sid)
    second = await app.request("GET", f"{Q}&sid={sid}")
    assert error(second) == (400, {"code": 3, "message": "Bad request"})
    first_response = await first
    assert (first_response["status"], first_response["body"]) == (200, b"1")
    assert error(await app.request("GET", f"{Q}&sid={sid}"))[1]["code"] == 1


async def test_a_get_whose_client_left_is_no_longer_pending() -> None:
    app = App()
    sid = await app.handshake()
    gone = HttpCommunicator(app.asgi, "GET", f"/engine.io/?{Q}&sid={sid}")
    await gone.send_input({"type": "http.request", "body": b""})
    await wait_pending(app, sid)
    await gone.send_input({"type": "http.disconnect"})
    await gone.wait(timeout=5)
    assert (await app.post(sid, b"4kept"))["body"] == b"ok"
    # not an overlapping GET, and nothing was lost
    assert (await app.request("GET", f"{Q}&sid={sid}"))["body"] == b"4kept"
    await app.server.close_all()


async def test_client_close_packet_answers_the_pending_get_with_a_noop() -> None:
    app = App()
    sid = await app.handshake()
    pending = app.poll(sid)
    await wait_pending(app, sid)
    assert (await app.post(sid, b"1"))["body"] == b"ok"
    assert (await pending)["body"] == b"6"
    assert error(await app.request("GET", f"{Q}&sid={sid}"))[1]["code"] == 1
    await asyncio.wait_for(app.handler.disconnected.wait(), 5)
    assert app.handler.calls[-1] == ("disconnect", "transport close")


async def test_ping_then_timeout_over_polling() -> None:
    # pingTimeout leaves a loaded machine time to deliver the GET before the session times out.
    app = App(ping_interval=50, ping_timeout=1000)
    sid = await app.handshake()
    assert (await app.request("GET", f"{Q}&sid={sid}"))["body"] == b"2"
    await asyncio.wait_for(app.handler.disconnected.wait(), 5)
    assert app.handler.calls[-1] == ("disconnect", "ping timeout")
    assert error(await app.request("GET", f"{Q}&sid={sid}"))[1]["code"] == 1


async def test_pong_keeps_the_session_alive() -> None:
    """Each pong is taken: the server pings again after pingInterval instead of closing for a ping timeout
    (a session that missed the pong sends no further ping; it closes). A generous pingTimeout keeps the
    test independent of how fast a loaded machine delivers each pong; pingInterval keeps it quick."""
    app = App(ping_interval=50, ping_timeout=3000)
    sid = await app.handshake()
    for _ in range(3):
        assert (await app.request("GET", f"{Q}&sid={sid}"))["body"] == b"2"
        assert (await app.post(sid, b"3"))["body"] == b"ok"
    assert app.server.get(sid) is not None
    assert ("disconnect", "ping timeout") not in app.handler.calls
    await app.server.close_all()


async def test_silent_session_is_gone_after_interval_plus_timeout() -> None:
    app = App(ping_interval=30, ping_timeout=30)
    sid = await app.handshake()
    await asyncio.wait_for(app.handler.disconnected.wait(), 5)
    assert app.handler.calls == [("connect", "polling"), ("disconnect", "ping timeout")]
    assert error(await app.request("GET", f"{Q}&sid={sid}"))[1]["code"] == 1


async def test_server_close_delivers_queued_packets_then_a_close_packet() -> None:
    app = App()
    sid = await app.handshake()
    assert (await app.post(sid, b"4bye"))["body"] == b"ok"
    assert (await app.request("GET", f"{Q}&sid={sid}"))["body"] == b"4last words\x1e1"
    assert error(await app.request("GET", f"{Q}&sid={sid}"))[1]["code"] == 1
    await asyncio.wait_for(app.handler.disconnected.wait(), 5)
    assert app.handler.calls[-1] == ("disconnect", "server disconnect")


async def test_full_outgoing_queue_disconnects_with_a_logged_reason(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = App(outgoing_queue_size=5)
    sid = await app.handshake()
    with caplog.at_level(logging.WARNING, logger="llana_realtime.engineio.socket"):
        assert (await app.post(sid, b"4flood"))["body"] == b"ok"
    await asyncio.wait_for(app.handler.disconnected.wait(), 5)
    assert app.handler.calls[-1] == ("disconnect", "outgoing queue full")
    assert "outgoing queue full" in caplog.text
    assert error(await app.request("GET", f"{Q}&sid={sid}"))[1]["code"] == 1


async def test_handler_error_closes_only_that_socket(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = App()
    app.handler.fail_on = "boom"
    sid = await app.handshake()
    other = await app.handshake()
    with caplog.at_level(logging.ERROR, logger="llana_realtime.engineio.socket"):
        assert (await app.post(sid, b"4boom"))["body"] == b"ok"
    await asyncio.wait_for(app.handler.disconnected.wait(), 5)
    assert "message handler failed" in caplog.text
    assert app.handler.calls[-1] == ("disconnect", "server error")
    assert (await app.request("GET", f"{Q}&sid={sid}"))["body"] == b"1"
    assert (await app.post(other, b"4fine"))["body"] == b"ok"
    await app.server.close_all()


# --- CORS ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("allowed", "credentials", "origin", "expected"),
    [
        (["*"], False, b"https://a.example", [(b"access-control-allow-origin", b"*")]),
        (
            ["*"],
            True,
            b"https://a.example",
            [
                (b"access-control-allow-origin", b"https://a.example"),
                (b"access-control-allow-credentials", b"true"),
            ],
        ),
        (
            ["https://a.example"],
            False,
            b"https://a.example",
            [(b"access-control-allow-origin", b"https://a.example")],
        ),
    ],
)
async def test_cors_headers(
    allowed: list[str],
    credentials: bool,
    origin: bytes,
    expected: list[tuple[bytes, bytes]],
) -> None:
    app = App(cors_allowed_origins=allowed, cors_allow_credentials=credentials)
    response = await app.request("GET", Q, headers=[(b"origin", origin)])
    assert response["status"] == 200
    for header in expected:
        assert header in response["headers"]
    if not credentials:
        assert not any(name == b"access-control-allow-credentials" for name, _ in response["headers"])
    await app.server.close_all()


async def test_same_origin_needs_no_cors_setting() -> None:
    app = App()
    response = await app.request(
        "GET",
        Q,
        headers=[
            (b"origin", b"http://site.example:8000"),
            (b"host", b"site.example:8000"),
        ],
    )
    assert response["status"] == 200
    await app.server.close_all()


async def test_preflight() -> None:
    app = App(cors_allowed_origins=["https://a.example"])
    headers = [
        (b"origin", b"https://a.example"),
        (b"access-control-request-headers", b"content-type"),
    ]
    response = await app.request("OPTIONS", Q, headers=headers)
    assert response["status"] == 204
    assert (b"access-control-allow-origin", b"https://a.example") in response["headers"]
    assert (b"access-control-allow-headers", b"content-type") in response["headers"]
    assert any(name == b"access-control-allow-methods" and b"POST" in value for name, value in response["headers"])
    refused = await app.request("OPTIONS", Q, headers=[(b"origin", b"https://b.example")])
    assert refused["status"] == 403


# --- WebSocket -------------------------------------------------------------------------------------------------


async def ws_open(app: App, query: str = "EIO=4&transport=websocket") -> tuple[WebsocketCommunicator, str]:
    communicator = WebsocketCommunicator(app.asgi, "/engine.io/?" + query)
    connected, _ = await communicator.connect(timeout=5)
    assert connected
    frame = await communicator.receive_from(timeout=5)
    assert frame[:1] == "0"
    return communicator, json.loads(frame[1:])["sid"]


async def test_websocket_only_session_echoes_text_and_binary() -> None:
    app = App(ping_interval=300, ping_timeout=200)
    communicator = WebsocketCommunicator(app.asgi, "/engine.io/?EIO=4&transport=websocket")
    assert (await communicator.connect(timeout=5))[0]
    frame = await communicator.receive_from(timeout=5)
    sid = json.loads(frame[1:])["sid"]
    assert frame == f'0{{"sid":"{sid}","upgrades":[],"pingInterval":300,"pingTimeout":200,"maxPayload":1000}}'
    await communicator.send_to(text_data="4hello")
    assert await communicator.receive_from(timeout=5) == "4hello"
    await communicator.send_to(bytes_data=b"\x00\xff")
    assert await communicator.receive_from(timeout=5) == b"\x00\xff"
    await communicator.disconnect()
    await asyncio.wait_for(app.handler.disconnected.wait(), 5)
    assert app.handler.calls == [
        ("connect", "websocket"),
        ("message", "hello"),
        ("message", b"\x00\xff"),
        ("disconnect", "transport close"),
    ]
    assert app.server.sockets == {}


async def test_websocket_heartbeat_and_timeout() -> None:
    # pingTimeout: time for a loaded machine to deliver the first pong; the second never comes.
    app = App(ping_interval=50, ping_timeout=1000)
    communicator, _ = await ws_open(app)
    assert await communicator.receive_from(timeout=5) == "2"
    await communicator.send_to(text_data="3")
    assert await communicator.receive_from(timeout=5) == "2"
    assert (await communicator.receive_output(timeout=5))["type"] == "websocket.close"  # no second pong
    await asyncio.wait_for(app.handler.disconnected.wait(), 5)
    assert app.handler.calls[-1] == ("disconnect", "ping timeout")
    await communicator.disconnect()


@pytest.mark.parametrize("frame", ["abc", "9", "7probe"])
async def test_garbage_frame_closes_only_that_session(frame: str) -> None:
    app = App()
    bad, _ = await ws_open(app)
    good, _ = await ws_open(app)
    await bad.send_to(text_data=frame)
    assert (await bad.receive_output(timeout=5))["type"] == "websocket.close"
    await good.send_to(text_data="4ok")
    assert await good.receive_from(timeout=5) == "4ok"
    assert ("disconnect", "parse error") in app.handler.calls
    await bad.disconnect()
    await good.disconnect()


async def test_oversize_frame_closes_the_session() -> None:
    app = App(max_payload=10)
    communicator, _ = await ws_open(app)
    await communicator.send_to(text_data="4" + "x" * 9)
    assert await communicator.receive_from(timeout=5) == "4" + "x" * 9
    await communicator.send_to(bytes_data=b"x" * 11)
    assert (await communicator.receive_output(timeout=5))["type"] == "websocket.close"
    await communicator.disconnect()


@pytest.mark.parametrize(
    "query",
    [
        "EIO=3&transport=websocket",
        "transport=websocket",
        "EIO=4&transport=websocket&sid=unknown",
        "EIO=4&transport=tcp",
        "EIO=4&transport=polling",
    ],
)
async def test_websocket_refused(query: str) -> None:
    app = App()
    communicator = WebsocketCommunicator(app.asgi, "/engine.io/?" + query)
    connected, _ = await communicator.connect(timeout=5)
    assert not connected
    assert app.server.sockets == {}


async def test_websocket_server_close_flushes_first() -> None:
    app = App()
    communicator, _ = await ws_open(app)
    await communicator.send_to(text_data="4bye")
    assert await communicator.receive_from(timeout=5) == "4last words"
    assert (await communicator.receive_output(timeout=5))["type"] == "websocket.close"
    await asyncio.wait_for(app.handler.disconnected.wait(), 5)
    assert app.handler.calls[-1] == ("disconnect", "server disconnect")
    await communicator.disconnect()


# --- upgrade ---------------------------------------------------------------------------------------------------


async def test_upgrade_from_polling() -> None:
    app = App()
    sid = await app.handshake()
    pending = app.poll(sid)
    await wait_pending(app, sid)
    ws = WebsocketCommunicator(app.asgi, f"/engine.io/?EIO=4&transport=websocket&sid={sid}")
    assert (await ws.connect(timeout=5))[0]
    await ws.send_to(text_data="2probe")
    assert await ws.receive_from(timeout=5) == "3probe"
    assert (await pending)["body"] == b"6"  # the pending GET is released with a noop
    await ws.send_to(text_data="5")
    await ws.send_to(text_data="4over websocket")
    assert await ws.receive_from(timeout=5) == "4over websocket"
    # after the upgrade, polling requests are refused
    assert error(await app.request("GET", f"{Q}&sid={sid}")) == (
        400,
        {"code": 3, "message": "Bad request"},
    )
    assert error(await app.post(sid, b"4x")) == (
        400,
        {"code": 3, "message": "Bad request"},
    )
    # a second WebSocket for the upgraded sid is accepted, then closed at once; the first keeps working
    second = WebsocketCommunicator(app.asgi, f"/engine.io/?EIO=4&transport=websocket&sid={sid}")
    assert (await second.connect(timeout=5))[0]
    assert (await second.receive_output(timeout=5))["type"] == "websocket.close"
    await ws.send_to(bytes_data=b"\x01")
    assert await ws.receive_from(timeout=5) == b"\x01"
    assert app.handler.calls == [
        ("connect", "polling"),
        ("message", "over websocket"),
        ("message", b"\x01"),
    ]
    await ws.disconnect()
    await asyncio.wait_for(app.handler.disconnected.wait(), 5)


async def test_poll_after_the_probe_gets_a_noop_at_once() -> None:
    # As the protocol test suite does: the GET is sent after 3probe, not pending before it.
    app = App()
    sid = await app.handshake()
    ws = WebsocketCommunicator(app.asgi, f"/engine.io/?EIO=4&transport=websocket&sid={sid}")
    assert (await ws.connect(timeout=5))[0]
    await ws.send_to(text_data="2probe")
    assert await ws.receive_from(timeout=5) == "3probe"
    assert (await app.request("GET", f"{Q}&sid={sid}"))["body"] == b"6"
    await ws.send_to(text_data="5")
    await ws.send_to(text_data="4hello")
    assert await ws.receive_from(timeout=5) == "4hello"
    await ws.disconnect()


async def test_packets_queued_during_the_upgrade_arrive_over_websocket() -> None:
    app = App()
    sid = await app.handshake()
    ws = WebsocketCommunicator(app.asgi, f"/engine.io/?EIO=4&transport=websocket&sid={sid}")
    assert (await ws.connect(timeout=5))[0]
    await ws.send_to(text_data="2probe")
    assert await ws.receive_from(timeout=5) == "3probe"
    assert (await app.post(sid, b"4queued"))["body"] == b"ok"  # still polling: the echo waits in the queue
    await ws.send_to(text_data="5")
    assert await ws.receive_from(timeout=5) == "4queued"
    await ws.disconnect()


async def test_failed_probe_keeps_polling() -> None:
    app = App()
    sid = await app.handshake()
    ws = WebsocketCommunicator(app.asgi, f"/engine.io/?EIO=4&transport=websocket&sid={sid}")
    assert (await ws.connect(timeout=5))[0]
    await ws.send_to(text_data="4not a probe")
    assert (await ws.receive_output(timeout=5))["type"] == "websocket.close"
    await ws.disconnect()
    assert (await app.post(sid, b"4still polling"))["body"] == b"ok"
    assert (await app.request("GET", f"{Q}&sid={sid}"))["body"] == b"4still polling"
    await app.server.close_all()


async def test_upgrade_that_never_completes_is_aborted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("llana_realtime.engineio.socket.UPGRADE_TIMEOUT", 0.05)
    app = App()
    sid = await app.handshake()
    ws = WebsocketCommunicator(app.asgi, f"/engine.io/?EIO=4&transport=websocket&sid={sid}")
    assert (await ws.connect(timeout=5))[0]
    await ws.send_to(text_data="2probe")
    assert await ws.receive_from(timeout=5) == "3probe"
    assert (await ws.receive_output(timeout=5))["type"] == "websocket.close"  # no "5" came
    await ws.disconnect()
    assert (await app.post(sid, b"4still polling"))["body"] == b"ok"
    assert (await app.request("GET", f"{Q}&sid={sid}"))["body"] == b"4still polling"
    await app.server.close_all()


async def test_websocket_closed_during_probe_keeps_polling() -> None:
    app = App()
    sid = await app.handshake()
    ws = WebsocketCommunicator(app.asgi, f"/engine.io/?EIO=4&transport=websocket&sid={sid}")
    assert (await ws.connect(timeout=5))[0]
    await ws.disconnect()
    assert (await app.post(sid, b"4x"))["body"] == b"ok"
    assert (await app.request("GET", f"{Q}&sid={sid}"))["body"] == b"4x"
    await app.server.close_all()


# --- settings and routing --------------------------------------------------------------------------------------


def test_engineio_server_from_settings(settings: Any) -> None:
    settings.LLANA_REALTIME = {
        "PING_INTERVAL": 1000,
        "MAX_PAYLOAD": 10,
        "CORS_ALLOWED_ORIGINS": ["https://x.example"],
    }
    server = engineio_server(Recorder())
    assert (server.ping_interval, server.ping_timeout, server.max_payload) == (
        1000,
        20000,
        10,
    )
    assert server.cors_allowed_origins == {"https://x.example"}
    assert server.outgoing_queue_size == 1024


async def test_path_without_trailing_slash() -> None:
    app = App()
    communicator = HttpCommunicator(app.asgi, "GET", "/engine.io?" + Q)
    assert (await communicator.get_response(timeout=5))["status"] == 200
    await app.server.close_all()


def test_sids_are_distinct_and_url_safe() -> None:
    sids = {new_sid() for _ in range(1000)}
    assert len(sids) == 1000
    assert all(len(sid) == 20 and base64.urlsafe_b64decode(sid) for sid in sids)
