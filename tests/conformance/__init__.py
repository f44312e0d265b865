"""The conformance app: reference-server behaviour for the official Engine.IO / Socket.IO protocol test suites."""

from __future__ import annotations
