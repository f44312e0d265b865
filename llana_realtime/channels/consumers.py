"""The Engine.IO transports as plain ASGI applications: HTTP long-polling (``EngineIOPollingApp``) and
WebSocket (``EngineIOWebSocketApp``), both driving the sessions of one ``EngineIOServer`` (so any request of
the process can serve any ``sid``).

They are plain ASGI callables, as python-engineio's ASGI driver is, not Channels consumers: they need no
channel-layer channel per connection and no thread-pool round trip per message to close old database
connections, because they never touch the ORM (application handlers that do, use
``database_sync_to_async``). Requests are validated as the reference engine.io server's ``verify()`` does,
and refused with its error codes and messages (see docs/realtime-server.md, "Error answers").
"""

from __future__ import annotations

import asyncio
import functools
import hmac
import json
import logging
from collections.abc import Callable, Mapping
from typing import Any, cast

from llana.auth.credentials import ACCESS_COOKIE, scope_cookie, scope_header, scope_query
from llana.hosts import scope_address, scope_allowed
from llana_realtime.channels.scope import (
    Message,
    Receive,
    Scope,
    Send,
)
from llana_realtime.engineio.server import EngineIOServer
from llana_realtime.engineio.socket import EngineIOSocket, PollError
from llana_realtime.protocol.engineio import (
    PROTOCOL_VERSION,
    Packet,
    encode_packet,
    encode_payload,
)
from llana_realtime.protocol.errors import PayloadTooLarge, ProtocolError

logger = logging.getLogger(__name__)

# Error codes and messages of the reference engine.io server (``Server.errors`` / ``Server.errorMessages``).
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
TEXT_PLAIN_UTF8 = b"text/plain; charset=UTF-8"

Headers = list[tuple[bytes, bytes]]


class Refused(Exception):
    """A request refused with a reference error ``code`` and HTTP ``status``."""

    def __init__(self, code: int, status: int = 400) -> None:
        super().__init__(ERROR_MESSAGES[code])
        self.code = code
        self.status = status


def same_client(session: Mapping[str, Any], request: Mapping[str, Any]) -> bool:
    """May ``request`` (a poll, a POST or a WebSocket upgrade naming a ``sid``) act for the session opened by
    ``session``? The client address (as HOSTS judges it) must be the same, and a credential the request carries
    (``Authorization`` header, ``accessToken`` cookie) must be the session's own: a ``sid`` alone is not
    enough. A request without a credential is not refused for that (a browser's WebSocket upgrade cannot
    repeat the ``Authorization`` header of its polls)."""
    if scope_address(session) != scope_address(request):
        return False
    for credential in (_authorization, _access_cookie):
        presented = credential(request)
        if presented is not None and not hmac.compare_digest(presented, credential(session) or ""):
            return False
    return True


def _authorization(scope: Mapping[str, Any]) -> str | None:
    return scope_header(scope, b"authorization")


def _access_cookie(scope: Mapping[str, Any]) -> str | None:
    return scope_cookie(scope, ACCESS_COOKIE)


def verify(server: EngineIOServer, scope: Scope, query: dict[str, str], *, websocket: bool) -> EngineIOSocket | None:
    """Validate an Engine.IO request as the reference server's ``verify()`` does; the session for a ``sid``.

    Also refuses (``Forbidden``, 403) a client address outside ``LLANA["HOSTS"]``, and a request for a
    ``sid`` from another client (``same_client``). Raises ``Refused`` with the reference error code.
    """
    transport = query.get("transport")
    if transport not in TRANSPORTS:
        raise Refused(UNKNOWN_TRANSPORT)
    if not scope_allowed(scope):
        logger.warning("engine.io: refused a request from %s (not in HOSTS)", scope_address(scope) or "<unknown>")
        raise Refused(FORBIDDEN, 403)
    origin = scope_header(scope, b"origin")
    if origin is not None and not server.allowed_origin(origin, scope_header(scope, b"host")):
        raise Refused(FORBIDDEN, 403)
    if websocket and transport != "websocket":
        raise Refused(BAD_REQUEST)
    sid = query.get("sid")
    if sid is not None:
        socket = server.get(sid)
        if socket is None:
            raise Refused(UNKNOWN_SID)
        if not same_client(socket.scope, scope):
            logger.warning(
                "engine.io: refused a request for a session of another client (from %s)",
                scope_address(scope) or "<unknown>",
            )
            raise Refused(FORBIDDEN, 403)
        if not websocket and (transport != "polling" or socket.transport != "polling"):
            raise Refused(BAD_REQUEST)  # e.g. a poll after the upgrade
        return socket
    if scope.get("method", "GET") != "GET":
        raise Refused(BAD_HANDSHAKE_METHOD)
    if (transport == "websocket") != websocket:
        raise Refused(BAD_REQUEST)
    if query.get("EIO") != str(PROTOCOL_VERSION):
        raise Refused(UNSUPPORTED_PROTOCOL_VERSION)
    return None


