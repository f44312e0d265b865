"""Engine.IO v4 packets and HTTP long-polling payloads (https://socket.io/docs/v4/engine-io-protocol/).

Wire format (spec section "Packet encoding" and "HTTP long-polling"):

- a packet is its type digit followed by its data: ``0{"sid":...}`` open, ``1`` close, ``2`` / ``2probe``
  ping, ``3`` / ``3probe`` pong, ``4hello`` message, ``5`` upgrade, ``6`` noop;
- over WebSocket a binary message is a raw binary frame (no type digit): it is always a MESSAGE;
- an HTTP long-polling payload joins packets with the record separator ``\\x1e``; a binary message is
  written ``b`` + base64 of its bytes: ``4hello\\x1ebAQIDBA==``.

``decode_packet`` and ``decode_payload`` raise :class:`~llana_realtime.protocol.errors.EngineIOError` (or
its subclass ``PayloadTooLarge``) for any malformed input and never anything else.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum

from llana_realtime.protocol.errors import EngineIOError, PayloadTooLarge

PROTOCOL_VERSION = 4
RECORD_SEPARATOR = "\x1e"
# Packets accepted in one polling payload. engine.io-client batches every buffered packet into one POST,
# bounded by maxPayload, so the bound is generous; it exists to cap the work one request can cause.
MAX_DECODE_PACKETS = 4096


class PacketType(IntEnum):
    """Engine.IO packet types (spec "Packet types")."""

    OPEN = 0
    CLOSE = 1
    PING = 2
    PONG = 3
    MESSAGE = 4
    UPGRADE = 5
    NOOP = 6


@dataclass(frozen=True, slots=True)
class Packet:
    """One Engine.IO packet; ``data`` is ``str`` or ``bytes`` for a message (binary only for MESSAGE), else
    ``None`` or a string such as ``"probe"``."""

    type: PacketType
    data: str | bytes | None = None


NOOP = Packet(PacketType.NOOP)
CLOSE = Packet(PacketType.CLOSE)
PING = Packet(PacketType.PING)
UPGRADE = Packet(PacketType.UPGRADE)


def open_packet(
    sid: str,
    *,
    upgrades: list[str],
    ping_interval: int,
    ping_timeout: int,
    max_payload: int,
) -> Packet:
    """The handshake packet: compact JSON with exactly ``sid``, ``upgrades``, ``pingInterval``, ``pingTimeout``,
    ``maxPayload``, in that order."""
    data = json.dumps(
        {
            "sid": sid,
            "upgrades": upgrades,
            "pingInterval": ping_interval,
            "pingTimeout": ping_timeout,
            "maxPayload": max_payload,
        },
        separators=(",", ":"),
    )
    return Packet(PacketType.OPEN, data)


def encode_packet(packet: Packet) -> str | bytes:
    """A packet as one WebSocket frame: binary data as raw bytes, anything else as text.

    Raises ``EngineIOError`` for binary data on a packet that is not a MESSAGE.
    """
    if isinstance(packet.data, bytes):
        if packet.type is not PacketType.MESSAGE:
            raise EngineIOError("only message packets carry binary data")
        return packet.data
    return f"{int(packet.type)}{packet.data or ''}"


def decode_packet(frame: str | bytes) -> Packet:
    """One WebSocket frame (or one polling record, without the ``b`` form) as a packet.

    Raises ``EngineIOError`` for an empty frame or an unknown type.
    """
    if isinstance(frame, (bytes, bytearray, memoryview)):
        return Packet(PacketType.MESSAGE, bytes(frame))
    if not isinstance(frame, str):
        raise EngineIOError(f"frame must be str or bytes, got {type(frame).__name__}")
    if not frame:
        raise EngineIOError("empty packet")
    digit = frame[0]
    if digit not in "0123456":
        raise EngineIOError(f"unknown packet type {digit!r}")
    packet_type = PacketType(ord(digit) - 48)
    rest = frame[1:]
    if packet_type is PacketType.MESSAGE:
        return Packet(packet_type, rest)
    return Packet(packet_type, rest or None)


def _encode_record(packet: Packet) -> str:
    if isinstance(packet.data, bytes):
        if packet.type is not PacketType.MESSAGE:
            raise EngineIOError("only message packets carry binary data")
        return "b" + base64.b64encode(packet.data).decode("ascii")
    return f"{int(packet.type)}{packet.data or ''}"


def encode_payload(packets: Iterable[Packet]) -> str:
    """Packets as one HTTP long-polling body: records joined by ``\\x1e``, binary as ``b`` + base64."""
    return RECORD_SEPARATOR.join(_encode_record(p) for p in packets)


def _decode_record(record: str) -> Packet:
    if record[:1] == "b":
        try:
            data = base64.b64decode(record[1:].encode("ascii"), validate=True)
        except (binascii.Error, UnicodeEncodeError, ValueError) as exc:
            raise EngineIOError("invalid base64 in binary packet") from exc
        return Packet(PacketType.MESSAGE, data)
    return decode_packet(record)


def decode_payload(
    body: str | bytes,
    *,
    max_payload: int | None = None,
    max_packets: int = MAX_DECODE_PACKETS,
) -> list[Packet]:
    """An HTTP long-polling body as its packets.

    Raises ``PayloadTooLarge`` when ``body`` has more than ``max_payload`` bytes and ``EngineIOError`` for a
    malformed body (empty, not UTF-8, an empty or unknown record, bad base64, more than ``max_packets``).
    """
    if isinstance(body, (bytes, bytearray, memoryview)):
        raw = bytes(body)
        if max_payload is not None and len(raw) > max_payload:
            raise PayloadTooLarge(f"payload of {len(raw)} bytes exceeds maxPayload {max_payload}")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise EngineIOError("payload is not valid UTF-8") from exc
    elif isinstance(body, str):
        text = body
        if max_payload is not None and len(text) > max_payload:
            # Cheap check first; the exact one counts UTF-8 bytes.
            raise PayloadTooLarge(f"payload exceeds maxPayload {max_payload}")
        if max_payload is not None and len(text.encode("utf-8", "surrogatepass")) > max_payload:
            raise PayloadTooLarge(f"payload exceeds maxPayload {max_payload}")
    else:
        raise EngineIOError(f"payload must be str or bytes, got {type(body).__name__}")
    if not text:
        raise EngineIOError("empty payload")
    if text.count(RECORD_SEPARATOR) >= max_packets:
        raise EngineIOError(f"more than {max_packets} packets in one payload")
    return [_decode_record(record) for record in text.split(RECORD_SEPARATOR)]
