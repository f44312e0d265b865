"""Frontends on other origins: CORS (django-cors-headers) and the CSRF policy of cookie-authenticated writes.

A cookie-authenticated JSON write from a trusted origin (the API's own, or one in ``CORS_ALLOWED_ORIGINS``)
needs no CSRF token; forms, ``text/plain`` bodies and unknown origins are refused as before (403 JSON);
Bearer and API-key requests are never subject to CSRF. See docs/security.md, "Frontends: CORS and CSRF".
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from llana.auth.origins import socket_origins, trusted_origin
from llana.auth.tokens import RefreshToken
from llana.models import ApiKey, Role
from llana.registry import clear_registry
from project.demo.models import Shipper, User
from tests.llana.auth_support import PASSWORD, make_user

pytestmark = pytest.mark.django_db

APP = "http://localhost:3000"
EVIL = "https://evil.example"


@pytest.fixture(autouse=True)
def _origins(settings: Any) -> Any:
    settings.CORS_ALLOWED_ORIGINS = [APP]
    settings.CORS_ALLOW_CREDENTIALS = True
    clear_registry()
    yield
    clear_registry()


@pytest.fixture
def admin_user() -> User:
    return make_user("admin@test.com", "ADMIN")


@pytest.fixture
def cookie_client(admin_user: User) -> Client:
    """A browser-like client holding the ``accessToken`` cookie, with Django's CSRF check enforced."""
    client = Client(enforce_csrf_checks=True)
    login = client.post(
        "/auth/login", {"username": "admin@test.com", "password": PASSWORD}, content_type="application/json"
    )
    assert login.status_code == 200
    return client


def refused(response: Any) -> bool:
    return response.status_code == 403 and response.json()["message"].startswith("CSRF Failed")


# --- accepted ---------------------------------------------------------------------------------------------


def test_json_write_from_an_allowed_origin_needs_no_csrf_token(cookie_client: Client) -> None:
    created = cookie_client.post("/Shipper/", {"companyName": "A"}, content_type="application/json", HTTP_ORIGIN=APP)
    assert created.status_code == 201, created.content
    pk = created.json()["shipperId"]
    updated = cookie_client.put(
        f"/Shipper/{pk}", {"companyName": "B"}, content_type="application/json", HTTP_ORIGIN=APP
    )
    assert updated.status_code == 200, updated.content
    deleted = cookie_client.delete(f"/Shipper/{pk}", content_type="application/json", HTTP_ORIGIN=APP)
    assert deleted.status_code == 200, deleted.content


def test_json_write_from_the_same_origin(cookie_client: Client) -> None:
    response = cookie_client.post(
        "/Shipper/", {"companyName": "A"}, content_type="application/json", HTTP_ORIGIN="http://testserver"
    )
    assert response.status_code == 201


def test_json_write_without_origin_but_sec_fetch_site_same_origin(cookie_client: Client) -> None:
    response = cookie_client.post(
        "/Shipper/", {"companyName": "A"}, content_type="application/json", HTTP_SEC_FETCH_SITE="same-origin"
    )
    assert response.status_code == 201


def test_json_with_a_charset_and_a_json_suffix_type(cookie_client: Client) -> None:
    for content_type in ("application/json; charset=utf-8", "application/merge-patch+json"):
        response = cookie_client.post("/Shipper/", b'{"companyName": "A"}', content_type=content_type, HTTP_ORIGIN=APP)
        assert response.status_code != 403, (content_type, response.content)


def test_the_csrf_token_still_works(cookie_client: Client) -> None:
    token = cookie_client.cookies["csrftoken"].value
    response = cookie_client.post(
        "/Shipper/", {"companyName": "A"}, content_type="application/json", HTTP_X_CSRFTOKEN=token
    )
    assert response.status_code == 201


# --- refused ----------------------------------------------------------------------------------------------


def test_json_write_from_an_unknown_origin_is_refused(cookie_client: Client) -> None:
    response = cookie_client.post("/Shipper/", {"companyName": "A"}, content_type="application/json", HTTP_ORIGIN=EVIL)
    assert refused(response)


def test_json_write_from_an_unknown_origin_with_sec_fetch_site_is_refused(cookie_client: Client) -> None:
    response = cookie_client.post(
        "/Shipper/",
        {"companyName": "A"},
        content_type="application/json",
        HTTP_ORIGIN=EVIL,
        HTTP_SEC_FETCH_SITE="same-origin",
    )
    assert refused(response)


def test_null_origin_is_refused(cookie_client: Client) -> None:
    response = cookie_client.post(
        "/Shipper/", {"companyName": "A"}, content_type="application/json", HTTP_ORIGIN="null"
    )
    assert refused(response)


