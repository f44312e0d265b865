"""One origin policy: the Socket.IO transport accepts the origins REST allows (``CORS_ALLOWED_ORIGINS``), unless
the older ``LLANA_REALTIME["CORS_ALLOWED_ORIGINS"]`` says otherwise; ``BASE_URL_APP`` fills the list."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from django.core.checks import run_checks
from django.test import override_settings

from llana.checks import CORS_MIDDLEWARE, check_origin_settings
from llana_realtime.channels.asgi import engineio_server
from llana_realtime.engineio.socket import EngineIOSocket

ROOT = Path(__file__).resolve().parents[2]


class Handler:
    async def engineio_connect(self, socket: EngineIOSocket) -> None:
        pass

    async def engineio_message(self, socket: EngineIOSocket, data: str | bytes) -> None:
        pass

    async def engineio_disconnect(self, socket: EngineIOSocket, reason: str) -> None:
        pass


def test_sockets_follow_cors_allowed_origins(settings: Any) -> None:
    settings.LLANA_REALTIME = {}
    settings.CORS_ALLOWED_ORIGINS = ["http://localhost:3000"]
    server = engineio_server(Handler())
    assert server.allowed_origin("http://localhost:3000", "api.example")
    assert not server.allowed_origin("https://evil.example", "api.example")
    assert server.allowed_origin("https://api.example", "api.example")  # same origin


def test_cors_allow_all_origins_opens_sockets_too(settings: Any) -> None:
    settings.LLANA_REALTIME = {}
    settings.CORS_ALLOWED_ORIGINS = []
    settings.CORS_ALLOW_ALL_ORIGINS = True
    assert engineio_server(Handler()).allowed_origin("https://any.example", "api.example")


def test_llana_realtime_origins_still_win_for_sockets(settings: Any) -> None:
    settings.CORS_ALLOWED_ORIGINS = ["http://localhost:3000"]
    settings.LLANA_REALTIME = {"CORS_ALLOWED_ORIGINS": ["https://x.example"]}
    server = engineio_server(Handler())
    assert server.cors_allowed_origins == {"https://x.example"}
    settings.LLANA_REALTIME = {"CORS_ALLOWED_ORIGINS": []}  # explicitly same origin only
    assert engineio_server(Handler()).cors_allowed_origins == frozenset()


def _project_setting(code: str, **env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if k not in {"BASE_URL_APP", "DJANGO_DEBUG"}}
    done = subprocess.run(
        [sys.executable, "-c", f"import project.settings as s; print({code})"],
        cwd=ROOT, env={**clean, **env}, capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    return done.stdout.strip()


def test_base_url_app_is_a_comma_list() -> None:
    value = _project_setting("s.CORS_ALLOWED_ORIGINS", BASE_URL_APP="http://localhost:3000, https://app.example")
    assert value == "['http://localhost:3000', 'https://app.example']"


def test_defaults_dev_and_production() -> None:
    assert "http://localhost:3000" in _project_setting("s.CORS_ALLOWED_ORIGINS", DJANGO_DEBUG="true")
    assert _project_setting("s.CORS_ALLOWED_ORIGINS", DJANGO_DEBUG="false") == "[]"
    assert _project_setting("s.CORS_ALLOW_CREDENTIALS") == "True"
    assert _project_setting("'x-api-key' in s.CORS_ALLOW_HEADERS") == "True"


def origin_check_ids(**overrides: Any) -> list[str]:
    with override_settings(**overrides):
        return [m.id for m in check_origin_settings() if m.id]


def test_origin_checks(settings: Any) -> None:
    assert origin_check_ids() == []
    without_middleware = [m for m in settings.MIDDLEWARE if m != CORS_MIDDLEWARE]
    assert origin_check_ids(MIDDLEWARE=without_middleware, CORS_ALLOWED_ORIGINS=["http://a.example"]) == ["llana.W401"]
    assert origin_check_ids(MIDDLEWARE=without_middleware, CORS_ALLOWED_ORIGINS=[]) == []
    assert origin_check_ids(CORS_ALLOW_ALL_ORIGINS=True, CORS_ALLOW_CREDENTIALS=True) == ["llana.W402"]
    assert origin_check_ids(CORS_ALLOW_ALL_ORIGINS=True, CORS_ALLOW_CREDENTIALS=False) == []


def test_the_check_is_registered() -> None:
    with override_settings(CORS_ALLOW_ALL_ORIGINS=True, CORS_ALLOW_CREDENTIALS=True):
        assert "llana.W402" in [m.id for m in run_checks()]
