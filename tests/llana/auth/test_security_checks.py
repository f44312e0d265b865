"""System checks of the security settings: llana.E201–E204 (docs/security.md)."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.checks import run_checks
from django.test import override_settings

from llana.settings import llana_settings


def ids(debug: bool = False, **llana: Any) -> list[str]:
    with override_settings(DEBUG=debug, LLANA=llana):
        return [m.id for m in run_checks() if m.id and m.id.startswith("llana.")]


def test_skip_auth_without_debug_is_an_error_unless_acknowledged() -> None:
    assert "llana.E201" in ids(SKIP_AUTH=True)
    assert "llana.E201" not in ids(SKIP_AUTH=True, SKIP_AUTH_ACKNOWLEDGED=True)
    assert "llana.E201" not in ids(SKIP_AUTH=True, debug=True)
    assert "llana.E201" not in ids(SKIP_AUTH="false")


@pytest.mark.parametrize("value", ["true", "1", "YES", "on", 1, True])
def test_boolean_settings_accept_the_true_forms(value: Any) -> None:
    with override_settings(LLANA={"SKIP_AUTH": value, "SKIP_DOCS": value}):
        assert llana_settings.SKIP_AUTH is True
        assert llana_settings.SKIP_DOCS is True


@pytest.mark.parametrize("value", ["false", "0", "no", "Off", 0, False])
def test_boolean_settings_accept_the_false_forms(value: Any) -> None:
    with override_settings(LLANA={"SKIP_AUTH": value}):
        assert llana_settings.SKIP_AUTH is False
    assert "llana.E202" not in ids(SKIP_AUTH=value)


def test_other_boolean_values_are_an_error_and_read_as_false() -> None:
    assert "llana.E202" in ids(SKIP_AUTH="maybe")
    with override_settings(LLANA={"SKIP_AUTH": "maybe"}):
        assert llana_settings.SKIP_AUTH is False


def test_secret_key_is_checked_when_a_separate_jwt_key_signs() -> None:
    with override_settings(SECRET_KEY="django-insecure-x" + "y" * 40):
        assert "llana.E203" in ids(JWT_KEY="a-separate-and-long-enough-jwt-key-0123456789")
        assert "llana.E010" in ids()  # the same key signs the tokens: E010


@pytest.mark.parametrize("rates", [{"account": "ten/min"}, "10/min"])
def test_bad_throttle_rates(rates: Any) -> None:
    assert "llana.E204" in ids(LOGIN_THROTTLE_RATES=rates)


def test_default_settings_pass() -> None:
    assert ids() == []