# --- HTTP long-polling ------------------------------------------------------------------------------------------


class EngineIOPollingApp:
    """HTTP long-polling: handshake (GET without ``sid``), receive (GET), send (POST, answers ``ok``), CORS.

    One instance serves every request for its ``server``; a request's state lives in its own call.
    """

    def __init__(self, server: EngineIOServer) -> None:
        self.server = server

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            kind = message["type"]
            if kind == "http.request":
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > self.server.max_payload:  # answered without reading the rest of the body
                    await self.handle(scope, receive, send, None)
                    return
                chunks.append(chunk)
                if not message.get("more_body"):
                    await self.handle(scope, receive, send, b"".join(chunks))
                    return
            elif kind == "http.disconnect":
                return

    async def handle(self, scope: Scope, receive: Receive, send: Send, body: bytes | None) -> None:
        """Answer one polling request; ``body`` is ``None`` when it was over ``maxPayload``."""
        server = self.server
        method = scope.get("method", "GET")
        cors = self.cors_headers(scope)
        if method == "OPTIONS":
            await self.preflight(scope, send, cors)
            return
        try:
            socket = verify(server, scope, scope_query(scope), websocket=False)
            if socket is None:
                if body is None:
                    raise Refused(BAD_REQUEST, 413)
                socket, packet = await server.open(scope, "polling")
                await socket.start()
                await respond(send, 200, encode_payload([packet]).encode(), TEXT_PLAIN_UTF8, cors)
            elif method == "GET":
                packets = await self.poll(socket, receive)
                if packets is None:
                    return
                await respond(
                    send, 200, encode_payload(packets).encode("utf-8", "surrogatepass"), TEXT_PLAIN_UTF8, cors
                )
            elif method == "POST":
                if body is None:
                    socket.payload_too_large()
                    raise Refused(BAD_REQUEST, 413)
                await socket.receive_payload(body)
                await respond(send, 200, b"ok", b"text/html", cors)
            else:
                raise Refused(BAD_REQUEST)
        except Refused as refused:
            await refuse(send, refused, cors)
        except PayloadTooLarge:
            await refuse(send, Refused(BAD_REQUEST, 413), cors)
        except (PollError, ProtocolError):
            await refuse(send, Refused(BAD_REQUEST), cors)

    async def poll(self, socket: EngineIOSocket, receive: Receive) -> list[Packet] | None:
        """The packets for a GET, or ``None`` if the client went away while it waited.

        A vanished client's GET no longer counts as pending, and the packets stay queued for the next GET
        (the reference server closes the session instead).
        """
        if socket.poll_ready:
            return await socket.poll()
        poll = asyncio.ensure_future(socket.poll())
        gone = asyncio.ensure_future(receive())
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

    def cors_headers(self, scope: Scope) -> Headers:
        """The CORS headers of an answer to a browser page at an allowed origin (none otherwise)."""
        server = self.server
        origin = scope_header(scope, b"origin")
        if origin is None or not server.allowed_origin(origin, scope_header(scope, b"host")):
            return []
        credentials = server.cors_allow_credentials
        if "*" in server.cors_allowed_origins and not credentials:
            allow = b"*"
        else:
            allow = origin.encode("latin-1")
        headers = [(b"access-control-allow-origin", allow), (b"vary", b"Origin")]
        if credentials:
            headers.append((b"access-control-allow-credentials", b"true"))
        return headers

    async def preflight(self, scope: Scope, send: Send, cors: Headers) -> None:
        """Answer a CORS preflight ``OPTIONS`` request."""
        origin = scope_header(scope, b"origin")
        if origin is None or not self.server.allowed_origin(origin, scope_header(scope, b"host")):
            await refuse(send, Refused(FORBIDDEN, 403), cors)
            return
        if not scope_allowed(scope):
            await refuse(send, Refused(FORBIDDEN, 403), [])
            return
        requested = scope_header(scope, b"access-control-request-headers")
        extra = [(b"access-control-allow-methods", b"GET, POST, OPTIONS"), (b"access-control-max-age", b"86400")]
        if requested:
            extra.append((b"access-control-allow-headers", requested.encode("latin-1")))
        await respond(send, 204, b"", b"text/plain", [*cors, *extra])


