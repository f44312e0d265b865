"""Llana's pagination: ``limit``/``offset``, base64 ``page`` tokens and the ``pagination`` links.

A token is standard base64 of compact JSON, limit first: ``{"limit":20,"offset":0}`` →
``eyJsaW1pdCI6MjAsIm9mZnNldCI6MH0=``. Links are Llana's (``docs/rest-api.md``) with its bugs fixed: ``prev``
is clamped to offset 0 (null only on the first page) and ``last`` is page-aligned.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

from llana.exceptions import BadRequest
from llana.settings import llana_settings

# Far beyond any table, and within every database's OFFSET range.
MAX_OFFSET = 10**15

# A whole number as clients write it: ASCII digits only (``str.isdigit()`` and ``int()`` also take "²", "①"
# or Arabic-Indic digits), one optional sign, at most 19 digits.
WHOLE_NUMBER = re.compile(r"[+-]?[0-9]{1,19}", re.ASCII)


def page_token(limit: int, offset: int) -> str:
    raw = json.dumps({"limit": limit, "offset": offset}, separators=(",", ":"))
    return base64.b64encode(raw.encode()).decode("ascii")


def decode_page_token(token: str) -> tuple[int, int]:
    """``(limit, offset)`` of a page token. Raises BadRequest naming ``page``."""
    text = token.strip().replace(" ", "+")  # an unencoded "+" arrives as a space
    text += "=" * (-len(text) % 4)
    try:
        data = json.loads(base64.b64decode(text, altchars=b"-_" if ("-" in text or "_" in text) else None))
    except (binascii.Error, ValueError, RecursionError):
        raise BadRequest("page must be a page token from a previous response") from None
    if not isinstance(data, dict):
        raise BadRequest("page must be a page token from a previous response")
    limit = check_int("page", data.get("limit"), 1, max_limit())
    offset = check_int("page", data.get("offset"), 0, MAX_OFFSET)
    return limit, offset


def max_limit() -> int:
    return int(llana_settings.MAX_LIMIT)


def check_int(name: str, value: Any, minimum: int, maximum: int | None) -> int:
    if isinstance(value, str):
        text = value.strip()
        value = int(text) if WHOLE_NUMBER.fullmatch(text) else None
    if not isinstance(value, int) or isinstance(value, bool):
        raise BadRequest(f"{name} must be a whole number")
    if value < minimum or (maximum is not None and value > maximum):
        bound = f"between {minimum} and {maximum}" if maximum is not None else f"at least {minimum}"
        raise BadRequest(f"{name} must be {bound}")
    return value


def parse_pagination(limit: str | None, offset: str | None, page: str | None) -> tuple[int, int]:
    """``(limit, offset)`` from the query parameters; ``page`` overrides both."""
    if page is not None and page.strip():
        return decode_page_token(page)
    size = (
        int(llana_settings.DEFAULT_LIMIT)
        if limit is None or not limit.strip()
        else check_int("limit", limit, 1, max_limit())
    )
    start = 0 if offset is None or not offset.strip() else check_int("offset", offset, 0, MAX_OFFSET)
    return size, start


def pagination(limit: int, offset: int, total: int, count: int) -> dict[str, Any]:
    """The ``pagination`` object of a list response (``count`` = rows in this page)."""
    last = ((total - 1) // limit) * limit if total > 0 else 0
    return {
        "total": count,
        "page": {
            "current": page_token(limit, offset),
            "prev": page_token(limit, max(offset - limit, 0)) if offset > 0 else None,
            "next": page_token(limit, offset + limit) if offset + limit < total else None,
            "first": page_token(limit, 0),
            "last": page_token(limit, last),
        },
    }
