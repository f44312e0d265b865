"""The pure Engine.IO v4 / Socket.IO v5 protocol layer: stdlib only (no Django, Channels or asyncio)."""
