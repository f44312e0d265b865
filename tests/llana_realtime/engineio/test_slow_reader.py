"""A WebSocket client that does not read is disconnected (``write buffer full``) once the ASGI server holds more
than ``MAX_BUFFERED_BYTES`` unsent for it: daphne's and uvicorn's ``send()`` never wait, so the outgoing queue
alone never fills. The probe that reads the servers' write buffers, the bound in the writer, the setting and
its check, and a non-reading raw client against daphne and uvicorn."""

from __future__ import annotations

import asyncio
import base64
import functools
import json
import logging
import os
import socket
import struct
import time
from collections.abc import Iterator

import pytest
from django.core.checks import Error
from websockets.sync.client import connect

from llana_realtime.channels.asgi import engineio_server
from llana_realtime.channels.consumers import write_buffer_probe
from llana_realtime.checks import check_settings
from llana_realtime.engineio.server import EngineIOServer
from llana_realtime.engineio.socket import EngineIOSocket
from llana_realtime.engineio.writer import WRITE_BUFFER_FULL
from tests.llana_realtime.conftest import _bin, serve

# --- the probe ---------------------------------------------------------------------------------------------------


class AsyncioTransport:
    def get_write_buffer_size(self) -> int:
        return 1234


class UvicornLikeProtocol:
    def __init__(self) -> None:
        self.transport = AsyncioTransport()

    async def send(self, message: dict[str, object]) -> None:
        pass


class TwistedTransport:
    def __init__(self) -> None:
        self.dataBuffer = b"0123456789"
        self.offset = 4
        self._tempDataLen = 100


class TwistedProtocol:
    def __init__(self) -> None:
        self.transport = TwistedTransport()


async def handle_reply(protocol: object, message: dict[str, object]) -> None:
    pass


def test_probe_reads_an_asyncio_transport_behind_a_bound_send() -> None:
    probe = write_buffer_probe(UvicornLikeProtocol().send)
    assert probe is not None
    assert probe() == 1234


def test_probe_reads_a_twisted_transport_behind_daphnes_partial_send() -> None:
    protocol = TwistedProtocol()
    probe = write_buffer_probe(functools.partial(handle_reply, protocol))
    assert probe is not None
    assert probe() == 6 + 100
    protocol.transport.offset = 10
    protocol.transport._tempDataLen = 0
    assert probe() == 0


def test_probe_is_none_when_the_server_gives_no_way_to_know() -> None:
    assert write_buffer_probe(asyncio.Queue().put) is None  # channels.testing's communicators
    assert write_buffer_probe(handle_reply) is None


# --- the bound in the writer -------------------------------------------------------------------------------------


class Recorder:
    def __init__(self) -> None:
        self.reasons: list[str] = []

    async def engineio_connect(self, socket: EngineIOSocket) -> None:
        pass

    async def engineio_message(self, socket: EngineIOSocket, data: str | bytes) -> None:
        pass

    async def engineio_disconnect(self, socket: EngineIOSocket, reason: str) -> None:
        self.reasons.append(reason)


class Transport:
    """A WebSocket transport whose ASGI server reports ``unsent`` bytes in its write buffer."""

    def __init__(self) -> None:
        self.frames: list[str | bytes] = []
        self.closed = False
        self.unsent = 0
        self.buffered_amount = lambda: self.unsent

    async def send_frame(self, frame: str | bytes) -> None:
        self.frames.append(frame)

    async def close_transport(self) -> None:
        self.closed = True


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_a_client_over_the_bound_is_closed_with_a_reason(caplog: pytest.LogCaptureFixture) -> None:
    handler = Recorder()
    server = EngineIOServer(handler, max_buffered_bytes=1000)
    socket, _ = await server.open({"type": "websocket"}, "websocket")
    transport = Transport()
    socket.attach_websocket(transport)
    await socket.start()
    transport.unsent = 1000  # at the bound: still fine
    socket.send("one")
    await settle()
    assert transport.frames == ["4one"]
    transport.unsent = 1001
    with caplog.at_level(logging.DEBUG, logger="llana_realtime.engineio.writer"):
        socket.send("two")
        await settle()
    assert transport.frames == ["4one"]  # nothing more is written
    assert transport.closed
    assert socket.closed
    assert handler.reasons == [WRITE_BUFFER_FULL]
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1
    assert WRITE_BUFFER_FULL in warnings[0].getMessage()
    assert "1001 bytes unsent" in warnings[0].getMessage()
    assert socket.sid not in warnings[0].getMessage()  # the sid only at DEBUG
    assert any(socket.sid in r.getMessage() and r.levelno == logging.DEBUG for r in caplog.records)


