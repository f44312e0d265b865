"""The official Llana Nuxt plugin (``@juicyllama/llana-plugins-nuxtjs``, unchanged) against the demo server, as a
Nuxt app on another origin runs it: login, lists with filters/sort/page/relations, create/update/delete, the
table subscription, refresh, logout and a public table; cookie mode (the plugin's own) and Bearer mode.

``tests/frontends/nuxt/`` holds the Nuxt runtime shim (``app.mjs``: ``defineNuxtPlugin``, ``useCookie``,
``navigateTo``, ``useRequestHeaders``, ``$fetch`` from ofetch) and a browser-like fetch (``browser.mjs``: the
page's ``Origin``, CORS preflights and their checks, a cookie jar honouring ``credentials``).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.llana_realtime.feed.e2e.conftest import DatabaseFactory, Project, start_project
from tests.services import require

pytestmark = [pytest.mark.slow, pytest.mark.service("node")]

ROOT = Path(__file__).resolve().parents[2]
SHIM = Path(__file__).with_name("nuxt")
PLUGIN = ROOT / "node_modules" / "@juicyllama" / "llana-plugins-nuxtjs" / "dist" / "runtime" / "plugin.js"
APP_ORIGIN = "http://127.0.0.1:3000"  # the Nuxt dev server's origin; the API runs on another port
ADMIN = ("test@test.com", "test")


def node_version(node: str) -> tuple[int, ...]:
    done = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30, check=False)
    return tuple(int(part) for part in done.stdout.strip().lstrip("v").split(".")[:2] if part.isdigit())


def require_plugin() -> str:
    """``node`` (>= 20.6: ``--import`` with module hooks) with the plugin and ofetch in node_modules."""
    node = shutil.which("node")
    require(
        bool(node) and PLUGIN.exists() and (ROOT / "node_modules" / "ofetch").is_dir(),
        "Node.js with node_modules/@juicyllama/llana-plugins-nuxtjs and ofetch (run `npm ci`)",
    )
    require(node_version(node or "") >= (20, 6), "Node.js >= 20.6 (module.register hooks for the Nuxt shim)")
    return node or ""


@pytest.fixture(scope="module")
def api() -> Iterator[Project]:
    """The demo project under daphne, its frontend origin in ``BASE_URL_APP``."""
    require_plugin()
    tmp = Path(tempfile.mkdtemp(prefix="llana-nuxt-"))
    factory = DatabaseFactory(tmp)
    try:
        with start_project(factory, BASE_URL_APP=APP_ORIGIN, DJANGO_DEBUG="false") as project:
            yield project
    finally:
        factory.close()
        shutil.rmtree(tmp, ignore_errors=True)


def run_scenario(api: Project, **options: Any) -> dict[str, dict[str, Any]]:
    node = require_plugin()
    done = subprocess.run(
        [node, "--import", "./register.mjs", "scenario.mjs", api.url, json.dumps(options)],
        cwd=SHIM, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    steps = {}
    for line in done.stdout.splitlines():
        if line.startswith("{"):
            step = json.loads(line)
            steps[step.pop("step")] = step
    context = f"\nstdout:\n{done.stdout[-4000:]}\nstderr:\n{done.stderr[-4000:]}{api.log_tail()}"
    assert "error" not in steps, steps.get("error", {}).get("message", "") + context
    assert "done" in steps, context
    return steps


@pytest.mark.parametrize("mode", ["cookie", "bearer"])
def test_the_official_nuxt_plugin_from_another_origin(api: Project, mode: str) -> None:
    steps = run_scenario(api, mode=mode, origin=APP_ORIGIN, username=ADMIN[0], password=ADMIN[1])
    assert steps["start"]["authCheck"] is False
    assert steps["public_list"]["count"] == 2
    assert steps["login"]["status"] == 200
    assert steps["login"]["authCheck"] is True
    expected_cookies = ["refreshToken"] if mode == "bearer" else ["accessToken", "refreshToken"]
    assert set(expected_cookies) <= set(steps["login"]["cookies"])
    assert steps["profile"]["email"] == ADMIN[0]
    listed = steps["list"]
    assert listed["count"] == 3
    assert listed["countries"] == ["Germany"]
    assert listed["names"] == sorted(listed["names"])
    assert listed["relations"] is True
    assert listed["total"] > 3
    assert listed["next"]
    assert steps["page"]["offset"] == 3
    assert steps["page"]["names"]
    assert steps["page"]["names"][0] >= listed["names"][-1]
    assert steps["subscribe"]["connected"] is True
    pk = str(steps["create"]["id"])
    assert steps["create"]["companyName"] == f"Plugin {mode}"
    assert steps["update"]["city"] == "Reykjavik"
    assert steps["get"]["city"] == "Reykjavik"
    assert steps["delete"]["deleted"] == 1
    assert steps["events"]["events"] == [
        ["INSERT", "INSERT", pk],
        ["UPDATE", "UPDATE", pk],
        ["DELETE", "DELETE", pk],
    ]
    assert steps["refresh"]["token"] is True
    assert steps["after_refresh"]["count"] == 1
    assert steps["logout"]["authCheck"] is False
    assert "accessToken" not in steps["logout"]["cookies"]
    assert steps["anonymous"]["public"] == 1
    assert steps["anonymous"]["private"]["ok"] is False
    assert steps["anonymous"]["private"]["status"] == 401
    done = steps["done"]
    assert done["preflights"] > 0  # every call sends Content-Type: application/json: CORS was exercised
    # No write was refused: the plugin navigates to /login only on logout and on the anonymous private list.
    assert done["navigations"] == ["/login", "/login"], done["requests"]
    refused = [request for request in done["requests"] if request[2] in (403,)]
    assert refused == []


def test_an_unknown_origin_gets_no_cors_and_no_data(api: Project) -> None:
    steps_or_error = subprocess.run(
        [require_plugin(), "--import", "./register.mjs", "scenario.mjs", api.url,
         json.dumps({"mode": "cookie", "origin": "http://evil.example:3000", "username": ADMIN[0], "password": ADMIN[1]})],
        cwd=SHIM, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    lines = [json.loads(line) for line in steps_or_error.stdout.splitlines() if line.startswith("{")]
    error = lines[-1]
    assert error["step"] == "error", lines
    assert "Failed to fetch" in error["message"], error
    assert error["requests"] == [], error  # the preflight failed: the GET itself was never sent
