"""``LlanaMiddleware`` in async mode: headers and JSON errors through the ASGI stack, no sync adapters."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from asgiref.sync import iscoroutinefunction
from channels.testing import HttpCommunicator
from django.core.handlers.asgi import ASGIHandler
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.test import RequestFactory, override_settings

from llana.api import views
from llana.middleware import LlanaMiddleware
from llana.registry import clear_registry
from project.asgi import application

OPEN = {"SKIP_AUTH": True, "DEFAULT_LIMIT": 20, "MAX_LIMIT": 100}


async def get(path: str, headers: list[tuple[bytes, bytes]] | None = None, method: str = "GET") -> dict[str, Any]:
    communicator = HttpCommunicator(application, method, path, headers=[(b"host", b"testserver"), *(headers or [])])
    response = await communicator.get_response()
    await communicator.wait()  # let Django close the request before the loop ends
    response["headers"] = {name.decode().lower(): value.decode() for name, value in response["headers"]}
    return response


def test_middleware_chain_runs_async_without_adapters(caplog: pytest.LogCaptureFixture) -> None:
    """No middleware of the project's MIDDLEWARE forces Django to wrap the chain in sync/async adapters."""
    with override_settings(DEBUG=True), caplog.at_level(logging.DEBUG, logger="django.request"):
        ASGIHandler()  # Django logs (in DEBUG) every middleware it has to adapt
    assert [r.getMessage() for r in caplog.records if "adapted" in r.getMessage()] == []


async def test_async_mode_instance() -> None:
    async def ok(request: HttpRequest) -> HttpResponse:
        return HttpResponse("ok")

    def ok_sync(request: HttpRequest) -> HttpResponse:
        return HttpResponse("ok")

    assert iscoroutinefunction(LlanaMiddleware(ok))
    assert not iscoroutinefunction(LlanaMiddleware(ok_sync))


@pytest.mark.django_db(transaction=True)
@override_settings(LLANA=OPEN)
async def test_async_request_gets_llana_headers() -> None:
    clear_registry()
    response = await get("/Customer/?limit=2", [(b"x-request-id", b"abc-123")])
    assert response["status"] == 200
    assert response["headers"]["x-robots-tag"] == "noindex, nofollow"
    assert response["headers"]["x-request-id"] == "abc-123"
    body = json.loads(response["body"])
    assert (body["limit"], body["total"], body["_x_request_id"]) == (2, 0, "abc-123")
    clear_registry()


@pytest.mark.django_db(transaction=True)
async def test_async_unrouted_path_is_json_404() -> None:
    response = await get("/a/b/c")
    assert response["status"] == 404
    assert response["headers"]["content-type"] == "application/json"
    assert response["headers"]["x-robots-tag"] == "noindex, nofollow"
    assert json.loads(response["body"]) == {"statusCode": 404, "error": "Not Found", "message": "Cannot GET /a/b/c"}


@pytest.mark.django_db(transaction=True)
@override_settings(LLANA=OPEN)
async def test_async_unexpected_error_is_json_500(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("secret internals")

    clear_registry()
    monkeypatch.setattr(views, "fetch_rows", broken)
    response = await get("/Customer/")
    assert response["status"] == 500
    assert json.loads(response["body"]) == {
        "statusCode": 500,
        "error": "Internal Server Error",
        "message": "Internal server error",
    }
    assert b"secret" not in response["body"]
    assert response["headers"]["x-robots-tag"] == "noindex, nofollow"
    clear_registry()


async def test_async_405_from_a_llana_view_is_json() -> None:
    async def not_allowed(request: HttpRequest) -> HttpResponse:
        return HttpResponseNotAllowed(["GET"])

    request = RequestFactory().post("/unrouted", headers={"x-request-id": "r-1"})
    response = await LlanaMiddleware(not_allowed)(request)
    assert response.status_code == 405
    assert response["Allow"] == "GET"
    assert response["X-Request-Id"] == "r-1"
    assert json.loads(response.content) == {
        "statusCode": 405,
        "error": "Method Not Allowed",
        "message": "Method POST not allowed on /unrouted",
    }
