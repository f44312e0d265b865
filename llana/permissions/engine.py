"""The permission engine: every endpoint and every socket asks it whether a caller may act on a table.

One engine for REST and realtime, pure of requests: it decides for an ``Identity``
(``llana.auth.identities``). A ``Decision`` says whether an action is allowed and, if so, which rows
(``restriction``: a ``Q`` over the table's model) and which fields (``fields``) the caller may see.

REST (the views ask ``LLANA["PERMISSION_POLICY"]``, by default ``RolePolicy``, with ``request.auth``)::

    policy.decide(identity, "Customer", Level.READ)               # list / get / schema / relations / tables
    policy.decide(identity, "Customer", Level.WRITE, data=item)    # create: item's identity column must be mine
    policy.decide(identity, "Customer", Level.WRITE)               # update: restriction finds the stored row
    policy.decide(identity, "Customer", Level.WRITE, data=merged)  # update: {stored row, updated by item}
    policy.decide(identity, "Customer", Level.DELETE)              # delete: restriction on the lookup

Realtime, management commands and the admin (no request)::

    identity = identity_for_token(auth_token)      # llana.auth.identities; or Identity.anonymous()
    decide(identity, "Customer", Level.READ)        # the same Decision as REST
    perm = permission_for(identity, "Customer")     # compiled rules, cached per roles and table
    perm.row_allowed({"custId": 3, "userId": 7})    # may this socket see this row? (own-records check)

- ``TablePermission.decide(level, data=None)``, ``.restriction(level)``, ``.row_allowed(row, level)``,
  ``.allowed(level)``, ``.owner_paths(level)`` (where its own-records grants look for the owner).
  ``row_allowed`` works in memory when the identity column is on the table itself; for a relation path
  (``customer__user``) it runs one ``exists()`` query.
- Compiled rules live in Django's cache (``llana.permissions.cache``) for ``CACHE_IDENTITY_DATA_TTL``
  seconds (``CACHE_WS_IDENTITY_DATA_TTL`` for websocket identities) and are dropped at once when a
  ``Role``, ``PublicTable``, group membership or the user's role / ``is_active`` changes.

The algorithm (``docs/auth.md`` explains it with examples):

1. ``SKIP_AUTH``: everything is allowed.
2. A public rule (``_llana_public_tables``) whose level satisfies the need: DELETE is allowed to anyone
   with the public ``allowed_fields``; other levels admit anonymous callers, and authenticated callers
   get every row with the role's ``allowed_fields`` if the role passes with a list, else the public list.
3. Anonymous: 401 with the authentication failure (``Missing authorization token …``).
4. Each role of the caller (superuser → ``ADMIN``; else the user's ``ROLE_FIELD``; else group names):
   the first custom row for (table, role) decides: ``records`` ≥ need → allow; else ``own_records`` ≥
   need → allow restricted to the caller's rows (``identity_column``, may follow relations), and a
   written row must be the caller's; else deny. Without a custom row, the first default row with
   ``records`` ≥ need allows. Default rows don't cover system tables (``_llana_*``) unless the role is
   in ``SYSTEM_TABLE_ROLES`` (``["ADMIN"]``).
5. Several roles: the most permissive result wins (unrestricted > restricted > denied); denial is 403.
6. A caller limited to its own rows may not change ``owner_readonly_fields()`` (the user's role and
   staff/superuser/active flags, ``LLANA_OWNER_READONLY_FIELDS`` of a model): 403.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import IntEnum
from functools import reduce
from typing import Any

from django.contrib.auth import get_user_model
from django.db import models
from django.db.models import Q

from llana.auth.credentials import MISSING_TOKEN_MESSAGE
from llana.auth.identities import Identity
from llana.models import PublicTable, Role
from llana.permissions import cache
from llana.permissions.ownership import (
    IdentityColumnError,
    OwnerPath,
    is_system_table,
    model_for_table,
    resolve_owner_path,
)
from llana.settings import llana_settings

logger = logging.getLogger(__name__)

ROLE_NOT_FOUND_MESSAGE = "Role not found"


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


# --- compiled rules -----------------------------------------------------------------------------------


def _deny_level(level: Level, role: str) -> Decision:
    return Decision.deny(403, f"Table Action {level.name} - Permission Denied For Role {role}")


@dataclass(frozen=True)
class RoleGrant:
    """What one role may do on one table: its first custom row, or its default rows in order."""

    role: str
    custom: bool
    records: Level = Level.NONE
    own_records: Level = Level.NONE
    owner: OwnerPath | None = None
    fields: frozenset[str] | None = None
    defaults: tuple[tuple[Level, frozenset[str] | None], ...] = ()
    error: str | None = None  # a misconfigured row: denies, with this message

    def decide(self, table: str, level: Level, data: Mapping[str, Any] | None, user_pk: str) -> Decision:
        if self.error:
            return Decision.deny(403, self.error)
        if not self.custom:
            for granted, fields in self.defaults:
                if granted >= level:
                    return Decision(allowed=True, fields=fields)
            return _deny_level(level, self.role)
        if self.records >= level:
            return Decision(allowed=True, fields=self.fields)
        if self.own_records < level or self.owner is None:
            return _deny_level(level, self.role)
        if data is not None:
            if not self.owner.matches(data, user_pk):
                value = self.owner.value_of(data)
                return Decision.deny(
                    403,
                    f"Identity Mismatch - You can only add {table} records with your own {self.owner.label} "
                    f"({user_pk}) but you are trying to add {value}",
                )
            problem = _protected_change(table, data, user_pk) if level >= Level.WRITE else None
            if problem:
                return Decision.deny(403, problem)
        return Decision(allowed=True, restriction=self.owner.q(user_pk), fields=self.fields)


def owner_readonly_fields(model: type[models.Model]) -> list[models.Field]:
    """Fields a caller limited to its own rows may not set: the user model's ``ROLE_FIELD``,
    ``is_superuser``, ``is_staff``, ``is_active``, plus a model's ``LLANA_OWNER_READONLY_FIELDS``."""
    names = set(getattr(model, "LLANA_OWNER_READONLY_FIELDS", ()))
    names |= set(getattr(model, "LLANA_OWNER_ONE_WAY_FIELDS", {}))
    if model is get_user_model():
        names |= {llana_settings.ROLE_FIELD, "is_superuser", "is_staff", "is_active"}
    return [f for f in model._meta.concrete_fields if f.name in names]


