"""Socket.IO v5 codec: exact wire strings (socket.io-protocol README), binary attachments, malformed input."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llana_realtime.protocol.errors import ProtocolError, SocketIOError
from llana_realtime.protocol.socketio import (
    Decoder,
    Packet,
    PacketType,
    encode,
    has_binary,
)

T = PacketType


def decode_all(frames: list[str | bytes]) -> Packet:
    decoder = Decoder()
    packets = [decoder.feed(frame) for frame in frames]
    assert packets[:-1] == [None] * (len(frames) - 1)
    assert packets[-1] is not None
    assert not decoder.pending
    return packets[-1]


WIRE = [
    (Packet(T.CONNECT), "0"),
    (Packet(T.CONNECT, "/admin"), "0/admin,"),
    (Packet(T.CONNECT, "/", {"token": "123"}), '0{"token":"123"}'),
    (Packet(T.CONNECT, "/admin", {"token": "123"}), '0/admin,{"token":"123"}'),
    (Packet(T.CONNECT, "/", {"sid": "oSO0OpakMV_3jnilAAAA"}), '0{"sid":"oSO0OpakMV_3jnilAAAA"}'),
    (Packet(T.DISCONNECT), "1"),
    (Packet(T.DISCONNECT, "/admin"), "1/admin,"),
    (Packet(T.EVENT, "/", ["foo"]), '2["foo"]'),
    (Packet(T.EVENT, "/admin", ["bar"]), '2/admin,["bar"]'),
    (Packet(T.EVENT, "/", ["message", 1, "2", {"3": [True]}]), '2["message",1,"2",{"3":[true]}]'),
    (Packet(T.EVENT, "/", ["foo"], 12), '212["foo"]'),
    (
        Packet(T.EVENT, "/", ["message-with-ack", 1, "2", {"3": [False]}], 456),
        '2456["message-with-ack",1,"2",{"3":[false]}]',
    ),
    (Packet(T.ACK, "/admin", ["bar"], 13), '3/admin,13["bar"]'),
    (Packet(T.ACK, "/", [], 0), "30[]"),
    (Packet(T.CONNECT_ERROR, "/", {"message": "Not authorized"}), '4{"message":"Not authorized"}'),
    (Packet(T.CONNECT_ERROR, "/random", {"message": "Invalid namespace"}), '4/random,{"message":"Invalid namespace"}'),
    (Packet(T.CONNECT_ERROR, "/", "plain"), '4"plain"'),
    # key order is kept, JSON is compact, non-ASCII is not escaped
    (Packet(T.EVENT, "/", ["é", {"b": 1, "a": [None, 1.5]}]), '2["é",{"b":1,"a":[null,1.5]}]'),
]


@pytest.mark.parametrize(("packet", "wire"), WIRE)
def test_encode_exact(packet: Packet, wire: str) -> None:
    assert encode(packet) == [wire]


@pytest.mark.parametrize(("packet", "wire"), WIRE)
def test_decode_exact(packet: Packet, wire: str) -> None:
    assert Decoder().feed(wire) == packet


BINARY = [
    (
        Packet(T.BINARY_EVENT, "/", ["baz", b"\x01\x02\x03\x04"]),
        ['51-["baz",{"_placeholder":true,"num":0}]', b"\x01\x02\x03\x04"],
    ),
    (
        Packet(T.BINARY_EVENT, "/admin", ["baz", {"a": b"A", "b": [b"B"]}], 7),
        ['52-/admin,7["baz",{"a":{"_placeholder":true,"num":0},"b":[{"_placeholder":true,"num":1}]}]', b"A", b"B"],
    ),
    (
        Packet(T.BINARY_ACK, "/admin", [b"\x03"], 15),
        ['61-/admin,15[{"_placeholder":true,"num":0}]', b"\x03"],
    ),
    (
        Packet(T.BINARY_EVENT, "/", ["message", b"\x01\x02\x03"]),
        ['51-["message",{"_placeholder":true,"num":0}]', b"\x01\x02\x03"],
    ),
]


@pytest.mark.parametrize(("packet", "frames"), BINARY)
def test_binary_encode_exact(packet: Packet, frames: list[str | bytes]) -> None:
    assert encode(packet) == frames


@pytest.mark.parametrize(("packet", "frames"), BINARY)
def test_binary_decode_exact(packet: Packet, frames: list[str | bytes]) -> None:
    assert decode_all(frames) == packet


def test_event_with_bytes_is_sent_as_binary_event_and_binary_without_bytes_as_plain() -> None:
    assert encode(Packet(T.EVENT, "/", ["x", bytearray(b"1")])) == ['51-["x",{"_placeholder":true,"num":0}]', b"1"]
    assert encode(Packet(T.ACK, "/", [b"1"], 3)) == ['61-3[{"_placeholder":true,"num":0}]', b"1"]
    assert encode(Packet(T.BINARY_EVENT, "/", ["x"])) == ['2["x"]']
    assert encode(Packet(T.EVENT, "/", ("x", 1))) == ['2["x",1]']


def test_binary_packet_with_zero_attachments_decodes_at_once() -> None:
    assert Decoder().feed('50-["x",1]') == Packet(T.BINARY_EVENT, "/", ["x", 1])


def test_placeholder_in_a_plain_event_stays_data() -> None:
    wire = '2["x",{"_placeholder":true,"num":0}]'
    assert Decoder().feed(wire) == Packet(T.EVENT, "/", ["x", {"_placeholder": True, "num": 0}])


def test_decoder_keeps_going_after_a_binary_packet() -> None:
    decoder = Decoder()
    assert decoder.feed('51-["a",{"_placeholder":true,"num":0}]') is None
    assert decoder.pending
    assert decoder.feed(b"z") == Packet(T.BINARY_EVENT, "/", ["a", b"z"])
    assert decoder.feed('2["b"]') == Packet(T.EVENT, "/", ["b"])


def test_has_binary() -> None:
    assert has_binary({"a": [1, {"b": memoryview(b"x")}]})
    assert not has_binary({"a": [1, {"b": "x"}], "bytes": None})


def test_encode_refuses_nan() -> None:
    with pytest.raises(ValueError, match="JSON"):
        encode(Packet(T.EVENT, "/", ["x", float("nan")]))


MALFORMED = [
    "",
    "abc",  # unknown type (Engine.IO "4abc")
    "7",
    "9[]",
    "2{}",  # EVENT data is not an array (Engine.IO "42{}")
    "2[]",  # empty EVENT
    "2",  # EVENT without data
    "2[1]",  # event name not a string
    '2["connect"]',  # reserved event name
    '2["disconnect",1]',
    '2abc["message-with-ack",1]',  # non-numeric ack id
    '2/admin,abc["x"]',
    '2["x"',  # bad JSON
    '2["x"]trailing',
    "2[NaN",
    "3[]",  # ACK without id
    "31",  # ACK without data
    '31{"a":1}',  # ACK data not an array
    "0[]",  # CONNECT data not an object
    '0"token"',
    "1{}",  # DISCONNECT with data
    "1/admin,{}",
    "4[1]",  # CONNECT_ERROR data neither string nor object
    '5["x"]',  # BINARY_EVENT without attachment count
    '5x-["x"]',
    '5-["x"]',
    '51["x"]',
    '599999999-["x"]',  # over the attachment limit
    "51-",  # no data
    '51-{"a":1}',
    "2" + "1" * 16 + '["x"]',  # ack id over 15 digits
    "2" + "[" * 100_000,  # nesting over the recursion limit
    "2[" + "1" * 5000 + "]",  # integer over Python's digit limit
    '2/admin["x"]',  # namespace without a comma swallows the data
]


@pytest.mark.parametrize("wire", MALFORMED)
def test_malformed_text_raises_socketio_error(wire: str) -> None:
    with pytest.raises(SocketIOError):
        Decoder().feed(wire)


@pytest.mark.parametrize(
    "frames",
    [
        [b"\x01"],  # attachment without a binary packet
        ['51-["x",{"_placeholder":true,"num":0}]', '2["y"]'],  # text while waiting for attachments
        ['51-["x",{"_placeholder":true,"num":1}]', b"a"],  # placeholder index out of range
        ['51-["x",{"_placeholder":true,"num":"0"}]', b"a"],  # placeholder index not a number
        ['51-["x",{"_placeholder":true,"num":true}]', b"a"],
        ['51-["x",{"_placeholder":true}]', b"a"],
    ],
)
def test_malformed_binary_sequence_raises_socketio_error(frames: list[str | bytes]) -> None:
    decoder = Decoder()
    for frame in frames[:-1]:
        assert decoder.feed(frame) is None
    with pytest.raises(SocketIOError):
        decoder.feed(frames[-1])


def test_attachment_limit_is_configurable() -> None:
    with pytest.raises(SocketIOError, match="too many attachments"):
        Decoder(max_attachments=2).feed('53-["x"]')
    assert Decoder(max_attachments=3).feed('53-["x"]') is None


def test_socketio_error_is_the_protocol_error() -> None:
    assert issubclass(SocketIOError, ProtocolError)


# --- properties -----------------------------------------------------------------------------------

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
)
keys = st.text(max_size=6).filter(lambda k: k != "_placeholder")
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(keys, children, max_size=4),
    max_leaves=12,
)
with_binary = st.recursive(
    json_scalars | st.binary(max_size=8),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(keys, children, max_size=4),
    max_leaves=12,
)
namespaces = st.just("/") | st.from_regex(r"\A/[a-z0-9_\-/]{1,12}\Z")
event_names = st.text(min_size=1, max_size=10).filter(
    lambda name: name
    not in {"connect", "disconnect", "connect_error", "disconnecting", "newListener", "removeListener"}
)
ack_ids = st.none() | st.integers(0, 10**15 - 1)


@st.composite
def packets(draw: st.DrawFn) -> Packet:
    kind = draw(st.sampled_from(["connect", "disconnect", "event", "ack", "error"]))
    nsp = draw(namespaces)
    if kind == "connect":
        return Packet(T.CONNECT, nsp, draw(st.none() | st.dictionaries(keys, json_values, max_size=4)))
    if kind == "disconnect":
        return Packet(T.DISCONNECT, nsp)
    if kind == "error":
        return Packet(T.CONNECT_ERROR, nsp, draw(st.text(max_size=10) | st.dictionaries(keys, json_values, max_size=3)))
    args = draw(st.lists(with_binary, max_size=4))
    if kind == "event":
        data = [draw(event_names), *args]
        return Packet(T.BINARY_EVENT if has_binary(data) else T.EVENT, nsp, data, draw(ack_ids))
    return Packet(T.BINARY_ACK if has_binary(args) else T.ACK, nsp, args, draw(st.integers(0, 10**15 - 1)))


@settings(max_examples=300, deadline=None)
@given(packets())
def test_round_trip(packet: Packet) -> None:
    assert decode_all(encode(packet)) == packet


@settings(max_examples=500, deadline=None)
@given(st.lists(st.text(max_size=40) | st.binary(max_size=10), min_size=1, max_size=4))
def test_any_input_decodes_or_raises_protocol_error(frames: list[str | bytes]) -> None:
    decoder = Decoder()
    try:
        for frame in frames:
            result = decoder.feed(frame)
            assert result is None or isinstance(result, Packet)
    except ProtocolError:
        pass


@settings(max_examples=300, deadline=None)
@given(st.from_regex(r"\A[0-6]([0-9]{0,3}-)?(/[a-z,]{0,5},?)?[0-9]{0,4}", fullmatch=False), json_values)
def test_wire_like_input_decodes_or_raises_protocol_error(prefix: str, value: object) -> None:
    try:
        Decoder().feed(prefix + json.dumps(value))
    except ProtocolError:
        pass
