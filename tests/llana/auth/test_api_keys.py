"""API keys: stored hashed, read from HEADER / QUERY / BODY, revoked and expired keys refused, before JWT."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import Client, override_settings
from django.utils import timezone

from llana.auth.authentication import identify
from llana.auth.identities import (
    Identity,
    identity_and_expiry_for_token,
    identity_for_token,
)
from llana.auth.tokens import RefreshToken
from llana.models import ApiKey, hash_api_key
from project.demo.models import User
from tests.llana.auth_support import drf_request, make_user

pytestmark = pytest.mark.django_db


def identity_of(request: Any) -> Identity:
    return identify(request)[1]


DEMO_KEY = "Ex@mp1eS$Cu7eAp!K3y"


@pytest.fixture
def key(alice: User) -> str:
    return ApiKey.objects.create_key(alice, "test")[1]


def test_keys_are_stored_hashed(alice: User) -> None:
    row, plaintext = ApiKey.objects.create_key(alice, "laptop")
    assert plaintext.startswith("llana_")
    assert len(plaintext) > 40
    row.refresh_from_db()
    assert row.key_hash == hash_api_key(plaintext)
    assert plaintext not in (row.key_hash, row.prefix)
    assert row.prefix == plaintext[:12]


def test_explicit_plaintext_for_the_demo_key(alice: User) -> None:
    ApiKey.objects.create_key(alice, "demo", key=DEMO_KEY)
    assert ApiKey.objects.get_by_plaintext(DEMO_KEY).user == alice


def test_header_key_authenticates(alice: User, key: str) -> None:
    assert identity_of(drf_request(HTTP_X_API_KEY=key)).user_pk == str(alice.pk)


@override_settings(LLANA={"API_KEY_LOCATION": "QUERY"})
def test_query_key_authenticates(alice: User, key: str) -> None:
    assert identity_of(drf_request(data={"x-api-key": key})).user_pk == str(alice.pk)
    assert identity_of(drf_request(HTTP_X_API_KEY=key)).is_anonymous  # header not read


@override_settings(LLANA={"API_KEY_LOCATION": "BODY", "API_KEY_NAME": "apiKey"})
def test_body_key_authenticates(alice: User, key: str) -> None:
    assert identity_of(drf_request("post", data={"apiKey": key, "companyName": "A"})).user_pk == str(alice.pk)


def test_unknown_key_is_401_unauthorized() -> None:
    identity = identity_of(drf_request(HTTP_X_API_KEY="llana_nope"))
    assert (identity.is_anonymous, identity.error) == (True, (401, "Unauthorized"))


def test_revoked_key_is_refused(alice: User, key: str) -> None:
    ApiKey.objects.update(revoked=True)
    assert identity_of(drf_request(HTTP_X_API_KEY=key)).error == (401, "Unauthorized")


def test_expired_key_is_refused(alice: User) -> None:
    _, key = ApiKey.objects.create_key(alice, expires=timezone.now() - timedelta(seconds=1))
    assert identity_of(drf_request(HTTP_X_API_KEY=key)).error == (401, "API key expired")


def test_key_of_an_inactive_user_is_refused(alice: User, key: str) -> None:
    alice.is_active = False
    alice.save()
    assert identity_of(drf_request(HTTP_X_API_KEY=key)).is_anonymous


def test_api_key_is_tried_before_jwt(alice: User, key: str) -> None:
    bob = make_user("bob@test.com")
    token = str(RefreshToken.for_user(bob).access_token)
    request = drf_request(HTTP_X_API_KEY=key, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert identity_of(request).user_pk == str(alice.pk)


def test_failed_key_falls_back_to_jwt(alice: User) -> None:
    token = str(RefreshToken.for_user(alice).access_token)
    request = drf_request(HTTP_X_API_KEY="wrong", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert identity_of(request).user_pk == str(alice.pk)


def test_last_used_is_recorded(alice: User, key: str) -> None:
    identity_of(drf_request(HTTP_X_API_KEY=key))
    assert ApiKey.objects.get().last_used is not None


def test_profile_over_http_with_an_api_key(client: Client, alice: User, key: str) -> None:
    response = client.get("/auth/profile", HTTP_X_API_KEY=key)
    assert response.status_code == 200
    assert response.json()["email"] == "alice@test.com"
    assert client.get("/auth/profile", HTTP_X_API_KEY=key + "x").json()["message"] == "Unauthorized"


def test_management_command_prints_a_working_key(alice: User) -> None:
    out, err = StringIO(), StringIO()
    call_command("llana_create_api_key", "alice@test.com", "--name", "ci", "--expires", "30d", stdout=out, stderr=err)
    plaintext = out.getvalue().strip()
    row = ApiKey.objects.get_by_plaintext(plaintext)
    assert (row.user, row.name) == (alice, "ci")
    assert row.expires > timezone.now() + timedelta(days=29)
    assert "shown only once" in err.getvalue()


def test_management_command_errors_name_the_problem(alice: User) -> None:
    with pytest.raises(CommandError, match="No user with email"):
        call_command("llana_create_api_key", "nobody@test.com", stdout=StringIO(), stderr=StringIO())
    with pytest.raises(CommandError, match="--expires"):
        call_command(
            "llana_create_api_key", "alice@test.com", "--expires", "soon", stdout=StringIO(), stderr=StringIO()
        )


# --- the socket handshake helper -----------------------------------------------------------------------------


def test_identity_for_token_accepts_with_or_without_bearer(alice: User) -> None:
    token = str(RefreshToken.for_user(alice).access_token)
    for raw in (token, f"Bearer {token}"):
        found = identity_for_token(raw)
        assert (found.user_pk, found.roles, found.websocket) == (str(alice.pk), {"USER"}, True)
    assert identity_for_token(None).error == (
        401,
        "Missing authorization token. Use either <Bearer> token header or accessToken cookie",
    )
    assert identity_for_token("Bearer nope").error == (401, "Authentication Failed")
    alice.is_active = False
    alice.save()
    assert identity_for_token(token).is_anonymous


def test_identity_and_expiry_for_token(alice: User) -> None:
    access = RefreshToken.for_user(alice).access_token
    identity, expires_at = identity_and_expiry_for_token(str(access))
    assert identity.user_pk == str(alice.pk)
    assert expires_at == float(access["exp"])
    assert identity_and_expiry_for_token("nope") == (
        Identity.anonymous((401, "Authentication Failed"), websocket=True),
        None,
    )
    with override_settings(LLANA={"SKIP_AUTH": True}):
        assert identity_and_expiry_for_token(None) == (Identity.skip(websocket=True), None)
