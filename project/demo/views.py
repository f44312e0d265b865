"""The live demo page (``/demo/live/``): log in, choose a table and watch its realtime events.

The page talks to the same origin only: ``POST /auth/login`` for a token, ``GET /tables`` for the tables it
may follow, and Socket.IO (``/socket.io/``) with the official client, vendored under ``static/demo/`` so the
page works offline. ``live_asset`` serves those two files itself, because daphne serves no static files and
``llana.urls`` takes every other path as a table name.
"""

from __future__ import annotations

from pathlib import Path

from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from llana_realtime.settings import realtime_settings

STATIC_DIR = Path(__file__).resolve().parent / "static" / "demo"
ASSETS = {"socket.io.min.js": "text/javascript", "live.js": "text/javascript", "favicon.svg": "image/svg+xml"}


@require_GET
def live(request: HttpRequest) -> HttpResponse:
    """The page; ``?table=`` preselects a table."""
    context = {"table": request.GET.get("table", "Customer"), "socketio_path": realtime_settings.PATH}
    return render(request, "demo/live.html", context)


@require_GET
def favicon(request: HttpRequest) -> FileResponse:
    """``/favicon.ico`` of the example project (an SVG: browsers ask for it on every page, admin and docs too)."""
    return live_asset(request, "favicon.svg")


@require_GET
def live_asset(request: HttpRequest, name: str) -> FileResponse:
    """One of the page's scripts (a fixed list: nothing else under the app is reachable)."""
    content_type = ASSETS.get(name)
    if content_type is None:
        raise Http404(name)
    response = FileResponse((STATIC_DIR / name).open("rb"), content_type=content_type)
    response["Cache-Control"] = "public, max-age=3600"
    return response
