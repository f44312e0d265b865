"""python-socketio's AsyncClient, raw WebSocket and HTTP clients against the conformance app's ``/socket.io/`` (daphne).

Also: bad Socket.IO packets and a silent client close only their own connection while other clients keep working.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import socketio
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed

from tests.services import require_node

pytestmark = pytest.mark.slow
TIMEOUT = 10


class Recorder:
    """An AsyncClient whose received events land in one queue per namespace."""

    def __init__(self, **options: Any) -> None:
        self.client = socketio.AsyncClient(**options)
        self.queues: dict[str, asyncio.Queue[tuple[str, tuple[Any, ...]]]] = {}
        for namespace in ("/", "/custom"):
            self.queues[namespace] = queue = asyncio.Queue()
            self.client.on("*", self._recorder(queue), namespace=namespace)

    @staticmethod
    def _recorder(queue: asyncio.Queue[tuple[str, tuple[Any, ...]]]) -> Any:
        async def record(event: str, *args: Any) -> None:
            await queue.put((event, args))

        return record

    async def next(self, namespace: str = "/") -> tuple[str, tuple[Any, ...]]:
        return await asyncio.wait_for(self.queues[namespace].get(), TIMEOUT)


@pytest.fixture
async def recorder() -> AsyncIterator[Recorder]:
    recorder = Recorder(reconnection=False)
    yield recorder
    await recorder.client.disconnect()


async def check_alive(recorder: Recorder) -> None:
    assert await recorder.client.call("message-with-ack", ("still", b"here"), timeout=TIMEOUT) == ("still", b"here")


@pytest.mark.parametrize("transports", [["polling"], ["polling", "websocket"], ["websocket"]])
async def test_emit_ack_and_binary_both_ways(
    conformance_server: str, recorder: Recorder, transports: list[str]
) -> None:
    client = recorder.client
    await client.connect(
        conformance_server,
        transports=transports,
        auth={"token": "t"},
        namespaces=["/", "/custom"],
        wait_timeout=TIMEOUT,
    )
    assert await recorder.next("/") == ("auth", ({"token": "t"},))
    assert await recorder.next("/custom") == ("auth", ({"token": "t"},))
    assert client.get_sid("/") != client.get_sid("/custom")
    await client.emit("message", (1, "2", {"3": [True]}, b"\x00\xff"))
    assert await recorder.next() == ("message-back", (1, "2", {"3": [True]}, b"\x00\xff"))
    ack = await client.call("message-with-ack", (1, "2", {"3": [False]}, b"\x01"), timeout=TIMEOUT)
    assert ack == (1, "2", {"3": [False]}, b"\x01")
    if "websocket" in transports:
        for _ in range(100):  # python-socketio upgrades in the background right after connecting
            if client.transport() == "websocket":
                break
            await asyncio.sleep(0.02)
    assert client.transport() == transports[-1]


async def test_server_to_client_ack_on_custom_namespace(conformance_server: str, recorder: Recorder) -> None:
    client = recorder.client

    async def server_call(*args: Any) -> tuple[Any, ...]:
        return ("answer", *args)

    client.on("server-call", server_call, namespace="/custom")
    await client.connect(conformance_server, transports=["websocket"], namespaces=["/custom"], wait_timeout=TIMEOUT)
    assert await recorder.next("/custom") == ("auth", ({},))
    await client.emit("call-me", (b"\x07", {"q": 1}), namespace="/custom")
    assert await recorder.next("/custom") == ("server-call-result", ("answer", b"\x07", {"q": 1}))


async def test_refused_namespace_reaches_connect_error(conformance_server: str, recorder: Recorder) -> None:
    errors: list[Any] = []
    recorder.client.on("connect_error", errors.append, namespace="/random")
    with pytest.raises(socketio.exceptions.ConnectionError):
        await recorder.client.connect(
            conformance_server, transports=["websocket"], namespaces=["/random"], wait_timeout=TIMEOUT
        )
    assert errors == [{"message": "Invalid namespace"}]


async def test_server_disconnect_then_automatic_reconnect(conformance_server: str) -> None:
    recorder = Recorder(reconnection=True, reconnection_delay=0.1, reconnection_delay_max=0.2)
    client = recorder.client
    try:
        await client.connect(conformance_server, transports=["websocket"], namespaces=["/custom"], wait_timeout=TIMEOUT)
        assert await recorder.next("/custom") == ("auth", ({},))
        first = client.get_sid("/custom")
        await client.emit("disconnect-me", True, namespace="/custom")
        assert await recorder.next("/custom") == ("auth", ({},))  # connected again by itself
        assert client.get_sid("/custom") not in (None, first)
    finally:
        await client.disconnect()


# --- raw clients: what an official client would never send ------------------------------------------------


def ws_url(base: str) -> str:
    return base.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"


async def recv(ws: ClientConnection) -> str | bytes:
    """The next frame that is not a ping (pings, every 300 ms here, are answered)."""
    while True:
        frame = await asyncio.wait_for(ws.recv(), TIMEOUT)
        if frame != "2":
            return frame
        await ws.send("3")


async def ws_handshake(base: str) -> ClientConnection:
    ws = await ws_connect(ws_url(base))
    opened = await asyncio.wait_for(ws.recv(), TIMEOUT)
    assert isinstance(opened, str)
    assert opened.startswith("0{")
    await ws.send("40")
    connected = await recv(ws)
    assert isinstance(connected, str)
    assert connected.startswith('40{"sid":')
    assert await recv(ws) == '42["auth",{}]'
    return ws


async def closed_by_server(ws: ClientConnection, *, pong: bool) -> list[str | bytes]:
    """Read until the server closes; with ``pong`` answer heartbeats so only a protocol violation can end it."""
    received: list[str | bytes] = []
    try:
        async with asyncio.timeout(TIMEOUT):
            while True:
                frame = await ws.recv()
                received.append(frame)
                if pong and frame == "2":
                    await ws.send("3")
    except ConnectionClosed:
        return received
    finally:
        await ws.close()


@pytest.mark.parametrize(
    "bad",
    ["4abc", "42{}", '42abc["message-with-ack",1,"2",{"3":[false]}]', '42["message",1', "4" + "9", b"\x01\x02"],
)
async def test_bad_packet_over_websocket_closes_only_that_connection(
    conformance_server: str, recorder: Recorder, bad: str | bytes
) -> None:
    await recorder.client.connect(conformance_server, transports=["websocket"], wait_timeout=TIMEOUT)
    ws = await ws_handshake(conformance_server)
    await ws.send(bad)
    received = await closed_by_server(ws, pong=True)
    assert all(frame in ("2", "1") for frame in received), received
    await check_alive(recorder)


async def test_bad_packet_over_polling_closes_the_session(conformance_server: str, recorder: Recorder) -> None:
    await recorder.client.connect(conformance_server, transports=["polling"], wait_timeout=TIMEOUT)
    url = conformance_server + "/socket.io/?EIO=4&transport=polling"
    async with aiohttp.ClientSession() as http:
        async with http.get(url) as response:
            opened = await response.text()
        sid = json.loads(opened[1:])["sid"]
        url += f"&sid={sid}"
        async with http.post(url, data="40") as response:
            assert await response.text() == "ok"
        async with http.get(url) as response:
            assert (await response.text()).split("\x1e")[0].startswith('40{"sid":')
        async with http.post(url, data="42{}") as response:
            assert await response.text() == "ok"
        async with http.get(url) as response:
            body = await response.text()
            closed = response.status == 400 or body.split("\x1e")[-1] == "1"
        assert closed, (response.status, body)
        async with http.get(url) as response:
            assert response.status == 400
    await check_alive(recorder)


async def test_silent_client_is_closed_by_the_heartbeat_while_another_keeps_working(
    conformance_server: str, recorder: Recorder
) -> None:
    await recorder.client.connect(conformance_server, transports=["websocket"], wait_timeout=TIMEOUT)
    ws = await ws_handshake(conformance_server)
    received = await closed_by_server(ws, pong=False)
    assert received[:1] == ["2"]  # pinged (300 ms), never answered, closed after pingTimeout (200 ms)
    await check_alive(recorder)


async def test_broadcast_reaches_node_and_python_clients(conformance_server: str) -> None:
    node = require_node()
    script = Path(__file__).with_name("socketio_client.js")
    listener = subprocess.Popen(  # noqa: ASYNC220 - starting a process does not block; reads go through threads
        [node, str(script), conformance_server, "broadcast"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    recorders = [Recorder(reconnection=False) for _ in range(2)]
    try:
        assert listener.stdout is not None
        ready = await asyncio.wait_for(asyncio.to_thread(listener.stdout.readline), TIMEOUT)
        assert "ready" in json.loads(ready)
        for recorder in recorders:
            await recorder.client.connect(
                conformance_server, transports=["websocket"], namespaces=["/custom"], wait_timeout=TIMEOUT
            )
            assert await recorder.next("/custom") == ("auth", ({},))
        await recorders[0].client.emit("broadcast", ("to all", b"\x05"), namespace="/custom")
        for recorder in recorders:
            assert await recorder.next("/custom") == ("broadcast", ("to all", b"\x05"))
        line = await asyncio.wait_for(asyncio.to_thread(listener.stdout.readline), TIMEOUT)
        assert json.loads(line) == {"broadcast": ["to all", {"bytes": [5]}]}
    finally:
        for recorder in recorders:
            await recorder.client.disconnect()
        listener.terminate()
        listener.communicate(timeout=10)  # also closes the pipes


async def test_session_without_socketio_connect_is_closed_after_the_connect_timeout(
    conformance_server: str, recorder: Recorder
) -> None:
    await recorder.client.connect(conformance_server, transports=["websocket"], wait_timeout=TIMEOUT)
    ws = await ws_connect(ws_url(conformance_server))
    opened = await asyncio.wait_for(ws.recv(), TIMEOUT)
    assert isinstance(opened, str)
    assert opened.startswith("0{")
    received = await closed_by_server(ws, pong=True)  # heartbeats answered: only the connect timeout can end it
    assert all(frame in ("2", "1") for frame in received), received
    await check_alive(recorder)


async def test_custom_namespace_handshake_on_the_wire(conformance_server: str) -> None:
    ws = await ws_connect(ws_url(conformance_server))
    try:
        await asyncio.wait_for(ws.recv(), TIMEOUT)
        await ws.send('40/custom,{"token":"123"}')
        ack = await recv(ws)
        assert isinstance(ack, str)
        assert ack.startswith("40/custom,")
        assert list(json.loads(ack[len("40/custom,") :])) == ["sid"]
        assert await recv(ws) == '42/custom,["auth",{"token":"123"}]'
        await ws.send("40/random,")
        assert await recv(ws) == '44/random,{"message":"Invalid namespace"}'
        await ws.send('42/custom,["message",1]')  # `/custom` has no `message` handler: nothing comes back
        await ws.send("41/custom,")
        await ws.send("40")
        assert str(await recv(ws)).startswith('40{"sid":')
    finally:
        await ws.close()


WIRE_EXCHANGES = [
    (['42["message",1,"2",{"3":[true]}]'], ['42["message-back",1,"2",{"3":[true]}]']),
    (
        [
            '452-["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]',
            b"\x01\x02\x03",
            b"\x04\x05\x06",
        ],
        [
            '452-["message-back",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]',
            b"\x01\x02\x03",
            b"\x04\x05\x06",
        ],
    ),
    (['42456["message-with-ack",1,"2",{"3":[false]}]'], ['43456[1,"2",{"3":[false]}]']),
    (
        [
            '452-789["message-with-ack",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]',
            b"\x01\x02\x03",
            b"\x04\x05\x06",
        ],
        ['462-789[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]', b"\x01\x02\x03", b"\x04\x05\x06"],
    ),
    # leave /custom (no trailing comma, as the reference suite sends it), then talk on /
    (["40/custom", "41/custom", '42["message","message to main namespace"]'], None),
]


@pytest.mark.parametrize(("sent", "expected"), WIRE_EXCHANGES)
async def test_reference_suite_exchanges_on_the_wire(
    conformance_server: str, sent: list[str | bytes], expected: list[str | bytes] | None
) -> None:
    ws = await ws_handshake(conformance_server)
    try:
        if expected is None:  # the namespace round trip
            await ws.send(sent[0])
            assert str(await recv(ws)).startswith('40/custom,{"sid":')
            assert await recv(ws) == '42/custom,["auth",{}]'
            for frame in sent[1:]:
                await ws.send(frame)
            assert await recv(ws) == '42["message-back","message to main namespace"]'
            return
        for frame in sent:
            await ws.send(frame)
        assert [await recv(ws) for _ in expected] == expected
    finally:
        await ws.close()
