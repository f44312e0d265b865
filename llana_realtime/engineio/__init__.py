"""The Engine.IO v4 server: sessions, their writer and heartbeat, on asyncio (no Django, no Channels).

``server.EngineIOServer`` owns the sessions of one process; ``socket.EngineIOSocket`` is one session;
``writer.Writer`` and ``heartbeat.Heartbeat`` serve all sessions of a server. ``interfaces`` holds the two
protocols at the edges: ``EngineIOHandler`` (the application above) and ``WebSocketTransport`` (the transport
below). The ASGI transports live in ``llana_realtime.channels``; see docs/realtime-server.md.
"""
