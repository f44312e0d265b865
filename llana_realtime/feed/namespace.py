"""The Llana table feed: the ``/`` namespace of ``default_server``, where each socket follows one table.

Handshake (Llana's, with django-llana's fixes: docs/realtime.md, "Handshake")::

    io(url, {auth: {token: "<jwt>", "x-llana-table": "Customer"}})           // browsers: auth only
    io(url, {extraHeaders: {Authorization: "Bearer <jwt>", "x-llana-table": "Customer"}})
    io(url + "?x-llana-table=Customer", {withCredentials: true})             // accessToken cookie

1. Table: ``auth["x-llana-table"]``, else the ``x-llana-table`` header, else the ``x-llana-table`` (or
   ``table``) query parameter; none → ``No Table Provided In Headers[x-llana-table]``.
2. HOSTS (``llana.hosts.scope_allowed``) → ``Forbidden``.
3. The table must be exposed by the API → ``Table <name> not found``.
4. Identity: ``SKIP_AUTH`` → everyone, receiving every event. Else an API key, as on REST (the
   ``x-api-key`` header or ``auth["x-api-key"]``; ``llana.auth.credentials.api_key_from_handshake``), else
   the token from the ``Authorization: Bearer`` header, ``auth.token`` (``Bearer `` optional) or the
   ``accessToken`` cookie; a bad credential leaves the caller anonymous with Llana's message (``Access
   token expired``/``Authentication Failed``/``Unauthorized``). ``Bearer undefined``/``null`` are no token.
5. READ on the table (public READ, or a role's READ, possibly own-records only) → else the decision's
   message (``Missing authorization token ...``, ``Table Action READ - Permission Denied For Role USER``).

Refusals are ``CONNECT_ERROR {"message": ..., "data": {"status": 401|403|404}}``. Accepted sockets get
``<table>`` events ``{"type": "INSERT"|"UPDATE"|"DELETE", "<pk name>": "<pk>"}`` for the rows they may
read: an accepted socket joins its access room (``llana_realtime.feed.subscriptions``), and the feed
handles the ``llana.table_event`` and ``llana.permissions_changed`` messages of the server's manager.
Any event a client sends is answered with Llana's ``exception`` event (and ack, if asked for) and the
connection stays usable.
"""

from __future__ import annotations

import logging
from typing import Any

from channels.db import database_sync_to_async

from llana.auth.authentication import api_keys_enabled, identity_and_expiry_for_api_key
from llana.auth.credentials import api_key_from_handshake, scope_header, scope_query, token_from_handshake
from llana.auth.identities import identity_and_expiry_for_token
from llana.hosts import scope_address, scope_allowed
from llana.registry import get_table
from llana.settings import llana_settings
from llana_realtime.feed.access import Subscription, read_access
from llana_realtime.feed.events import PERMISSIONS_CHANGED, TABLE_EVENT
from llana_realtime.feed.subscriptions import EXCEPTION_EVENT, Subscriptions
from llana_realtime.socketio.namespace import CATCH_ALL, Namespace
from llana_realtime.socketio.server import ConnectionRefused, Socket, SocketIOServer

logger = logging.getLogger(__name__)

TABLE_KEY = "x-llana-table"
NO_TABLE_MESSAGE = "No Table Provided In Headers[x-llana-table]"
FORBIDDEN_MESSAGE = "Forbidden"


def handshake_table(scope: dict[str, Any], auth: dict[str, Any]) -> str | None:
    """The table a socket asks for: ``auth``, then the header, then the query string."""
    value = auth.get(TABLE_KEY)
    if isinstance(value, str) and value.strip():
        return value.strip()
    header = scope_header(scope, TABLE_KEY.encode())
    if header and header.strip():
        return header.strip()
    query = scope_query(scope)
    for key in (TABLE_KEY, "table"):
        if query.get(key, "").strip():
            return query[key].strip()
    return None


def authorize(table: str, token: str | None, api_key: str | None = None) -> Subscription:
    """The subscription of a socket to ``table`` with ``token`` or ``api_key`` (sync: identity cache, maybe
    the DB). An API key is asked first, as ``APIKeyAuthentication`` is on REST.

    Raises ``ConnectionRefused`` with Llana's message and ``{"status": ...}``.
    """
    if get_table(table) is None:
        raise ConnectionRefused(f"Table {table} not found", {"status": 404})
    if api_key is not None and not llana_settings.SKIP_AUTH and api_keys_enabled():
        identity, expires_at = identity_and_expiry_for_api_key(api_key, websocket=True)
        if identity.is_anonymous and token:  # a refused key: the token may still identify (as on REST)
            identity, expires_at = identity_and_expiry_for_token(token, websocket=True)
    else:
        identity, expires_at = identity_and_expiry_for_token(token, websocket=True)
    access, decision = read_access(identity, table)
    if access is None:
        raise ConnectionRefused(decision.message, {"status": decision.status_code})
    return Subscription(table, identity, access, expires_at)


def client_event_error(event: str, args: tuple[Any, ...]) -> dict[str, Any]:
    """Llana's answer to a client message: an ``exception`` event body."""
    data = args[0] if len(args) == 1 else (list(args) if args else None)
    return {
        "status": "error",
        "message": f"Unsupported event {event!r}: this connection only receives table events",
        "cause": {"pattern": event, "data": data},
    }


class TableFeed(Namespace):
    """The Llana table feed on namespace ``/``: handshake checks, access rooms, client-event errors."""

    def __init__(self, name: str = "/") -> None:
        super().__init__(name)
        self.subscriptions = Subscriptions(name)
        self.on(CATCH_ALL, self.reject_client_event)

    def bind(self, server: SocketIOServer) -> None:
        """Use ``server``'s manager for the feed's rooms and its receiver for the feed's layer messages."""
        super().bind(server)
        manager = server.manager
        self.subscriptions.manager = manager
        manager.on_message(TABLE_EVENT, self.subscriptions.llana_table_event)
        manager.on_message(PERMISSIONS_CHANGED, self.subscriptions.llana_permissions_changed)

    async def on_connect(self, socket: Socket, auth: Any) -> bool | None:
        auth = auth if isinstance(auth, dict) else {}
        scope = socket.scope
        table = handshake_table(scope, auth)
        if table is None:
            raise ConnectionRefused(NO_TABLE_MESSAGE, {"status": 400})
        if not scope_allowed(scope):
            logger.warning("Refused socket from %s (not in HOSTS)", scope_address(scope) or "<unknown>")
            raise ConnectionRefused(FORBIDDEN_MESSAGE, {"status": 403})
        subscriptions = self.subscriptions
        generation = subscriptions.generation
        subscription = await database_sync_to_async(authorize)(
            table, token_from_handshake(scope, auth), api_key_from_handshake(scope, auth)
        )
        # If the client leaves meanwhile, the server still calls on_disconnect (which removes it again).
        await subscriptions.add(socket, subscription, generation)
        logger.debug("Table feed: socket %s follows %s", socket.sid, table)
        return None

    async def on_disconnect(self, socket: Socket, reason: str) -> None:
        self.subscriptions.remove(socket)

    @staticmethod
    async def reject_client_event(socket: Socket, event: str, *args: Any) -> dict[str, Any]:
        """The catch-all handler: any client event gets Llana's ``exception`` event, and the same body as ack."""
        body = client_event_error(event, args)
        await socket.emit(EXCEPTION_EVENT, body)
        return body


#: The feed registered on ``default_server`` by ``LlanaRealtimeConfig.ready()``.
feed = TableFeed("/")
