"""HOSTS: allowed client addresses, from the peer or a trusted proxy header, on HTTP and ASGI scopes."""

from __future__ import annotations

import pytest
from django.core.checks import run_checks
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory, override_settings

from llana.hosts import HostsMiddleware, address_allowed, check_proxy_headers, parse_hosts, scope_allowed

pytestmark = pytest.mark.django_db

HOSTS = ["127.0.0.1", "10.0.0.0/8", "2001:db8::/32"]


@pytest.mark.parametrize(
    ("address", "allowed"),
    [
        ("127.0.0.1", True),
        ("127.0.0.2", False),
        ("10.20.30.40", True),
        ("11.0.0.1", False),
        ("2001:db8::1", True),
        ("::ffff:10.1.2.3", True),
        ("::1", False),
        ("not-an-ip", False),
        ("", False),
        (None, False),
    ],
)
def test_address_allowed(address: str | None, allowed: bool) -> None:
    with override_settings(LLANA={"HOSTS": HOSTS}):
        assert address_allowed(address) is allowed


def test_empty_hosts_allow_everyone() -> None:
    assert address_allowed("203.0.113.9")
    assert address_allowed(None)


def test_localhost_entry() -> None:
    networks = {str(n) for n in parse_hosts(["localhost"])}
    assert networks == {"127.0.0.0/8", "::1/128"}


def test_bad_entry_is_named() -> None:
    with pytest.raises(ValueError, match="'10.0.0.300'"):
        parse_hosts(["10.0.0.300"])
    with override_settings(LLANA={"HOSTS": ["nope"]}):
        assert "llana.E014" in [m.id for m in run_checks()]


@override_settings(LLANA={"HOSTS": HOSTS})
def test_http_peer_address_is_checked() -> None:
    allowed = Client(REMOTE_ADDR="10.1.1.1").post("/auth/logout")
    assert allowed.status_code == 201
    refused = Client(REMOTE_ADDR="192.0.2.1").get("/Customer/")
    assert refused.status_code == 403
    assert refused.json() == {"statusCode": 403, "error": "Forbidden", "message": "Forbidden"}


@override_settings(LLANA={"HOSTS": HOSTS})
def test_proxy_headers_are_ignored_unless_trusted() -> None:
    spoofed = Client(REMOTE_ADDR="192.0.2.1").post(
        "/auth/logout", HTTP_X_REAL_IP="127.0.0.1", HTTP_X_FORWARDED_FOR="127.0.0.1"
    )
    assert spoofed.status_code == 403


@override_settings(LLANA={"HOSTS": HOSTS, "TRUSTED_PROXY_HEADER": "X-Real-IP"})
def test_trusted_proxy_header_is_used() -> None:
    behind_proxy = Client(REMOTE_ADDR="172.16.0.1")
    assert behind_proxy.post("/auth/logout", HTTP_X_REAL_IP="10.9.9.9").status_code == 201
    assert behind_proxy.post("/auth/logout", HTTP_X_REAL_IP="192.0.2.1").status_code == 403
    assert behind_proxy.post("/auth/logout").status_code == 403  # header missing: address unknown


@override_settings(LLANA={"HOSTS": HOSTS, "TRUSTED_PROXY_HEADER": "X-Forwarded-For"})
def test_forwarded_for_uses_the_entry_the_proxy_appended() -> None:
    client = Client(REMOTE_ADDR="172.16.0.1")
    assert client.post("/auth/logout", HTTP_X_FORWARDED_FOR="192.0.2.1, 10.0.0.5").status_code == 201
    assert client.post("/auth/logout", HTTP_X_FORWARDED_FOR="10.0.0.5, 192.0.2.1").status_code == 403


@override_settings(LLANA={"HOSTS": HOSTS})
def test_admin_is_covered_too() -> None:
    assert Client(REMOTE_ADDR="192.0.2.1").get("/admin/login/").status_code == 403


