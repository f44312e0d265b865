"""System checks for ``LLANA``: a bad value stops the server with a message naming the setting."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core import checks
from django.core.checks import CheckMessage, Error, Warning
from django.core.management.base import SystemCheckError

from llana.auth.throttling import parse_rate
from llana.auth.tokens import parse_duration, signing_key
from llana.hosts import check_proxy_headers, parse_hosts
from llana.settings import BOOLEAN_SETTINGS, DEFAULTS, IMPORT_STRINGS, llana_settings, parse_bool

logger = logging.getLogger(__name__)


def _positive_int(name: str, value: Any, errors: list[Error], check_id: str) -> None:
    try:
        ok = int(str(value)) > 0
    except (TypeError, ValueError):
        ok = False
    if not ok:
        errors.append(
            Error(
                f"LLANA[{name!r}] must be a positive integer, got {value!r}.",
                hint=f"Set LLANA[{name!r}] (or the {name} environment variable) to a whole number, e.g. 20.",
                id=check_id,
            )
        )


def check_settings(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    errors: list[Error] = []
    _positive_int("DEFAULT_LIMIT", llana_settings.DEFAULT_LIMIT, errors, "llana.E001")
    _positive_int("MAX_LIMIT", llana_settings.MAX_LIMIT, errors, "llana.E002")
    return errors


# --- input limits: ids llana.E100–E109 ----------------------------------------------------------------

LIMIT_SETTINGS = {"MAX_BODY_BYTES": "llana.E100", "MAX_BULK_ITEMS": "llana.E101", "MAX_JSON_DEPTH": "llana.E102"}


def check_limit_settings(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    """``MAX_BODY_BYTES``, ``MAX_BULK_ITEMS`` and ``MAX_JSON_DEPTH`` are positive integers (not booleans),
    ``BODY_TIMEOUT`` a positive number."""
    errors: list[Error] = []
    for name, check_id in LIMIT_SETTINGS.items():
        value = getattr(llana_settings, name)
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            errors.append(
                Error(
                    f"LLANA[{name!r}] must be a positive integer, got {value!r}.",
                    hint=f"Leave LLANA[{name!r}] unset for the default ({DEFAULTS[name]}); docs/security.md, Input limits.",
                    id=check_id,
                )
            )
    timeout = llana_settings.BODY_TIMEOUT
    if not isinstance(timeout, int | float) or isinstance(timeout, bool) or not 0 < timeout < float("inf"):
        errors.append(
            Error(
                f"LLANA['BODY_TIMEOUT'] must be a positive number of seconds, got {timeout!r}.",
                hint=f"Leave it unset for the default ({DEFAULTS['BODY_TIMEOUT']}); docs/security.md, Input limits.",
                id="llana.E103",
            )
        )
    return errors


# --- authentication and authorization: ids llana.E010–E019, llana.W010–W019 --------------

INSECURE_KEYS = {"S$3cr3tK3y", "S$3cr3tK3yRefresh", "secret", "changeme"}
MIN_KEY_LENGTH = 32


def jwt_key_is_insecure(key: str) -> bool:
    """Django's ``django-insecure-`` keys, Llana's built-in defaults, and anything under 32 characters."""
    return key.startswith("django-insecure") or key in INSECURE_KEYS or len(key) < MIN_KEY_LENGTH


def check_auth_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    messages: list[CheckMessage] = []
    # Also with DEBUG on: a public key lets anyone sign an ADMIN token (docs/security.md).
    if jwt_key_is_insecure(signing_key()):
        messages.append(
            Error(
                "The JWT signing key is insecure (a django-insecure/default key, or shorter than 32 characters).",
                hint="Set LLANA['JWT_KEY'] (JWT_KEY) or SECRET_KEY to a long random value, or leave "
                "DJANGO_SECRET_KEY unset in the example project to get a generated one.",
                id="llana.E010",
            )
        )
    messages.extend(check_security_settings())
    location = str(llana_settings.API_KEY_LOCATION).upper()
    if location not in ("HEADER", "QUERY", "BODY"):
        messages.append(
            Error(
                f"LLANA['API_KEY_LOCATION'] must be HEADER, QUERY or BODY, got {llana_settings.API_KEY_LOCATION!r}.",
                hint="Set LLANA['API_KEY_LOCATION'] (AUTH_USER_API_KEY_LOCATION) to HEADER, QUERY or BODY.",
                id="llana.E011",
            )
        )
    if not str(llana_settings.API_KEY_NAME or "").strip():
        messages.append(Error("LLANA['API_KEY_NAME'] must not be empty.", hint="e.g. 'x-api-key'.", id="llana.E012"))
    for name in ("JWT_EXPIRES_IN", "JWT_REFRESH_EXPIRES_IN"):
        try:
            parse_duration(getattr(llana_settings, name))
        except ValueError as exc:
            messages.append(
                Error(
                    f"LLANA[{name!r}]: {exc}.",
                    hint=f"Set LLANA[{name!r}] ({name}) to a duration such as 30s, 15m, 1h or 14d.",
                    id="llana.E013",
                )
            )
    try:
        parse_hosts(llana_settings.HOSTS or ())
    except ValueError as exc:
        messages.append(
            Error(
                f"LLANA['HOSTS']: {exc}.",
                hint="List IP addresses or CIDR ranges, e.g. ['127.0.0.1', '10.0.0.0/8'].",
                id="llana.E014",
            )
        )
    samesite = llana_settings.AUTH_COOKIES_SAMESITE
    if samesite not in (None, "Lax", "Strict", "None"):
        messages.append(
            Error(
                f"LLANA['AUTH_COOKIES_SAMESITE'] must be 'Lax', 'Strict', 'None' or None, got {samesite!r}.",
                hint="Use 'Lax' (default) unless the API and the app are on different sites.",
                id="llana.E015",
            )
        )
    elif samesite == "None" and not llana_settings.AUTH_COOKIES_SECURE:
        messages.append(
            Warning(
                "AUTH_COOKIES_SAMESITE='None' without AUTH_COOKIES_SECURE: browsers drop such cookies.",
                hint="Set LLANA['AUTH_COOKIES_SECURE'] = True (HTTPS).",
                id="llana.W011",
            )
        )
    for name in ("CACHE_IDENTITY_DATA_TTL", "CACHE_WS_IDENTITY_DATA_TTL"):
        try:
            ok = int(str(getattr(llana_settings, name))) >= 0
        except ValueError:
            ok = False
        if not ok:
            messages.append(
                Error(
                    f"LLANA[{name!r}] must be a number of seconds (0 = no cache).",
                    hint=f"e.g. {name}=600",
                    id="llana.E016",
                )
            )
    for name in IMPORT_STRINGS:
        try:
            getattr(llana_settings, name)
        except ImportError as exc:
            messages.append(
                Error(
                    f"LLANA[{name!r}] does not import: {exc}",
                    hint="Give dotted paths to existing classes.",
                    id="llana.E017",
                )
            )
    if "rest_framework_simplejwt.token_blacklist" not in settings.INSTALLED_APPS:
        messages.append(
            Warning(
                "rest_framework_simplejwt.token_blacklist is not installed: logout cannot revoke refresh tokens.",
                hint="Add 'rest_framework_simplejwt.token_blacklist' to INSTALLED_APPS and migrate.",
                id="llana.W010",
            )
        )
    return messages


# --- security settings: ids llana.E201–E209 ---------------------------------------------------------


def check_security_settings() -> list[CheckMessage]:
    messages: list[CheckMessage] = []
    raw = getattr(settings, "LLANA", {})
    if str(llana_settings.JWT_KEY or "") and jwt_key_is_insecure(str(settings.SECRET_KEY)):
        messages.append(
            Error(
                "SECRET_KEY is insecure (a django-insecure/default key, or shorter than 32 characters).",
                hint="It signs sessions and the admin's cookies even when LLANA['JWT_KEY'] signs the tokens: "
                "set DJANGO_SECRET_KEY to a long random value.",
                id="llana.E203",
            )
        )
    for name in BOOLEAN_SETTINGS:
        if name in raw:
            try:
                parse_bool(raw[name])
            except ValueError as exc:
                messages.append(
                    Error(f"LLANA[{name!r}]: {exc}.", hint=f"Set LLANA[{name!r}] to True or False.", id="llana.E202")
                )
    if llana_settings.SKIP_AUTH and not settings.DEBUG and not llana_settings.SKIP_AUTH_ACKNOWLEDGED:
        messages.append(
            Error(
                "SKIP_AUTH is on with DEBUG off: every caller may read and write every table, the system "
                "tables (roles, API keys) included.",
                hint="Turn SKIP_AUTH off, or say it is meant with LLANA['SKIP_AUTH_ACKNOWLEDGED'] = True "
                "(SKIP_AUTH_ACKNOWLEDGED=true).",
                id="llana.E201",
            )
        )
    rates = llana_settings.LOGIN_THROTTLE_RATES
    if rates is not None and not isinstance(rates, dict):
        messages.append(
            Error(
                f"LLANA['LOGIN_THROTTLE_RATES'] must be a dict or None, got {rates!r}.",
                hint="e.g. {'account': '10/min', 'address': '30/min'}.",
                id="llana.E204",
            )
        )
        rates = {}
    for scope, rate in (rates or {}).items():
        try:
            parse_rate(rate)
        except ValueError as exc:
            messages.append(
                Error(
                    f"LLANA['LOGIN_THROTTLE_RATES'][{scope!r}]: {exc}.",
                    hint="Give {'account': '10/min', 'address': '30/min'}-style rates, or None for no limit.",
                    id="llana.E204",
                )
            )
    return messages


CORS_MIDDLEWARE = "corsheaders.middleware.CorsMiddleware"


def check_origin_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """The one origin policy (``llana.auth.origins``): frontends listed but no CORS middleware to answer them."""
    messages: list[CheckMessage] = []
    listed = bool(getattr(settings, "CORS_ALLOWED_ORIGINS", None) or getattr(settings, "CORS_ALLOW_ALL_ORIGINS", False))
    if listed and CORS_MIDDLEWARE not in settings.MIDDLEWARE:
        messages.append(
            Warning(
                "CORS_ALLOWED_ORIGINS is set but django-cors-headers' middleware is not installed: browsers on those "
                "origins get no CORS headers and cannot call the API.",
                hint=f"Add {CORS_MIDDLEWARE!r} to MIDDLEWARE, near the top (docs/frontends.md).",
                id="llana.W401",
            )
        )
    if getattr(settings, "CORS_ALLOW_ALL_ORIGINS", False) and getattr(settings, "CORS_ALLOW_CREDENTIALS", False):
        messages.append(
            Warning(
                "CORS_ALLOW_ALL_ORIGINS with CORS_ALLOW_CREDENTIALS: every site may read your users' data with "
                "their cookies, and open the realtime feed with them.",
                hint="List the frontends' origins in CORS_ALLOWED_ORIGINS instead (docs/security.md, section Frontends: CORS and CSRF).",
                id="llana.W402",
            )
        )
    return messages


# --- running the checks where no management command does ------------------------------------------


def run_startup_checks() -> None:
    """Run Django's system checks and refuse to start on any error.

    ``manage.py runserver`` runs the checks, but ``daphne``/``uvicorn project.asgi:application`` do
    not: call this from ``asgi.py`` after ``get_asgi_application()`` so that a bad setting (say a
    non-numeric ``DEFAULT_LIMIT``) stops the server with a message naming it. Warnings are logged.

    Raises ``django.core.management.base.SystemCheckError`` listing every serious problem.
    """
    messages = checks.run_checks(include_deployment_checks=False)
    serious = [m for m in messages if m.is_serious() and not m.is_silenced()]
    for message in messages:
        if message not in serious and not message.is_silenced():
            logger.warning("%s", message)
    if serious:
        raise SystemCheckError(
            "django-llana refuses to start, the system checks found errors:\n" + "\n".join(str(m) for m in serious)
        )


def register() -> None:
    """Register llana's checks with Django (called by ``LlanaConfig.ready()``)."""
    checks.register(check_settings)
    checks.register(check_limit_settings)
    checks.register(check_auth_settings)
    checks.register(check_proxy_headers)
    checks.register(check_origin_settings)
