"""System checks for the auth settings (llana.E010–E017, llana.W010–W011) and the missing-migrations guard."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.checks import run_checks
from django.core.management import call_command
from django.test import override_settings

from llana.checks import jwt_key_is_insecure


def ids(**llana: Any) -> list[str]:
    with override_settings(LLANA=llana):
        return [m.id for m in run_checks() if m.id and m.id.startswith("llana.")]


def test_default_test_settings_pass() -> None:
    assert ids() == []


@pytest.mark.parametrize("key", ["django-insecure-abc" + "x" * 40, "S$3cr3tK3y", "short"])
def test_insecure_jwt_key_is_an_error_also_in_debug(key: str) -> None:
    assert jwt_key_is_insecure(key)
    assert "llana.E010" in ids(JWT_KEY=key)
    with override_settings(DEBUG=True, LLANA={"JWT_KEY": key}):
        assert "llana.E010" in [m.id for m in run_checks()]


def test_insecure_secret_key_is_used_when_jwt_key_is_unset() -> None:
    with override_settings(SECRET_KEY="django-insecure-llana-demo-only", LLANA={}):
        assert "llana.E010" in [m.id for m in run_checks()]


@pytest.mark.parametrize(
    ("settings", "check_id"),
    [
        ({"API_KEY_LOCATION": "COOKIE"}, "llana.E011"),
        ({"API_KEY_NAME": " "}, "llana.E012"),
        ({"JWT_EXPIRES_IN": "15x"}, "llana.E013"),
        ({"JWT_REFRESH_EXPIRES_IN": "0d"}, "llana.E013"),
        ({"HOSTS": ["300.1.1.1"]}, "llana.E014"),
        ({"AUTH_COOKIES_SAMESITE": "lax"}, "llana.E015"),
        ({"CACHE_IDENTITY_DATA_TTL": "ten"}, "llana.E016"),
        ({"AUTH_COOKIES_SAMESITE": "None"}, "llana.W011"),
        ({"PERMISSION_POLICY": "llana.permissions.engine.NoSuchPolicy"}, "llana.E017"),
        ({"AUTHENTICATION_CLASSES": ["nowhere.Authentication"]}, "llana.E017"),
    ],
)
def test_bad_values_are_reported(settings: dict[str, Any], check_id: str) -> None:
    assert check_id in ids(**settings)


@pytest.mark.parametrize("value", ["HEADER", "query", "Body"])
def test_api_key_locations(value: str) -> None:
    assert "llana.E011" not in ids(API_KEY_LOCATION=value)


@pytest.mark.django_db
def test_no_missing_migrations_for_llana() -> None:
    out = StringIO()
    call_command("makemigrations", "llana", "--check", "--dry-run", stdout=out, stderr=StringIO())
    assert "No changes detected" in out.getvalue()
