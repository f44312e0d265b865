"""A generic Socket.IO v5 server on the Engine.IO layer: namespaces, rooms, emits and acks, with ONE
rooms/fan-out manager per process (``manager``) whose channel-layer subclass (``pubsub``) carries emits
and application messages between processes. See docs/realtime-server.md."""
