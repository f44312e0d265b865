"""Where credentials travel: the one place that reads an access token or an API key from a request or an
ASGI scope.

Access tokens (REST, the realtime middleware and the Socket.IO handshake alike):

- ``Authorization: Bearer <token>`` first, else the ``accessToken`` cookie (``ACCESS_COOKIE``), which
  ``POST /auth/login`` sets. ``token_from_request(request)`` and ``token_from_scope(scope)`` apply this
  rule to a Django/DRF request and to an ASGI scope; ``token_from_handshake(scope, auth)`` adds the
  Socket.IO ``CONNECT`` payload's ``{"token": ...}`` between the two.
- Values that mean "no token" (``Bearer undefined``, ``Bearer null``, ``Bearer`` alone or empty; older
  clients send them before login) are no token, on REST and sockets alike: the next place is read, and
  without any credential the caller is anonymous (public tables).
- A header repeated in a scope reads as its values joined with ``,`` (``scope_header()``): the value
  Django's ``ASGIRequest`` puts in ``request.META`` for the same scope, so REST and sockets see one value.

API keys: ``LLANA["API_KEY_NAME"]`` (``x-api-key``) in the place ``LLANA["API_KEY_LOCATION"]`` names
(``HEADER``, ``QUERY`` or ``BODY``): ``api_key_from_request(request)``. In the query or the body the name
is reserved: never a filter (``api_key_query_parameter()``), never a column to write (a key read from a
JSON body is removed from it). On a Socket.IO handshake, ``api_key_from_handshake(scope, auth)``: the
header, else the ``CONNECT`` payload's key of the same name (``auth: {"x-api-key": ...}``, for browsers),
else (``QUERY``) the handshake URL's query parameter. Empty, ``undefined`` and ``null`` keys are no key.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs

from django.http import HttpRequest
from django.http.cookie import parse_cookie
from rest_framework import exceptions
from rest_framework.request import Request

from llana.settings import llana_settings

ACCESS_COOKIE = "accessToken"
REFRESH_COOKIE = "refreshToken"
BEARER = "Bearer "
MISSING_TOKEN_MESSAGE = "Missing authorization token. Use either <Bearer> token header or accessToken cookie"
# What JavaScript clients send when they have no token yet: `Bearer ${token}` with token undefined or null.
NO_TOKEN_VALUES = frozenset({"", "undefined", "null"})


def no_token(value: str) -> bool:
    """Whether a credential's text means "no credential" (empty, ``undefined``, ``null``)."""
    return value.strip().lower() in NO_TOKEN_VALUES


def bearer_token(value: str | None) -> str | None:
    """The token of an ``Authorization`` value ``Bearer <token>``; None for any other value or a "no token"
    value (``Bearer``, ``Bearer undefined``, ``Bearer null``)."""
    if value and value.startswith(BEARER):
        token = value[len(BEARER) :].strip()
        return None if no_token(token) else token
    return None


def scope_header(scope: Mapping[str, Any], name: bytes) -> str | None:
    """The value of header ``name`` (lower case) in an ASGI scope, or None.

    A repeated header reads as its values joined with ``,`` in order, as Django's ``ASGIRequest`` builds
    ``request.META`` from the same scope; ``Cookie`` headers are joined with ``; `` instead, so that cookies
    split over several headers (as HTTP/2 sends them) all parse.
    """
    values = [bytes(value).decode("latin-1") for key, value in scope.get("headers") or () if bytes(key).lower() == name]
    if not values:
        return None
    if name == b"cookie":
        return "; ".join(value.rstrip("; ") for value in values)
    return ",".join(values)


def scope_query(scope: Mapping[str, Any]) -> dict[str, str]:
    """The query string of an ASGI scope as a dict (blank values kept); a repeated parameter keeps its last value."""
    raw = scope.get("query_string", b"")
    parsed = parse_qs(raw.decode("latin-1") if isinstance(raw, bytes) else str(raw), keep_blank_values=True)
    return {key: values[-1] for key, values in parsed.items()}


