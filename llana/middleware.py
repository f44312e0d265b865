"""``LlanaMiddleware``: Llana's headers on every response, and JSON errors outside DRF.

- ``X-Robots-Tag: noindex, nofollow`` on every response, as Llana sends it.
- The ``x-request-id`` request header is echoed as a response header (bodies carry it as
  ``_x_request_id``; ``docs/rest-api.md``).
- Django's own 404/405 pages (unrouted paths, or raised from llana's views) become
  ``{"statusCode", "error", "message"}`` JSON; an unexpected exception in a llana view is logged and
  answered with a JSON 500, never a traceback; Django's refusals of client input (too many parameters, ...)
  are a JSON 400.
- A ``Content-Length`` over ``LLANA["MAX_BODY_BYTES"]`` on a llana view is a JSON 413 before the view runs.

``RequestBodyLimit`` is the same body limit as an ASGI wrapper, for the bodies no header announces (chunked),
and a deadline for receiving a body (``LLANA["BODY_TIMEOUT"]``, against clients that send it byte by byte):
Django's ASGI handler reads a whole body before any middleware runs, so only a wrapper around it can stop
reading. ``project/asgi.py`` wraps the Django application in it.

The middleware is sync- and async-capable: under an ASGI server (daphne, uvicorn) it runs in the event
loop, so it adds no thread hop to a request (a sync-only middleware makes Django wrap the rest of the chain
in ``async_to_sync``, and such a request in flight kept daphne from shutting down on SIGTERM).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponse, JsonResponse

from llana.exceptions import LlanaError, body_timeout, body_too_large, client_error, error_body
from llana.settings import llana_settings

logger = logging.getLogger(__name__)

MESSAGES = {404: "Cannot {method} {path}", 405: "Method {method} not allowed on {path}"}


def is_llana_view(request: HttpRequest) -> bool:
    match = getattr(request, "resolver_match", None)
    if match is None:
        return True  # unrouted: nobody else claims the path
    module = getattr(match.func, "__module__", "") or ""
    return module == "llana" or module.startswith("llana.")


class HybridMiddleware:
    """Base of llana's middleware: async under an ASGI server (no thread hop), sync under WSGI.

    Subclasses implement ``__call__`` (returning ``self.__acall__(request)`` when ``self.is_async``) and
    ``__acall__``.
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        raise NotImplementedError  # pragma: no cover - every subclass answers


class LlanaMiddleware(HybridMiddleware):
    """Llana's headers and JSON errors (sync and async)."""

    def __call__(self, request: HttpRequest) -> Any:
        if self.is_async:
            return self.__acall__(request)
        return self.finish(request, self.get_response(request))

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        return self.finish(request, await self.get_response(request))

    @staticmethod
    def finish(request: HttpRequest, response: HttpResponse) -> HttpResponse:
        """The JSON 404/405 conversion and Llana's headers, on the way out."""
        if response.status_code in MESSAGES and not is_json(response) and is_llana_view(request):
            message = MESSAGES[response.status_code].format(method=request.method, path=request.path)
            response = rebuild(response, error_body(response.status_code, message))
        response["X-Robots-Tag"] = "noindex, nofollow"
        request_id = request.headers.get("x-request-id")
        if request_id is not None and "X-Request-Id" not in response and request_id.isprintable():
            response["X-Request-Id"] = request_id
        return response

    def process_view(self, request: HttpRequest, view: Any, args: Any, kwargs: Any) -> HttpResponse | None:
        """413 for an announced body over ``MAX_BODY_BYTES`` (the parsers also bound what they read)."""
        limit = int(llana_settings.MAX_BODY_BYTES)
        if content_length(request.META.get("CONTENT_LENGTH")) > limit and is_llana_view(request):
            error = body_too_large(limit)
            return JsonResponse(error_body(error.status_code, error.message), status=error.status_code)
        return None

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not is_llana_view(request):
            return None
        error = client_error(exception)
        if error is not None:
            return JsonResponse(error_body(error.status_code, error.message), status=error.status_code)
        logger.exception("Unexpected error on %s %s", request.method, request.path)
        return JsonResponse(error_body(500, "Internal server error"), status=500)


def is_json(response: HttpResponse) -> bool:
    return str(response.get("Content-Type", "")).startswith("application/json")


def rebuild(response: HttpResponse, body: dict[str, Any]) -> HttpResponse:
    new = HttpResponse(json.dumps(body), status=response.status_code, content_type="application/json")
    if response.has_header("Allow"):
        new["Allow"] = response["Allow"]
    return new


def content_length(value: Any) -> int:
    try:
        return int(value or 0)
    except ValueError:
        return 0


class RequestBodyLimit:
    """ASGI wrapper: an HTTP body over ``LLANA["MAX_BODY_BYTES"]`` is answered 413, a body still incomplete
    after ``LLANA["BODY_TIMEOUT"]`` seconds 408 (Llana's JSON error body), by this wrapper.

    A ``Content-Length`` over the limit is refused before a byte is read. Otherwise the body is read (at most
    the limit plus one chunk) before the wrapped application starts, then replayed to it; the moment it passes
    the limit or the deadline, reading stops and the wrapped application never runs. Other scopes pass
    through untouched.
    """

    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = int(llana_settings.MAX_BODY_BYTES)
        headers = dict(scope.get("headers") or [])
        if content_length(headers.get(b"content-length", b"").decode("latin-1").strip()) > limit:
            await self.refuse(send, body_too_large(limit))
            return
        messages: list[dict[str, Any]] = []
        seconds = float(llana_settings.BODY_TIMEOUT)
        try:
            too_large = await asyncio.wait_for(self.read_body(receive, messages, limit), seconds)
        except asyncio.TimeoutError:  # not the builtin TimeoutError before Python 3.11
            await self.refuse(send, body_timeout(seconds))
            return
        if too_large:
            await self.refuse(send, body_too_large(limit))
            return

        async def replay() -> Any:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)

    @staticmethod
    async def read_body(receive: Callable[..., Any], messages: list[dict[str, Any]], limit: int) -> bool:
        """Read the body's messages into ``messages``; True as soon as they pass ``limit`` bytes."""
        size = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                return False  # a disconnect: the application sees it in turn
            size += len(message.get("body", b""))
            if size > limit:
                return True
            if not message.get("more_body", False):
                return False

    @staticmethod
    async def refuse(send: Callable[..., Any], error: LlanaError) -> None:
        body = json.dumps(error_body(error.status_code, error.message)).encode()
        await send(
            {
                "type": "http.response.start",
                "status": error.status_code,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                    (b"x-robots-tag", b"noindex, nofollow"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
