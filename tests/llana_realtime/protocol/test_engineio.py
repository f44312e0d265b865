"""Engine.IO v4 codec: exact wire strings from the protocol spec, limits, and hypothesis properties."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from llana_realtime.protocol.engineio import (
    Packet,
    PacketType,
    decode_packet,
    decode_payload,
    encode_packet,
    encode_payload,
    open_packet,
)
from llana_realtime.protocol.errors import EngineIOError, PayloadTooLarge, ProtocolError

T = PacketType


@pytest.mark.parametrize(
    ("packet", "frame"),
    [
        (Packet(T.OPEN, '{"sid":"abc"}'), '0{"sid":"abc"}'),
        (Packet(T.CLOSE), "1"),
        (Packet(T.PING), "2"),
        (Packet(T.PING, "probe"), "2probe"),
        (Packet(T.PONG), "3"),
        (Packet(T.PONG, "probe"), "3probe"),
        (Packet(T.MESSAGE, "hello"), "4hello"),
        (Packet(T.MESSAGE, ""), "4"),
        (Packet(T.MESSAGE, "héllo ☃"), "4héllo ☃"),
        (Packet(T.UPGRADE), "5"),
        (Packet(T.NOOP), "6"),
        (Packet(T.MESSAGE, b"\x01\x02\x03\x04"), b"\x01\x02\x03\x04"),
        (Packet(T.MESSAGE, b""), b""),
    ],
)
def test_packet_wire_form(packet: Packet, frame: str | bytes) -> None:
    assert encode_packet(packet) == frame
    assert decode_packet(frame) == packet


@pytest.mark.parametrize(
    ("packets", "body"),
    [
        ([Packet(T.MESSAGE, "hello")], "4hello"),
        ([Packet(T.MESSAGE, "hello"), Packet(T.MESSAGE, "€")], "4hello\x1e4€"),
        (
            [Packet(T.MESSAGE, "hello"), Packet(T.MESSAGE, b"\x01\x02\x03\x04")],
            "4hello\x1ebAQIDBA==",
        ),
        ([Packet(T.PING), Packet(T.MESSAGE, "x"), Packet(T.CLOSE)], "2\x1e4x\x1e1"),
        ([Packet(T.NOOP)], "6"),
        ([Packet(T.MESSAGE, b"")], "b"),
    ],
)
def test_payload_wire_form(packets: list[Packet], body: str) -> None:
    assert encode_payload(packets) == body
    assert decode_payload(body) == packets
    assert decode_payload(body.encode()) == packets


def test_open_packet_has_exactly_the_five_keys_compact_in_order() -> None:
    packet = open_packet(
        "s1",
        upgrades=["websocket"],
        ping_interval=300,
        ping_timeout=200,
        max_payload=1000000,
    )
    assert encode_packet(packet) == (
        '0{"sid":"s1","upgrades":["websocket"],"pingInterval":300,"pingTimeout":200,"maxPayload":1000000}'
    )
    assert list(json.loads(packet.data or "")) == [
        "sid",
        "upgrades",
        "pingInterval",
        "pingTimeout",
        "maxPayload",
    ]


@pytest.mark.parametrize(
    "frame",
    ["", "7", "9hello", "a", "x4", "\x1e", "-1"],
)
def test_decode_packet_rejects(frame: str) -> None:
    with pytest.raises(EngineIOError):
        decode_packet(frame)


@pytest.mark.parametrize(
    "body",
    [
        "",
        b"",
        "abc",
        "4a\x1e",
        "\x1e4a",
        "4a\x1e\x1e4b",
        "b!!!",
        "bAQIDBA",
        "b€",
        b"\xff\xfe",
        "8",
    ],
)
def test_decode_payload_rejects(body: str | bytes) -> None:
    with pytest.raises(EngineIOError):
        decode_payload(body)


def test_binary_only_in_messages() -> None:
    with pytest.raises(EngineIOError):
        encode_packet(Packet(T.PING, b"x"))
    with pytest.raises(EngineIOError):
        encode_payload([Packet(T.PONG, b"x")])


@pytest.mark.parametrize("body", ["4" + "x" * 10, ("4" + "x" * 10).encode(), "4" + "é" * 5])
def test_decode_payload_enforces_max_payload(body: str | bytes) -> None:
    with pytest.raises(PayloadTooLarge):
        decode_payload(body, max_payload=10)
    assert decode_payload(body, max_payload=11)


def test_decode_payload_enforces_max_packets() -> None:
    assert len(decode_payload("\x1e".join(["4a"] * 3), max_packets=3)) == 3
    with pytest.raises(EngineIOError, match="more than 3 packets"):
        decode_payload("\x1e".join(["4a"] * 4), max_packets=3)


def test_protocol_layer_imports_neither_django_nor_channels() -> None:
    code = (
        "import sys, llana_realtime.protocol.engineio, llana_realtime.protocol.session, llana_realtime.protocol.errors\n"
        "import llana_realtime.protocol as p, pkgutil, importlib\n"
        "[importlib.import_module('llana_realtime.protocol.' + m.name) for m in pkgutil.iter_modules(p.__path__)]\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('django', 'channels', 'asyncio', 'daphne'))\n"
        "print(','.join(bad))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""


# --- properties ----------------------------------------------------------------------------------------------

texts = st.text()
non_message_types = st.sampled_from([T.OPEN, T.CLOSE, T.PING, T.PONG, T.UPGRADE, T.NOOP])
packets = st.one_of(
    st.builds(Packet, st.just(T.MESSAGE), texts),
    st.builds(Packet, st.just(T.MESSAGE), st.binary()),
    st.builds(Packet, non_message_types, st.one_of(st.none(), texts.filter(bool))),
)


@given(packets)
def test_packet_round_trip(packet: Packet) -> None:
    assert decode_packet(encode_packet(packet)) == packet


@given(
    st.lists(packets, min_size=1, max_size=20).filter(
        lambda ps: all("\x1e" not in (p.data or "") for p in ps if isinstance(p.data, str))
    )
)
def test_payload_round_trip(batch: list[Packet]) -> None:
    assert decode_payload(encode_payload(batch)) == batch


@given(st.one_of(st.text(), st.binary()))
def test_decode_packet_total(frame: str | bytes) -> None:
    try:
        packet = decode_packet(frame)
    except ProtocolError:
        return
    assert isinstance(packet, Packet)


@given(st.one_of(st.text(), st.binary(), st.text(alphabet="0123456b\x1eAQID=x").map(str)))
def test_decode_payload_total(body: str | bytes) -> None:
    try:
        result = decode_payload(body, max_payload=1000, max_packets=16)
    except ProtocolError:
        return
    assert all(isinstance(p, Packet) for p in result)