async def respond(send: Send, status: int, body: bytes, content_type: bytes, headers: Headers) -> None:
    """Send a whole HTTP response: ``content_type`` first, then ``headers``."""
    await send(
        {"type": "http.response.start", "status": status, "headers": [(b"content-type", content_type), *headers]}
    )
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def refuse(send: Send, refused: Refused, cors: Headers) -> None:
    """Answer with the reference JSON error body ``{"code": N, "message": "..."}``."""
    body = json.dumps({"code": refused.code, "message": str(refused)}, separators=(",", ":")).encode()
    await respond(send, refused.status, body, b"application/json", cors)


# --- WebSocket --------------------------------------------------------------------------------------------------


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
        return cast("Callable[[], int]", size)
    if isinstance(send, functools.partial) and send.args:
        twisted: Any = getattr(send.args[0], "transport", None)
        if twisted is not None and all(hasattr(twisted, name) for name in ("dataBuffer", "offset", "_tempDataLen")):
            return lambda: len(twisted.dataBuffer) - twisted.offset + twisted._tempDataLen
    return None


class WebSocketConnection:
    """One WebSocket connection of the ASGI server: the ``WebSocketTransport`` a socket writes to."""

    __slots__ = ("buffered_amount", "send")

    def __init__(self, send: Send) -> None:
        self.send = send
        self.buffered_amount = write_buffer_probe(send)

    async def send_frame(self, frame: str | bytes) -> None:
        if isinstance(frame, str):
            await self.send({"type": "websocket.send", "text": frame})
        else:
            await self.send({"type": "websocket.send", "bytes": frame})

    async def close_transport(self) -> None:
        try:
            await self.send({"type": "websocket.close"})
        except Exception:  # already closed by the client (server-specific error types)
            logger.debug("engine.io websocket: close after disconnect", exc_info=True)


class EngineIOWebSocketApp:
    """WebSocket: a WebSocket-only session, or the upgrade of a polling session (``sid`` in the query)."""

    def __init__(self, server: EngineIOServer) -> None:
        self.server = server

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        connection = WebSocketConnection(send)
        socket: EngineIOSocket | None = None
        while True:
            message: Message = await receive()
            kind = message["type"]
            if kind == "websocket.receive":
                if socket is not None:
                    text = message.get("text")
                    await socket.receive_frame(text if text is not None else message.get("bytes") or b"", connection)
            elif kind == "websocket.connect":
                socket = await self.connect(scope, connection)
            elif kind == "websocket.disconnect":
                if socket is not None:
                    await socket.transport_closed(connection)
                return

    async def connect(self, scope: Scope, connection: WebSocketConnection) -> EngineIOSocket | None:
        """Accept or refuse a new WebSocket; the session it carries (or is upgrading), ``None`` if refused.

        A refused WebSocket is closed before it is accepted: the ASGI server answers HTTP 403.
        """
        try:
            socket = verify(self.server, scope, scope_query(scope), websocket=True)
        except Refused as refused:
            logger.debug("engine.io websocket refused: %s", refused)
            await connection.close_transport()
            return None
        if socket is not None:
            if not socket.attach_upgrade(connection):
                # Already upgraded or upgrading: accepted, then closed at once, as the reference server does
                # (a refusal before the handshake, HTTP 403, makes standard clients raise an error).
                await connection.send({"type": "websocket.accept", "subprotocol": None})
                await connection.close_transport()
                return None
            await connection.send({"type": "websocket.accept", "subprotocol": None})
            return socket
        await connection.send({"type": "websocket.accept", "subprotocol": None})
        socket, packet = await self.server.open(scope, "websocket")
        await connection.send_frame(encode_packet(packet))
        socket.attach_websocket(connection)
        await socket.start()
        return socket
