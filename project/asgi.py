"""The one ASGI entry point: Django over HTTP, Socket.IO (llana_realtime) over HTTP long-polling and WebSocket.

Serve it with ``daphne project.asgi:application`` (or, for production, ``uvicorn project.asgi:application
--loop uvloop --http httptools --ws websockets-sansio --ws-per-message-deflate false --lifespan off``). Socket.IO is mounted at ``LLANA_REALTIME["PATH"]``
(default ``/socket.io/``) and served by ``llana_realtime.socketio.server.default_server``, on which apps register
their namespaces; every other HTTP path goes to Django.
"""
from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
django_asgi_app = get_asgi_application()

from django.conf import settings  # noqa: E402
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler  # noqa: E402

from llana.checks import run_startup_checks  # noqa: E402

# daphne and uvicorn run no system checks (only manage.py does): a bad setting must stop the server here.
run_startup_checks()
if settings.DEBUG:
    # As runserver does: serve static files (the admin's CSS) in development; use collectstatic in production.
    django_asgi_app = ASGIStaticFilesHandler(django_asgi_app)

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import re_path  # noqa: E402

from llana_realtime.engine import EngineIOServer  # noqa: E402
from llana_realtime.middleware import JWTAuthMiddlewareStack  # noqa: E402
from llana_realtime.routing import engineio_urlpatterns  # noqa: E402
from llana_realtime.settings import realtime_settings  # noqa: E402
from llana_realtime.socketio.server import default_server  # noqa: E402

engineio_server = EngineIOServer.from_settings(default_server)
socketio_http, socketio_websocket = engineio_urlpatterns(realtime_settings.PATH, engineio_server)

# JWTAuthMiddlewareStack puts the simplejwt user of a Socket.IO handshake into scope["user"]; it leaves
# other HTTP requests alone.
application = JWTAuthMiddlewareStack(
    ProtocolTypeRouter(
        {
            "http": URLRouter([*socketio_http, re_path(r"", django_asgi_app)]),
            "websocket": URLRouter(socketio_websocket),
        }
    )
)
