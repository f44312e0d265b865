"""``JWTAuthMiddlewareStack``: ``scope["user"]`` from the Bearer header or the ``accessToken`` cookie."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing import HttpCommunicator, WebsocketCommunicator

from llana.auth.tokens import AccessToken
from llana_realtime.channels.middleware import JWTAuthMiddlewareStack
from tests.llana_realtime.feed_client import make_user, token_for

pytestmark = [pytest.mark.django_db(transaction=True)]


class Recorder:
    """An ASGI app that records the scope it got and accepts / answers 200."""

    def __init__(self) -> None:
        self.scopes: list[dict[str, Any]] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        self.scopes.append(scope)
        if scope["type"] == "websocket":
            await receive()
            await send({"type": "websocket.accept"})
            await receive()
        else:
            await receive()
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b""})


async def ws_scope(headers: dict[str, str]) -> dict[str, Any]:
    app = Recorder()
    raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    communicator = WebsocketCommunicator(
        JWTAuthMiddlewareStack(app), "/socket.io/?EIO=4&transport=websocket", headers=raw
    )
    connected, _ = await communicator.connect()
    assert connected
    await communicator.disconnect()
    return app.scopes[0]


async def http_scope(path: str, headers: dict[str, str]) -> dict[str, Any]:
    app = Recorder()
    raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    communicator = HttpCommunicator(JWTAuthMiddlewareStack(app), "GET", path, headers=raw)
    response = await communicator.get_response()
    assert response["status"] == 200
    return app.scopes[0]


async def test_bearer_header_and_cookie_authenticate_the_websocket() -> None:
    user = await make_user("u@x.com")
    token = token_for(user)
    for headers in ({"Authorization": f"Bearer {token}"}, {"Cookie": f"a=b; accessToken={token}"}):
        scope = await ws_scope(headers)
        assert scope["user"].pk == user.pk
        assert scope["llana_auth_error"] is None


async def test_missing_bad_expired_tokens_and_inactive_users_are_anonymous() -> None:
    user = await make_user("u@x.com")
    inactive = await make_user("i@x.com", is_active=False)
    expired = AccessToken.for_user(user)
    expired.set_exp(lifetime=-dt.timedelta(seconds=1))
    cases = [
        ({}, "Missing authorization token. Use either <Bearer> token header or accessToken cookie"),
        ({"Authorization": "Bearer nope"}, "Authentication Failed"),
        ({"Authorization": f"Bearer {expired}"}, "Access token expired"),
        ({"Authorization": f"Bearer {token_for(inactive)}"}, "Authentication Failed"),
    ]
    for headers, message in cases:
        scope = await ws_scope(headers)
        assert scope["user"].is_anonymous
        assert scope["llana_auth_error"] == message


async def test_only_engineio_handshakes_are_authenticated_over_http() -> None:
    user = await make_user("u@x.com")
    headers = {"Authorization": f"Bearer {token_for(user)}"}
    handshake = await http_scope("/socket.io/?EIO=4&transport=polling", headers)
    assert handshake["user"].pk == user.pk
    later_poll = await http_scope("/socket.io/?EIO=4&transport=polling&sid=abc", headers)
    assert "user" not in later_poll
    other = await http_scope("/Customer/", headers)
    assert "user" not in other


async def test_the_production_stack_wrapped_gives_feed_sockets_a_user() -> None:
    """The asgi.py change proposed in docs/realtime.md: the feed keeps working, sockets see scope["user"]."""
    from llana_realtime.socketio.server import default_server
    from project.asgi import application
    from tests.llana_realtime.feed_client import FeedClient, seed_default_roles

    await database_sync_to_async(seed_default_roles)()
    admin = await make_user("a@x.com", role="ADMIN")
    client = FeedClient(
        headers={"Authorization": f"Bearer {token_for(admin)}"}, application=JWTAuthMiddlewareStack(application)
    )
    try:
        answer = await client.connect({"x-llana-table": "Customer"})
        assert "sid" in answer, answer
        socket = default_server.get_socket(answer["sid"])
        assert socket is not None
        assert socket.scope["user"].pk == admin.pk
    finally:
        await client.close()
