"""ASGI type aliases (as starlette's ``types.py``) and helpers that read an ASGI scope."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import Any
from urllib.parse import parse_qs

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def query_params(scope: Mapping[str, Any]) -> dict[str, str]:
    """The query string of ``scope`` as a dict; a repeated parameter keeps its last value."""
    raw = scope.get("query_string", b"")
    parsed = parse_qs(raw.decode("latin-1") if isinstance(raw, bytes) else raw, keep_blank_values=True)
    return {key: values[-1] for key, values in parsed.items()}
