"""Input limits: body size, bulk length, JSON depth and surrogates, query parameters, limit/offset parsing.

Every refusal is a JSON 4xx in Llana's error shape naming the parameter or the setting, never a 500
(``docs/security.md``, "Input limits").
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
from typing import Any

import pytest
from django.core.checks import Error
from django.test import Client

from llana.api.parsers import LlanaJSONParser
from llana.checks import check_limit_settings
from llana.exceptions import PayloadTooLarge
from llana.middleware import RequestBodyLimit
from project.asgi import StaticFilesHandler
from tests.llana.auth_support import PASSWORD, make_user

pytestmark = pytest.mark.django_db


def assert_error(response: Any, status: int, *words: str) -> dict[str, Any]:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["statusCode"] == status
    for word in words:
        assert word in body["message"], body["message"]
    return body


def token(data: Any) -> str:
    return base64.b64encode(json.dumps(data).encode()).decode()


# --- limit / offset / page ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("limit", "--1"),
        ("limit", "+-5"),
        ("limit", "-+5"),
        ("limit", "①"),
        ("limit", "²"),
        ("limit", "١٢"),  # Arabic-Indic digits: int() takes them, Llana does not
        ("offset", "²"),
        ("offset", "--1"),
        ("offset", "+-5"),
        ("offset", "①"),
    ],
)
def test_limit_and_offset_that_are_not_ascii_numbers_are_400(open_api: Any, demo: Any, name: str, value: str) -> None:
    assert_error(open_api.get("/SalesOrder/", {name: value}), 400, name)


@pytest.mark.parametrize("value", ["--1", "+-5", "①", "²", "١"])
@pytest.mark.parametrize("key", ["limit", "offset"])
def test_the_same_inside_a_page_token_is_400(open_api: Any, demo: Any, key: str, value: str) -> None:
    data = {"limit": 5, "offset": 0, key: value}
    assert_error(open_api.get("/SalesOrder/", {"page": token(data)}), 400, "page")


def test_plain_numbers_still_work(open_api: Any, demo: Any) -> None:
    body = open_api.get("/SalesOrder/", {"limit": " +2 ", "offset": "1"}).json()
    assert (body["limit"], body["offset"]) == (2, 1)
    body = open_api.get("/SalesOrder/", {"page": token({"limit": "3", "offset": "+1"})}).json()
    assert (body["limit"], body["offset"]) == (3, 1)


# --- too many parameters --------------------------------------------------------------------------


def test_more_than_1000_query_parameters_is_400(open_api: Any, demo: Any) -> None:
    query = "&".join(f"p{i}=1" for i in range(1001))
    assert_error(open_api.get(f"/SalesOrder/?{query}"), 400, "parameters")
    assert_error(open_api.get(f"/SalesOrder/1?{query}"), 400, "parameters")


def test_more_than_1000_form_fields_is_400(client: Client, db: Any) -> None:
    body = "&".join(f"p{i}=1" for i in range(1001))
    response = client.post("/auth/login", body, content_type="application/x-www-form-urlencoded")
    assert_error(response, 400, "parameters")


# --- JSON bodies: depth, surrogates ---------------------------------------------------------------


DEEP = "[" * 1000 + "]" * 1000


def test_json_nested_1000_deep_is_400(open_api: Any) -> None:
    assert_error(open_api.post("/Customer/", DEEP, content_type="application/json"), 400, "deep")


@pytest.mark.parametrize("path", ["/auth/login", "/auth/refresh", "/auth/logout"])
def test_json_nested_1000_deep_is_400_on_the_auth_endpoints(client: Client, db: Any, path: str) -> None:
    assert_error(client.post(path, DEEP, content_type="application/json"), 400, "deep")


def test_json_deeper_than_the_limit_is_400(open_api: Any, settings: Any, demo: Any) -> None:
    settings.LLANA = {**settings.LLANA, "MAX_JSON_DEPTH": 4}
    ok = {"companyName": "x", "userId": demo.users[0].pk, "city": "Berlin"}
    assert open_api.post("/Customer/", [ok], content_type="application/json").status_code == 201
    assert (
        open_api.post("/Customer/", json.dumps({"a": {"b": {"c": 1}}}), content_type="application/json").status_code
        == 400
    )
    deep = json.dumps({"companyName": {"a": {"b": [[1]]}}})
    assert_error(open_api.post("/Customer/", deep, content_type="application/json"), 400, "deep", "4")


LONE = '"\\ud800"'


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/auth/login", '{"username": ' + LONE + ', "password": "x"}'),
        ("/auth/login", '{"username": "a@b.c", "password": ' + LONE + "}"),
        ("/auth/refresh", '{"refresh_token": ' + LONE + "}"),
        ("/auth/logout", '{"refresh_token": ' + LONE + "}"),
        ("/auth/login", "{" + LONE + ": 1}"),
    ],
)
def test_a_lone_surrogate_is_400_on_the_auth_endpoints(client: Client, db: Any, path: str, body: str) -> None:
    make_user("a@b.c")
    assert_error(client.post(path, body, content_type="application/json"), 400, "surrogate")


def test_a_lone_surrogate_is_400_on_a_write(open_api: Any, demo: Any) -> None:
    pk = demo.users[1].pk
    response = open_api.put(f"/User/{pk}", '{"firstName": "a\\udfffb"}', content_type="application/json")
    assert_error(response, 400, "surrogate")
    pair = open_api.put(f"/User/{pk}", '{"firstName": "\\ud83d\\ude00"}', content_type="application/json")
    assert pair.status_code == 200  # an escaped surrogate pair is one character: fine
    assert pair.json()["firstName"] == "\U0001f600"


@pytest.mark.parametrize("form", [False, True])
def test_a_nul_in_the_username_is_401(client: Client, db: Any, form: bool) -> None:
    """PostgreSQL refuses a NUL in a text parameter: this was a 500 there (found by test_fuzz.py's probes)."""
    make_user("a@b.c")
    body = {"username": "a@b.c\x00", "password": PASSWORD}
    response = client.post("/auth/login", body) if form else client.post("/auth/login", body, "application/json")
    assert_error(response, 401)


def test_login_still_works(client: Client, db: Any) -> None:
    make_user("a@b.c")
    body = {"username": "a@b.c", "password": PASSWORD}
    assert client.post("/auth/login", body, content_type="application/json").status_code == 200
    assert client.post("/auth/login", body).status_code == 200  # form


# --- body size ------------------------------------------------------------------------------------


def test_a_body_over_max_body_bytes_is_413(open_api: Any, settings: Any, demo: Any) -> None:
    settings.LLANA = {**settings.LLANA, "MAX_BODY_BYTES": 100}
    body = json.dumps({"companyName": "x" * 200})
    body413 = assert_error(open_api.post("/Customer/", body, content_type="application/json"), 413, "MAX_BODY_BYTES")
    assert body413["error"] == "Content Too Large" or body413["error"] == "Request Entity Too Large"
    assert_error(open_api.post("/auth/login", body, content_type="application/json"), 413, "100")
    small = json.dumps({"companyName": "x"})
    assert open_api.post("/Customer/", small, content_type="application/json").status_code == 400  # userId missing


def test_the_default_body_limit_is_one_mebibyte(open_api: Any, demo: Any) -> None:
    body = json.dumps([{"companyName": "x" * 1000}] * 1100)  # ~1.1 MB
    assert_error(open_api.post("/Customer/", body, content_type="application/json"), 413, "1048576")


def test_the_parser_reads_a_stream_of_unknown_length_bounded(settings: Any) -> None:
    """A body no header announces goes through the same bounded read: the parser stops at the limit + 1."""
    settings.LLANA = {"MAX_BODY_BYTES": 100}
    stream = io.BytesIO(json.dumps({"companyName": "x" * 200}).encode())
    with pytest.raises(PayloadTooLarge):
        LlanaJSONParser().parse(stream)
    assert stream.tell() == 101
    assert LlanaJSONParser().parse(io.BytesIO(b'{"a": [1, "\\\\ud800 is text"]}')) == {"a": [1, "\\ud800 is text"]}


def asgi_call(
    app: Any, scope: dict[str, Any], chunks: list[bytes], complete: bool = True
) -> tuple[list[dict[str, Any]], int]:
    """Run an ASGI app on one HTTP request; returns the sent messages and how many body chunks were read."""
    messages = [{"type": "http.request", "body": c, "more_body": i < len(chunks) - 1} for i, c in enumerate(chunks)]
    if not complete:
        messages[-1]["more_body"] = True  # the client stops sending before the end of its body
    sent: list[dict[str, Any]] = []
    read = 0

    async def receive() -> dict[str, Any]:
        nonlocal read
        if read < len(messages):
            read += 1
            return messages[read - 1]
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}  # pragma: no cover

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    return sent, read


