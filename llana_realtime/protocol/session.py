"""The Engine.IO v4 session state machine, pure: packets and the time go in, actions come out.

>>> s = EngineIOSession("abc", transport="polling", ping_interval=25.0, ping_timeout=20.0, max_payload=1000)
>>> s.open(now=0.0)  # doctest: +ELLIPSIS
[Send(packet=Packet(type=<PacketType.OPEN: 0>, data='{"sid":"abc",...}'))]
>>> s.tick(now=25.0)
[Send(packet=Packet(type=<PacketType.PING: 2>, data=None))]
>>> s.tick(now=45.1)  # no pong came back
[Close(reason='ping timeout')]

The heartbeat is server-driven (spec "Heartbeat"): a ping every ``ping_interval`` seconds, counted from the
session's creation and from each pong; no pong within ``ping_timeout`` closes the session, so a silent
session is gone after ``ping_interval + ping_timeout``. The upgrade from polling to WebSocket follows spec
"Upgrade": ``2probe`` → ``3probe`` (and a pending poll is released with a noop), then ``5``.
The caller does the I/O: it sends what ``Send`` holds on the current transport, ``SendUpgrade`` on the
transport being upgraded to, answers a pending poll with a noop on ``ReleasePoll``, hands ``Deliver`` data to
the application and tears the session down on ``Close``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Final

from llana_realtime.protocol.engineio import PING, Packet, PacketType, open_packet
from llana_realtime.protocol.errors import EngineIOError

# Close reasons, as the reference server names them (engine.io ``Socket.onClose``).
PING_TIMEOUT: Final = "ping timeout"
TRANSPORT_CLOSE: Final = "transport close"
TRANSPORT_ERROR: Final = "transport error"
PARSE_ERROR: Final = "parse error"
SERVER_DISCONNECT: Final = "server disconnect"

POLLING: Final = "polling"
WEBSOCKET: Final = "websocket"


class UpgradeError(EngineIOError):
    """An upgrade that the session's state does not allow (already upgraded, upgrading, or closed)."""


class State(Enum):
    NEW = "new"
    OPEN = "open"
    UPGRADING = "upgrading"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class Send:
    """Send ``packet`` on the session's current transport."""

    packet: Packet


@dataclass(frozen=True, slots=True)
class SendUpgrade:
    """Send ``packet`` on the transport the session is upgrading to."""

    packet: Packet


@dataclass(frozen=True, slots=True)
class ReleasePoll:
    """Answer a pending long-polling GET, if any, with a noop (upgrade in progress or client close)."""


@dataclass(frozen=True, slots=True)
class Deliver:
    """Give one message's data to the application."""

    data: str | bytes


@dataclass(frozen=True, slots=True)
class Upgraded:
    """The upgrade completed: the session now uses the new transport; polling requests are refused."""


@dataclass(frozen=True, slots=True)
class AbortUpgrade:
    """The upgrade failed: close the new transport; the session keeps its old one."""


@dataclass(frozen=True, slots=True)
class Close:
    """The session is over, for ``reason``."""

    reason: str


Action = Send | SendUpgrade | ReleasePoll | Deliver | Upgraded | AbortUpgrade | Close


