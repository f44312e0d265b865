"""DRF authentication classes used by every llana endpoint: API key first, then JWT (reference 5.1).

- ``APIKeyAuthentication``: the key from ``LLANA["API_KEY_LOCATION"]`` (``HEADER``, ``QUERY`` or
  ``BODY``) under ``LLANA["API_KEY_NAME"]`` (``x-api-key``), matched against ``_llana_api_key`` hashes.
  Revoked keys, expired keys and keys of inactive users are refused.
- ``JWTAuthentication``: ``Authorization: Bearer <token>``, else the ``accessToken`` cookie. A request
  authenticated by the cookie alone must pass Django's CSRF check when its method is unsafe (send the
  ``csrftoken`` cookie's value in ``X-CSRFToken``); the header needs no CSRF token.

These classes never raise: a failure is recorded on the request (``(status, message)``) and the
caller stays anonymous, because a public table admits a caller whose credentials failed (as Llana
does). ``llana.permissions.decide()`` turns the recorded failure into the 401 (or 403 for CSRF) when
no public rule admits the request. ``require_user(request)`` is the strict variant for auth views.
"""
from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, CSRFCheck
from rest_framework.request import Request

from llana.permissions import MISSING_TOKEN_MESSAGE
from llana.settings import llana_settings
from llana.tokens import (
    FAILED_MESSAGE,
    InvalidAccessToken,
    user_pk_from_payload,
    verify_access_token,
)

logger = logging.getLogger(__name__)

ACCESS_COOKIE = "accessToken"
REFRESH_COOKIE = "refreshToken"
API_KEY_FAILED_MESSAGE = "Unauthorized"
API_KEY_EXPIRED_MESSAGE = "API key expired"
LAST_USED_RESOLUTION = timedelta(seconds=60)  # write last_used at most once a minute per key


def _raw(request: Any) -> Any:
    return getattr(request, "_request", request)


def record_failure(request: Any, status: int, message: str) -> None:
    _raw(request)._llana_auth_error = (status, message)


def user_can_authenticate(user: Any) -> bool:
    """Active, and not soft-deleted when ``SOFT_DELETE_COLUMN`` is a column of the user model."""
    if user is None or not getattr(user, "is_active", True):
        return False
    column = llana_settings.SOFT_DELETE_COLUMN
    if column:
        for f in type(user)._meta.concrete_fields:
            if column in (f.column, f.name) and getattr(user, f.attname) not in (None, ""):
                return False
    return True


def api_key_parameter() -> str | None:
    """The query/body parameter carrying the API key (reserved: never a filter or a column), or None."""
    location = str(llana_settings.API_KEY_LOCATION).upper()
    return str(llana_settings.API_KEY_NAME) if location in ("QUERY", "BODY") else None


def read_api_key(request: Any) -> str | None:
    name = str(llana_settings.API_KEY_NAME)
    location = str(llana_settings.API_KEY_LOCATION).upper()
    raw = _raw(request)
    if location == "HEADER":
        value = raw.headers.get(name)
    elif location == "QUERY":
        value = raw.GET.get(name)
    else:
        value = _body_value(request, name)
        _drop_body_key(request, name)
    if value is None:
        return None
    return str(value).strip()


def _body_value(request: Any, name: str) -> Any:
    if isinstance(request, Request):
        try:
            data = request.data
        except exceptions.ParseError:
            return None
    else:
        content_type = request.META.get("CONTENT_TYPE", "")
        if content_type.startswith("application/json"):
            try:
                data = json.loads(request.body or b"null")
            except ValueError:
                return None
        else:
            data = request.POST
    return data.get(name) if hasattr(data, "get") else None


def _drop_body_key(request: Any, name: str) -> None:
    """Remove the key from a parsed JSON body: a credential, never a column to write."""
    if isinstance(request, Request):
        data = request.data
        if isinstance(data, dict) and name in data:
            del data[name]


class _Memoised(BaseAuthentication):
    """Runs once per request even when DRF and ``decide()`` both ask."""

    def authenticate(self, request: Any) -> tuple[Any, Any] | None:
        raw = _raw(request)
        memo = raw.__dict__.setdefault("_llana_auth_results", {})
        key = type(self).__name__
        if key not in memo:
            memo[key] = self._authenticate(request)
        return memo[key]

    def _authenticate(self, request: Any) -> tuple[Any, Any] | None:
        raise NotImplementedError

    def authenticate_header(self, request: Any) -> str:
        # Makes DRF answer 401 (not 403) to unauthenticated requests.
        return 'Bearer realm="api"'


class APIKeyAuthentication(_Memoised):
    def _authenticate(self, request: Any) -> tuple[Any, Any] | None:
        from llana.models import ApiKey

        plaintext = read_api_key(request)
        if plaintext is None:
            return None
        row = ApiKey.objects.get_by_plaintext(plaintext) if plaintext else None
        if row is None or row.revoked or not user_can_authenticate(row.user):
            record_failure(request, 401, API_KEY_FAILED_MESSAGE)
            return None
        if row.is_expired:
            record_failure(request, 401, API_KEY_EXPIRED_MESSAGE)
            return None
        now = timezone.now()
        if row.last_used is None or now - row.last_used > LAST_USED_RESOLUTION:
            ApiKey.objects.filter(pk=row.pk).update(last_used=now)
        return row.user, row


