"""/auth/login, /auth/refresh, /auth/logout, /auth/profile and the JWT checks, over HTTP."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any

import jwt
import pytest
from django.test import Client, override_settings
from django.utils import timezone

from llana.auth.tokens import AccessToken, RefreshToken, parse_duration
from project.demo.models import User
from tests.llana.auth_support import PASSWORD, make_user

pytestmark = pytest.mark.django_db

MISSING = "Missing authorization token. Use either <Bearer> token header or accessToken cookie"


@pytest.fixture
def alice() -> User:
    return make_user("alice@test.com", first_name="Alice")


def login(client: Client, username: str = "alice@test.com", password: str = PASSWORD) -> Any:
    return client.post("/auth/login", {"username": username, "password": password}, content_type="application/json")


def bearer(token: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def token_for(user: User) -> str:
    return str(RefreshToken.for_user(user).access_token)


# --- login ------------------------------------------------------------------------------------------


def test_login_returns_llanas_keys_and_cookies(client: Client, alice: User) -> None:
    response = login(client)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "expires_in", "refresh_token_expires_in", "refresh_token"}
    assert (body["expires_in"], body["refresh_token_expires_in"]) == (900, 1209600)
    access, refresh = response.cookies["accessToken"], response.cookies["refreshToken"]
    assert access.value == body["access_token"]
    assert refresh.value == body["refresh_token"]
    assert (access["httponly"], access["path"], access["max-age"], access["samesite"]) == (True, "/", 900, "Lax")
    assert (refresh["max-age"], refresh["secure"]) == (1209600, "")
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert (claims["sub"], claims["email"]) == (str(alice.pk), "alice@test.com")


def test_login_accepts_a_form_body(client: Client, alice: User) -> None:
    response = client.post("/auth/login", {"username": "alice@test.com", "password": PASSWORD})
    assert response.status_code == 200


@override_settings(
    LLANA={"AUTH_COOKIES_SECURE": True, "AUTH_COOKIES_SAMESITE": "None", "AUTH_COOKIES_DOMAIN": "example.com"}
)
def test_cookie_attributes_come_from_settings(client: Client, alice: User) -> None:
    cookie = login(client).cookies["accessToken"]
    assert (cookie["secure"], cookie["samesite"], cookie["domain"]) == (True, "None", "example.com")


@override_settings(LLANA={"JWT_EXPIRES_IN": "1h", "JWT_REFRESH_EXPIRES_IN": "30s"})
def test_lifetimes_come_from_settings(client: Client, alice: User) -> None:
    body = login(client).json()
    assert (body["expires_in"], body["refresh_token_expires_in"]) == (3600, 30)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("15m", 900), ("1h", 3600), ("14d", 1209600), ("2w", 1209600), ("45", 45), (60, 60), ("1H", 3600)],
)
def test_parse_duration(text: Any, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "15x", "-5m", "0s", "m15", "1.5h"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


@pytest.mark.parametrize(
    "body",
    [
        {"username": "alice@test.com", "password": "wrong"},
        {"username": "nobody@test.com", "password": PASSWORD},
        {"username": "alice@test.com"},
        {"password": PASSWORD},
        {"username": ["alice@test.com"], "password": PASSWORD},
    ],
)
def test_login_failures_are_401_unauthorized(client: Client, alice: User, body: dict[str, Any]) -> None:
    response = client.post("/auth/login", body, content_type="application/json")
    assert response.status_code == 401
    assert response.json()["message"] == "Unauthorized"
    assert "accessToken" not in response.cookies


def test_inactive_user_cannot_log_in(client: Client, alice: User) -> None:
    alice.is_active = False
    alice.save()
    assert login(client).status_code == 401


@override_settings(LLANA={"SOFT_DELETE_COLUMN": "deletedAt"})
def test_soft_deleted_user_cannot_log_in(client: Client, alice: User) -> None:
    alice.deleted_at = timezone.now()
    alice.save()
    assert login(client).status_code == 401


@override_settings(LLANA={"SKIP_AUTH": True})
def test_login_and_profile_under_skip_auth(client: Client, alice: User) -> None:
    for response in (login(client), client.get("/auth/profile")):
        assert response.status_code == 400
        assert response.json()["message"] == "Authentication is disabled"


def test_login_sets_the_csrf_cookie(client: Client, alice: User) -> None:
    assert "csrftoken" in login(client).cookies


# --- refresh ----------------------------------------------------------------------------------------


def test_refresh_from_the_cookie_rotates_tokens(client: Client, alice: User) -> None:
    first = login(client).json()
    response = client.post("/auth/refresh")
    assert response.status_code == 200
    body = response.json()
    assert body["refresh_token"] != first["refresh_token"]
    assert response.cookies["accessToken"].value == body["access_token"]
    assert client.get("/auth/profile", **bearer(body["access_token"])).status_code == 200
    reuse = Client().post("/auth/refresh", {"refresh_token": first["refresh_token"]}, content_type="application/json")
    assert reuse.status_code == 401
    assert reuse.json()["message"] == "Invalid refresh token"


def test_refresh_from_the_json_body(alice: User) -> None:
    refresh = login(Client()).json()["refresh_token"]
    response = Client().post("/auth/refresh", {"refresh_token": refresh}, content_type="application/json")
    assert response.status_code == 200
    assert set(response.json()) == {"access_token", "expires_in", "refresh_token_expires_in", "refresh_token"}


def test_refresh_without_a_token(client: Client) -> None:
    response = client.post("/auth/refresh")
    assert (response.status_code, response.json()["message"]) == (401, "No refresh token found")


@pytest.mark.parametrize("kind", ["garbage", "access"])
def test_refresh_with_a_bad_token(client: Client, alice: User, kind: str) -> None:
    token = "garbage" if kind == "garbage" else token_for(alice)
    response = client.post("/auth/refresh", {"refresh_token": token}, content_type="application/json")
    assert (response.status_code, response.json()["message"]) == (401, "Invalid refresh token")


def test_refresh_of_a_deactivated_user_is_refused(client: Client, alice: User) -> None:
    login(client)
    alice.is_active = False
    alice.save()
    assert client.post("/auth/refresh").status_code == 401


# --- logout -----------------------------------------------------------------------------------------


def test_logout_clears_cookies_and_blacklists_the_refresh_token(client: Client, alice: User) -> None:
    refresh = login(client).json()["refresh_token"]
    response = client.post("/auth/logout")
    assert (response.status_code, response.json()) == (201, {"success": True})
    for name in ("accessToken", "refreshToken"):
        assert response.cookies[name].value == ""
        assert response.cookies[name]["max-age"] == 0
    again = Client().post("/auth/refresh", {"refresh_token": refresh}, content_type="application/json")
    assert again.status_code == 401


def test_logout_without_tokens_still_succeeds(client: Client) -> None:
    assert client.post("/auth/logout").status_code == 201


# --- profile and token checks -------------------------------------------------------------------------


def test_profile_with_bearer_is_the_users_row_without_password(client: Client, alice: User) -> None:
    response = client.get("/auth/profile", **bearer(token_for(alice)))
    assert response.status_code == 200
    body = response.json()
    assert (body["id"], body["email"], body["firstName"], body["role"]) == (alice.pk, "alice@test.com", "Alice", "USER")
    assert "password" not in body


def test_profile_with_the_cookie(client: Client, alice: User) -> None:
    login(client)
    assert client.get("/auth/profile").json()["email"] == "alice@test.com"


def test_profile_follows_allowed_fields(client: Client, alice: User) -> None:
    from llana.models import Role

    Role.objects.filter(custom=True, table="User").update(allowed_fields="email")
    from llana.permissions.cache import invalidate

    invalidate()  # QuerySet.update() sends no signal
    body = client.get("/auth/profile", **bearer(token_for(alice))).json()
    assert body == {"id": alice.pk, "email": "alice@test.com"}


def test_missing_token(client: Client) -> None:
    response = client.get("/auth/profile")
    assert (response.status_code, response.json()["message"]) == (401, MISSING)


def test_expired_token(client: Client, alice: User) -> None:
    token = AccessToken.for_user(alice)
    token.set_exp(from_time=timezone.now() - timedelta(hours=1))
    response = client.get("/auth/profile", **bearer(str(token)))
    assert (response.status_code, response.json()["message"]) == (401, "Access token expired")


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def bad_token(user: User, kind: str) -> str:
    good = token_for(user)
    header, _payload, signature = good.split(".")
    claims = jwt.decode(good, options={"verify_signature": False})
    if kind == "tampered":
        return f"{header}.{_b64({**claims, 'sub': '999999'})}.{signature}"
    if kind == "alg_none":
        return f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}."
    if kind == "wrong_key":
        return jwt.encode(claims, "another-key-that-is-long-enough-0123456789", algorithm="HS256")
    if kind == "hs512":  # an algorithm llana does not accept
        return jwt.encode(claims, "tests-only-secret-key-not-used-anywhere-else-0123456789" * 2, algorithm="HS512")
    if kind == "refresh_as_access":
        return str(RefreshToken.for_user(user))
    return "not.a.token"


@pytest.mark.parametrize("kind", ["tampered", "alg_none", "wrong_key", "hs512", "garbage", "refresh_as_access"])
def test_bad_tokens_are_refused(client: Client, alice: User, kind: str) -> None:
    response = client.get("/auth/profile", **bearer(bad_token(alice, kind)))
    assert (response.status_code, response.json()["message"]) == (401, "Authentication Failed")


def test_token_of_a_deleted_user_is_refused(client: Client, alice: User) -> None:
    token = token_for(alice)
    alice.delete()
    assert client.get("/auth/profile", **bearer(token)).json()["message"] == "Authentication Failed"


def test_token_of_a_deactivated_user_is_refused(client: Client, alice: User) -> None:
    token = token_for(alice)
    alice.is_active = False
    alice.save()
    assert client.get("/auth/profile", **bearer(token)).status_code == 401


def test_bearer_wins_over_the_cookie(client: Client, alice: User) -> None:
    bob = make_user("bob@test.com")
    login(client)  # alice's cookie
    assert client.get("/auth/profile", **bearer(token_for(bob))).json()["email"] == "bob@test.com"


@override_settings(LLANA={"JWT_KEY": "a-separate-jwt-signing-key-0123456789abcdef"})
def test_jwt_key_setting_signs_tokens(client: Client, alice: User) -> None:
    token = login(client).json()["access_token"]
    jwt.decode(token, "a-separate-jwt-signing-key-0123456789abcdef", algorithms=["HS256"])
    assert client.get("/auth/profile", **bearer(token)).status_code == 200
