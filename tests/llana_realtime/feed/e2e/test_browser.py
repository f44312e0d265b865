"""A real browser: headless Chromium (Playwright) on the project's live demo page (``/demo/live/``).

The page logs in over HTTP, connects with socket.io-client's default transports (polling, then the upgrade
to WebSocket — where browsers can't send headers, so the token and table travel in ``auth``) and shows the
event a REST write causes.
"""

from __future__ import annotations

import tempfile
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest

from tests.llana_realtime.feed.e2e.conftest import Project
from tests.llana_realtime.feed.e2e.support import (
    ADMIN,
    NodeClient,
    claims,
    create_customer,
    http,
    login,
)
from tests.services import require_chromium, require_node

pytestmark = [pytest.mark.slow, pytest.mark.service("chromium")]
SCRIPT = Path(__file__).with_name("browser_live.js")


def test_the_demo_page_is_served_with_its_vendored_client(feed_server: Project) -> None:
    status, page = http(feed_server.url, "GET", "/demo/live/?table=Employee")
    assert status == 200
    assert 'value="Employee"' in page
    assert "/demo/live/static/socket.io.min.js" in page
    status, script = http(feed_server.url, "GET", "/demo/live/static/socket.io.min.js")
    assert status == 200
    assert script.startswith("/*!\n * Socket.IO v4.")  # the license header is kept
    status, _ = http(feed_server.url, "GET", "/demo/live/static/..%2Fviews.py")
    assert status == 404


async def test_browser_shows_an_event_after_upgrading_to_websocket(
    feed_server: Project, clients: AsyncExitStack
) -> None:
    node, chromium = require_node(), require_chromium()
    token = login(feed_server.url)
    with tempfile.TemporaryDirectory(prefix="llana-chromium-", ignore_cleanup_errors=True) as profile:
        browser = await NodeClient.start(
            node, feed_server.url, script=SCRIPT, timeout=60, executablePath=chromium, userDataDir=profile,
            email=ADMIN[0], password=ADMIN[1], table="Customer",
        )  # fmt: skip
        clients.push_async_callback(browser.close)
        connected = browser.of_kind("connect")
        assert connected, f"{browser.observed} {browser.stderr.decode(errors='replace')[-2000:]}"
        assert connected[0][1]["status"] == "connected to Customer"
        assert connected[0][1]["polling"] is True  # the handshake went over HTTP long-polling
        pk = await create_customer(feed_server.url, token, int(claims(token)["sub"]))
        browser.send({"expect": {"kind": "INSERT", "key": "custid", "value": pk}})
        seen = await browser.wait_until(
            lambda: browser.of_kind("seen") or browser.of_kind("connect_error"), 60, "the event on the page"
        )
        assert seen[0][0] == "seen", seen
        assert f'"custId":"{pk}"' in seen[0][1]["text"]
        assert seen[0][1]["transport"] == "websocket"  # …then upgraded
        assert "/socket.io/" in (seen[0][1]["websocket"] or "")


async def test_the_pages_write_buttons_create_update_and_delete_a_row(
    feed_server: Project, clients: AsyncExitStack
) -> None:
    """The live page's own Create / Update / Delete (REST with the page's token), each event on the page."""
    node, chromium = require_node(), require_chromium()
    with tempfile.TemporaryDirectory(prefix="llana-chromium-", ignore_cleanup_errors=True) as profile:
        browser = await NodeClient.start(
            node, feed_server.url, script=SCRIPT, timeout=60, executablePath=chromium, userDataDir=profile,
            email=ADMIN[0], password=ADMIN[1], table="Customer",
        )  # fmt: skip
        clients.push_async_callback(browser.close)
        assert browser.of_kind("connect"), f"{browser.observed} {browser.stderr.decode(errors='replace')[-2000:]}"

        async def click(action: str, kind: str, body: str | None = None) -> dict[str, Any]:
            done = len(browser.of_kind("wrote"))
            browser.send({"write": {"action": action, **({"body": body} if body is not None else {})}})
            wrote = await browser.wait_until(
                lambda: browser.of_kind("wrote")[done:] or browser.of_kind("connect_error"), 60, f"{action} result"
            )
            assert wrote[0][0] == "wrote", wrote
            result: dict[str, Any] = wrote[0][1]
            assert result["ok"], result
            seen = len(browser.of_kind("seen"))
            browser.send({"expect": {"kind": kind, "key": "custid", "value": result["id"]}})
            event = await browser.wait_until(
                lambda: browser.of_kind("seen")[seen:] or browser.of_kind("connect_error"), 60, f"the {kind} event"
            )
            assert event[0][0] == "seen", event
            return result

        created = await click("create", "INSERT")  # the page's sample row: the logged-in user's customer
        assert created["id"].isdigit()
        assert "POST /Customer/ → 201" in created["status"]
        token = login(feed_server.url)
        status, row = http(feed_server.url, "GET", f"/Customer/{created['id']}", token=token)
        assert (status, row["companyName"], row["userId"]) == (200, "Live demo", int(claims(token)["sub"]))
        updated = await click("update", "UPDATE", body='{"city": "Bergen"}')
        assert f"PATCH /Customer/{created['id']} → 200" in updated["status"]
        assert http(feed_server.url, "GET", f"/Customer/{created['id']}", token=token)[1]["city"] == "Bergen"
        deleted = await click("delete", "DELETE")
        assert f"DELETE /Customer/{created['id']} → 200" in deleted["status"]
        assert http(feed_server.url, "GET", f"/Customer/{created['id']}", token=token)[0] == 404
