"""The permission hook: every endpoint asks ``decide()`` whether a caller may act on a table.

This module is the single place where authorization is decided, for REST and realtime alike. A
``Decision`` says whether the action is allowed, and if so which rows (``restriction``) and which
fields (``fields``) the caller may see or change.

Current engine: ``SKIP_AUTH`` (everything allowed) and public tables (``_llana_public_tables``).
Roles (``_llana_role``) plug in here without touching the viewsets.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from django.db.models import Q

from llana.settings import llana_settings

MISSING_TOKEN_MESSAGE = (
    "Missing authorization token. Use either <Bearer> token header or accessToken cookie"
)


class Level(IntEnum):
    """Llana's levels, ordered: a grant at a level satisfies every need at or below it."""

    NONE = 0
    READ = 1
    WRITE = 2
    DELETE = 3

    @classmethod
    def parse(cls, value: str | None) -> Level:
        return cls[value] if value else cls.NONE


def split_fields(value: str | None) -> frozenset[str] | None:
    """``"a, b"`` → ``{"a", "b"}``; blank → ``None`` (no limit)."""
    names = frozenset(item.strip() for item in (value or "").split(",") if item.strip())
    return names or None


@dataclass(frozen=True)
class Decision:
    """The answer of ``decide()``.

    ``allowed`` False: ``status_code`` (401 not authenticated, 403 not permitted) and ``message``.
    ``allowed`` True: ``restriction`` (a ``Q`` over the table's model limiting the rows, or None for
    all rows) and ``fields`` (field names the caller may see, or None for all).
    """

    allowed: bool
    status_code: int = 200
    message: str = ""
    restriction: Q | None = None
    fields: frozenset[str] | None = None

    @classmethod
    def deny(cls, status_code: int, message: str) -> Decision:
        return cls(allowed=False, status_code=status_code, message=message)


ALLOW_ALL = Decision(allowed=True)


def public_decision(table: str, level: Level) -> Decision | None:
    """The first public-table rule for ``table`` whose level satisfies ``level``, as a Decision."""
    from llana.models import PublicTable

    for rule in PublicTable.objects.filter(table=table).order_by("id"):
        if Level.parse(rule.access_level) >= level:
            return Decision(allowed=True, fields=split_fields(rule.allowed_fields))
    return None


def decide(request: Any, table: str, level: Level, data: Mapping[str, Any] | None = None) -> Decision:
    """May the caller of ``request`` act on ``table`` at ``level`` (with ``data``: the item written)?"""
    if llana_settings.SKIP_AUTH:
        return ALLOW_ALL
    public = public_decision(table, level)
    if public is not None:
        return public
    return Decision.deny(401, MISSING_TOKEN_MESSAGE)
