"""SocketIOServer over a recording Engine.IO socket: handshake, namespaces, handlers, acks, rooms, emit, disconnect."""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

import pytest
from asgiref.sync import sync_to_async

from llana_realtime.socketio.namespace import Namespace
from llana_realtime.socketio.server import ConnectionRefused, Socket, SocketIOServer


class RecordingSocket:
    """A test double of ``EngineIOSocket``: records what is sent and runs the handler's disconnect on close."""

    _count = 0

    def __init__(self, server: SocketIOServer, scope: dict[str, Any] | None = None) -> None:
        RecordingSocket._count += 1
        self.sid = f"eio{RecordingSocket._count}"
        self.scope = scope or {"type": "websocket", "query_string": b"EIO=4", "headers": []}
        self.transport = "websocket"
        self.closed = False
        self.close_reason: str | None = None
        self.sent: list[str | bytes] = []
        self.closed_event = asyncio.Event()
        self._server = server

    def send(self, data: str | bytes) -> None:
        if not self.closed:
            self.sent.append(data)

    async def close(self, reason: str = "server disconnect") -> None:
        if self.closed:
            return
        self.closed = True
        self.close_reason = reason
        self.closed_event.set()
        await self._server.engineio_disconnect(self, reason)  # type: ignore[arg-type]

    def take(self) -> list[str | bytes]:
        sent, self.sent = self.sent, []
        return sent


