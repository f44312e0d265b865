"""``JWTAuthMiddleware``: Channels middleware that puts the user of a Llana access token into ``scope["user"]``.

The table feed doesn't need it (it reads the header, cookie or ``auth.token`` of the handshake itself);
``llana_realtime.channels.asgi.realtime_application()`` adds it so that your own namespaces see
``socket.scope["user"]``. Around an application of your own::

    application = JWTAuthMiddlewareStack(ProtocolTypeRouter({...}))

The token comes from ``Authorization: Bearer <token>``, else the ``accessToken`` cookie (Llana's order),
and is read by ``llana.auth.credentials.token_from_scope`` and checked by ``llana.auth.tokens`` (simplejwt, HS256, ``LLANA["JWT_KEY"]``); the user is loaded through
``database_sync_to_async`` and must be able to log in (active, not soft-deleted). Failing tokens give an
``AnonymousUser`` and ``scope["llana_auth_error"]`` (Llana's message). Only WebSocket connections and
Engine.IO handshakes (HTTP requests under ``LLANA_REALTIME["PATH"]`` without a ``sid``) are authenticated:
other HTTP requests, and every later long-polling request of a session, pass through untouched, so
ordinary Django requests cost nothing. No per-connection state is kept on the middleware.
"""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from django.contrib.auth.models import AnonymousUser

from llana.auth.credentials import MISSING_TOKEN_MESSAGE, scope_query, token_from_scope
from llana.auth.identities import user_for_token
from llana.auth.tokens import FAILED_MESSAGE, InvalidAccessToken
from llana_realtime.settings import realtime_settings


@database_sync_to_async
def user_for_scope(scope: dict[str, Any]) -> tuple[Any, str | None]:
    """``(user, error message)`` for the token of ``scope``; ``AnonymousUser`` when missing or refused."""
    token = token_from_scope(scope)
    if not token:
        return AnonymousUser(), MISSING_TOKEN_MESSAGE
    try:
        return user_for_token(token), None
    except InvalidAccessToken as exc:
        return AnonymousUser(), str(exc)
    except Exception:  # e.g. a malformed pk on PostgreSQL: refuse, never crash the connection
        return AnonymousUser(), FAILED_MESSAGE


def _is_handshake(scope: dict[str, Any]) -> bool:
    if scope.get("type") == "websocket":
        return True
    if scope.get("type") != "http":
        return False
    path = str(realtime_settings.PATH).rstrip("/")
    if str(scope.get("path", "")).rstrip("/") != path:
        return False
    return "sid" not in scope_query(scope)  # read as the transports read it


class JWTAuthMiddleware(BaseMiddleware):
    """Sets ``scope["user"]`` (and ``scope["llana_auth_error"]``) from a Llana access token."""

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if _is_handshake(scope):
            scope = dict(scope)  # never mutate the caller's scope (see channels.auth.AuthMiddleware)
            user, error = await user_for_scope(scope)
            scope["user"] = user
            scope["llana_auth_error"] = error
        return await super().__call__(scope, receive, send)


def JWTAuthMiddlewareStack(inner: Any) -> JWTAuthMiddleware:
    """``JWTAuthMiddleware`` around ``inner`` (the counterpart of Channels' ``AuthMiddlewareStack``)."""
    return JWTAuthMiddleware(inner)
