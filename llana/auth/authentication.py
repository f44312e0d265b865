"""DRF authentication for every llana endpoint: each request is authenticated once, and its ``Identity``
travels on ``request.auth``.

``LlanaAuthentication`` is the one authentication class of llana's views. It asks the classes of
``LLANA["AUTHENTICATION_CLASSES"]`` in order (any DRF authentication class; import strings, default
API key then JWT) and never raises: the first class that returns a user wins; a class that raises
``AuthenticationFailed`` (401) or ``PermissionDenied`` (403, failed CSRF check) leaves its reason on the
anonymous identity instead, because a public table admits a caller whose credentials failed (as Llana
does). The permission engine turns that reason into the 401/403 when no public rule admits the request.
With ``SKIP_AUTH`` no credential is read and the identity is ``Identity.skip()``.

- ``APIKeyAuthentication``: the key from ``LLANA["API_KEY_LOCATION"]`` under ``LLANA["API_KEY_NAME"]``
  (``llana.auth.credentials``), matched against ``_llana_api_key`` hashes. Revoked keys, expired keys
  and keys of inactive users are refused.
- ``JWTAuthentication``: ``Authorization: Bearer <token>``, else the ``accessToken`` cookie. A request
  authenticated by the cookie alone must pass ``csrf_failure()`` when its method is unsafe: a JSON body
  sent from a trusted origin (``llana.auth.origins``) passes as it is; anything else needs Django's CSRF
  token (the ``csrftoken`` cookie's value in ``X-CSRFToken``). The header (and an API key) needs neither.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, CSRFCheck
from rest_framework.request import Request

from llana.auth.credentials import (
    MISSING_TOKEN_MESSAGE,
    api_key_from_request,
    token_from_request,
)
from llana.auth.identities import (
    Identity,
    identity_for_user,
    user_can_authenticate,
    user_for_token,
)
from llana.auth.origins import trusted_origin
from llana.auth.tokens import FAILED_MESSAGE, InvalidAccessToken
from llana.models import ApiKey
from llana.settings import llana_settings

logger = logging.getLogger(__name__)

API_KEY_FAILED_MESSAGE = "Unauthorized"
API_KEY_EXPIRED_MESSAGE = "API key expired"
LAST_USED_RESOLUTION = timedelta(seconds=60)  # write last_used at most once a minute per key
WWW_AUTHENTICATE = 'Bearer realm="api"'  # makes DRF answer 401 (not 403) to unauthenticated requests


def api_key_row(plaintext: str) -> ApiKey:
    """The valid ``_llana_api_key`` row of a key (its ``last_used`` brought up to date). Raises
    ``AuthenticationFailed``: ``Unauthorized`` (unknown, revoked, user inactive) or ``API key expired``."""
    row = ApiKey.objects.get_by_plaintext(plaintext) if plaintext else None
    if row is None or row.revoked or not user_can_authenticate(row.user):
        raise exceptions.AuthenticationFailed(API_KEY_FAILED_MESSAGE)
    if row.is_expired:
        raise exceptions.AuthenticationFailed(API_KEY_EXPIRED_MESSAGE)
    now = timezone.now()
    if row.last_used is None or now - row.last_used > LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=row.pk).update(last_used=now)
    return row


def api_keys_enabled() -> bool:
    """Whether ``LLANA["AUTHENTICATION_CLASSES"]`` accepts API keys (sockets follow REST)."""
    return any(issubclass(cls, APIKeyAuthentication) for cls in llana_settings.AUTHENTICATION_CLASSES)


def identity_and_expiry_for_api_key(plaintext: str, *, websocket: bool = True) -> tuple[Identity, float | None]:
    """The ``Identity`` of an API key's user for a socket handshake (sync), with the key's expiry (epoch
    seconds) or None; a refused key gives an anonymous identity carrying the 401 message."""
    try:
        row = api_key_row(plaintext)
    except exceptions.AuthenticationFailed as exc:
        return Identity.anonymous((exc.status_code, str(exc.detail)), websocket=websocket), None
    identity = identity_for_user(row.user, websocket=websocket)
    return identity, (row.expires.timestamp() if row.expires is not None else None)


class APIKeyAuthentication(BaseAuthentication):
    """``(user, ApiKey row)`` for a valid API key; None without a key; ``AuthenticationFailed`` for a bad one."""

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        plaintext = api_key_from_request(request)
        if plaintext is None:
            return None
        row = api_key_row(plaintext)
        return row.user, row

    def authenticate_header(self, request: Request) -> str:
        return WWW_AUTHENTICATE


class JWTAuthentication(BaseAuthentication):
    """``(user, token)`` for a valid access token; None without one; ``AuthenticationFailed`` for a bad
    token, ``PermissionDenied`` for a cookie-borne token that fails the CSRF check."""

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        token, from_cookie = token_from_request(request)
        if not token:
            return None
        try:
            user = user_for_token(token)
        except InvalidAccessToken as exc:
            raise exceptions.AuthenticationFailed(str(exc)) from None
        except Exception:  # e.g. a malformed pk on PostgreSQL: never a 500
            logger.warning("Access token refused: user lookup failed", exc_info=True)
            raise exceptions.AuthenticationFailed(FAILED_MESSAGE) from None
        if from_cookie:
            reason = csrf_failure(request)
            if reason:
                raise exceptions.PermissionDenied(f"CSRF Failed: {reason}")
        return user, token

    def authenticate_header(self, request: Request) -> str:
        return WWW_AUTHENTICATE


UNREADABLE_BODY_REASON = "CSRF token missing."
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


def json_body(request: HttpRequest | Request) -> bool:
    """Whether the request declares a JSON body (``application/json`` or ``application/<x>+json``)."""
    media_type = request.META.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
    return media_type == "application/json" or (media_type.startswith("application/") and media_type.endswith("+json"))


def preflighted(request: HttpRequest | Request) -> bool:
    """Whether a browser sends this request cross-origin only after a CORS preflight: any method but
    ``POST`` (``PUT``, ``PATCH``, ``DELETE`` are never "simple"), or a ``POST`` with a JSON body."""
    return request.method != "POST" or json_body(request)


def trusted_json_write(request: HttpRequest | Request) -> bool:
    """A cookie-authenticated write that needs no CSRF token (see docs/security.md, "Frontends: CORS and CSRF").

    A browser sends a cross-origin JSON body (or a ``PUT``/``PATCH``/``DELETE``) only after a CORS
    preflight, which is answered for allowed origins only, and it sends ``Origin`` with it: the write is
    accepted when its ``Origin`` is trusted (the request's own or one in ``CORS_ALLOWED_ORIGINS``) or,
    without ``Origin``, when the browser says ``Sec-Fetch-Site: same-origin``. Form and ``text/plain``
    posts (which a cross-site page can send without a preflight) never pass here.
    """
    if not preflighted(request):
        return False
    origin = request.META.get("HTTP_ORIGIN")
    if origin is not None:
        return trusted_origin(origin, request)
    return request.META.get("HTTP_SEC_FETCH_SITE", "").strip().lower() == "same-origin"


def csrf_failure(request: HttpRequest | Request) -> str | None:
    """The CSRF check of a cookie-authenticated request; the reason it fails, or None.

    Safe methods and trusted JSON writes (``trusted_json_write()``) pass; everything else goes through
    Django's CSRF check (token and origin), as DRF's ``SessionAuthentication`` does.
    """
    if request.method in SAFE_METHODS or trusted_json_write(request):
        return None

    def dummy_get_response(request: HttpRequest) -> HttpResponse:  # pragma: no cover - never called
        return HttpResponse()

    check = CSRFCheck(dummy_get_response)
    # The DRF request itself, as DRF's SessionAuthentication does: its POST is the parsed form body.
    check.process_request(request)
    try:
        # DRF's CSRFCheck returns the reason (a string) instead of a response.
        reason = check.process_view(request, None, (), {})  # type: ignore[arg-type]
    except exceptions.ParseError:
        # Looking for the form's csrfmiddlewaretoken parsed a body that is no JSON (a form or text/plain
        # post from another site): it carries no token, so the write is refused as a CSRF failure (403).
        return UNREADABLE_BODY_REASON
    return str(reason) if reason else None


def identify(request: HttpRequest | Request) -> tuple[Any, Identity]:
    """``(user or None, Identity)`` of a request, by ``LLANA["AUTHENTICATION_CLASSES"]`` in order.

    The first class returning a user wins. Otherwise the identity is anonymous, its ``error`` the
    ``(status, message)`` of the last class that refused a credential, else Llana's missing-token message.
    """
    if llana_settings.SKIP_AUTH:
        return None, Identity.skip()
    error = (401, MISSING_TOKEN_MESSAGE)
    for authentication_class in llana_settings.AUTHENTICATION_CLASSES:
        try:
            result = authentication_class().authenticate(request)
        except exceptions.APIException as exc:
            error = (exc.status_code, str(exc.detail))
            continue
        if result is not None:
            return result[0], identity_for_user(result[0])
    return None, Identity.anonymous(error)


class LlanaAuthentication(BaseAuthentication):
    """The authentication class of llana's views: ``request.user`` (``AnonymousUser`` when anonymous)
    and ``request.auth``, always an ``Identity``. Never raises (see the module docstring)."""

    def authenticate(self, request: Request) -> tuple[Any, Identity]:
        user, identity = identify(request)
        return (user if user is not None else AnonymousUser()), identity

    def authenticate_header(self, request: Request) -> str:
        return WWW_AUTHENTICATE