async def settle(*servers: SocketIOServer) -> None:
    """Let the servers' spawned handler tasks (and sync handlers' thread hops) finish, then run what they
    scheduled. Event-driven with a generous deadline: a loaded machine only makes it slower."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    for server in servers:
        while server._tasks:
            left = deadline - loop.time()
            assert left > 0, f"handler tasks still running: {server._tasks}"
            await asyncio.wait(set(server._tasks), timeout=left)
    for _ in range(10):
        await asyncio.sleep(0)


async def open_socket(server: SocketIOServer, **scope: Any) -> RecordingSocket:
    eio = RecordingSocket(server, scope or None)
    await server.engineio_connect(eio)  # type: ignore[arg-type]
    return eio


async def message(server: SocketIOServer, eio: RecordingSocket, data: str | bytes) -> None:
    await server.engineio_message(eio, data)  # type: ignore[arg-type]


async def connect(server: SocketIOServer, eio: RecordingSocket, wire: str = "0") -> str:
    await message(server, eio, wire)
    ack = eio.take()[0]
    assert isinstance(ack, str)
    prefix = wire.split(",")[0] + "," if wire.startswith("0/") else "0"
    assert ack.startswith(prefix)
    return str(json.loads(ack[len(prefix) :])["sid"])


@pytest.fixture
async def server() -> Any:
    server = SocketIOServer(connect_timeout=60_000, channel_layer_alias=None)
    yield server
    await server.shutdown()


async def test_connect_ack_carries_only_a_socketio_sid_distinct_from_the_engineio_sid(server: SocketIOServer) -> None:
    server.of("/")
    eio = await open_socket(server)
    await message(server, eio, "0")
    (ack,) = eio.take()
    assert isinstance(ack, str)
    assert ack.startswith("0{")
    body = json.loads(ack[1:])
    assert list(body) == ["sid"]
    assert len(body["sid"]) == 20
    assert body["sid"] != eio.sid
    socket = server.get_socket(body["sid"])
    assert socket is not None
    assert socket.eio_sid == eio.sid


async def test_custom_namespace_ack_has_the_namespace_prefix(server: SocketIOServer) -> None:
    server.of("/custom")
    eio = await open_socket(server)
    sid = await connect(server, eio, "0/custom,")
    assert server.get_socket(sid, "/custom") is not None
    assert server.get_socket(sid, "/") is None


async def test_unknown_namespace_is_refused_and_the_connection_stays(server: SocketIOServer) -> None:
    server.of("/")
    eio = await open_socket(server)
    await message(server, eio, "0/random,")
    assert eio.take() == ['4/random,{"message":"Invalid namespace"}']
    assert not eio.closed
    await connect(server, eio, "0")


async def test_connect_handler_sees_auth_and_scope_and_may_refuse(server: SocketIOServer) -> None:
    seen: list[Any] = []

    class Guarded(Namespace):
        async def on_connect(self, socket: Socket, auth: Any) -> None:
            seen.append((auth, socket.scope["query_string"]))
            if auth.get("token") != "ok":
                raise ConnectionRefused("Not authorized", {"hint": "token"})

    server.register(Guarded("/"))
    eio = await open_socket(server, type="websocket", query_string=b"EIO=4&x=1", headers=[])
    await message(server, eio, '0{"token":"bad"}')
    assert eio.take() == ['4{"message":"Not authorized","data":{"hint":"token"}}']
    assert not eio.closed
    await message(server, eio, '0{"token":"ok"}')
    assert eio.take()[0].startswith('0{"sid":')  # type: ignore[union-attr]
    assert seen == [({"token": "bad"}, b"EIO=4&x=1"), ({"token": "ok"}, b"EIO=4&x=1")]


async def test_sync_connect_handler_returning_false_refuses(server: SocketIOServer) -> None:
    server.on("connect", lambda socket, auth: auth.get("ok", False))
    eio = await open_socket(server)
    await message(server, eio, "0")
    assert eio.take() == ['4{"message":"Connection refused"}']
    await message(server, eio, '0{"ok":true}')
    assert eio.take()[0].startswith('0{"sid":')  # type: ignore[union-attr]


async def test_failing_connect_handler_refuses_without_details(server: SocketIOServer) -> None:
    async def broken(socket: Socket, auth: Any) -> None:
        raise KeyError("secret detail")

    server.on("connect", broken)
    eio = await open_socket(server)
    await message(server, eio, "0")
    assert eio.take() == ['4{"message":"Connection refused"}']


async def test_emits_from_the_connect_handler_follow_the_ack(server: SocketIOServer) -> None:
    async def on_connect(socket: Socket, auth: Any) -> None:
        await socket.emit("auth", auth)
        socket.join("joined-early")
        await server.emit("room", 1, to="joined-early")

    server.on("connect", on_connect)
    eio = await open_socket(server)
    await message(server, eio, '0{"a":[1,"é"]}')
    ack, first, second = eio.take()
    assert ack.startswith('0{"sid":')  # type: ignore[union-attr]
    assert first == '2["auth",{"a":[1,"é"]}]'
    assert second == '2["room",1]'


async def test_async_and_sync_handlers_with_acks(server: SocketIOServer) -> None:
    threads: list[str] = []

    async def echo(socket: Socket, *args: Any) -> tuple[Any, ...]:
        return args

    def add(socket: Socket, a: int, b: int) -> int:
        threads.append(threading.current_thread().name)
        return a + b

    server.on("echo", echo)
    server.on("add", add)
    server.on("nothing", lambda socket: None)
    eio = await open_socket(server)
    await connect(server, eio)
    await message(server, eio, '21["echo",1,"2",{"3":[true]}]')
    await message(server, eio, '22["add",2,3]')
    await message(server, eio, '23["nothing"]')
    await message(server, eio, '2["add",1,1]')  # no ack id: no ack
    await settle(server)
    assert sorted(eio.take()) == sorted(['31[1,"2",{"3":[true]}]', "32[5]", "33[]"])
    assert threads
    assert threading.main_thread().name not in threads


async def test_binary_event_and_binary_ack(server: SocketIOServer) -> None:
    async def message_back(socket: Socket, *args: Any) -> tuple[Any, ...]:
        await socket.emit("message-back", *args)
        return args

    server.on("message", message_back)
    eio = await open_socket(server)
    await connect(server, eio)
    await message(server, eio, '51-7["message",{"_placeholder":true,"num":0}]')
    await message(server, eio, b"\x01\x02\x03")
    await settle(server)
    assert eio.take() == [
        '51-["message-back",{"_placeholder":true,"num":0}]',
        b"\x01\x02\x03",
        '61-7[{"_placeholder":true,"num":0}]',
        b"\x01\x02\x03",
    ]


async def test_handler_exception_is_logged_and_the_socket_lives_on(
    server: SocketIOServer, caplog: pytest.LogCaptureFixture
) -> None:
    async def boom(socket: Socket) -> None:
        raise RuntimeError("boom")

    server.on("boom", boom)
    server.on("ping", lambda socket: "pong")
    eio = await open_socket(server)
    await connect(server, eio)
    await message(server, eio, '21["boom"]')
    await message(server, eio, '22["ping"]')
    await settle(server)
    assert eio.take() == ['32["pong"]']
    assert not eio.closed
    assert "handler for 'boom' on / failed" in caplog.text


async def test_events_on_an_unconnected_namespace_are_ignored(server: SocketIOServer) -> None:
    calls: list[Any] = []
    server.of("/")
    server.of("/custom").on("x", lambda socket: calls.append(socket))
    eio = await open_socket(server)
    await connect(server, eio)
    await message(server, eio, '2/custom,["x"]')
    await settle(server)
    assert calls == []
    assert not eio.closed


@pytest.mark.parametrize(
    "bad",
    ["abc", "2{}", '2abc["message-with-ack",1]', '2["connect"]', "3[]", b"\x00", "9"],
)
async def test_bad_socketio_packet_closes_that_connection_only(server: SocketIOServer, bad: str | bytes) -> None:
    server.on("ping", lambda socket: "pong")
    eio, other = await open_socket(server), await open_socket(server)
    await connect(server, eio)
    await connect(server, other)
    await message(server, eio, bad)
    assert eio.closed
    assert eio.close_reason == "parse error"
    await message(server, other, '21["ping"]')
    await settle(server)
    assert other.take() == ['31["pong"]']
    assert not other.closed


async def test_server_emit_with_callback_and_call(server: SocketIOServer) -> None:
    acks: list[Any] = []
    server.of("/")
    eio = await open_socket(server)
    sid = await connect(server, eio)
    socket = server.get_socket(sid)
    assert socket is not None
    await socket.emit("question", 1, callback=lambda *args: acks.append(args))
    assert eio.take() == ['20["question",1]']
    await message(server, eio, '30["answer",2]')
    await settle(server)
    assert acks == [("answer", 2)]
    call = asyncio.ensure_future(socket.call("binary", b"\xff", timeout=5))
    await settle(server)
    assert eio.take() == ['51-1["binary",{"_placeholder":true,"num":0}]', b"\xff"]
    await message(server, eio, '61-1[{"_placeholder":true,"num":0}]')
    await message(server, eio, b"\x00")
    assert await call == [b"\x00"]
    await message(server, eio, '31["late"]')  # an ack nobody waits for is ignored
    assert not eio.closed


async def test_call_times_out(server: SocketIOServer) -> None:
    server.of("/")
    eio = await open_socket(server)
    socket = server.get_socket(await connect(server, eio))
    assert socket is not None
    with pytest.raises(TimeoutError):
        await socket.call("never-acked", timeout=0.01)


async def test_rooms_emit_targets_and_frames_are_shared(server: SocketIOServer) -> None:
    server.of("/")
    server.of("/other")
    eios = [await open_socket(server) for _ in range(4)]
    sids = [await connect(server, eio) for eio in eios]
    other = await open_socket(server)
    await connect(server, other, "0/other,")
    sockets = [server.get_socket(sid) for sid in sids]
    assert all(sockets)
    sockets[0].join("a")  # type: ignore[union-attr]
    sockets[1].join("a")  # type: ignore[union-attr]
    sockets[1].join("b")  # type: ignore[union-attr]
    sockets[2].join("b")  # type: ignore[union-attr]
    assert sockets[1].rooms == {sids[1], "a", "b"}  # type: ignore[union-attr]

    await server.emit("to-a", {"x": 1}, to="a")
    received = [eio.take() for eio in eios]
    assert received == [['2["to-a",{"x":1}]'], ['2["to-a",{"x":1}]'], [], []]
    assert received[0][0] is received[1][0]  # encoded once, the same frame object for every socket

    await server.emit("to-ab", to=["a", "b"], skip_sid=sids[2])
    assert [eio.take() for eio in eios] == [['2["to-ab"]'], ['2["to-ab"]'], [], []]

    await server.emit("to-one", to=sids[3])
    assert [eio.take() for eio in eios] == [[], [], [], ['2["to-one"]']]

    await server.emit("everyone")
    assert [eio.take() for eio in eios] == [['2["everyone"]']] * 4
    assert other.take() == []

    await server.namespaces["/other"].emit("bin", b"\x01")
    assert other.take() == ['51-/other,["bin",{"_placeholder":true,"num":0}]', b"\x01"]

    sockets[1].leave("a")  # type: ignore[union-attr]
    await server.emit("to-a", to="a")
    assert [eio.take() for eio in eios] == [['2["to-a"]'], [], [], []]


async def test_emit_refuses_reserved_names_and_unserializable_data(server: SocketIOServer) -> None:
    with pytest.raises(ValueError, match="reserved"):
        await server.emit("disconnect")
    with pytest.raises(TypeError):
        await server.emit("x", object())


async def test_client_namespace_disconnect(server: SocketIOServer) -> None:
    reasons: list[str] = []
    server.on("disconnect", lambda socket, reason: reasons.append(reason))
    eio = await open_socket(server)
    sid = await connect(server, eio)
    server.get_socket(sid).join("r")  # type: ignore[union-attr]
    await message(server, eio, "1")
    await settle(server)
    assert reasons == ["client namespace disconnect"]
    assert server.get_socket(sid) is None
    await server.emit("x", to="r")
    assert eio.take() == []
    assert not eio.closed
    await connect(server, eio)  # may connect again on the same Engine.IO session


async def test_server_disconnect_sends_disconnect_or_closes_the_connection(server: SocketIOServer) -> None:
    reasons: list[str] = []

    async def on_disconnect(socket: Socket, reason: str) -> None:
        reasons.append(reason)

    server.of("/custom").on("disconnect", on_disconnect)
    eio = await open_socket(server)
    sid = await connect(server, eio, "0/custom,")
    await server.disconnect(sid, namespace="/custom")
    assert eio.take() == ["1/custom,"]
    assert reasons == ["server namespace disconnect"]
    assert not eio.closed

    sid = await connect(server, eio, "0/custom,")
    socket = server.get_socket(sid, "/custom")
    assert socket is not None
    await socket.disconnect(close=True)
    assert eio.closed
    assert eio.take() == []
    assert reasons == ["server namespace disconnect", "server disconnect"]


async def test_engineio_disconnect_reaches_every_namespace_with_its_reason(server: SocketIOServer) -> None:
    reasons: list[tuple[str, str]] = []
    for name in ("/", "/custom"):
        server.of(name).on("disconnect", lambda socket, reason: reasons.append((socket.namespace, reason)))
    eio = await open_socket(server)
    await connect(server, eio)
    await connect(server, eio, "0/custom,")
    await server.engineio_disconnect(eio, "ping timeout")  # type: ignore[arg-type]
    await settle(server)
    assert sorted(reasons) == [("/", "ping timeout"), ("/custom", "ping timeout")]
    assert server.manager.sockets("/") == []


async def test_connect_timeout_closes_a_session_that_never_connects() -> None:
    server = SocketIOServer(connect_timeout=20, channel_layer_alias=None)
    server.of("/")
    silent, prompt = await open_socket(server), await open_socket(server)
    await connect(server, prompt)
    await asyncio.wait_for(silent.closed_event.wait(), 5)
    assert silent.close_reason == "connect timeout"
    await asyncio.sleep(0.05)
    assert not prompt.closed


async def test_emit_sync_from_a_thread_and_from_sync_to_async(server: SocketIOServer) -> None:
    server.of("/")
    eio = await open_socket(server)
    await connect(server, eio)
    await asyncio.to_thread(server.emit_sync, "from-thread", 1)
    assert eio.take() == ['2["from-thread",1]']
    await sync_to_async(server.emit_sync)("from-sync-view", to=None)
    assert eio.take() == ['2["from-sync-view"]']
    with pytest.raises(RuntimeError, match="await"):
        server.emit_sync("x")


async def test_sync_handler_emits_through_emit_sync(server: SocketIOServer) -> None:
    def shout(socket: Socket, text: str) -> str:
        server.emit_sync("shouted", text.upper(), to=socket.sid)
        return "done"

    server.on("shout", shout)
    eio = await open_socket(server)
    await connect(server, eio)
    await message(server, eio, '27["shout","hi"]')
    await settle(server)
    assert eio.take() == ['2["shouted","HI"]', '37["done"]']


async def test_call_fails_when_the_client_disconnects_first(server: SocketIOServer) -> None:
    eio = await open_socket(server)
    socket = server.get_socket(await connect(server, eio))
    assert socket is not None
    call = asyncio.ensure_future(socket.call("question", timeout=30))
    await settle(server)
    await server.engineio_disconnect(eio, "transport close")  # type: ignore[arg-type]
    with pytest.raises(ConnectionError, match="transport close"):
        await call


class SlowConnect(Namespace):
    """A connect handler that waits for the test (``release``), then accepts or refuses; records calls."""

    def __init__(self, name: str = "/", *, refuse: bool = False) -> None:
        super().__init__(name)
        self.entered = asyncio.Event()
        self.release = asyncio.Event()
        self.refuse = refuse
        self.calls: list[tuple[str, str]] = []

    async def on_connect(self, socket: Socket, auth: Any) -> bool | None:
        self.entered.set()
        await self.release.wait()
        self.calls.append(("connect", socket.sid))
        return False if self.refuse else None

    async def on_disconnect(self, socket: Socket, reason: str) -> None:
        self.calls.append(("disconnect", reason))


async def test_client_gone_during_an_async_connect_handler_still_gets_one_disconnect(server: SocketIOServer) -> None:
    chat = server.register(SlowConnect())
    assert isinstance(chat, SlowConnect)
    eio = await open_socket(server)
    connecting = asyncio.ensure_future(message(server, eio, "0"))
    await asyncio.wait_for(chat.entered.wait(), 5)
    await eio.close("transport close")  # runs engineio_disconnect now, while on_connect waits
    assert chat.calls == []  # not before on_connect returned
    chat.release.set()
    await asyncio.wait_for(connecting, 5)
    assert [kind for kind, _ in chat.calls] == ["connect", "disconnect"]
    assert chat.calls[1] == ("disconnect", "transport close")
    assert eio.take() == []  # never connected: no connect ack
    assert server.manager.sockets("/") == []
    await server.engineio_disconnect(eio, "transport close")  # type: ignore[arg-type]  # a late duplicate: nothing
    assert len(chat.calls) == 2


async def test_disconnect_arriving_after_the_connect_handler_runs_the_disconnect_handler_once(
    server: SocketIOServer,
) -> None:
    """The Engine.IO layer delivers the disconnect after the message being handled (its lock): the connection
    is already closed when on_connect returns, and the disconnect handler waits for engineio_disconnect."""
    chat = server.register(SlowConnect())
    assert isinstance(chat, SlowConnect)
    eio = await open_socket(server)
    connecting = asyncio.ensure_future(message(server, eio, "0"))
    await asyncio.wait_for(chat.entered.wait(), 5)
    eio.closed = True
    chat.release.set()
    await asyncio.wait_for(connecting, 5)
    assert [kind for kind, _ in chat.calls] == ["connect"]
    await server.engineio_disconnect(eio, "ping timeout")  # type: ignore[arg-type]
    assert [call for call in chat.calls if call[0] == "disconnect"] == [("disconnect", "ping timeout")]
    assert eio.take() == []
    assert server.manager.sockets("/") == []


async def test_server_disconnect_during_the_connect_handler_and_refusals(server: SocketIOServer) -> None:
    chat = server.register(SlowConnect())
    assert isinstance(chat, SlowConnect)
    eio = await open_socket(server)
    connecting = asyncio.ensure_future(message(server, eio, "0"))
    await asyncio.wait_for(chat.entered.wait(), 5)
    pending = server._clients[eio.sid].sockets["/"]
    await pending.disconnect()
    chat.release.set()
    await asyncio.wait_for(connecting, 5)
    assert [kind for kind, _ in chat.calls] == ["connect", "disconnect"]
    assert chat.calls[1] == ("disconnect", "server namespace disconnect")
    assert not pending.connected
    assert eio.take() == []

    refusing = server.register(SlowConnect("/refusing", refuse=True))
    assert isinstance(refusing, SlowConnect)
    connecting = asyncio.ensure_future(message(server, eio, "0/refusing,"))
    await asyncio.wait_for(refusing.entered.wait(), 5)
    await eio.close("transport close")
    refusing.release.set()
    await asyncio.wait_for(connecting, 5)
    assert [kind for kind, _ in refusing.calls] == ["connect"]  # refused: no disconnect call


async def test_catch_all_handler_gets_events_without_a_handler(server: SocketIOServer) -> None:
    seen: list[tuple[str, tuple[Any, ...]]] = []

    class Catching(Namespace):
        async def on_known(self, socket: Socket, value: Any) -> str:
            return f"known {value}"

    namespace = server.register(Catching("/"))

    @namespace.on("*")
    def anything(socket: Socket, event: str, *args: Any) -> dict[str, Any]:  # sync: via database_sync_to_async
        seen.append((event, args))
        return {"caught": event}

    eio = await open_socket(server)
    await connect(server, eio)
    await message(server, eio, '21["known",1]')
    await message(server, eio, '22["other",1,{"a":2}]')
    await message(server, eio, '2["unsupported"]')
    await message(server, eio, '2["*"]')  # a client event named "*" is just another event
    await settle(server)
    assert sorted(eio.take()) == ['31["known 1"]', '32[{"caught":"other"}]']
    assert seen == [("other", (1, {"a": 2})), ("unsupported", ()), ("*", ())]


async def test_without_a_catch_all_unknown_events_are_ignored(server: SocketIOServer) -> None:
    server.of("/")
    eio = await open_socket(server)
    await connect(server, eio)
    await message(server, eio, '21["nobody",1]')
    await settle(server)
    assert eio.take() == []
    assert not eio.closed
