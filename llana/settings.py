"""``llana_settings``: the ``LLANA`` Django setting, read lazily, with documented defaults.

Values are validated by ``llana.checks`` at startup; code reads them typed through ``llana_settings``.
Swappable policies are import strings (``IMPORT_STRINGS``), imported on first use as DRF's
``api_settings`` does: ``AUTHENTICATION_CLASSES`` (DRF authentication classes, asked in order) and
``PERMISSION_POLICY`` (a class whose ``decide(identity, table, level, data=None)`` returns a
``Decision``; one instance per request).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from rest_framework.settings import perform_import

DEFAULTS: dict[str, Any] = {
    # Tables (db_table names) exposed by the API; None = every model of the project's own apps + the user model.
    "TABLES": None,
    # Tables never exposed, applied after TABLES.
    "EXCLUDE_TABLES": [],
    # Llana's SKIP_AUTH: everyone is allowed everything (development only).
    "SKIP_AUTH": False,
    # Name of the soft-delete column (a DB column name, e.g. "deletedAt"); None = hard deletes only.
    "SOFT_DELETE_COLUMN": None,
    # Page size when the request gives no usable ``limit``.
    "DEFAULT_LIMIT": 20,
    # Largest ``limit`` accepted; larger values are a 400 naming ``limit``.
    "MAX_LIMIT": 1000,
    # Largest number of related rows attached per parent row and relation.
    "DEFAULT_RELATIONS_LIMIT": 1000,
    # Allowed client addresses (IPs and CIDR ranges); empty = every address.
    "HOSTS": [],
    # Request header holding the client address, trusted only when set (e.g. "X-Real-IP").
    "TRUSTED_PROXY_HEADER": None,
    # JWT signing key; None = the Django SECRET_KEY (refused outside DEBUG when insecure).
    "JWT_KEY": None,
    "JWT_EXPIRES_IN": "15m",
    "JWT_REFRESH_EXPIRES_IN": "14d",
    # Cookies set by /auth/login and /auth/refresh.
    "AUTH_COOKIES_SECURE": False,
    "AUTH_COOKIES_SAMESITE": "Lax",
    "AUTH_COOKIES_DOMAIN": None,
    # API keys: where the key is read (HEADER, QUERY or BODY) and under which name.
    "API_KEY_LOCATION": "HEADER",
    "API_KEY_NAME": "x-api-key",
    # The user model's field holding its role name (when it has one); otherwise group names are roles.
    "ROLE_FIELD": "role",
    # Roles whose default (non-custom) rows also cover the system tables (_llana_*); others need a custom row.
    "SYSTEM_TABLE_ROLES": ["ADMIN"],
    # Seed the default roles (ADMIN all, USER read, USER own records on users and API keys) on migrate.
    "SEED_DEFAULT_ROLES": True,
    # Seconds an identity's compiled permissions stay cached (HTTP, sockets).
    "CACHE_IDENTITY_DATA_TTL": 600,
    "CACHE_WS_IDENTITY_DATA_TTL": 172800,
    # API docs: GET / (HTML) and GET /openapi.json; SKIP_DOCS answers both with {"version": ...} only.
    "SKIP_DOCS": False,
    "DOCS_TITLE": "API Documentation",
    # Django cache alias holding identities and compiled permissions.
    "CACHE_ALIAS": "default",
    # DRF authentication classes asked in order by every llana endpoint (the first user found wins).
    "AUTHENTICATION_CLASSES": [
        "llana.auth.authentication.APIKeyAuthentication",
        "llana.auth.authentication.JWTAuthentication",
    ],
    # The permission policy of the REST endpoints: Llana's roles engine.
    "PERMISSION_POLICY": "llana.permissions.engine.RolePolicy",
    # SKIP_AUTH with DEBUG off is a startup error (llana.E201) unless this says it is meant.
    "SKIP_AUTH_ACKNOWLEDGED": False,
    # Failed logins allowed per account (the username) and per client address: "<n>/<s|m|h|d>"; None = no limit.
    "LOGIN_THROTTLE_RATES": {"account": "10/min", "address": "30/min"},
    # Input limits (docs/security.md). Largest request body in bytes (413 above it): 1 MiB holds a
    # full bulk request of MAX_BULK_ITEMS rows of ~1 KB each.
    "MAX_BODY_BYTES": 1024 * 1024,
    # Largest array of a bulk create / update / delete (400 above it).
    "MAX_BULK_ITEMS": 1000,
    # Seconds a client may take to send a request body (408 after; enforced by llana.middleware.RequestBodyLimit).
    "BODY_TIMEOUT": 30,
    # Deepest nesting of a JSON body (400 above it): rows are flat; JSON columns rarely nest past a dozen.
    "MAX_JSON_DEPTH": 64,
}

# Settings given as import strings (a dotted path, or a list of them).
IMPORT_STRINGS = ("AUTHENTICATION_CLASSES", "PERMISSION_POLICY")

# Boolean settings: True/False, or the words true/1/yes/on and false/0/no/off (any case), as the
# environment variables; any other value is left as given and reported by llana.E202.
BOOLEAN_SETTINGS = ("SKIP_AUTH", "SKIP_AUTH_ACKNOWLEDGED", "SKIP_DOCS", "AUTH_COOKIES_SECURE", "SEED_DEFAULT_ROLES")
TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off"})


def parse_bool(value: Any) -> bool:
    """``True``/``False``, ``1``/``0`` or one of the words above; raises ``ValueError`` for anything else."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in TRUE_WORDS | FALSE_WORDS:
        return value.strip().lower() in TRUE_WORDS
    raise ValueError(f"{value!r} is not a boolean (true/1/yes/on or false/0/no/off)")


class LlanaSettings:
    """Attribute access to ``settings.LLANA`` merged over ``DEFAULTS``; cached until ``reload()``."""

    def __getattr__(self, name: str) -> Any:
        if name not in DEFAULTS:
            raise AttributeError(f"Invalid LLANA setting: {name!r}")
        value = getattr(settings, "LLANA", {}).get(name, DEFAULTS[name])
        if name in IMPORT_STRINGS:
            value = perform_import(value, name)
        if name in BOOLEAN_SETTINGS:
            try:
                value = parse_bool(value)
            except ValueError:
                value = False  # llana.E202 (which reads the raw value) refuses to start
        setattr(self, name, value)
        return value

    def reload(self) -> None:
        self.__dict__.clear()


llana_settings = LlanaSettings()


def _reload(*, setting: str, **kwargs: Any) -> None:
    if setting == "LLANA":
        llana_settings.reload()


setting_changed.connect(_reload, dispatch_uid="llana.settings.reload")
