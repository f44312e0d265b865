"""One JSON error shape everywhere: unknown tables, unrouted paths, 405, headers."""

from __future__ import annotations

from typing import Any

import pytest

from llana.api import views

pytestmark = pytest.mark.django_db


def test_unknown_table(open_api: Any) -> None:
    for method in ("get", "post", "put", "delete"):
        for url in ("/Nope", "/Nope/", "/Nope/1", "/Nope/schema"):
            response = getattr(open_api, method)(url)
            assert response.status_code == 404
            assert response.json() == {"statusCode": 404, "error": "Not Found", "message": "Table Nope not found"}


def test_unrouted_path_is_json(open_api: Any) -> None:
    response = open_api.get("/a/b/c")
    assert response.status_code == 404
    assert response.json() == {"statusCode": 404, "error": "Not Found", "message": "Cannot GET /a/b/c"}
    assert response["X-Robots-Tag"] == "noindex, nofollow"


def test_method_not_allowed(open_api: Any, demo: Any) -> None:
    response = open_api.post(f"/Customer/{demo.customers[0].pk}", {}, content_type="application/json")
    assert response.status_code == 405
    assert response.json() == {
        "statusCode": 405,
        "error": "Method Not Allowed",
        "message": 'Method "POST" not allowed.',
    }
    assert open_api.delete("/Customer/schema").status_code == 405
    assert open_api.post("/tables").status_code == 405


def test_reserved_names_are_not_tables(open_api: Any) -> None:
    assert open_api.get("/admin/").status_code in (200, 302)
    assert open_api.get("/admin").status_code != 200  # not a table named admin
    assert "Table" not in open_api.get("/auth/").content.decode()


def test_accept_header_ignored(open_api: Any, demo: Any) -> None:
    response = open_api.get("/Customer/", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"


def test_error_headers_and_no_traceback(open_api: Any) -> None:
    response = open_api.get("/Customer/?limit=nope")
    assert response.status_code == 400
    assert response["X-Robots-Tag"] == "noindex, nofollow"
    assert set(response.json()) == {"statusCode", "error", "message"}


def test_denied_decision_is_401_json(client: Any, settings: Any, db: Any) -> None:
    settings.LLANA = {"SKIP_AUTH": False}
    response = client.get("/Customer/")
    assert response.status_code == 401
    body = response.json()
    assert body["statusCode"] == 401
    assert body["error"] == "Unauthorized"
    assert body["message"]


def test_head_and_options(open_api: Any, demo: Any) -> None:
    assert open_api.head("/Customer/").status_code == 200
    response = open_api.options("/Customer/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"


def test_unexpected_error_is_json_500(open_api: Any, demo: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The safety net: a bug in a view still answers JSON without a traceback."""

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(views, "fetch_rows", broken)
    response = open_api.get("/Customer/")
    assert response.status_code == 500
    assert response.json() == {"statusCode": 500, "error": "Internal Server Error", "message": "Internal server error"}
    assert b"secret" not in response.content
