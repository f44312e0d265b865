"""JWT access and refresh tokens: simplejwt's token classes, configured from ``LLANA`` (no ``SIMPLE_JWT`` needed).

- Signing: HS256 with ``LLANA["JWT_KEY"]``, else Django's ``SECRET_KEY``. Only HS256 is accepted on
  decode, so ``alg=none`` and tokens signed with another key are refused.
- Lifetimes: ``LLANA["JWT_EXPIRES_IN"]`` (``15m``) and ``LLANA["JWT_REFRESH_EXPIRES_IN"]`` (``14d``),
  parsed by ``parse_duration()`` (``30s``, ``15m``, ``1h``, ``14d``, ``2w`` or plain seconds).
- Claims: Llana's ``sub`` (the user's pk as a string) and ``email`` (when the user has an email field),
  plus simplejwt's ``token_type``, ``jti``, ``iat``, ``exp`` and ``user_id`` (for its blacklist).
- ``cred``: a fragment of an HMAC (keyed by the signing key) of the user's password hash. Changing the
  password changes it, so the user's earlier tokens stop working: at once over REST, which loads the user
  on every request, and at the next identity check on sockets (``docs/security.md``). Tokens without the
  claim (issued before it existed) are accepted until they expire.
- Refresh tokens are recorded and blacklisted by ``rest_framework_simplejwt.token_blacklist`` when that
  app is installed (``llana.W010`` warns otherwise); ``consume_refresh_token()`` blacklists one
  atomically, so of concurrent refreshes with one token exactly one succeeds.

``verify_access_token(raw)`` returns the payload or raises ``InvalidAccessToken`` with Llana's messages
(``Access token expired`` / ``Authentication Failed``); HTTP authentication and the socket handshake
both use it.
"""

from __future__ import annotations

import re
from datetime import timedelta
from functools import lru_cache
from typing import Any

import jwt
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.crypto import constant_time_compare, salted_hmac
from rest_framework_simplejwt.backends import TokenBackend
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import AccessToken as SimpleAccessToken
from rest_framework_simplejwt.tokens import RefreshToken as SimpleRefreshToken
from rest_framework_simplejwt.tokens import Token
from rest_framework_simplejwt.utils import datetime_from_epoch

from llana.settings import llana_settings

ALGORITHM = "HS256"
EXPIRED_MESSAGE = "Access token expired"
CREDENTIAL_CLAIM = "cred"
FAILED_MESSAGE = "Authentication Failed"

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw]?)\s*$", re.IGNORECASE)


class InvalidAccessToken(Exception):
    """A token that does not authenticate; ``str(exc)`` is the message for the client."""


def parse_duration(value: Any) -> timedelta:
    """``"15m"`` → 15 minutes. Accepts ``<n>s|m|h|d|w``, a number of seconds, or a timedelta.

    Raises ``ValueError`` naming the value when it does not parse or is not positive.
    """
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, int) and not isinstance(value, bool):
        seconds = value
    else:
        match = _DURATION.match(str(value))
        if not match:
            raise ValueError(f"{value!r} is not a duration like 30s, 15m, 1h or 14d")
        seconds = int(match.group(1)) * _UNITS[(match.group(2) or "s").lower()]
    if seconds <= 0:
        raise ValueError(f"{value!r} must be a positive duration")
    return timedelta(seconds=seconds)


def access_lifetime() -> timedelta:
    return parse_duration(llana_settings.JWT_EXPIRES_IN)


def refresh_lifetime() -> timedelta:
    return parse_duration(llana_settings.JWT_REFRESH_EXPIRES_IN)


def signing_key() -> str:
    return str(llana_settings.JWT_KEY or settings.SECRET_KEY)


@lru_cache(maxsize=1)
def _backend(key: str) -> TokenBackend:
    return TokenBackend(ALGORITHM, signing_key=key)


def token_backend() -> TokenBackend:
    return _backend(signing_key())


def clear_backend_cache(**kwargs: Any) -> None:
    """Forget the token backend (its key may have changed); ``llana.receivers`` connects it to ``setting_changed``."""
    _backend.cache_clear()


def credential_of(user: Any) -> str:
    """The ``cred`` claim of ``user``'s tokens: changes whenever the user's password (hash) changes."""
    password = str(getattr(user, "password", "") or "")
    return salted_hmac("llana.auth.tokens.credential", password, secret=signing_key(), algorithm="sha256").hexdigest()[
        :20
    ]


def credential_matches(payload: dict[str, Any], user: Any) -> bool:
    """False when the token's ``cred`` claim was made for another password of ``user``."""
    claim = payload.get(CREDENTIAL_CLAIM)
    return claim is None or constant_time_compare(str(claim), credential_of(user))


