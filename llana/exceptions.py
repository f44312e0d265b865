"""One JSON error shape for every error: ``{"statusCode": 400, "error": "Bad Request", "message": "..."}``.

Validation failures add ``"errors": {"<column>": ["<problem>", ...]}``. Views raise the exceptions
below (or DRF's); ``exception_handler`` renders them, and ``llana.middleware`` turns Django's own 404/405
pages and unexpected exceptions into the same shape.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation, TooManyFieldsSent, TooManyFilesSent
from django.http import Http404
from rest_framework import exceptions
from rest_framework.response import Response

logger = logging.getLogger(__name__)


def error_body(status_code: int, message: Any, errors: dict[str, list[str]] | None = None) -> dict[str, Any]:
    try:
        phrase = HTTPStatus(status_code).phrase
    except ValueError:
        phrase = "Error"
    body: dict[str, Any] = {"statusCode": status_code, "error": phrase, "message": message}
    if errors:
        body["errors"] = errors
    return body


class LlanaError(exceptions.APIException):
    """Base of llana's API errors: a status, a message and optionally per-field ``errors``."""

    status_code = 400
    default_detail = "Bad Request"
    default_code = "bad_request"

    def __init__(self, message: str | None = None, errors: dict[str, list[str]] | None = None) -> None:
        super().__init__(message or self.default_detail)
        self.message = str(message or self.default_detail)
        self.errors = errors


class BadRequest(LlanaError):
    status_code = 400
    default_detail = "Bad Request"
    default_code = "bad_request"


class Unauthorized(LlanaError):
    """401: missing or invalid credentials (not DRF's NotAuthenticated, which DRF may turn into a 403)."""

    status_code = 401
    default_detail = "Unauthorized"
    default_code = "unauthorized"


class Forbidden(LlanaError):
    status_code = 403
    default_detail = "Forbidden"
    default_code = "forbidden"


class NotFound(LlanaError):
    status_code = 404
    default_detail = "Not Found"
    default_code = "not_found"


class TableNotFound(NotFound):
    def __init__(self, table: str) -> None:
        super().__init__(f"Table {table} not found")


class RecordNotFound(NotFound):
    def __init__(self, pk: Any) -> None:
        super().__init__(f"Record with id {pk} not found")


class PayloadTooLarge(LlanaError):
    status_code = 413
    default_detail = "Request body too large"
    default_code = "payload_too_large"


class RequestTimeout(LlanaError):
    status_code = 408
    default_detail = "Request timeout"
    default_code = "request_timeout"


def body_timeout(seconds: float) -> RequestTimeout:
    return RequestTimeout(f"Request body not received within {seconds:g} seconds (LLANA['BODY_TIMEOUT'])")


def body_too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"Request body too large: at most {limit} bytes (LLANA['MAX_BODY_BYTES'])")


def client_error(exc: Exception) -> LlanaError | None:
    """The 4xx for an exception Django raises on bad client input (``SuspiciousOperation``), else None."""
    if isinstance(exc, TooManyFieldsSent):
        limit = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
        return BadRequest(
            f"Too many parameters: at most {limit} query or form parameters (DATA_UPLOAD_MAX_NUMBER_FIELDS)"
        )
    if isinstance(exc, TooManyFilesSent):
        return BadRequest(
            f"Too many files: at most {settings.DATA_UPLOAD_MAX_NUMBER_FILES} (DATA_UPLOAD_MAX_NUMBER_FILES)"
        )
    if isinstance(exc, RequestDataTooBig):
        return PayloadTooLarge(
            f"Request body too large (DATA_UPLOAD_MAX_MEMORY_SIZE: {settings.DATA_UPLOAD_MAX_MEMORY_SIZE})"
        )
    if isinstance(exc, SuspiciousOperation):
        return BadRequest("Bad request")
    return None


def denied(status_code: int, message: str) -> LlanaError:
    """The exception for a refused permission decision (401 or 403)."""
    if status_code == 401:
        return Unauthorized(message)
    if status_code == 403:
        return Forbidden(message)
    error = LlanaError(message)
    error.status_code = status_code
    return error


def _message(detail: Any) -> Any:
    if isinstance(detail, dict):
        detail = detail.get("detail", detail)
    if isinstance(detail, list) and len(detail) == 1:
        detail = detail[0]
    return str(detail) if isinstance(detail, str) else detail


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF exception handler: every handled exception becomes ``error_body()`` (unhandled ones: None)."""
    if isinstance(exc, Http404):
        exc = NotFound(str(exc) or None)
    elif isinstance(exc, DjangoPermissionDenied):
        exc = Forbidden(str(exc) or None)
    elif (error := client_error(exc)) is not None:
        exc = error
    if not isinstance(exc, exceptions.APIException):
        return None
    headers: dict[str, str] = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header  # type: ignore[attr-defined]
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(int(exc.wait))  # type: ignore[attr-defined]
    if isinstance(exc, LlanaError):
        body = error_body(exc.status_code, exc.message, exc.errors)
    else:
        body = error_body(exc.status_code, _message(exc.detail))
    return Response(body, status=exc.status_code, headers=headers)
