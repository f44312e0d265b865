"""Where credentials travel: one reader for requests, ASGI scopes and the Socket.IO handshake."""

from __future__ import annotations

from io import BytesIO
from typing import Any

import pytest
from django.core.handlers.asgi import ASGIRequest
from django.test import RequestFactory

from llana.auth.credentials import (
    ACCESS_COOKIE,
    scope_header,
    token_from_handshake,
    token_from_request,
    token_from_scope,
)


def scope(*headers: tuple[bytes, bytes]) -> dict[str, Any]:
    return {"type": "http", "method": "GET", "path": "/", "query_string": b"", "headers": list(headers)}


@pytest.mark.parametrize(
    "headers",
    [
        [(b"authorization", b"Bearer one")],
        [(b"Authorization", b"Bearer one"), (b"authorization", b"Bearer two")],
        [(b"x-real-ip", b"10.0.0.1"), (b"X-Real-IP", b"10.0.0.2"), (b"x-real-ip", b"10.0.0.3")],
    ],
)
def test_scope_header_reads_what_django_puts_in_meta(headers: list[tuple[bytes, bytes]]) -> None:
    request = ASGIRequest(scope(*headers), BytesIO())
    name = headers[0][0].lower()
    meta = "HTTP_" + name.decode().upper().replace("-", "_")
    assert scope_header(scope(*headers), name) == request.META[meta]


def test_cookies_split_over_several_headers_are_all_read() -> None:
    headers = scope((b"cookie", b"other=1"), (b"cookie", f"{ACCESS_COOKIE}=from-cookie".encode()))
    assert token_from_scope(headers) == "from-cookie"


def test_scope_header_missing() -> None:
    assert scope_header(scope(), b"authorization") is None
    assert scope_header({}, b"authorization") is None


def test_token_from_scope_prefers_the_bearer_header() -> None:
    cookie = (b"cookie", f"{ACCESS_COOKIE}=from-cookie; other=1".encode())
    assert token_from_scope(scope((b"authorization", b"Bearer from-header"), cookie)) == "from-header"
    assert token_from_scope(scope(cookie)) == "from-cookie"
    assert token_from_scope(scope((b"authorization", b"Bearer "), cookie)) == "from-cookie"
    assert token_from_scope(scope((b"authorization", b"Basic abc"))) is None
    assert token_from_scope(scope()) is None


def test_token_from_handshake_reads_header_then_auth_then_cookie() -> None:
    cookie = (b"cookie", f"{ACCESS_COOKIE}=from-cookie".encode())
    header = (b"authorization", b"Bearer from-header")
    assert token_from_handshake(scope(header, cookie), {"token": "from-auth"}) == "from-header"
    assert token_from_handshake(scope(cookie), {"token": "from-auth"}) == "from-auth"
    assert token_from_handshake(scope(cookie), {"token": "Bearer from-auth"}) == "from-auth"
    assert token_from_handshake(scope(cookie), {"token": "Bearer"}) == "from-cookie"
    assert token_from_handshake(scope(cookie), {"token": 42}) == "from-cookie"
    assert token_from_handshake(scope(), {}) is None


def test_token_from_request() -> None:
    factory = RequestFactory()
    assert token_from_request(factory.get("/", HTTP_AUTHORIZATION="Bearer abc")) == ("abc", False)
    with_cookie = factory.get("/")
    with_cookie.COOKIES[ACCESS_COOKIE] = "from-cookie"
    assert token_from_request(with_cookie) == ("from-cookie", True)
    assert token_from_request(factory.get("/")) == (None, False)
