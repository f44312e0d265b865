"""The pure Engine.IO session: handshake, server-driven heartbeat, upgrade and close, with ``now=`` (no sleeping)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from llana_realtime.protocol.engineio import Packet, PacketType, decode_packet
from llana_realtime.protocol.errors import EngineIOError
from llana_realtime.protocol.session import (
    AbortUpgrade,
    Close,
    Deliver,
    EngineIOSession,
    ReleasePoll,
    Send,
    SendUpgrade,
    State,
    Upgraded,
    UpgradeError,
)

T = PacketType


def make(transport: str = "polling") -> EngineIOSession:
    session = EngineIOSession(
        "sid1",
        transport=transport,
        ping_interval=0.3,
        ping_timeout=0.2,
        max_payload=1000,
    )
    session.open(now=0.0)
    return session


@pytest.mark.parametrize(
    ("transport", "upgrades"),
    [("polling", '["websocket"]'), ("websocket", "[]")],
)
def test_open_packet(transport: str, upgrades: str) -> None:
    session = EngineIOSession(
        "sid1",
        transport=transport,
        ping_interval=25.0,
        ping_timeout=20.0,
        max_payload=1000000,
    )
    assert session.open(now=0.0) == [
        Send(
            Packet(
                T.OPEN,
                '{"sid":"sid1","upgrades":'
                + upgrades
                + ',"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}',
            )
        )
    ]
    assert session.state is State.OPEN


def test_open_twice_is_refused() -> None:
    session = make()
    with pytest.raises(EngineIOError):
        session.open(now=1.0)


def test_heartbeat_pings_every_interval_while_pongs_come_back() -> None:
    session = make()
    assert session.deadline() == pytest.approx(0.3)
    assert session.tick(now=0.29) == []
    assert session.tick(now=0.3) == [Send(Packet(T.PING))]
    assert session.deadline() == pytest.approx(0.5)
    assert session.receive(Packet(T.PONG), now=0.4) == []
    assert session.deadline() == pytest.approx(0.7)
    assert session.tick(now=0.69) == []
    assert session.tick(now=0.7) == [Send(Packet(T.PING))]


def test_silent_session_closes_after_interval_plus_timeout() -> None:
    session = make()
    assert session.tick(now=0.3) == [Send(Packet(T.PING))]
    assert session.tick(now=0.49) == []
    assert session.tick(now=0.5) == [Close("ping timeout")]
    assert session.closed
    assert session.deadline() is None
    assert session.tick(now=9.0) == []


def test_messages_are_delivered_text_and_binary() -> None:
    session = make()
    assert session.receive(decode_packet("4hello"), now=0.1) == [Deliver("hello")]
    assert session.receive(decode_packet(b"\x00\x01"), now=0.1) == [Deliver(b"\x00\x01")]
    assert session.receive(decode_packet("4"), now=0.1) == [Deliver("")]


def test_client_close_releases_the_poll_then_closes() -> None:
    session = make()
    assert session.receive(Packet(T.CLOSE), now=0.1) == [
        ReleasePoll(),
        Close("transport close"),
    ]
    assert session.receive(Packet(T.MESSAGE, "late"), now=0.1) == []


def test_client_ping_is_the_wrong_heartbeat_direction() -> None:
    assert make().receive(Packet(T.PING), now=0.1) == [Close("transport error")]


@pytest.mark.parametrize("packet", [Packet(T.NOOP), Packet(T.UPGRADE), Packet(T.OPEN, "{}"), Packet(T.PONG)])
def test_meaningless_packets_are_ignored(packet: Packet) -> None:
    session = make()
    assert session.receive(packet, now=0.1) == []
    assert session.state is State.OPEN


def test_upgrade_probe_then_upgrade() -> None:
    session = make()
    session.start_upgrade()
    assert session.upgrading
    assert session.receive_upgrade(decode_packet("2probe")) == [
        SendUpgrade(Packet(T.PONG, "probe")),
        ReleasePoll(),
    ]
    assert session.probed
    assert session.receive_upgrade(decode_packet("5")) == [Upgraded()]
    assert not session.probed
    assert session.transport == "websocket"
    assert session.state is State.OPEN
    with pytest.raises(UpgradeError):
        session.start_upgrade()  # a second WebSocket for an upgraded sid


def test_heartbeat_continues_during_upgrade() -> None:
    session = make()
    session.start_upgrade()
    assert session.tick(now=0.3) == [Send(Packet(T.PING))]


@pytest.mark.parametrize("frame", ["4hello", "2", "3probe", "1"])
def test_anything_else_during_the_probe_aborts_the_upgrade(frame: str) -> None:
    session = make()
    session.start_upgrade()
    assert session.receive_upgrade(decode_packet(frame)) == [AbortUpgrade()]
    assert session.state is State.OPEN
    assert session.transport == "polling"
    session.start_upgrade()  # may be tried again


def test_websocket_sessions_and_closed_sessions_cannot_upgrade() -> None:
    with pytest.raises(UpgradeError):
        make("websocket").start_upgrade()
    session = make()
    session.close("server disconnect")
    with pytest.raises(UpgradeError):
        session.start_upgrade()
    session2 = make()
    session2.start_upgrade()
    with pytest.raises(UpgradeError):
        session2.start_upgrade()  # already upgrading


def test_close_is_idempotent() -> None:
    session = make()
    assert session.close("server disconnect") == [Close("server disconnect")]
    assert session.close("ping timeout") == []


def test_open_json_is_valid() -> None:
    session = EngineIOSession("x", transport="polling", ping_interval=1.5, ping_timeout=0.25, max_payload=7)
    (send,) = session.open(now=0.0)
    assert isinstance(send, Send)
    assert json.loads(send.packet.data or "") == {
        "sid": "x",
        "upgrades": ["websocket"],
        "pingInterval": 1500,
        "pingTimeout": 250,
        "maxPayload": 7,
    }


@given(
    st.lists(
        st.one_of(
            st.tuples(st.just("tick"), st.floats(0, 0.5)),
            st.tuples(st.just("recv"), st.sampled_from(["2", "3", "4x", "5", "6", "1", "0"])),
        ),
        max_size=40,
    )
)
def test_heartbeat_invariant(steps: list[tuple[str, object]]) -> None:
    """Whatever the client does, the session never lets more than interval + timeout pass without a pong."""
    session = make()
    now = 0.0
    last_alive = 0.0
    for kind, value in steps:
        if kind == "tick":
            assert isinstance(value, float)
            now += value
            actions = session.tick(now=now)
        else:
            assert isinstance(value, str)
            actions = session.receive(decode_packet(value), now=now)
            if value == "3" and not session.closed:
                last_alive = now
        if session.closed:
            assert any(isinstance(a, Close) for a in actions)
            return
        deadline = session.deadline()
        assert deadline is not None
        assert deadline <= max(last_alive, now) + 0.3 + 0.2 + 1e-9