def _sent(f: models.Field, data: Mapping[str, Any]) -> tuple[bool, Any]:
    for key in (f.column, f.attname, f.name):
        if key in data:
            return True, data[key]
    return False, None


def _protected_change(table: str, data: Mapping[str, Any], user_pk: str) -> str | None:
    """Own-records writers may edit their rows, but not the fields of ``owner_readonly_fields()`` (so a
    USER can't make itself ADMIN or un-revoke its API key); a one-way field may only take its one value."""
    model = model_for_table(table)
    if model is None:
        return None
    sent = [(f, value) for f in owner_readonly_fields(model) for present, value in [_sent(f, data)] if present]
    if not sent:
        return None
    pk_field = model._meta.pk
    found, pk = _sent(pk_field, data)
    if model is get_user_model():
        found, pk = True, user_pk
    stored = None
    if found and pk is not None:
        try:
            stored = model._default_manager.filter(pk=pk).values(*[f.attname for f, _ in sent]).first()
        except (ValueError, TypeError):
            stored = None
    one_way = getattr(model, "LLANA_OWNER_ONE_WAY_FIELDS", {})
    for f, value in sent:
        try:
            new = f.to_python(value)
        except Exception:  # ValidationError: the viewset reports the bad value
            new = value
        old = stored.get(f.attname) if stored is not None else f.get_default()
        if new == old or (f.name in one_way and new == one_way[f.name]):
            continue
        return f"Permission Denied - {f.column} can only be changed by a role with WRITE on {table}"
    return None


@dataclass(frozen=True)
class PublicRule:
    level: Level
    fields: frozenset[str] | None


@dataclass(frozen=True)
class TableRules:
    """The compiled rules of one table for one set of roles (cacheable: no identity inside)."""

    table: str
    grants: tuple[RoleGrant, ...]
    public: tuple[PublicRule, ...]


def compile_rules(table: str, roles: frozenset[str]) -> TableRules:
    """Read ``_llana_public_tables`` and ``_llana_role`` for ``table`` and ``roles``."""
    public = tuple(
        PublicRule(Level.parse(r.access_level), split_fields(r.allowed_fields))
        for r in PublicTable.objects.filter(table=table).order_by("id")
    )
    grants: list[RoleGrant] = []
    if roles:
        rows = list(Role.objects.filter(role__in=roles).filter(Q(custom=False) | Q(table=table)).order_by("id"))
        system_roles = set(llana_settings.SYSTEM_TABLE_ROLES or ())
        for role in sorted(roles):
            custom = next((r for r in rows if r.custom and r.role == role and r.table == table), None)
            if custom is not None:
                grants.append(_compile_custom(table, custom))
                continue
            if is_system_table(table) and role not in system_roles:
                grants.append(RoleGrant(role=role, custom=False))
                continue
            defaults = tuple(
                (Level.parse(r.records), split_fields(r.allowed_fields))
                for r in rows
                if not r.custom and r.role == role
            )
            grants.append(RoleGrant(role=role, custom=False, defaults=defaults))
    return TableRules(table=table, grants=tuple(grants), public=public)


def _compile_custom(table: str, row: Any) -> RoleGrant:
    grant = RoleGrant(
        role=row.role,
        custom=True,
        records=Level.parse(row.records),
        own_records=Level.parse(row.own_records),
        fields=split_fields(row.allowed_fields),
    )
    if grant.own_records <= grant.records:
        return grant  # own_records can never matter
    model = model_for_table(table)
    if model is None:
        return replace(grant, error=f"Role misconfigured: table {table} has no model for own_records")
    try:
        return replace(grant, owner=resolve_owner_path(model, row.identity_column))
    except IdentityColumnError as exc:
        logger.warning("Role %s on %s is misconfigured: %s", row.role, table, exc)
        return replace(grant, error=f"Role misconfigured: {exc}")


