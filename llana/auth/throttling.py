"""Login throttling: failed logins counted per account and per client address, in Django's cache.

``LLANA["LOGIN_THROTTLE_RATES"]`` (default ``{"account": "10/min", "address": "30/min"}``) bounds the
failed logins in each window: ``account`` counts by the submitted username (case-insensitive, whether or
not the user exists), ``address`` by the client address (``llana.hosts.request_address()``). A login
beyond either limit is refused with 429 and ``Retry-After`` before the password is checked, so the right
password does not help either. An attempt counts while it runs and is taken back when it succeeds:
concurrent guesses can't overtake the count. Counters are fixed windows with atomic ``incr()``, in the
``LLANA["CACHE_ALIAS"]`` cache (shared by every process only when that cache is, e.g. Redis).
"""

from __future__ import annotations

import hashlib
import math
import re
import time
from typing import Any

from django.core.cache import caches
from rest_framework.exceptions import Throttled

from llana.hosts import request_address
from llana.settings import llana_settings

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*(s|sec|second|m|min|minute|h|hour|d|day)s?\s*$", re.IGNORECASE)


def parse_rate(rate: Any) -> tuple[int, int] | None:
    """``"10/min"`` → ``(10, 60)``, ``"5/15m"`` → ``(5, 900)``; ``None`` → ``None`` (no limit).

    Raises ``ValueError`` naming the value when it does not parse or a number is not positive.
    """
    if rate is None:
        return None
    match = _RATE.match(str(rate))
    if not match or int(match.group(1)) <= 0 or match.group(2) == "0":
        raise ValueError(f"{rate!r} is not a rate like 10/min, 30/hour or 5/15m")
    seconds = int(match.group(2) or 1) * _UNITS[match.group(3)[0].lower()]
    return int(match.group(1)), seconds


class LoginThrottle:
    """The counters of one login attempt: ``check()`` before the password, ``succeeded()`` after a good one."""

    def __init__(self, request: Any, username: str) -> None:
        rates = llana_settings.LOGIN_THROTTLE_RATES
        rates = rates if isinstance(rates, dict) else {}  # None: no limit (anything else is llana.E204)
        idents = {"account": username.strip().lower(), "address": request_address(request) or ""}
        self.now = time.time()
        self.counters: list[tuple[str, int, int]] = []  # (cache key, limit, seconds until the window ends)
        for scope, ident in idents.items():
            parsed = parse_rate(rates.get(scope))
            if parsed is None:
                continue
            limit, duration = parsed
            window = int(self.now // duration)
            digest = hashlib.sha256(f"{scope}:{ident}".encode("utf-8", "surrogatepass")).hexdigest()[:32]
            wait = math.ceil((window + 1) * duration - self.now)
            self.counters.append((f"llana:login:{scope}:{digest}:{duration}:{window}", limit, max(wait, 1)))

    @staticmethod
    def _cache() -> Any:
        return caches[llana_settings.CACHE_ALIAS]

    def check(self) -> None:
        """Count this attempt; raises ``Throttled`` (429, ``Retry-After``) when a limit was already reached."""
        cache = self._cache()
        counted: list[str] = []
        for key, limit, wait in self.counters:
            cache.add(key, 0, timeout=wait + 1)
            try:
                count = cache.incr(key)
            except ValueError:  # expired between add() and incr()
                cache.add(key, 1, timeout=wait + 1)
                count = 1
            counted.append(key)
            if count > limit:
                for done in counted:
                    _decrement(cache, done)
                raise Throttled(wait=wait)

    def succeeded(self) -> None:
        """A good password: this attempt does not count against the account or the address."""
        cache = self._cache()
        for key, _limit, _wait in self.counters:
            _decrement(cache, key)


def _decrement(cache: Any, key: str) -> None:
    try:
        cache.decr(key)
    except ValueError:  # the window has ended meanwhile
        pass
