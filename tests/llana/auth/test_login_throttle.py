"""Login throttling: failed logins per account and per client address (docs/security.md)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client, override_settings

from llana.auth.throttling import parse_rate
from project.demo.models import User
from tests.llana.auth_support import PASSWORD, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice() -> User:
    return make_user("alice@test.com")


def login(username: str = "alice@test.com", password: str = PASSWORD, address: str = "127.0.0.1") -> Any:
    return Client(REMOTE_ADDR=address).post(
        "/auth/login", {"username": username, "password": password}, content_type="application/json"
    )


def test_thirty_wrong_passwords_then_the_right_one_is_429(alice: User) -> None:
    statuses = [login(password=f"wrong-{n}").status_code for n in range(30)]
    assert set(statuses) == {401, 429}
    assert statuses[:10] == [401] * 10  # the default: 10 failures per account and minute
    response = login()
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60
    body = response.json()
    assert (body["statusCode"], body["error"]) == (429, "Too Many Requests")
    assert "throttled" in body["message"]


def test_the_account_limit_holds_across_addresses(alice: User) -> None:
    for n in range(10):
        assert login(password=f"wrong-{n}", address=f"10.0.0.{n + 1}").status_code == 401
    assert login(address="10.0.1.1").status_code == 429
    assert login(username="ALICE@test.com ", address="10.0.1.2").status_code == 429  # the same account


def test_the_address_limit_holds_across_accounts(alice: User) -> None:
    for n in range(30):
        assert login(username=f"nobody-{n}@test.com", address="10.9.9.9").status_code == 401
    assert login(address="10.9.9.9").status_code == 429
    assert login(address="10.9.9.8").status_code == 200  # another address


def test_successful_logins_do_not_count(alice: User) -> None:
    for _ in range(12):
        assert login().status_code == 200
    for n in range(9):
        assert login(password=f"wrong-{n}").status_code == 401
    assert login().status_code == 200


@override_settings(LLANA={"LOGIN_THROTTLE_RATES": {"account": "2/hour", "address": None}})
def test_rates_come_from_settings(alice: User) -> None:
    assert [login(password="wrong").status_code for _ in range(3)] == [401, 401, 429]
    assert 60 < int(login()["Retry-After"]) <= 3600


@override_settings(LLANA={"LOGIN_THROTTLE_RATES": None})
def test_throttling_can_be_turned_off(alice: User) -> None:
    assert {login(password="wrong").status_code for _ in range(31)} == {401}
    assert login().status_code == 200


@pytest.mark.parametrize(
    ("rate", "parsed"),
    [("10/min", (10, 60)), ("30/hour", (30, 3600)), ("5/15m", (5, 900)), ("1/s", (1, 1)), ("3/day", (3, 86400))],
)
def test_parse_rate(rate: str, parsed: tuple[int, int]) -> None:
    assert parse_rate(rate) == parsed


@pytest.mark.parametrize("rate", ["10", "0/min", "10/0m", "ten/min", "10/week"])
def test_parse_rate_refuses(rate: str) -> None:
    with pytest.raises(ValueError, match="rate"):
        parse_rate(rate)