async def test_a_transport_without_a_probe_is_not_bounded_by_it() -> None:
    handler = Recorder()
    server = EngineIOServer(handler, max_buffered_bytes=1)
    socket, _ = await server.open({"type": "websocket"}, "websocket")
    transport = Transport()
    transport.buffered_amount = None  # type: ignore[assignment]
    socket.attach_websocket(transport)
    await socket.start()
    socket.send("one")
    await settle()
    assert transport.frames == ["4one"]
    assert not socket.closed


def test_the_setting_reaches_the_server(settings: object) -> None:
    settings.LLANA_REALTIME = {"MAX_BUFFERED_BYTES": 4096}  # type: ignore[attr-defined]
    assert engineio_server(Recorder()).max_buffered_bytes == 4096


def test_default_is_one_mebibyte() -> None:
    assert engineio_server(Recorder()).max_buffered_bytes == 1_048_576


@pytest.mark.parametrize("value", [0, -1, "1M", 1.5, True])
def test_check_rejects_a_bad_value(settings: object, value: object) -> None:
    settings.LLANA_REALTIME = {"MAX_BUFFERED_BYTES": value}  # type: ignore[attr-defined]
    errors = check_settings()
    assert [e.id for e in errors] == ["llana_realtime.E006"]
    assert isinstance(errors[0], Error)
    assert "MAX_BUFFERED_BYTES" in errors[0].msg


# --- a client that does not read, against daphne and uvicorn ------------------------------------------------------

APP = "tests.llana_realtime.engineio.firehose_asgi:application"


@pytest.fixture(scope="module", params=["daphne", "uvicorn"])
def firehose_server(request: pytest.FixtureRequest) -> Iterator[str]:
    if request.param == "daphne":
        yield from serve([*_bin("daphne"), "-b", "127.0.0.1", "-p", "PORT", APP])
    else:
        yield from serve(
            [
                *_bin("uvicorn"),
                "--host", "127.0.0.1", "--port", "PORT", "--lifespan", "off", "--no-access-log",
                "--loop", "uvloop", "--http", "httptools", "--ws", "websockets-sansio",
                "--ws-per-message-deflate", "false", APP,
            ]
        )  # fmt: skip


def client_frame(text: str) -> bytes:
    """A masked text frame (clients must mask), payload under 126 bytes."""
    payload = text.encode()
    mask = os.urandom(4)
    return struct.pack("!BB", 0x81, 0x80 | len(payload)) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def stalled_client(base: str) -> socket.socket:
    """A raw WebSocket session that reads the 101 answer, then nothing (a 4 KiB receive buffer)."""
    host, port = base.removeprefix("http://").split(":")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect((host, int(port)))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            f"GET /engine.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    answer = b""
    while b"\r\n\r\n" not in answer:
        answer += sock.recv(1)
    assert answer.startswith(b"HTTP/1.1 101"), answer
    return sock


def reasons(base: str) -> list[str]:
    with connect(base.replace("http", "ws", 1) + "/engine.io/?EIO=4&transport=websocket", compression=None) as ws:
        ws.recv(timeout=10)  # the open packet
        ws.send("4reasons")
        return list(json.loads(str(ws.recv(timeout=10))[1:]))


@pytest.mark.slow
def test_a_client_that_does_not_read_is_dropped(firehose_server: str) -> None:
    """16 MiB for a client that reads nothing: far more than the kernel's buffers (4 MiB here) and the bound
    (256 KiB). The server drops it with ``write buffer full`` instead of buffering the rest (before the bound,
    it kept it all until the ping timeout, 45 s later)."""
    sock = stalled_client(firehose_server)
    try:
        sock.sendall(client_frame("4go 2048 8192"))
        deadline = time.monotonic() + 20
        while WRITE_BUFFER_FULL not in reasons(firehose_server):
            assert time.monotonic() < deadline, reasons(firehose_server)
            time.sleep(0.2)
        # What the client finally reads ends (EOF, or a reset: daphne aborts the connection when the close
        # handshake times out) well before the 16 MiB it was sent: the rest was never buffered.
        sock.settimeout(10)
        received = 0
        try:
            while chunk := sock.recv(1 << 20):
                received += len(chunk)
        except ConnectionResetError:
            pass
        assert received < 2048 * 8192 / 2
    finally:
        sock.close()
