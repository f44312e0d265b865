"""The browser origins allowed to call the API with credentials: one policy for REST and the Socket.IO feed.

The source of truth is django-cors-headers' ``CORS_ALLOWED_ORIGINS`` (and ``CORS_ALLOW_ALL_ORIGINS``). The
same list serves three places:

- CORS on the REST API: ``corsheaders.middleware.CorsMiddleware`` answers preflights and adds the
  ``Access-Control-Allow-*`` headers (the project installs it; llana writes no CORS headers itself);
- the CSRF origin check of cookie-authenticated JSON writes (``trusted_origin()``, used by
  ``llana.auth.authentication.csrf_failure()``): only origins *listed* in ``CORS_ALLOWED_ORIGINS`` (or the
  request's own origin) count; ``CORS_ALLOW_ALL_ORIGINS`` never makes every site trusted for writes;
- the Socket.IO transport (``socket_origins()``, read by ``llana_realtime.channels.asgi``), unless the
  older ``LLANA_REALTIME["CORS_ALLOWED_ORIGINS"]`` is set, which still wins for sockets.

See docs/frontends.md and docs/security.md, "Frontends: CORS and CSRF".
"""

from __future__ import annotations

from collections.abc import Iterable

from corsheaders.conf import conf as cors_conf
from django.http import HttpRequest
from rest_framework.request import Request


def _normalise(origins: Iterable[str]) -> list[str]:
    return [origin.strip().rstrip("/") for origin in origins if origin and origin.strip()]


def allowed_origins() -> list[str]:
    """The origins listed in ``CORS_ALLOWED_ORIGINS`` (``scheme://host[:port]``, no trailing slash)."""
    return _normalise(cors_conf.CORS_ALLOWED_ORIGINS)


def socket_origins(realtime_origins: str | Iterable[str] | None) -> list[str]:
    """The origins the Socket.IO transport accepts besides the same origin.

    ``realtime_origins`` is ``LLANA_REALTIME["CORS_ALLOWED_ORIGINS"]``: when set (a list or one string) it is
    used as before; when None (the default) sockets follow the REST policy: ``["*"]`` with
    ``CORS_ALLOW_ALL_ORIGINS``, else ``CORS_ALLOWED_ORIGINS``.
    """
    if realtime_origins is not None:
        return [realtime_origins] if isinstance(realtime_origins, str) else list(realtime_origins)
    if cors_conf.CORS_ALLOW_ALL_ORIGINS:
        return ["*"]
    return allowed_origins()


def own_origin(request: HttpRequest | Request) -> str:
    """The origin the request was sent to (``scheme://host[:port]``), as Django's CSRF check computes it."""
    return f"{request.scheme}://{request.get_host()}"


def trusted_origin(origin: str, request: HttpRequest | Request) -> bool:
    """Whether a page at ``origin`` may make cookie-authenticated writes: the request's own origin, or one
    listed in ``CORS_ALLOWED_ORIGINS``. ``null`` (sandboxed pages, some redirects) is never trusted."""
    origin = origin.strip().rstrip("/")
    if not origin or origin == "null":
        return False
    return origin == own_origin(request) or origin in allowed_origins()