def http_scope(path: str = "/Customer/", headers: list[tuple[bytes, bytes]] | None = None) -> dict[str, Any]:
    return {"type": "http", "method": "POST", "path": path, "query_string": b"", "headers": headers or []}


async def echo_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


def test_asgi_guard_refuses_a_chunked_body_over_the_limit(settings: Any) -> None:
    settings.LLANA = {"MAX_BODY_BYTES": 10}
    sent, read = asgi_call(RequestBodyLimit(echo_app), http_scope(), [b"12345", b"67890", b"X", b"never read"])
    assert sent[0]["status"] == 413
    assert dict(sent[0]["headers"])[b"content-type"] == b"application/json"
    assert json.loads(sent[1]["body"])["statusCode"] == 413
    assert read == 3  # stopped reading as soon as the limit was passed


def test_asgi_guard_refuses_a_content_length_over_the_limit_before_reading(settings: Any) -> None:
    settings.LLANA = {"MAX_BODY_BYTES": 10}
    scope = http_scope(headers=[(b"content-length", b"11")])
    sent, read = asgi_call(RequestBodyLimit(echo_app), scope, [b"12345678901"])
    assert sent[0]["status"] == 413
    assert read == 0


def test_asgi_guard_passes_a_body_within_the_limit(settings: Any) -> None:
    settings.LLANA = {"MAX_BODY_BYTES": 10}
    sent, _ = asgi_call(RequestBodyLimit(echo_app), http_scope(), [b"12345", b"67890"])
    assert sent[0]["status"] == 200
    assert sent[1]["body"] == b"1234567890"


