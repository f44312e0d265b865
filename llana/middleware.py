"""``LlanaMiddleware``: Llana's headers on every response, and JSON errors outside DRF.

- ``X-Robots-Tag: noindex, nofollow`` on every response, as Llana sends it.
- The ``x-request-id`` request header is echoed as a response header (bodies carry it as
  ``_x_request_id``; ``docs/rest-api.md``).
- Django's own 404/405 pages (unrouted paths, or raised from llana's views) become
  ``{"statusCode", "error", "message"}`` JSON; an unexpected exception in a llana view is logged and
  answered with a JSON 500, never a traceback.

The middleware is sync- and async-capable: under an ASGI server (daphne, uvicorn) it runs in the event
loop, so it adds no thread hop to a request (a sync-only middleware makes Django wrap the rest of the chain
in ``async_to_sync``, and such a request in flight kept daphne from shutting down on SIGTERM).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponse, JsonResponse

from llana.exceptions import error_body

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

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not is_llana_view(request):
            return None
        logger.exception("Unexpected error on %s %s", request.method, request.path)
        return JsonResponse(error_body(500, "Internal server error"), status=500)


def is_json(response: HttpResponse) -> bool:
    return str(response.get("Content-Type", "")).startswith("application/json")


def rebuild(response: HttpResponse, body: dict[str, Any]) -> HttpResponse:
    new = HttpResponse(json.dumps(body), status=response.status_code, content_type="application/json")
    if response.has_header("Allow"):
        new["Allow"] = response["Allow"]
    return new
