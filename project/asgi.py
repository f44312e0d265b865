"""The one ASGI entry point: Django over HTTP, Socket.IO (llana_realtime) over HTTP long-polling and WebSocket.

Serve it with ``daphne project.asgi:application`` (or, for production, ``uvicorn project.asgi:application
--loop uvloop --http httptools --ws websockets-sansio --ws-per-message-deflate false --lifespan off --no-proxy-headers``).
``realtime_application()`` runs the system checks, mounts ``llana_realtime.socketio.server.default_server`` (on which
apps register their namespaces) at ``LLANA_REALTIME["PATH"]`` (default ``/socket.io/``) and sends every
other HTTP path to Django.
"""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
django_asgi_app = get_asgi_application()

from django.conf import settings  # noqa: E402
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler  # noqa: E402

from llana_realtime.channels.asgi import realtime_application  # noqa: E402

if settings.DEBUG:
    # As runserver does: serve static files (the admin's CSS) in development; use collectstatic in production.
    django_asgi_app = ASGIStaticFilesHandler(django_asgi_app)

application = realtime_application(django_asgi_app)
