"""Socket.IO v5 packets: encoder, and a ``Decoder`` that reassembles binary packets from Engine.IO messages.

Wire format (https://github.com/socketio/socket.io-protocol, "Packet encoding", v5)::

    <type>[<attachments>-][<namespace>,][<ack id>][<JSON data>]

    0           CONNECT to "/"                      40
    0/admin,{"token":"x"}  CONNECT with auth        40/admin,{"token":"x"}
    2["hello",1]           EVENT                    42["hello",1]
    2/admin,13["ask"]      EVENT wanting ack 13     42/admin,13["ask"]
    3/admin,13["answer"]   ACK of 13                43/admin,13["answer"]
    4{"message":"no"}      CONNECT_ERROR            44{"message":"no"}
    51-["up",{"_placeholder":true,"num":0}]  + one binary Engine.IO message (BINARY_EVENT)

(The leading ``4`` above is the Engine.IO MESSAGE type; this module sees what follows it.) A packet
whose data holds ``bytes`` is sent as BINARY_EVENT/BINARY_ACK: each ``bytes`` value is replaced by a
placeholder ``{"_placeholder":true,"num":N}`` and sent as the N-th following binary message.

JSON is compact and keeps key order (like ``JSON.stringify``). ``Decoder`` validates like the reference
``socket.io-parser``: CONNECT data is an object, DISCONNECT has none, CONNECT_ERROR is a string or an
object, EVENT data is a non-empty array whose first item is a non-reserved event name, ACK data is an
array with an ack id. Anything else raises ``SocketIOError`` (a ``ProtocolError``) and nothing else.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from .errors import SocketIOError

__all__ = [
    "MAX_ACK_ID_DIGITS",
    "RESERVED_EVENTS",
    "Decoder",
    "Packet",
    "PacketType",
    "encode",
    "has_binary",
]

#: Ack ids are counters; 15 digits stay below 2**53 so a JavaScript peer can represent them.
MAX_ACK_ID_DIGITS = 15
#: Event names a client may not send (socket.io-parser's ``RESERVED_EVENTS``).
RESERVED_EVENTS = frozenset(
    {"connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"}
)
_DIGITS = frozenset("0123456789")


class PacketType(IntEnum):
    """The Socket.IO packet types (protocol v5)."""

    CONNECT = 0
    DISCONNECT = 1
    EVENT = 2
    ACK = 3
    CONNECT_ERROR = 4
    BINARY_EVENT = 5
    BINARY_ACK = 6


@dataclass(frozen=True, slots=True)
class Packet:
    """One Socket.IO packet; ``data`` is JSON-able and may hold ``bytes`` (binary attachments)."""

    type: PacketType
    namespace: str = "/"
    data: Any = None
    id: int | None = None

    @property
    def is_event(self) -> bool:
        return self.type in (PacketType.EVENT, PacketType.BINARY_EVENT)

    @property
    def is_ack(self) -> bool:
        return self.type in (PacketType.ACK, PacketType.BINARY_ACK)


def has_binary(data: Any) -> bool:
    """Whether ``data`` holds ``bytes`` anywhere (lists, tuples and dict values are searched)."""
    if isinstance(data, bytes | bytearray | memoryview):
        return True
    if isinstance(data, list | tuple):
        return any(has_binary(item) for item in data)
    if isinstance(data, dict):
        return any(has_binary(item) for item in data.values())
    return False


def _dumps(data: Any) -> str:
    # Compact, key order kept, non-ASCII as is: what JSON.stringify produces. NaN is not JSON.
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _deconstruct(data: Any, attachments: list[bytes]) -> Any:
    if isinstance(data, bytes | bytearray | memoryview):
        attachments.append(bytes(data))
        return {"_placeholder": True, "num": len(attachments) - 1}
    if isinstance(data, list | tuple):
        return [_deconstruct(item, attachments) for item in data]
    if isinstance(data, dict):
        return {key: _deconstruct(value, attachments) for key, value in data.items()}
    return data


def encode(packet: Packet) -> list[str | bytes]:
    """Encode ``packet`` as Engine.IO message payloads: the text part, then one ``bytes`` per attachment.

    EVENT/ACK packets whose data holds ``bytes`` are sent as BINARY_EVENT/BINARY_ACK (and the binary
    types without ``bytes`` as plain EVENT/ACK), as socket.io-parser does. Raises ``ValueError`` or
    ``TypeError`` if ``data`` is not JSON-serializable.
    """
    ptype = packet.type
    attachments: list[bytes] = []
    data = packet.data
    if packet.is_event or packet.is_ack:
        if has_binary(data):
            data = _deconstruct(data, attachments)
            ptype = PacketType.BINARY_EVENT if packet.is_event else PacketType.BINARY_ACK
        else:
            ptype = PacketType.EVENT if packet.is_event else PacketType.ACK
    parts = [str(int(ptype))]
    if ptype in (PacketType.BINARY_EVENT, PacketType.BINARY_ACK):
        parts.append(f"{len(attachments)}-")
    if packet.namespace and packet.namespace != "/":
        parts.append(packet.namespace + ",")
    if packet.id is not None:
        parts.append(str(packet.id))
    if data is not None:
        parts.append(_dumps(data))
    frames: list[str | bytes] = ["".join(parts)]
    frames.extend(attachments)
    return frames


def _reconstruct(data: Any, attachments: list[bytes]) -> Any:
    if isinstance(data, list):
        return [_reconstruct(item, attachments) for item in data]
    if isinstance(data, dict):
        if data.get("_placeholder") is True:  # as socket.io-parser's reconstructPacket
            num = data.get("num")
            if type(num) is not int or not 0 <= num < len(attachments):
                raise SocketIOError(f"invalid attachment placeholder: {num!r}")
            return attachments[num]
        return {key: _reconstruct(value, attachments) for key, value in data.items()}
    return data


def _valid_data(ptype: PacketType, data: Any) -> bool:
    # socket.io-parser's Decoder.isPayloadValid (event names: strings only here).
    if ptype is PacketType.CONNECT:
        return isinstance(data, dict)
    if ptype is PacketType.DISCONNECT:
        return False
    if ptype is PacketType.CONNECT_ERROR:
        return isinstance(data, str | dict)
    if ptype in (PacketType.EVENT, PacketType.BINARY_EVENT):
        return isinstance(data, list) and len(data) > 0 and isinstance(data[0], str) and data[0] not in RESERVED_EVENTS
    return isinstance(data, list)


@dataclass(slots=True)
class _Partial:
    header: Packet
    expected: int
    attachments: list[bytes]


class Decoder:
    """Turns Engine.IO message payloads into ``Packet``s; one per connection (binary packets span messages).

    ``feed()`` returns the packet completed by this message, or ``None`` while attachments are pending.
    Limits: ``max_attachments`` binary attachments per packet, ``MAX_ACK_ID_DIGITS`` ack-id digits.
    Raises ``SocketIOError`` on any malformed input; the decoder must then be discarded.
    """

    __slots__ = ("_partial", "max_attachments")

    def __init__(self, *, max_attachments: int = 64) -> None:
        self.max_attachments = max_attachments
        self._partial: _Partial | None = None

    @property
    def pending(self) -> bool:
        """Whether a binary packet is waiting for attachments."""
        return self._partial is not None

    def feed(self, message: str | bytes) -> Packet | None:
        """Decode one Engine.IO message payload. Raises ``SocketIOError``."""
        if isinstance(message, str):
            if self._partial is not None:
                raise SocketIOError("text packet received while waiting for binary attachments")
            return self._decode_text(message)
        if not isinstance(message, bytes | bytearray | memoryview):
            raise SocketIOError(f"unexpected message type {type(message).__name__}")
        partial = self._partial
        if partial is None:
            raise SocketIOError("binary attachment received without a binary packet")
        partial.attachments.append(bytes(message))
        if len(partial.attachments) < partial.expected:
            return None
        self._partial = None
        return self._complete(partial.header, partial.attachments)

    def _complete(self, header: Packet, attachments: list[bytes]) -> Packet:
        try:
            data = _reconstruct(header.data, attachments)
        except RecursionError:
            raise SocketIOError("packet data nested too deeply") from None
        return Packet(header.type, header.namespace, data, header.id)

    def _decode_text(self, text: str) -> Packet | None:
        if not text or text[0] not in "0123456":
            raise SocketIOError(f"unknown packet type {text[:1]!r}")
        ptype = PacketType(int(text[0]))
        size = len(text)
        i = 1
        attachments = 0
        binary = ptype in (PacketType.BINARY_EVENT, PacketType.BINARY_ACK)
        if binary:
            dash = text.find("-", 1)
            count = text[1:dash] if dash > 0 else ""
            if not count or not set(count) <= _DIGITS or len(count) > 6:
                raise SocketIOError("invalid attachment count")
            attachments = int(count)
            if attachments > self.max_attachments:
                raise SocketIOError(f"too many attachments: {attachments} > {self.max_attachments}")
            i = dash + 1
        namespace = "/"
        if i < size and text[i] == "/":
            comma = text.find(",", i)
            end = size if comma < 0 else comma
            namespace = text[i:end]
            i = end + 1
        ack_id: int | None = None
        start = i
        while i < size and text[i] in _DIGITS:
            i += 1
        if i > start:
            if i - start > MAX_ACK_ID_DIGITS:
                raise SocketIOError(f"ack id longer than {MAX_ACK_ID_DIGITS} digits")
            ack_id = int(text[start:i])
        data: Any = None
        if i < size:
            try:
                data = json.loads(text[i:])
            except (ValueError, RecursionError):
                raise SocketIOError("packet data is not valid JSON") from None
            if not _valid_data(ptype, data):
                raise SocketIOError(f"invalid data for a {ptype.name} packet")
        elif ptype in (PacketType.EVENT, PacketType.BINARY_EVENT, PacketType.ACK, PacketType.BINARY_ACK):
            raise SocketIOError(f"a {ptype.name} packet needs data")
        if ack_id is None and ptype in (PacketType.ACK, PacketType.BINARY_ACK):
            raise SocketIOError(f"a {ptype.name} packet needs an ack id")
        header = Packet(ptype, namespace, data, ack_id)
        if not binary:
            return header
        if attachments == 0:
            return self._complete(header, [])
        self._partial = _Partial(header, attachments, [])
        return None
