"""The example project's environment mapping: integer variables and the PostgreSQL connection pool."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from project.env import env_int

ROOT = Path(__file__).resolve().parent.parent


def test_env_int_reads_a_positive_number(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_POOL_SIZE", " 25 ")
    assert env_int("DATABASE_POOL_SIZE", 10) == 25
    monkeypatch.setenv("DATABASE_POOL_SIZE", "")
    assert env_int("DATABASE_POOL_SIZE", 10) == 10


@pytest.mark.parametrize("value", ["abc", "0", "-3", "1.5"])
def test_env_int_names_the_variable(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("DATABASE_POOL_SIZE", value)
    with pytest.raises(ImproperlyConfigured, match="DATABASE_POOL_SIZE"):
        env_int("DATABASE_POOL_SIZE", 10)


def settings_database(**environ: str) -> dict[str, object]:
    """``DATABASES["default"]`` of ``project.settings`` loaded in a fresh interpreter with ``environ``."""
    code = "import json; from project.settings import DATABASES; print(json.dumps(DATABASES['default'], default=str))"
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "DATABASE_URI"}} | environ
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    return json.loads(result.stdout)


def test_postgresql_uses_a_connection_pool_not_persistent_connections() -> None:
    """Under ASGI each request has its own thread: persistent connections would pile up (docs/benchmarks.md)."""
    db = settings_database(
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/x", DATABASE_POOL_SIZE="7", DATABASE_POOL_IDLE_TIMEOUT="30000"
    )
    assert db["CONN_MAX_AGE"] == 0
    assert db["OPTIONS"]["pool"] == {"min_size": 2, "max_size": 7, "max_idle": 30.0, "timeout": 10}  # type: ignore[index]


def test_other_databases_connect_per_request() -> None:
    db = settings_database(DATABASE_URL="mysql://root@127.0.0.1:3306/x")
    assert db["CONN_MAX_AGE"] == 0
    assert "pool" not in db.get("OPTIONS", {})  # type: ignore[operator]
