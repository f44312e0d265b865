"""The example project's secret: never a public key (a generated one, kept in a 0600 file), and the
boolean environment variables (docs/security.md)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from project.env import env_bool, put_bool, secret_key

ROOT = Path(__file__).resolve().parents[2]
OLD_PUBLIC_KEY = "django-insecure-llana-demo-only"  # the key earlier versions fell back to

# Runs in a fresh interpreter on the example project's settings: the secret, the checks' llana ids, and
# what happens to an ADMIN token signed with the old public key.
PROBE = f"""
OLD_PUBLIC_KEY = {OLD_PUBLIC_KEY!r}
import json, time, django, jwt
django.setup()
from django.conf import settings
from django.core.checks import run_checks
from llana.auth.tokens import InvalidAccessToken, verify_access_token
now = int(time.time())
claims = {{"token_type": "access", "sub": "1", "user_id": "1", "jti": "forged", "iat": now, "exp": now + 600}}
try:
    verify_access_token(jwt.encode(claims, OLD_PUBLIC_KEY, algorithm="HS256"))
    forged = "accepted"
except InvalidAccessToken as exc:
    forged = str(exc)
ids = sorted({{m.id for m in run_checks() if m.id and m.id.startswith("llana.")}})
print(json.dumps({{"key": settings.SECRET_KEY, "debug": settings.DEBUG, "forged": forged, "checks": ids}}))
"""


def probe(tmp_path: Path, **environ: str) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "JWT_", "DATABASE_", "SKIP_"))}
    env |= {"DJANGO_SETTINGS_MODULE": "project.settings", "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    env |= {"DJANGO_SECRET_KEY_FILE": str(tmp_path / "secret_key")} | environ
    result = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout))


def test_the_default_config_refuses_a_token_signed_with_the_old_public_key(tmp_path: Path) -> None:
    first = probe(tmp_path)
    assert first["debug"] is True  # the default configuration
    assert first["forged"] == "Authentication Failed"
    assert first["key"] != OLD_PUBLIC_KEY
    assert len(str(first["key"])) >= 64
    assert first["checks"] == []
    path = tmp_path / "secret_key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert probe(tmp_path)["key"] == first["key"]  # kept: the next run signs with the same key


def test_a_known_key_is_refused_also_in_debug(tmp_path: Path) -> None:
    result = probe(tmp_path, DJANGO_SECRET_KEY=OLD_PUBLIC_KEY, DJANGO_DEBUG="true")
    assert "llana.E010" in result["checks"]  # type: ignore[operator]
    separate = probe(tmp_path, DJANGO_SECRET_KEY="short", JWT_KEY="a-separate-jwt-key-" + "x" * 40)
    assert separate["checks"] == ["llana.E203"]


def test_secret_key_prefers_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DJANGO_SECRET_KEY", "from-the-environment")
    assert secret_key("DJANGO_SECRET_KEY", tmp_path / "key") == "from-the-environment"
    assert not (tmp_path / "key").exists()


def test_secret_key_file_is_created_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DJANGO_SECRET_KEY", raising=False)
    path = tmp_path / "nested" / "key"
    key = secret_key("DJANGO_SECRET_KEY", path)
    assert len(key) >= 64
    assert secret_key("DJANGO_SECRET_KEY", path) == key
    assert [p.name for p in path.parent.iterdir()] == ["key"]  # no temporary file left behind
    path.write_text("")
    with pytest.raises(ImproperlyConfigured, match="empty"):
        secret_key("DJANGO_SECRET_KEY", path)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("true", True), ("1", True), ("YES", True), (" on ", True), ("false", False), ("0", False), ("No", False)]
    + [("off", False)],
)
def test_env_bool_forms(monkeypatch: pytest.MonkeyPatch, value: str, expected: bool) -> None:
    monkeypatch.setenv("SKIP_AUTH", value)
    assert env_bool("SKIP_AUTH") is expected
    target: dict[str, object] = {}
    put_bool(target, "SKIP_AUTH", "SKIP_AUTH")
    assert target == {"SKIP_AUTH": expected}


def test_env_bool_refuses_other_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SKIP_AUTH", "maybe")
    with pytest.raises(ImproperlyConfigured, match="SKIP_AUTH"):
        env_bool("SKIP_AUTH")
    monkeypatch.setenv("SKIP_AUTH", " ")
    assert env_bool("SKIP_AUTH", default=True) is True  # blank = unset


def test_skip_auth_env_accepts_every_true_form(tmp_path: Path) -> None:
    code = "from project.settings import LLANA; print(LLANA.get('SKIP_AUTH'))"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "SKIP_"))}
    env |= {"DJANGO_SECRET_KEY_FILE": str(tmp_path / "key")}
    for value, expected in (("yes", "True"), ("1", "True"), ("off", "False")):
        out = subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, env=env | {"SKIP_AUTH": value}, capture_output=True, text=True
        )
        assert out.stdout.strip() == expected, out.stderr
