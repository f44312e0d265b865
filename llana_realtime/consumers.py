"""The Engine.IO transports as Channels consumers: HTTP long-polling and WebSocket, both driving the sessions of
one ``EngineIOServer`` (so any consumer instance of the process can serve any ``sid``).

Both consumers skip what stock Channels does per message and they never need: a channel-layer channel per
connection and the thread-pool round trip to close old database connections (they never touch the ORM
synchronously; see /work/shared/realtime-fanout.md).
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

from channels.exceptions import StopConsumer
from channels.generic.http import AsyncHttpConsumer
from channels.generic.websocket import AsyncWebsocketConsumer

from llana_realtime.engine import EngineIOServer, EngineIOSocket, PollError
from llana_realtime.protocol.engineio import (
    PROTOCOL_VERSION,
    Packet,
    encode_packet,
    encode_payload,
)
from llana_realtime.protocol.errors import PayloadTooLarge, ProtocolError
from llana_realtime.types import Message, Receive, Scope, Send

logger = logging.getLogger(__name__)

# Error codes and messages of the reference server (engine.io ``Server.errors`` / ``Server.errorMessages``).
UNKNOWN_TRANSPORT = 0
UNKNOWN_SID = 1
BAD_HANDSHAKE_METHOD = 2
BAD_REQUEST = 3
FORBIDDEN = 4
UNSUPPORTED_PROTOCOL_VERSION = 5
ERROR_MESSAGES = {
    UNKNOWN_TRANSPORT: "Transport unknown",
    UNKNOWN_SID: "Session ID unknown",
    BAD_HANDSHAKE_METHOD: "Bad handshake method",
    BAD_REQUEST: "Bad request",
    FORBIDDEN: "Forbidden",
    UNSUPPORTED_PROTOCOL_VERSION: "Unsupported protocol version",
}
TRANSPORTS = ("polling", "websocket")


def _query(scope: Scope) -> dict[str, str]:
    raw = scope.get("query_string", b"")
    parsed = parse_qs(
        raw.decode("latin-1") if isinstance(raw, bytes) else raw, keep_blank_values=True
    )
    return {key: values[-1] for key, values in parsed.items()}


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


class _Refused(Exception):
    def __init__(self, code: int, status: int = 400) -> None:
        super().__init__(ERROR_MESSAGES[code])
        self.code = code
        self.status = status


def _check(
    server: EngineIOServer, scope: Scope, query: dict[str, str], *, websocket: bool
) -> EngineIOSocket | None:
    """Validate an Engine.IO request as the reference server's ``verify()`` does; the session for a ``sid``.

    Raises ``_Refused`` with the reference error code.
    """
    transport = query.get("transport")
    if transport not in TRANSPORTS:
        raise _Refused(UNKNOWN_TRANSPORT)
    origin = _header(scope, b"origin")
    if origin is not None and not server.allowed_origin(
        origin, _header(scope, b"host")
    ):
        raise _Refused(FORBIDDEN, 403)
    if websocket and transport != "websocket":
        raise _Refused(BAD_REQUEST)
    sid = query.get("sid")
    if sid is not None:
        socket = server.get(sid)
        if socket is None:
            raise _Refused(UNKNOWN_SID)
        if not websocket and (transport != "polling" or socket.transport != "polling"):
            raise _Refused(BAD_REQUEST)  # e.g. a poll after the upgrade
        return socket
    if scope.get("method", "GET") != "GET":
        raise _Refused(BAD_HANDSHAKE_METHOD)
    if (transport == "websocket") != websocket:
        raise _Refused(BAD_REQUEST)
    if query.get("EIO") != str(PROTOCOL_VERSION):
        raise _Refused(UNSUPPORTED_PROTOCOL_VERSION)
    return None


class EngineIOPollingConsumer(AsyncHttpConsumer):
    """HTTP long-polling: handshake (GET without ``sid``), receive (GET), send (POST, answers ``ok``), CORS."""

    server: EngineIOServer | None = None

    def __init__(self, *, server: EngineIOServer | None = None) -> None:
        if server is not None:
            self.server = server
        self.body: list[bytes] = []
        self.size = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # No channel layer: nothing addresses a transport consumer from outside.
        self.scope = scope
        self.base_send = send
        self.receive = receive
        try:
            while True:
                await self.dispatch(await receive())
        except StopConsumer:
            pass

    async def dispatch(self, message: Message) -> None:
        # Stock dispatch() makes a thread-pool round trip per message to close old DB connections.
        if message["type"] == "http.request":
            await self.http_request(message)
        elif message["type"] == "http.disconnect":
            raise StopConsumer()

    async def http_request(self, message: Message) -> None:
        chunk = message.get("body", b"")
        self.size += len(chunk)
        assert self.server is not None, (
            "EngineIOPollingConsumer.as_asgi(server=...) is required"
        )
        if self.size > self.server.max_payload:
            self.body = []
            await self.handle(None)
            raise StopConsumer()
        self.body.append(chunk)
        if not message.get("more_body"):
            await self.handle(b"".join(self.body))
            raise StopConsumer()

    def _cors_headers(self) -> list[tuple[bytes, bytes]]:
        assert self.server is not None
        origin = _header(self.scope, b"origin")
        if origin is None or not self.server.allowed_origin(
            origin, _header(self.scope, b"host")
        ):
            return []
        credentials = self.server.cors_allow_credentials
        if "*" in self.server.cors_allowed_origins and not credentials:
            allow = b"*"
        else:
            allow = origin.encode("latin-1")
        headers = [(b"access-control-allow-origin", allow), (b"vary", b"Origin")]
        if credentials:
            headers.append((b"access-control-allow-credentials", b"true"))
        return headers

    async def _respond(
        self,
        status: int,
        body: bytes,
        content_type: bytes,
        extra: tuple[tuple[bytes, bytes], ...] = (),
    ) -> None:
        headers = [(b"content-type", content_type), *self._cors_headers(), *extra]
        await self.send_response(status, body, headers=headers)

    async def _refuse(self, refused: _Refused) -> None:
        body = json.dumps(
            {"code": refused.code, "message": str(refused)}, separators=(",", ":")
        ).encode()
        await self._respond(refused.status, body, b"application/json")

    async def handle(self, body: bytes | None) -> None:
        """Answer one polling request; ``body`` is ``None`` when it was over ``maxPayload``."""
        assert self.server is not None
        method = self.scope.get("method", "GET")
        if method == "OPTIONS":
            await self._preflight()
            return
        query = _query(self.scope)
        try:
            socket = _check(self.server, self.scope, query, websocket=False)
            if socket is None:
                if body is None:
                    raise _Refused(BAD_REQUEST, 413)
                await self._handshake()
            elif method == "GET":
                packets = await self._poll(socket)
                if packets is None:
                    return
                await self._respond(
                    200,
                    encode_payload(packets).encode("utf-8", "surrogatepass"),
                    b"text/plain; charset=UTF-8",
                )
            elif method == "POST":
                if body is None:
                    socket.payload_too_large()
                    raise _Refused(BAD_REQUEST, 413)
                await socket.receive_payload(body)
                await self._respond(200, b"ok", b"text/html")
            else:
                raise _Refused(BAD_REQUEST)
        except _Refused as refused:
            await self._refuse(refused)
        except PayloadTooLarge:
            await self._refuse(_Refused(BAD_REQUEST, 413))
        except (PollError, ProtocolError):
            await self._refuse(_Refused(BAD_REQUEST))

    async def _poll(self, socket: EngineIOSocket) -> list[Packet] | None:
        """The packets for a GET, or ``None`` if the client went away while it waited.

        A vanished client's GET no longer counts as pending, and the packets stay queued for the next GET
        (the reference server closes the session instead).
        """
        if socket.queue or socket.closed or socket.session.probed:
            return await socket.poll()
        poll = asyncio.ensure_future(socket.poll())  # pending from this call on, not from the task's start
        gone = asyncio.ensure_future(self.receive())
        left = False
        try:
            await asyncio.wait((poll, gone), return_when=asyncio.FIRST_COMPLETED)
        finally:
            gone.cancel()
            if not poll.done():  # the client left (or this request is being cancelled)
                poll.cancel()
                left = True
        if left:
            logger.debug("engine.io %s: the client left a pending GET", socket.sid)
            return None
        return poll.result()

    async def _handshake(self) -> None:
        assert self.server is not None
        socket, packet = await self.server.open(self.scope, "polling")
        await socket._connect()
        await self._respond(
            200, encode_payload([packet]).encode(), b"text/plain; charset=UTF-8"
        )

    async def _preflight(self) -> None:
        assert self.server is not None
        origin = _header(self.scope, b"origin")
        if origin is None or not self.server.allowed_origin(
            origin, _header(self.scope, b"host")
        ):
            await self._refuse(_Refused(FORBIDDEN, 403))
            return
        requested = _header(self.scope, b"access-control-request-headers")
        extra: tuple[tuple[bytes, bytes], ...] = (
            (b"access-control-allow-methods", b"GET, POST, OPTIONS"),
            (b"access-control-max-age", b"86400"),
        )
        if requested:
            extra += ((b"access-control-allow-headers", requested.encode("latin-1")),)
        await self._respond(204, b"", b"text/plain", extra)


def write_buffer_probe(send: Send) -> Callable[[], int] | None:
    """A function returning the bytes an ASGI server holds unsent for the connection of ``send``, or ``None``.

    ASGI has no such query, so this looks behind ``send``: uvicorn passes its protocol's bound ``send``
    method, whose ``transport`` is an asyncio transport (``get_write_buffer_size()``); daphne passes
    ``partial(server.handle_reply, protocol)``, whose ``protocol.transport`` is a Twisted ``FileDescriptor``
    (unsent: ``dataBuffer[offset:]`` plus ``_tempDataLen``). Other servers (or a middleware that wraps
    ``send``): ``None``.
    """
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    size = getattr(transport, "get_write_buffer_size", None)
    if callable(size):
        return size
    if isinstance(send, functools.partial) and send.args:
        twisted: Any = getattr(send.args[0], "transport", None)
        if twisted is not None and all(hasattr(twisted, name) for name in ("dataBuffer", "offset", "_tempDataLen")):
            return lambda: len(twisted.dataBuffer) - twisted.offset + twisted._tempDataLen
    return None


class EngineIOWebSocketConsumer(AsyncWebsocketConsumer):
    """WebSocket: a WebSocket-only session, or the upgrade of a polling session (``sid`` in the query)."""

    server: EngineIOServer | None = None

    def __init__(self, *, server: EngineIOServer | None = None) -> None:
        if server is not None:
            self.server = server
        self.socket: EngineIOSocket | None = None
        self.buffered_amount: Callable[[], int] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.scope = scope
        self.base_send = send
        self.buffered_amount = write_buffer_probe(send)
        try:
            while True:
                await self.dispatch(await receive())
        except StopConsumer:
            pass

    async def dispatch(self, message: Message) -> None:
        kind = message["type"]
        if kind == "websocket.receive":
            socket = self.socket
            if socket is not None:
                text = message.get("text")
                await socket.receive_frame(
                    text if text is not None else message.get("bytes") or b"", self
                )
        elif kind == "websocket.connect":
            await self.websocket_connect(message)
        elif kind == "websocket.disconnect":
            if self.socket is not None:
                await self.socket.transport_closed(self)
                self.socket = None
            raise StopConsumer()

    async def websocket_connect(self, message: Message) -> None:
        assert self.server is not None, (
            "EngineIOWebSocketConsumer.as_asgi(server=...) is required"
        )
        try:
            socket = _check(self.server, self.scope, _query(self.scope), websocket=True)
        except _Refused as refused:
            logger.debug("engine.io websocket refused: %s", refused)
            await self.close_transport()
            return
        if socket is not None:
            if not socket.attach_upgrade(self):
                # Already upgraded or upgrading: accepted, then closed at once, as the reference server does
                # (a refusal before the handshake, HTTP 403, makes standard clients raise an error).
                await self.accept()
                await self.close_transport()
                return
            self.socket = socket
            await self.accept()
            return
        await self.accept()
        socket, packet = await self.server.open(self.scope, "websocket")
        self.socket = socket
        await self.send_frame(encode_packet(packet))
        socket._ws = self
        socket._wake()
        await socket._connect()

    async def send_frame(self, frame: str | bytes) -> None:
        if isinstance(frame, str):
            await self.base_send({"type": "websocket.send", "text": frame})
        else:
            await self.base_send({"type": "websocket.send", "bytes": frame})

    async def close_transport(self) -> None:
        try:
            await self.base_send({"type": "websocket.close"})
        except Exception:  # already closed by the client (server-specific error types)
            logger.debug("engine.io websocket: close after disconnect", exc_info=True)