def test_json_write_without_origin_nor_token_is_refused(cookie_client: Client) -> None:
    response = cookie_client.post(
        "/Shipper/", {"companyName": "A"}, content_type="application/json", HTTP_SEC_FETCH_SITE="cross-site"
    )
    assert refused(response)


def test_cross_site_form_post_is_refused(cookie_client: Client) -> None:
    """A form needs the CSRF token whatever its origin. Its body is no JSON, so the anonymous caller it
    becomes gets the body's 400 before the permission's 403; either way nothing is written."""
    for origin in (EVIL, APP):
        for body, content_type in (
            ("companyName=A", "application/x-www-form-urlencoded"),
            ({"companyName": "A"}, None),
        ):
            extra = {"content_type": content_type} if content_type else {}
            response = cookie_client.post("/Shipper/", body, HTTP_ORIGIN=origin, **extra)
            assert response.status_code in (400, 403), (origin, response.content)
    assert not Shipper.objects.exists()


def test_text_plain_body_is_refused(cookie_client: Client) -> None:
    """A form with ``enctype="text/plain"`` whose fields read as JSON: the classic JSON CSRF."""
    for origin in (EVIL, APP):
        response = cookie_client.post(
            "/Shipper/", b'{"companyName": "A"}', content_type="text/plain", HTTP_ORIGIN=origin
        )
        assert refused(response), origin


def test_cors_allow_all_origins_does_not_trust_every_site_for_writes(settings: Any, cookie_client: Client) -> None:
    settings.CORS_ALLOWED_ORIGINS = []
    settings.CORS_ALLOW_ALL_ORIGINS = True
    response = cookie_client.post("/Shipper/", {"companyName": "A"}, content_type="application/json", HTTP_ORIGIN=APP)
    assert refused(response)


# --- Bearer and API keys: never subject to CSRF ------------------------------------------------------------


def test_bearer_write_from_any_origin_needs_no_csrf(admin_user: User) -> None:
    token = str(RefreshToken.for_user(admin_user).access_token)
    client = Client(enforce_csrf_checks=True)
    for origin in (EVIL, APP):
        response = client.post(
            "/Shipper/",
            {"companyName": "A"},
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {token}",
            HTTP_ORIGIN=origin,
        )
        assert response.status_code == 201, origin


def test_api_key_write_needs_no_csrf(admin_user: User) -> None:
    Role.objects.create(custom=True, table="Shipper", role="ADMIN", records="WRITE")
    _, key = ApiKey.objects.create_key(admin_user)
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        "/Shipper/", {"companyName": "A"}, content_type="application/json", HTTP_X_API_KEY=key, HTTP_ORIGIN=EVIL
    )
    assert response.status_code == 201


# --- CORS (django-cors-headers) ----------------------------------------------------------------------------


def test_preflight_from_an_allowed_origin() -> None:
    response = Client().options(
        "/Customer/",
        HTTP_ORIGIN=APP,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="content-type, x-api-key, authorization",
    )
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == APP
    assert response["Access-Control-Allow-Credentials"] == "true"
    allowed = {name.strip() for name in response["Access-Control-Allow-Headers"].split(",")}
    assert {"content-type", "x-api-key", "authorization"} <= allowed
    assert "POST" in response["Access-Control-Allow-Methods"]


def test_preflight_from_an_unknown_origin_gets_no_cors_headers() -> None:
    response = Client().options("/Customer/", HTTP_ORIGIN=EVIL, HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST")
    assert "Access-Control-Allow-Origin" not in response


def test_a_response_to_an_allowed_origin_carries_cors_headers(admin_user: User) -> None:
    response = Client().get("/Customer/", HTTP_ORIGIN=APP)
    assert response["Access-Control-Allow-Origin"] == APP
    assert response["Access-Control-Allow-Credentials"] == "true"


# --- the one origin policy ---------------------------------------------------------------------------------


def test_trusted_origin(rf: Any) -> None:
    request = rf.get("/")
    assert trusted_origin("http://testserver", request)
    assert trusted_origin(APP, request)
    assert trusted_origin(APP + "/", request)
    assert not trusted_origin(EVIL, request)
    assert not trusted_origin("null", request)
    assert not trusted_origin("", request)


def test_socket_origins_follow_cors_unless_llana_realtime_sets_them(settings: Any) -> None:
    assert socket_origins(None) == [APP]
    assert socket_origins(["https://x.example"]) == ["https://x.example"]
    assert socket_origins("https://x.example") == ["https://x.example"]
    assert socket_origins([]) == []
    settings.CORS_ALLOW_ALL_ORIGINS = True
    assert socket_origins(None) == ["*"]


def test_hosts_apply_to_preflights(settings: Any) -> None:
    settings.LLANA = {"HOSTS": ["10.9.9.9"]}
    response = Client().options(
        "/Customer/", HTTP_ORIGIN=APP, HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST", REMOTE_ADDR="127.0.0.1"
    )
    assert response.status_code == 403
