"""HOSTS: the client addresses allowed to use the API (Llana's ``HOSTS``, without its holes; ``docs/auth.md``).

``LLANA["HOSTS"]`` lists IPs and CIDR ranges (``"127.0.0.1"``, ``"10.0.0.0/8"``, ``"::1"``;
``"localhost"`` means ``127.0.0.0/8`` and ``::1``). Empty = every address is allowed.

The client address is the TCP peer (``REMOTE_ADDR`` / the ASGI ``scope["client"]``), unless
``LLANA["TRUSTED_PROXY_HEADER"]`` names a header set by your reverse proxy (``X-Real-IP``,
``X-Forwarded-For``: the right-most entry, the one your proxy appended). Without that setting, proxy
headers are ignored: they are client-controlled and would let anyone pass.

An ASGI server may rewrite the peer from a proxy header before the application sees it: uvicorn does by
default (``--proxy-headers``, trusting ``X-Forwarded-For`` from ``--forwarded-allow-ips``, 127.0.0.1),
daphne with ``--proxy-headers``. Such a rewritten peer carries port 0 (the header has no port) and the
request still carries the header: without ``TRUSTED_PROXY_HEADER`` that address came from the client, so it
is treated as unknown and refused whenever HOSTS is set (with one warning naming the fix: run uvicorn with
``--no-proxy-headers``, or set ``TRUSTED_PROXY_HEADER``). See docs/security.md, "HOSTS and proxies".

- ``HostsMiddleware``: put it first in ``MIDDLEWARE``; refused requests get 403 JSON ``Forbidden``.
- ``scope_allowed(scope)``: the same check for an ASGI scope (the Socket.IO handshake calls it).
"""

from __future__ import annotations

import ipaddress
import logging
import sys
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

from django.core.checks import CheckMessage, Warning
from django.http import HttpRequest, HttpResponse, JsonResponse

from llana.auth.credentials import scope_header
from llana.exceptions import error_body
from llana.middleware import HybridMiddleware
from llana.settings import llana_settings

logger = logging.getLogger(__name__)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
FORBIDDEN = "Forbidden"


def parse_hosts(entries: Iterable[str]) -> tuple[Network, ...]:
    """``["127.0.0.1", "10.0.0.0/8"]`` → networks. Raises ``ValueError`` naming a bad entry."""
    if isinstance(entries, str):
        entries = entries.split(",")
    networks: list[Network] = []
    for entry in entries:
        item = str(entry).strip()
        if not item:
            continue
        if item.lower() == "localhost":
            networks += [ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128")]
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError(f"HOSTS entry {item!r} is not an IP address or CIDR range") from None
    return tuple(networks)


@lru_cache(maxsize=8)
def _networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    return parse_hosts(entries)


def allowed_networks() -> tuple[Network, ...]:
    hosts = llana_settings.HOSTS or ()
    if isinstance(hosts, str):
        hosts = hosts.split(",")
    return _networks(tuple(str(h) for h in hosts))


def address_allowed(address: str | None) -> bool:
    """Is ``address`` in HOSTS? Everything is allowed when HOSTS is empty; an unknown address is not."""
    networks = allowed_networks()
    if not networks:
        return True
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address.strip().strip("[]"))
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return any(ip in net for net in networks if net.version == ip.version)


def _from_header(value: str | None) -> str | None:
    if not value:
        return None
    # X-Forwarded-For: "client, proxy1, proxy2": the right-most entry was added by the trusted proxy.
    return value.split(",")[-1].strip() or None


#: Headers an ASGI server's proxy support reads the client address from (uvicorn, daphne ``--proxy-headers``).
PROXY_HEADERS = ("x-forwarded-for", "x-real-ip")
_warned_rewritten = False