def _union(fields: list[frozenset[str] | None]) -> frozenset[str] | None:
    names: frozenset[str] = frozenset()
    for f in fields:
        if f is None:
            return None
        names |= f
    return names


@dataclass(frozen=True)
class TablePermission:
    """The compiled permission of one identity on one table. Pure apart from ``row_allowed`` on relation
    paths and ``decide(data=...)`` on the user table (one query each)."""

    identity: Identity
    rules: TableRules
    _memo: dict[Level, Decision] = field(default_factory=dict, compare=False, repr=False)

    @property
    def table(self) -> str:
        return self.rules.table

    def decide(self, level: Level, data: Mapping[str, Any] | None = None) -> Decision:
        if data is None:
            cached = self._memo.get(level)
            if cached is None:
                cached = self._memo[level] = self._decide(level, None)
            return cached
        return self._decide(level, data)

    def allowed(self, level: Level = Level.READ) -> bool:
        return self.decide(level).allowed

    def restriction(self, level: Level = Level.READ) -> Q | None:
        return self.decide(level).restriction

    def row_allowed(self, row: Mapping[str, Any], level: Level = Level.READ) -> bool:
        """May this identity see (``level`` READ) or change ``row``? Applies the own-records restriction."""
        return self.decide(level, data=row).allowed

    def owner_paths(self, level: Level = Level.READ) -> tuple[OwnerPath, ...]:
        """The owner paths of the own-records grants that admit ``level`` only for the caller's own rows
        (``records`` below ``level``, ``own_records`` at or above), one per distinct path, sorted by key.

        When ``decide(level)`` is restricted, the restriction is "owned by me along one of these paths".
        Misconfigured grants (which deny) are left out.
        """
        paths = {
            grant.owner.key: grant.owner
            for grant in self.rules.grants
            if grant.custom
            and grant.error is None
            and grant.owner is not None
            and grant.records < level <= grant.own_records
        }
        return tuple(paths[key] for key in sorted(paths))

    def _decide(self, level: Level, data: Mapping[str, Any] | None) -> Decision:
        identity = self.identity
        if identity.skip_auth:
            return ALLOW_ALL
        public = next((p for p in self.rules.public if p.level >= level), None)
        if public is not None and (level >= Level.DELETE or identity.is_anonymous):
            return Decision(allowed=True, fields=public.fields)
        if identity.is_anonymous:
            status, message = identity.error or (401, MISSING_TOKEN_MESSAGE)
            return Decision.deny(status, message)
        result = self._roles(level, data)
        if public is not None:
            fields = result.fields if (result.allowed and result.fields) else public.fields
            return Decision(allowed=True, fields=fields)
        return result

    def _roles(self, level: Level, data: Mapping[str, Any] | None) -> Decision:
        if not self.rules.grants:
            return Decision.deny(403, ROLE_NOT_FOUND_MESSAGE)
        assert self.identity.user_pk is not None
        results = [g.decide(self.table, level, data, self.identity.user_pk) for g in self.rules.grants]
        allowed = [r for r in results if r.allowed]
        unrestricted = [r for r in allowed if r.restriction is None]
        if unrestricted:
            return Decision(allowed=True, fields=_union([r.fields for r in unrestricted]))
        if allowed:
            restriction = reduce(lambda a, b: a | b, [r.restriction for r in allowed if r.restriction is not None])
            return Decision(allowed=True, restriction=restriction, fields=_union([r.fields for r in allowed]))
        # Prefer the most specific denial (an identity mismatch over a level denial).
        return next((r for r in results if r.message.startswith("Identity Mismatch")), results[0])


def permission_for(identity: Identity, table: str) -> TablePermission:
    """The compiled permission of ``identity`` on ``table`` (rules cached per roles and table)."""
    if identity.skip_auth or identity.is_anonymous:
        roles: frozenset[str] = frozenset()
    else:
        roles = identity.roles
    rules = cache.get_or_compute(
        "rules", f"{table}\x00{','.join(sorted(roles))}", identity.ttl, lambda: compile_rules(table, roles)
    )
    return TablePermission(identity=identity, rules=rules)


def decide(identity: Identity, table: str, level: Level, data: Mapping[str, Any] | None = None) -> Decision:
    """May ``identity`` act on ``table`` at ``level`` (with ``data``: the item written)?"""
    if identity.skip_auth:
        return ALLOW_ALL
    return permission_for(identity, table).decide(level, data)


class RolePolicy:
    """The default ``LLANA["PERMISSION_POLICY"]``: ``decide()``, with each table's compiled permission
    kept for the life of the instance (the views make one per request)."""

    def __init__(self) -> None:
        self._permissions: dict[tuple[Identity, str], TablePermission] = {}

    def decide(self, identity: Identity, table: str, level: Level, data: Mapping[str, Any] | None = None) -> Decision:
        if identity.skip_auth:
            return ALLOW_ALL
        key = (identity, table)
        perm = self._permissions.get(key)
        if perm is None:
            perm = self._permissions[key] = permission_for(identity, table)
        return perm.decide(level, data)
