"""``realtime_application(django_asgi_app)``: the whole ASGI application of a project that uses llana_realtime.

Django serves HTTP; the process-wide Socket.IO server (``llana_realtime.socketio.server.default_server``) is mounted at
``LLANA_REALTIME["PATH"]`` on both Engine.IO transports, behind ``JWTAuthMiddleware``. A project's
``asgi.py``::

    import os

    from django.core.asgi import get_asgi_application

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "myproject.settings")
    django_asgi_app = get_asgi_application()

    from llana_realtime.channels.asgi import realtime_application  # noqa: E402  (after Django's setup)

    application = realtime_application(django_asgi_app)

This module imports models (through ``JWTAuthMiddleware``), so import it after ``get_asgi_application()``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from channels.routing import ProtocolTypeRouter, URLRouter

from llana.auth.origins import socket_origins
from llana.checks import run_startup_checks
from llana_realtime.channels.middleware import JWTAuthMiddleware, JWTAuthMiddlewareStack
from llana_realtime.channels.routing import asgi_re_path, engineio_urlpatterns
from llana_realtime.engineio.interfaces import EngineIOHandler
from llana_realtime.engineio.server import EngineIOServer
from llana_realtime.settings import realtime_settings
from llana_realtime.socketio.server import default_server


def engineio_server(handler: EngineIOHandler) -> EngineIOServer:
    """An ``EngineIOServer`` for ``handler``, configured by ``realtime_settings`` (``LLANA_REALTIME``)."""
    return EngineIOServer(
        handler,
        ping_interval=realtime_settings.PING_INTERVAL,
        ping_timeout=realtime_settings.PING_TIMEOUT,
        max_payload=realtime_settings.MAX_PAYLOAD,
        cors_allowed_origins=socket_origins(realtime_settings.CORS_ALLOWED_ORIGINS),
        cors_allow_credentials=realtime_settings.CORS_ALLOW_CREDENTIALS,
        outgoing_queue_size=realtime_settings.OUTGOING_QUEUE_SIZE,
        max_buffered_bytes=realtime_settings.MAX_BUFFERED_BYTES,
    )


def realtime_application(django_asgi_app: Callable[..., Awaitable[None]]) -> JWTAuthMiddleware:
    """Django (``django_asgi_app``) over HTTP, and the Socket.IO server at ``LLANA_REALTIME["PATH"]``.

    Runs the system checks first, as ``manage.py`` would (daphne and uvicorn run none): raises
    ``SystemCheckError`` naming a bad setting. ``JWTAuthMiddleware`` puts the user of a Socket.IO
    handshake's access token into ``scope["user"]``; it leaves other HTTP requests alone.
    """
    run_startup_checks()
    http, websocket = engineio_urlpatterns(realtime_settings.PATH, engineio_server(default_server))
    return JWTAuthMiddlewareStack(
        ProtocolTypeRouter(
            {
                "http": URLRouter([*http, asgi_re_path(r"", django_asgi_app)]),
                "websocket": URLRouter(websocket),
            }
        )
    )