class EngineIOSession:
    """One Engine.IO session's state: transport, upgrade and heartbeat. Times are seconds (any clock)."""

    __slots__ = (
        "sid",
        "transport",
        "ping_interval",
        "ping_timeout",
        "max_payload",
        "state",
        "next_ping",
        "pong_deadline",
        "probed",
    )

    def __init__(
        self,
        sid: str,
        *,
        transport: str,
        ping_interval: float,
        ping_timeout: float,
        max_payload: int,
    ) -> None:
        if transport not in (POLLING, WEBSOCKET):
            raise ValueError(f"unknown transport {transport!r}")
        self.sid = sid
        self.transport = transport
        self.ping_interval = ping_interval
        self.ping_timeout = ping_timeout
        self.max_payload = max_payload
        self.state = State.NEW
        self.next_ping: float | None = None
        self.pong_deadline: float | None = None
        # During an upgrade, after the probe: polls are answered with a noop at once (the client is pausing).
        self.probed = False

    @property
    def closed(self) -> bool:
        return self.state is State.CLOSED

    @property
    def upgrading(self) -> bool:
        return self.state is State.UPGRADING

    def open(self, *, now: float) -> list[Action]:
        """Start the session: the open packet, and the heartbeat clock from ``now``."""
        if self.state is not State.NEW:
            raise EngineIOError("session already opened")
        self.state = State.OPEN
        self.next_ping = now + self.ping_interval
        return [
            Send(
                open_packet(
                    self.sid,
                    upgrades=[WEBSOCKET] if self.transport == POLLING else [],
                    ping_interval=round(self.ping_interval * 1000),
                    ping_timeout=round(self.ping_timeout * 1000),
                    max_payload=self.max_payload,
                )
            )
        ]

    def deadline(self) -> float | None:
        """When ``tick`` next has something to do, or ``None``."""
        if self.state is State.CLOSED:
            return None
        if self.pong_deadline is not None:
            return self.pong_deadline
        return self.next_ping

    def tick(self, *, now: float) -> list[Action]:
        """Run the heartbeat: a ping when it is due, a close when a pong is overdue."""
        if self.state in (State.NEW, State.CLOSED):
            return []
        if self.pong_deadline is not None:
            if now >= self.pong_deadline:
                return self.close(PING_TIMEOUT)
            return []
        if self.next_ping is not None and now >= self.next_ping:
            self.next_ping = None
            self.pong_deadline = now + self.ping_timeout
            return [Send(PING)]
        return []

    def receive(self, packet: Packet, *, now: float) -> list[Action]:
        """A packet from the client on the session's current transport."""
        if self.state in (State.NEW, State.CLOSED):
            return []
        kind = packet.type
        if kind is PacketType.MESSAGE:
            assert packet.data is not None  # decode_packet always sets a message's data
            return [Deliver(packet.data)]
        if kind is PacketType.PONG:
            if self.pong_deadline is not None:
                self.pong_deadline = None
                self.next_ping = now + self.ping_interval
            return []
        if kind is PacketType.CLOSE:
            # A client close packet: the reference server answers a pending poll with a noop.
            return [ReleasePoll(), *self.close(TRANSPORT_CLOSE)]
        if kind is PacketType.PING:
            # v4 heartbeats go server → client only ("invalid heartbeat direction").
            return self.close(TRANSPORT_ERROR)
        # OPEN, UPGRADE and NOOP from the client on the current transport mean nothing: ignored, as the
        # reference server does.
        return []

    def start_upgrade(self) -> None:
        """A WebSocket asks to upgrade this session. Raises ``UpgradeError`` unless it is open on polling."""
        if self.state is not State.OPEN or self.transport != POLLING:
            raise UpgradeError(f"cannot upgrade a {self.state.value} {self.transport} session")
        self.state = State.UPGRADING

    def receive_upgrade(self, packet: Packet) -> list[Action]:
        """A packet from the client on the transport being upgraded to."""
        if self.state is not State.UPGRADING:
            return [AbortUpgrade()]
        if packet.type is PacketType.PING and packet.data == "probe":
            self.probed = True
            return [SendUpgrade(Packet(PacketType.PONG, "probe")), ReleasePoll()]
        if packet.type is PacketType.UPGRADE:
            self.state = State.OPEN
            self.probed = False
            self.transport = WEBSOCKET
            return [Upgraded()]
        return self.abort_upgrade()

    def abort_upgrade(self) -> list[Action]:
        """The new transport went away or misbehaved before ``5``: keep the old transport."""
        if self.state is State.UPGRADING:
            self.state = State.OPEN
        self.probed = False
        return [AbortUpgrade()]

    def close(self, reason: str) -> list[Action]:
        """End the session (idempotent: only the first call returns the ``Close``)."""
        if self.state is State.CLOSED:
            return []
        self.state = State.CLOSED
        self.next_ping = None
        self.pong_deadline = None
        return [Close(reason)]


__all__ = [
    "PING_TIMEOUT",
    "PARSE_ERROR",
    "POLLING",
    "SERVER_DISCONNECT",
    "TRANSPORT_CLOSE",
    "TRANSPORT_ERROR",
    "WEBSOCKET",
    "AbortUpgrade",
    "Action",
    "Close",
    "Deliver",
    "EngineIOSession",
    "ReleasePoll",
    "Send",
    "SendUpgrade",
    "State",
    "UpgradeError",
    "Upgraded",
]