class _LlanaToken(Token):
    """Mixin: llana's backend (key, algorithm) and Llana's claims."""

    def get_token_backend(self) -> TokenBackend:
        return token_backend()

    @classmethod
    def for_user(cls, user: Any) -> Any:
        """A new token for ``user`` (refresh tokens are recorded as outstanding, for the blacklist)."""
        token = cls()
        token["sub"] = str(user.pk)
        token[api_settings.USER_ID_CLAIM] = str(user.pk)
        email = getattr(user, getattr(user, "EMAIL_FIELD", "email"), None)
        if email:
            token["email"] = str(email)
        token[CREDENTIAL_CLAIM] = credential_of(user)
        if hasattr(token, "blacklist"):  # simplejwt's token_blacklist app is installed
            # Imported here: the blacklist app is optional, and its models can't be imported when it is not installed.
            from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

            OutstandingToken.objects.create(
                user=user,
                jti=token[api_settings.JTI_CLAIM],
                token=str(token),
                created_at=token.current_time,
                expires_at=datetime_from_epoch(token["exp"]),
            )
        return token


def consume_refresh_token(token: Any) -> bool:
    """Blacklist refresh ``token`` in one database transaction; False when it already was.

    The blacklist row is unique per token (a one-to-one key), so of several concurrent callers with the
    same token exactly one inserts it, on every database; the others get ``IntegrityError`` (after waiting
    for the winner's lock where the database locks). A no-op returning True without simplejwt's blacklist app.
    """
    if not hasattr(token, "blacklist"):
        return True
    # Imported here: the blacklist app is optional, and its models can't be imported when it is not installed.
    from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

    jti = token[api_settings.JTI_CLAIM]
    outstanding = OutstandingToken.objects.filter(jti=jti).first()
    if outstanding is None:  # issued before the blacklist app was installed
        outstanding, _ = OutstandingToken.objects.get_or_create(
            jti=jti, defaults={"token": str(token), "expires_at": datetime_from_epoch(token["exp"])}
        )
    try:
        # One INSERT, no read before it in the transaction: SQLite then waits for a concurrent writer's
        # lock (its busy timeout) instead of failing, and every database enforces the unique key.
        with transaction.atomic():
            BlacklistedToken.objects.create(token=outstanding)
    except IntegrityError:
        return False
    return True


class AccessToken(_LlanaToken, SimpleAccessToken):
    @property
    def lifetime(self) -> timedelta:  # type: ignore[override]  # simplejwt's is a class attribute; ours follows LLANA
        return access_lifetime()


class RefreshToken(_LlanaToken, SimpleRefreshToken):
    access_token_class = AccessToken

    @property
    def lifetime(self) -> timedelta:  # type: ignore[override]  # simplejwt's is a class attribute; ours follows LLANA
        return refresh_lifetime()


def _user_id_claim_name() -> str:
    return api_settings.USER_ID_CLAIM


def verify_access_token(raw: str | bytes) -> dict[str, Any]:
    """The payload of a valid access token. Raises ``InvalidAccessToken`` with Llana's message."""
    if isinstance(raw, bytes):
        raw = raw.decode("latin-1")
    raw = raw.strip()
    if raw.startswith("Bearer "):
        raw = raw[len("Bearer ") :].strip()
    if not raw:
        raise InvalidAccessToken(FAILED_MESSAGE)
    try:
        token = AccessToken(raw)  # type: ignore[arg-type]
    except TokenError:
        raise InvalidAccessToken(EXPIRED_MESSAGE if _only_expired(raw) else FAILED_MESSAGE) from None
    payload = dict(token.payload)
    if "sub" not in payload and _user_id_claim_name() not in payload:
        raise InvalidAccessToken(FAILED_MESSAGE)
    return payload


def _only_expired(raw: str) -> bool:
    """True when the signature is good and the token's only fault is its ``exp``."""
    try:
        jwt.decode(raw, signing_key(), algorithms=[ALGORITHM])
    except jwt.ExpiredSignatureError:
        return True
    except jwt.PyJWTError:
        return False
    return False


def user_pk_from_payload(payload: dict[str, Any]) -> str:
    return str(payload.get("sub") or payload.get(_user_id_claim_name()))


def tokens_for_user(user: Any) -> dict[str, Any]:
    """Llana's login/refresh body for ``user``: a new refresh token and its access token."""
    refresh = RefreshToken.for_user(user)
    return token_body(refresh)


def token_body(refresh: RefreshToken) -> dict[str, Any]:
    return {
        "access_token": str(refresh.access_token),
        "expires_in": int(access_lifetime().total_seconds()),
        "refresh_token_expires_in": int(refresh_lifetime().total_seconds()),
        "refresh_token": str(refresh),
    }