def test_asgi_guard_answers_408_to_a_body_that_does_not_arrive_in_time(settings: Any) -> None:
    """A client sending its body byte by byte (slowloris) is cut off at BODY_TIMEOUT, Django never starts."""
    settings.LLANA = {"BODY_TIMEOUT": 0.05}
    started = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        started.append(scope)  # pragma: no cover - must not run

    sent, _ = asgi_call(RequestBodyLimit(app), http_scope(), [b"1", b"2", b"3"], complete=False)
    assert sent[0]["status"] == 408
    body = json.loads(sent[1]["body"])
    assert body["statusCode"] == 408
    assert "BODY_TIMEOUT" in body["message"]
    assert started == []


def test_asgi_guard_leaves_websockets_alone(settings: Any) -> None:
    settings.LLANA = {"MAX_BODY_BYTES": 10}
    sent, _ = asgi_call(RequestBodyLimit(echo_app), {**http_scope(), "type": "websocket"}, [b"x" * 50])
    assert sent[0]["status"] == 200


# --- bulk arrays ----------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_a_bulk_array_over_max_bulk_items_is_400(open_api: Any, settings: Any, demo: Any, method: str) -> None:
    settings.LLANA = {**settings.LLANA, "MAX_BULK_ITEMS": 3}
    items = [{"custId": c.pk} for c in demo.customers] * 2
    response = getattr(open_api, method)("/Customer/", json.dumps(items), content_type="application/json")
    assert_error(response, 400, "MAX_BULK_ITEMS", "3", "6")
    assert open_api.get("/Customer/").json()["total"] == 3  # nothing was written


def test_the_default_bulk_limit_is_1000(open_api: Any, demo: Any) -> None:
    response = open_api.post("/Customer/", "[" + ",".join(["1"] * 1001) + "]", content_type="application/json")
    assert_error(response, 400, "1000")


def test_a_bulk_error_report_stays_small(open_api: Any, demo: Any) -> None:
    """The report of 1,000 failing items is bounded: long messages are cut."""
    items = [{"x" * 900: 1} for _ in range(1000)]
    body = json.dumps(items)
    assert len(body) < 1024 * 1024
    response = open_api.post("/Customer/", body, content_type="application/json")
    assert response.status_code == 201
    report = response.json()
    assert report["errored"] == 1000
    assert len(response.content) < 2 * len(body)


# --- settings checks ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["MAX_BODY_BYTES", "MAX_BULK_ITEMS", "MAX_JSON_DEPTH"])
@pytest.mark.parametrize("value", [0, -1, "x", None, True])
def test_limit_settings_are_checked(settings: Any, name: str, value: Any) -> None:
    settings.LLANA = {name: value}
    errors = check_limit_settings()
    assert len(errors) == 1
    assert isinstance(errors[0], Error)
    assert name in errors[0].msg
    assert errors[0].id.startswith("llana.E1")


@pytest.mark.parametrize("value", [0, -1, "30", None, True, float("inf"), float("nan")])
def test_body_timeout_is_checked(settings: Any, value: Any) -> None:
    settings.LLANA = {"BODY_TIMEOUT": value}
    errors = check_limit_settings()
    assert [e.id for e in errors] == ["llana.E103"]


def test_default_limit_settings_pass() -> None:
    assert check_limit_settings() == []


# --- the static files handler (DEBUG) -------------------------------------------------------------


@pytest.mark.parametrize("path", ["/static/../../etc/passwd", "/static/../../../../../../etc/passwd"])
def test_a_static_path_outside_the_root_is_a_json_404(settings: Any, path: str) -> None:
    settings.STATIC_ROOT = str(settings.BASE_DIR / "staticfiles")
    scope = {"type": "http", "method": "GET", "path": path, "query_string": b"", "headers": [], "root_path": ""}
    handler = StaticFilesHandler(echo_app)
    sent, _ = asgi_call(handler, scope, [b""])
    assert sent[0]["status"] == 404
    body = b"".join(m.get("body", b"") for m in sent[1:])
    assert json.loads(body)["statusCode"] == 404
