"""The token lifecycle: rotation under concurrency, revocation on a password change or deactivation, and
the current password needed to change one's own password (docs/security.md)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connections
from django.test import Client

from llana.auth.identities import identity_for_token
from llana.registry import clear_registry
from project.demo.models import User
from tests.llana.auth_support import PASSWORD, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_registry() -> Any:
    clear_registry()
    yield
    clear_registry()


def login(email: str, password: str = PASSWORD) -> dict[str, Any]:
    response = Client().post("/auth/login", {"username": email, "password": password}, content_type="application/json")
    assert response.status_code == 200, response.content
    return dict(response.json())


def refresh(token: str) -> Any:
    return Client().post("/auth/refresh", {"refresh_token": token}, content_type="application/json")


def send(method: str, path: str, token: str, body: Any = None) -> Any:
    client = Client()
    return getattr(client, method)(path, body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}")


# --- rotation is atomic -------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_one_refresh_token_sent_concurrently_succeeds_exactly_once() -> None:
    """8 threads, each with its own database connection, send the same refresh token at once (PostgreSQL,
    MariaDB; SQLite is covered by ``test_refresh_race_live.py``: the in-memory test database shares one
    cache between connections and answers "table is locked" at once instead of waiting)."""
    if connections["default"].vendor == "sqlite":
        pytest.skip("SQLite: see test_refresh_race_live.py")
    make_user("alice@test.com")
    token = login("alice@test.com")["refresh_token"]
    senders = 8
    barrier = threading.Barrier(senders)
    statuses: list[int] = []
    lock = threading.Lock()

    def send_once() -> None:
        try:
            barrier.wait(timeout=30)
            status = refresh(token).status_code
            with lock:
                statuses.append(status)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send_once) for _ in range(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(statuses) == [200] + [401] * (senders - 1)


def test_a_refresh_token_works_once() -> None:
    make_user("alice@test.com")
    token = login("alice@test.com")["refresh_token"]
    assert refresh(token).status_code == 200
    assert refresh(token).status_code == 401


# --- a password change or deactivation revokes the tokens --------------------------------------------


def test_a_password_change_revokes_refresh_and_access_tokens() -> None:
    admin = make_user("admin@test.com", "ADMIN")
    alice = make_user("alice@test.com")
    stolen = login("alice@test.com")
    assert send("get", f"/User/{alice.pk}", stolen["access_token"]).status_code == 200
    admin_token = login("admin@test.com")["access_token"]
    changed = send("put", f"/User/{alice.pk}", admin_token, {"password": "a brand new password"})
    assert changed.status_code == 200, changed.content
    response = refresh(stolen["refresh_token"])
    assert (response.status_code, response.json()["message"]) == (401, "Invalid refresh token")
    assert send("get", f"/User/{alice.pk}", stolen["access_token"]).status_code == 401
    assert identity_for_token(stolen["access_token"]).user_pk is None  # the socket handshake too
    fresh = login("alice@test.com", "a brand new password")
    assert send("get", f"/User/{alice.pk}", fresh["access_token"]).status_code == 200
    assert identity_for_token(fresh["access_token"]).user_pk == str(alice.pk)
    assert admin.pk is not None


def test_a_password_change_by_code_revokes_refresh_tokens() -> None:
    alice = make_user("alice@test.com")
    stolen = login("alice@test.com")
    user = User.objects.get(pk=alice.pk)
    user.set_password("changed in the shell")
    user.save()
    assert refresh(stolen["refresh_token"]).status_code == 401


def test_deactivation_revokes_refresh_tokens_for_good() -> None:
    alice = make_user("alice@test.com")
    stolen = login("alice@test.com")
    alice.is_active = False
    alice.save()
    alice.is_active = True  # reactivated: the tokens issued before stay revoked
    alice.save()
    assert refresh(stolen["refresh_token"]).status_code == 401
    assert send("get", f"/User/{alice.pk}", login("alice@test.com")["access_token"]).status_code == 200


def test_other_saves_keep_the_tokens() -> None:
    alice = make_user("alice@test.com")
    tokens = login("alice@test.com")
    alice.first_name = "Alice"
    alice.save()
    assert send("get", f"/User/{alice.pk}", tokens["access_token"]).status_code == 200
    assert refresh(tokens["refresh_token"]).status_code == 200


# --- one's own password needs the current one -------------------------------------------------------


def test_changing_ones_own_password_needs_the_current_password() -> None:
    alice = make_user("alice@test.com")
    token = login("alice@test.com")["access_token"]
    missing = send("put", f"/User/{alice.pk}", token, {"password": "stolen-token-password"})
    assert missing.status_code == 400
    assert "currentPassword" in missing.json()["errors"]
    wrong = send("put", f"/User/{alice.pk}", token, {"password": "stolen-token-password", "currentPassword": "guess"})
    assert (wrong.status_code, wrong.json()["errors"]["currentPassword"]) == (400, ["Incorrect password"])
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)
    good = send("put", f"/User/{alice.pk}", token, {"password": "my new password", "currentPassword": PASSWORD})
    assert good.status_code == 200, good.content
    alice.refresh_from_db()
    assert alice.check_password("my new password")


def test_other_changes_to_ones_own_row_need_no_password() -> None:
    alice = make_user("alice@test.com")
    token = login("alice@test.com")["access_token"]
    assert send("patch", f"/User/{alice.pk}", token, {"firstName": "Alice"}).status_code == 200


def test_an_admin_changes_another_users_password_without_it() -> None:
    make_user("admin@test.com", "ADMIN")
    alice = make_user("alice@test.com")
    token = login("admin@test.com")["access_token"]
    assert send("put", f"/User/{alice.pk}", token, {"password": "reset by the admin"}).status_code == 200
    alice.refresh_from_db()
    assert alice.check_password("reset by the admin")
