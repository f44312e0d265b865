"""The one error type of the protocol layer: every malformed input raises a ``ProtocolError``."""

from __future__ import annotations


class ProtocolError(ValueError):
    """Malformed or forbidden protocol input; the session that sent it is closed."""


class EngineIOError(ProtocolError):
    """A malformed Engine.IO packet or payload."""


class SocketIOError(ProtocolError):
    """A malformed Socket.IO packet."""


class PayloadTooLarge(EngineIOError):
    """A payload over ``maxPayload``."""
