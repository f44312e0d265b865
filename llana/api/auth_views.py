"""The auth endpoints (``docs/auth.md``): thin wrappers over Django's ``authenticate()`` and simplejwt's tokens.

``POST /auth/login`` ``{"username", "password"}`` → ``{"access_token", "expires_in",
"refresh_token_expires_in", "refresh_token"}`` + ``accessToken``/``refreshToken`` cookies;
``POST /auth/refresh`` (cookie or ``{"refresh_token"}``) → the same, rotating the refresh token (each
refresh token works once, also under concurrent use; none works after a password change);
``POST /auth/logout`` → 201 ``{"success": true}``, cookies cleared, refresh token blacklisted;
``GET /auth/profile`` → the caller's user row, through the same rules as ``GET /<user table>/<id>``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.models import update_last_login
from django.middleware.csrf import get_token
from rest_framework import status
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import BaseParser, FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework_simplejwt.exceptions import TokenError

from llana.api.parsers import LlanaJSONParser
from llana.api.views import JSONOnlyNegotiation, LlanaAPIView, TableViewSet
from llana.auth.credentials import ACCESS_COOKIE, REFRESH_COOKIE
from llana.auth.identities import user_can_authenticate
from llana.auth.throttling import LoginThrottle
from llana.auth.tokens import (
    RefreshToken,
    consume_refresh_token,
    credential_matches,
    token_body,
    tokens_for_user,
    user_pk_from_payload,
)
from llana.exceptions import BadRequest, NotFound, Unauthorized
from llana.registry import table_for_model
from llana.settings import llana_settings

logger = logging.getLogger(__name__)

AUTH_DISABLED_MESSAGE = "Authentication is disabled"


class AuthDisabled(BadRequest):
    default_detail = AUTH_DISABLED_MESSAGE
    default_code = "auth_disabled"


def _body(request: Request) -> dict[str, Any]:
    data = request.data
    return data if hasattr(data, "get") else {}


def set_auth_cookies(response: Response, body: dict[str, Any]) -> None:
    for name, value, max_age in (
        (ACCESS_COOKIE, body["access_token"], body["expires_in"]),
        (REFRESH_COOKIE, body["refresh_token"], body["refresh_token_expires_in"]),
    ):
        response.set_cookie(
            name,
            value,
            max_age=max_age,
            path="/",
            domain=llana_settings.AUTH_COOKIES_DOMAIN or None,
            secure=bool(llana_settings.AUTH_COOKIES_SECURE),
            httponly=True,
            samesite=llana_settings.AUTH_COOKIES_SAMESITE or None,
        )


def clear_auth_cookies(response: Response) -> None:
    for name in (ACCESS_COOKIE, REFRESH_COOKIE):
        response.delete_cookie(
            name,
            path="/",
            domain=llana_settings.AUTH_COOKIES_DOMAIN or None,
            samesite=llana_settings.AUTH_COOKIES_SAMESITE or None,
        )


class FormOrJSONNegotiation(JSONOnlyNegotiation):
    """JSON responses always; JSON, urlencoded or multipart request bodies (Llana's login takes forms)."""

    def select_parser(self, request: Request, parsers: Iterable[BaseParser]) -> BaseParser | None:
        return DefaultContentNegotiation().select_parser(request, parsers)


class _TokenView(LlanaAPIView):
    # Login, refresh and logout read their own credentials: no authentication, no CSRF check.
    parser_classes = [LlanaJSONParser, FormParser, MultiPartParser]
    content_negotiation_class = FormOrJSONNegotiation

    def get_authenticators(self) -> list[Any]:
        return []

    def tokens_response(self, request: Request, body: dict[str, Any]) -> Response:
        get_token(request._request)  # sets the csrftoken cookie cookie-authenticated clients echo back
        response = Response(body, status=status.HTTP_200_OK)
        set_auth_cookies(response, body)
        return response


class LoginView(_TokenView):
    def post(self, request: Request) -> Response:
        if llana_settings.SKIP_AUTH:
            raise AuthDisabled()
        data = _body(request)
        username, password = data.get("username"), data.get("password")
        if not isinstance(username, str) or not isinstance(password, str) or not username or not password:
            raise Unauthorized()
        if "\x00" in username:  # no stored username holds a NUL, and PostgreSQL refuses to compare one (500)
            raise Unauthorized()
        throttle = LoginThrottle(request, username)
        throttle.check()  # 429 with Retry-After after too many failures for this account or address
        user = authenticate(request._request, username=username, password=password)
        if user is None or not user_can_authenticate(user):
            raise Unauthorized()
        throttle.succeeded()
        update_last_login(type(user), user)
        logger.info("Login of user %s", user.pk)
        return self.tokens_response(request, tokens_for_user(user))


class RefreshView(_TokenView):
    def post(self, request: Request) -> Response:
        raw = request.COOKIES.get(REFRESH_COOKIE) or _body(request).get("refresh_token")
        if not raw or not isinstance(raw, str):
            raise Unauthorized("No refresh token found")
        try:
            refresh = RefreshToken(raw)  # type: ignore[arg-type]
        except TokenError:
            raise Unauthorized("Invalid refresh token") from None
        user_model = get_user_model()
        user = user_model._default_manager.filter(pk=user_pk_from_payload(refresh.payload)).first()
        if user is None or not user_can_authenticate(user) or not credential_matches(refresh.payload, user):
            raise Unauthorized("Invalid refresh token")
        if not consume_refresh_token(refresh):  # rotation: each refresh token works once
            raise Unauthorized("Invalid refresh token")
        return self.tokens_response(request, token_body(RefreshToken.for_user(user)))


class LogoutView(_TokenView):
    def post(self, request: Request) -> Response:
        raw = request.COOKIES.get(REFRESH_COOKIE) or _body(request).get("refresh_token")
        if raw and isinstance(raw, str):
            try:
                refresh = RefreshToken(raw)  # type: ignore[arg-type]
                if hasattr(refresh, "blacklist"):
                    refresh.blacklist()
            except TokenError:
                pass  # already invalid: nothing to revoke
        response = Response({"success": True}, status=status.HTTP_201_CREATED)
        clear_auth_cookies(response)
        return response


class ProfileView(TableViewSet):
    """The caller's row, served by ``TableViewSet.retrieve`` on the user table (``?relations=`` works too),
    so the same restriction, ``allowed_fields`` and hidden columns (the password) apply."""

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        LlanaAPIView.initial(self, request, *args, **kwargs)  # no table in the URL: the user's table, in get()

    def profile(self, request: Request) -> Response:
        if llana_settings.SKIP_AUTH:
            raise AuthDisabled()
        user = self.require_user()
        table = table_for_model(type(user))
        if table is None:
            raise NotFound("The user table is not exposed by the API")
        self.table = table
        return self.retrieve(request, table.name, str(user.pk))
