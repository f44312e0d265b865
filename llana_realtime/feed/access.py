"""Read access of a table-feed socket: computed at the handshake and on permission changes, never per event.

``read_access(identity, table)`` turns ``llana.permissions`` into a ``ReadAccess``: every row, or the rows
owned by one user along the owner paths of the own-records rules that admit it. The feed puts sockets
of one table and one ``ReadAccess`` in one room (``ReadAccess.key``) and matches the access against the
owner values each ``TableEvent`` carries (``llana_realtime.feed.events``), once per room and event.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache

from llana.auth.identities import Identity, identity_for_user_pk
from llana.permissions import cache
from llana.permissions.engine import Decision, Level, permission_for
from llana.settings import llana_settings


@dataclass(frozen=True, slots=True)
class ReadAccess:
    """Which rows of a table a socket may hear about: all, or those owned by ``user_pk`` along ``paths``."""

    all_rows: bool
    user_pk: str | None = None
    paths: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        """A short name of this access, unique per distinct access (part of the feed's room names)."""
        if self.all_rows:
            return "*"
        return f"own:{self.user_pk}:{','.join(self.paths)}"

    def allows(self, owners: dict[str, str]) -> bool:
        if self.all_rows:
            return True
        user_pk = self.user_pk
        return any(owners.get(path) == user_pk for path in self.paths)


ALL_ROWS = ReadAccess(all_rows=True)


def read_access(identity: Identity, table: str) -> tuple[ReadAccess | None, Decision]:
    """The READ access of ``identity`` on ``table`` (None when denied) and the decision behind it.

    Sync: may read ``_llana_role``/``_llana_public_tables`` on a cache miss.
    """
    perm = permission_for(identity, table)
    decision = perm.decide(Level.READ)
    if not decision.allowed:
        return None, decision
    if decision.restriction is None:
        return ALL_ROWS, decision
    paths = tuple(path.key for path in perm.owner_paths(Level.READ))
    return ReadAccess(all_rows=False, user_pk=identity.user_pk, paths=paths), decision


class Subscription:
    """What the feed knows about one of its sockets: table, identity, access (so its room), token expiry."""

    __slots__ = ("access", "expires_at", "identity", "table")

    def __init__(self, table: str, identity: Identity, access: ReadAccess, expires_at: float | None) -> None:
        self.table = table
        self.identity = identity
        self.access = access
        self.expires_at = expires_at


def room_name(table: str, access: ReadAccess) -> str:
    """The room of the sockets of ``table`` with ``access`` (one room per distinct access and table)."""
    return f"table:{table}:{access.key}"


def forget_local_cache(users: Iterable[str] | None = None) -> None:
    """A permission change made in another process can't have invalidated a process-local cache: do it here
    (only the entries of ``users`` when the change concerned those users)."""
    if isinstance(caches[llana_settings.CACHE_ALIAS], LocMemCache):
        cache.invalidate(notify=False, users=users)  # a refresh, not a change: notifying would loop back here


def reevaluate_many(
    batch: list[tuple[Identity, list[str]]],
) -> list[tuple[Identity, dict[str, tuple[ReadAccess | None, str]]]]:
    return [reevaluate(identity, tables) for identity, tables in batch]


def reevaluate(identity: Identity, tables: Iterable[str]) -> tuple[Identity, dict[str, tuple[ReadAccess | None, str]]]:
    """The identity as it is now (roles, user still active) and its access on each table (sync)."""
    current = identity
    if identity.user_pk is not None:
        current = identity_for_user_pk(identity.user_pk, websocket=True, credential=identity.credential)
        if current.user_pk is None:  # deleted or deactivated user
            message = current.error[1] if current.error else "Authentication Failed"
            return current, dict.fromkeys(tables, (None, message))
    results: dict[str, tuple[ReadAccess | None, str]] = {}
    for table in tables:
        access, decision = read_access(current, table)
        results[table] = (access, decision.message)
    return current, results