def read_access_token(request: Any) -> tuple[str | None, bool]:
    """``(token, from_cookie)``: the Bearer header first, else the ``accessToken`` cookie."""
    raw = _raw(request)
    header = raw.META.get("HTTP_AUTHORIZATION", "")
    if header.startswith("Bearer "):
        return header[len("Bearer "):].strip(), False
    cookie = raw.COOKIES.get(ACCESS_COOKIE)
    if cookie:
        return cookie, True
    return None, False


def user_for_token(token: str) -> Any:
    """The active user of a valid access token. Raises ``InvalidAccessToken`` with Llana's message."""
    payload = verify_access_token(token)
    user_model = get_user_model()
    try:
        user = user_model._default_manager.get(pk=user_pk_from_payload(payload))
    except (user_model.DoesNotExist, ValueError, TypeError):
        raise InvalidAccessToken(FAILED_MESSAGE) from None
    if not user_can_authenticate(user):
        raise InvalidAccessToken(FAILED_MESSAGE)
    return user


class JWTAuthentication(_Memoised):
    def _authenticate(self, request: Any) -> tuple[Any, Any] | None:
        token, from_cookie = read_access_token(request)
        if not token:
            return None
        try:
            user = user_for_token(token)
        except InvalidAccessToken as exc:
            record_failure(request, 401, str(exc))
            return None
        except Exception:  # e.g. a malformed pk on PostgreSQL: never a 500
            logger.warning("Access token refused: user lookup failed", exc_info=True)
            record_failure(request, 401, FAILED_MESSAGE)
            return None
        if from_cookie:
            reason = csrf_failure(request)
            if reason:
                record_failure(request, 403, f"CSRF Failed: {reason}")
                return None
        return user, token


def csrf_failure(request: Any) -> str | None:
    """Django's CSRF check for a cookie-authenticated request; the reason it fails, or None."""

    def dummy_get_response(request: Any) -> None:  # pragma: no cover - never called
        return None

    check = CSRFCheck(dummy_get_response)
    check.process_request(request)
    # DRF's CSRFCheck returns the reason (a string) instead of a response.
    reason = check.process_view(request, None, (), {})
    return str(reason) if reason else None


def identity_for_token(token: str | None, *, websocket: bool = True) -> Any:
    """The ``Identity`` behind an access token (``Bearer `` prefix optional), for socket handshakes.

    Sync (wrap it in ``database_sync_to_async``); cached like every identity. A missing or bad token
    gives an anonymous identity whose ``error`` is Llana's message; ``SKIP_AUTH`` gives ``Identity.skip()``.
    """
    from llana.permissions import Identity, identity_for_user_pk

    if llana_settings.SKIP_AUTH:
        return Identity.skip(websocket=websocket)
    if not token or not token.strip() or token.strip() == "Bearer":
        return Identity.anonymous((401, MISSING_TOKEN_MESSAGE), websocket=websocket)
    try:
        payload = verify_access_token(token)
    except InvalidAccessToken as exc:
        return Identity.anonymous((401, str(exc)), websocket=websocket)
    return identity_for_user_pk(user_pk_from_payload(payload), websocket=websocket)


# The classes every llana view uses, in order: API key, then JWT.
AUTHENTICATION_CLASSES: list[type[BaseAuthentication]] = [APIKeyAuthentication, JWTAuthentication]


def authenticate_request(request: Any) -> Any:
    """The user authenticated by ``AUTHENTICATION_CLASSES`` for this (DRF or Django) request, or None.

    On failure the reason is on the request (``_llana_auth_error``); without any credential it is
    Llana's missing-token message.
    """
    raw = _raw(request)
    if "_llana_user" in raw.__dict__:
        return raw._llana_user
    user = None
    for cls in AUTHENTICATION_CLASSES:
        result = cls().authenticate(request)
        if result is not None:
            user = result[0]
            raw._llana_auth_error = None
            break
    if user is None and getattr(raw, "_llana_auth_error", None) is None:
        raw._llana_auth_error = (401, MISSING_TOKEN_MESSAGE)
    raw._llana_user = user
    return user


def require_user(request: Any) -> Any:
    """The authenticated user, or raise 401 (or 403 for a failed CSRF check) with the reason."""
    user = authenticate_request(request)
    if user is not None:
        return user
    from llana.exceptions import denied

    status, message = _raw(request)._llana_auth_error
    raise denied(status, message)


__all__ = [
    "AUTHENTICATION_CLASSES",
    "APIKeyAuthentication",
    "JWTAuthentication",
    "authenticate_request",
    "identity_for_token",
    "api_key_parameter",
    "require_user",
]
