"""The project is configured correctly: checks pass, no migration is missing, bad settings are refused."""
from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError


def test_system_checks_pass() -> None:
    call_command("check")


@pytest.mark.django_db
def test_no_missing_migrations() -> None:
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


def test_bad_default_limit_names_the_setting(settings) -> None:  # type: ignore[no-untyped-def]
    settings.LLANA = {"DEFAULT_LIMIT": "abc"}
    with pytest.raises(SystemCheckError, match="DEFAULT_LIMIT"):
        call_command("check")