def scope_cookie(scope: Mapping[str, Any], name: str) -> str | None:
    """The value of cookie ``name`` in an ASGI scope's ``Cookie`` header(s), or None when missing or empty."""
    header = scope_header(scope, b"cookie")
    return (parse_cookie(header).get(name) or None) if header else None


def token_from_scope(scope: Mapping[str, Any]) -> str | None:
    """The access token of an ASGI scope: ``Authorization: Bearer``, else the ``accessToken`` cookie."""
    return bearer_token(scope_header(scope, b"authorization")) or scope_cookie(scope, ACCESS_COOKIE)


def token_from_handshake(scope: Mapping[str, Any], auth: Mapping[str, Any]) -> str | None:
    """The access token of a Socket.IO connection: ``Authorization: Bearer``, then the ``CONNECT``
    payload's ``token`` (``Bearer `` optional), then the ``accessToken`` cookie."""
    header = bearer_token(scope_header(scope, b"authorization"))
    if header:
        return header
    token = auth.get("token")
    if isinstance(token, str):
        token = token.strip()
        token = bearer_token(token) if token.startswith(BEARER) else token
        if token and token != BEARER.strip() and not no_token(token):
            return token
    return scope_cookie(scope, ACCESS_COOKIE)


def _django_request(request: HttpRequest | Request) -> HttpRequest:
    return request._request if isinstance(request, Request) else request


def token_from_request(request: HttpRequest | Request) -> tuple[str | None, bool]:
    """``(token, from_cookie)`` of a Django or DRF request: the Bearer header first, else the
    ``accessToken`` cookie (a cookie-borne token needs Django's CSRF check on unsafe methods)."""
    raw = _django_request(request)
    header = bearer_token(raw.META.get("HTTP_AUTHORIZATION", ""))
    if header:
        return header, False
    cookie = raw.COOKIES.get(ACCESS_COOKIE)
    if cookie:
        return cookie, True
    return None, False


def api_key_query_parameter() -> str | None:
    """The query parameter carrying the API key when ``API_KEY_LOCATION`` is ``QUERY`` (reserved: never a
    filter), else None."""
    if str(llana_settings.API_KEY_LOCATION).upper() == "QUERY":
        return str(llana_settings.API_KEY_NAME)
    return None


def api_key_from_request(request: HttpRequest | Request) -> str | None:
    """The API key of a request, from where ``API_KEY_LOCATION`` says; a key read from a parsed JSON body
    is removed from it (a credential, never a column to write)."""
    name = str(llana_settings.API_KEY_NAME)
    location = str(llana_settings.API_KEY_LOCATION).upper()
    raw = _django_request(request)
    if location == "HEADER":
        value = raw.headers.get(name)
    elif location == "QUERY":
        value = raw.GET.get(name)
    else:
        value = _body_value(request, name)
        if isinstance(request, Request) and isinstance(request.data, dict):
            request.data.pop(name, None)
    if value is None or no_token(str(value)):
        return None
    return str(value).strip()


def api_key_from_handshake(scope: Mapping[str, Any], auth: Mapping[str, Any]) -> str | None:
    """The API key of a Socket.IO connection: the ``API_KEY_NAME`` header, then the ``CONNECT`` payload's
    key of that name (browsers can't set headers on a WebSocket), then, when ``API_KEY_LOCATION`` is
    ``QUERY``, the handshake's query parameter. None without a key (or a "no key" value)."""
    name = str(llana_settings.API_KEY_NAME)
    value: Any = scope_header(scope, name.lower().encode("latin-1"))
    if value is None or no_token(value):
        value = auth.get(name)
    if (not isinstance(value, str) or no_token(value)) and api_key_query_parameter():
        value = scope_query(scope).get(name)
    if not isinstance(value, str) or no_token(value):
        return None
    return value.strip()


def _body_value(request: HttpRequest | Request, name: str) -> Any:
    data: Any
    if isinstance(request, Request):
        try:
            data = request.data
        except exceptions.ParseError:
            return None
    elif request.META.get("CONTENT_TYPE", "").startswith("application/json"):
        try:
            data = json.loads(request.body or b"null")
        except ValueError:
            return None
    else:
        data = request.POST
    return data.get(name) if hasattr(data, "get") else None
