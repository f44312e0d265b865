"""The project is configured correctly: checks pass, no migration is missing, bad settings are refused."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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


def _import_asgi(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "DJANGO_SETTINGS_MODULE": "project.settings", **env}
    full.pop("DATABASE_URL", None)  # the project's own default (SQLite) is enough to import it
    return subprocess.run(
        [sys.executable, "-c", "import project.asgi"],
        cwd=Path(__file__).resolve().parent.parent,
        env=full,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_asgi_application_refuses_a_bad_setting() -> None:
    """daphne/uvicorn import project.asgi: a bad DEFAULT_LIMIT must stop them, naming the setting."""
    result = _import_asgi({"DEFAULT_LIMIT": "abc"})
    assert result.returncode != 0
    assert "DEFAULT_LIMIT" in result.stderr
    assert "llana.E001" in result.stderr


def test_asgi_application_starts_with_good_settings() -> None:
    result = _import_asgi({"DEFAULT_LIMIT": "25"})
    assert result.returncode == 0, result.stderr