def _rewritten(port: Any, has_header: bool) -> bool:
    """Did the ASGI server replace the peer with a proxy header's address (port 0 and the header present)?"""
    global _warned_rewritten
    if not has_header or str(port) != "0":
        return False
    if not _warned_rewritten:
        _warned_rewritten = True
        logger.warning(
            "The ASGI server took the client address from a proxy header (X-Forwarded-For) that Llana does "
            "not trust: HOSTS refuses such requests. Run uvicorn with --no-proxy-headers (daphne without "
            "--proxy-headers), or set LLANA['TRUSTED_PROXY_HEADER'] behind a reverse proxy."
        )
    return True


def request_address(request: HttpRequest) -> str | None:
    """The client address of a Django request: the trusted proxy header if configured, else the peer
    (``None`` when the ASGI server rewrote the peer from an untrusted proxy header)."""
    header = llana_settings.TRUSTED_PROXY_HEADER
    if header:
        return _from_header(request.headers.get(header))
    meta = request.META
    if "REMOTE_PORT" in meta and _rewritten(meta["REMOTE_PORT"], any(h in request.headers for h in PROXY_HEADERS)):
        return None
    return meta.get("REMOTE_ADDR")


def scope_address(scope: Mapping[str, Any]) -> str | None:
    """The client address of an ASGI scope (HTTP or WebSocket), by the same rule."""
    header = llana_settings.TRUSTED_PROXY_HEADER
    if header:
        return _from_header(scope_header(scope, header.lower().encode("latin-1")))
    client = scope.get("client")
    if not client:
        return None
    if len(client) > 1 and _rewritten(client[1], any(scope_header(scope, h.encode()) for h in PROXY_HEADERS)):
        return None
    return client[0]


def request_allowed(request: HttpRequest) -> bool:
    return not allowed_networks() or address_allowed(request_address(request))


def scope_allowed(scope: Mapping[str, Any]) -> bool:
    """May the client of this ASGI scope connect? (For the Socket.IO handshake: refuse with ``Forbidden``.)"""
    return not allowed_networks() or address_allowed(scope_address(scope))


def forbidden_response() -> HttpResponse:
    return JsonResponse(error_body(403, FORBIDDEN), status=403)


def under_uvicorn_with_proxy_headers(argv: list[str] | None = None) -> bool:
    """Is this process a ``uvicorn`` command that rewrites the peer from ``X-Forwarded-For`` (its default)?"""
    argv = sys.argv if argv is None else argv
    if not argv or not argv[0].replace("\\", "/").rsplit("/", 1)[-1].startswith("uvicorn"):
        return False
    return "--no-proxy-headers" not in argv


def check_proxy_headers(app_configs: Any = None, argv: list[str] | None = None, **kwargs: Any) -> list[CheckMessage]:
    """``llana.W301``: HOSTS is set and uvicorn runs with its proxy headers on (at startup, by ``asgi.py``)."""
    if not llana_settings.HOSTS or llana_settings.TRUSTED_PROXY_HEADER or not under_uvicorn_with_proxy_headers(argv):
        return []
    return [
        Warning(
            "uvicorn takes the client address from X-Forwarded-For (--proxy-headers is its default): HOSTS "
            "refuses every request whose address it rewrote.",
            hint="Run uvicorn with --no-proxy-headers (behind a reverse proxy, also set LLANA['TRUSTED_PROXY_HEADER']).",
            id="llana.W301",
        )
    ]


class HostsMiddleware(HybridMiddleware):
    """Refuse requests from addresses outside ``LLANA["HOSTS"]`` with 403 ``Forbidden`` (sync and async)."""

    def __call__(self, request: HttpRequest) -> Any:
        if self.is_async:
            return self.__acall__(request)
        if not request_allowed(request):
            return self._refuse(request)
        return self.get_response(request)

    async def __acall__(self, request: HttpRequest) -> Any:
        if not request_allowed(request):
            return self._refuse(request)
        return await self.get_response(request)

    @staticmethod
    def _refuse(request: HttpRequest) -> HttpResponse:
        logger.warning("Refused request from %s (not in HOSTS)", request_address(request) or "<unknown>")
        return forbidden_response()
