"""The example project's pages as a person sees them: a favicon, the live page's controls, the docs version."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from llana.openapi.document import api_version

pytestmark = pytest.mark.django_db


def test_favicon(client: Client) -> None:
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    assert b"<svg" in b"".join(response.streaming_content)
    response.close()


def test_live_page_has_an_icon_write_buttons_and_no_button_in_a_heading(client: Client) -> None:
    page = client.get("/demo/live/").content.decode()
    assert '<link rel="icon" type="image/svg+xml" href="/demo/live/static/favicon.svg">' in page
    for action in ("create", "update", "delete"):
        assert f'<button id="{action}" type="button">' in page
    assert not re.search(r"<h\d[^>]*>[^<]*<button", page)
    icon = client.get("/demo/live/static/favicon.svg")
    assert icon.status_code == 200
    icon.close()


def test_docs_page_shows_the_version(client: Client) -> None:
    page = client.get("/").content.decode()
    assert f"v{api_version()}</span>" in page
    assert "vdev" not in page