@override_settings(LLANA={"HOSTS": HOSTS})
def test_scope_allowed_for_socket_handshakes() -> None:
    assert scope_allowed({"type": "websocket", "client": ("10.0.0.1", 5000), "headers": []})
    assert not scope_allowed(
        {"type": "websocket", "client": ("192.0.2.1", 5000), "headers": [(b"x-real-ip", b"10.0.0.1")]}
    )
    assert not scope_allowed({"type": "websocket", "client": None, "headers": []})


@override_settings(LLANA={"HOSTS": HOSTS, "TRUSTED_PROXY_HEADER": "X-Real-IP"})
def test_scope_allowed_with_a_trusted_header() -> None:
    assert scope_allowed({"type": "websocket", "client": ("192.0.2.1", 1), "headers": [(b"x-real-ip", b"10.0.0.1")]})
    assert not scope_allowed({"type": "websocket", "client": ("10.0.0.1", 1), "headers": []})


@override_settings(LLANA={"HOSTS": HOSTS})
async def test_async_middleware_path() -> None:
    async def ok(request: HttpRequest) -> HttpResponse:
        return HttpResponse("ok")

    middleware = HostsMiddleware(ok)
    refused = await middleware(RequestFactory().get("/", REMOTE_ADDR="192.0.2.1"))
    allowed = await middleware(RequestFactory().get("/", REMOTE_ADDR="10.0.0.1"))
    assert (refused.status_code, allowed.status_code) == (403, 200)


# --- a peer rewritten by the ASGI server from a proxy header (uvicorn's default --proxy-headers) -------------


@override_settings(LLANA={"HOSTS": ["127.0.0.2"]})
def test_a_peer_rewritten_from_x_forwarded_for_is_unknown() -> None:
    """uvicorn trusts X-Forwarded-For from 127.0.0.1 by default and puts its address in ``scope["client"]``
    with port 0: without TRUSTED_PROXY_HEADER that address came from the client, so it counts for nothing."""
    rewritten = {"type": "websocket", "client": ("127.0.0.2", 0), "headers": [(b"x-forwarded-for", b"127.0.0.2")]}
    assert not scope_allowed(rewritten)
    assert scope_allowed({"type": "websocket", "client": ("127.0.0.2", 0), "headers": []})  # port 0, no header
    assert scope_allowed({**rewritten, "client": ("127.0.0.2", 40000)})  # a real peer that sends the header
    request = RequestFactory().get("/", REMOTE_ADDR="127.0.0.2", REMOTE_PORT=0, HTTP_X_FORWARDED_FOR="127.0.0.2")
    assert HostsMiddleware(lambda r: HttpResponse("ok"))(request).status_code == 403
    request.META["REMOTE_PORT"] = 40000
    assert HostsMiddleware(lambda r: HttpResponse("ok"))(request).status_code == 200


@override_settings(LLANA={"HOSTS": ["10.0.0.0/8"], "TRUSTED_PROXY_HEADER": "X-Forwarded-For"})
def test_a_trusted_proxy_header_still_decides_behind_a_rewriting_server() -> None:
    scope = {"type": "http", "client": ("10.0.0.5", 0), "headers": [(b"x-forwarded-for", b"10.0.0.5")]}
    assert scope_allowed(scope)


@pytest.mark.parametrize(
    ("argv", "warned"),
    [
        (["/venv/bin/uvicorn", "project.asgi:application"], True),
        (["/venv/bin/uvicorn", "project.asgi:application", "--no-proxy-headers"], False),
        (["/venv/bin/daphne", "project.asgi:application"], False),
    ],
)
def test_uvicorn_with_proxy_headers_is_warned_at_startup(argv: list[str], warned: bool) -> None:
    with override_settings(LLANA={"HOSTS": ["127.0.0.2"]}):
        assert [m.id for m in check_proxy_headers(argv=argv)] == (["llana.W301"] if warned else [])
    with override_settings(LLANA={"HOSTS": ["127.0.0.2"], "TRUSTED_PROXY_HEADER": "X-Real-IP"}):
        assert check_proxy_headers(argv=argv) == []
    assert check_proxy_headers(argv=argv) == []  # no HOSTS
