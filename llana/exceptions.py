"""One JSON error shape for every error: ``{"statusCode": 400, "error": "Bad Request", "message": "..."}``."""
from __future__ import annotations

from http import HTTPStatus
from typing import Any

from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


def error_body(status_code: int, message: Any) -> dict[str, Any]:
    return {"statusCode": status_code, "error": HTTPStatus(status_code).phrase, "message": message}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    detail = response.data.get("detail", response.data) if isinstance(response.data, dict) else response.data
    response.data = error_body(response.status_code, detail)
    return response
