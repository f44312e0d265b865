"""Emits cross processes through the channel layer: one layer message per emit, delivered by each process's manager.

Two ``SocketIOServer`` instances with the same name stand for two server processes; they share only the
Redis pub/sub channel layer (the in-memory layer cannot cross processes, so the manager ignores it).
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from channels.layers import channel_layers

from llana_realtime.socketio.server import SocketIOServer
from tests.llana_realtime.socketio.test_server import (
    RecordingSocket,
    connect,
    open_socket,
    settle,
)
from tests.services import require_redis

ALIAS = "llana_bridge_test"


@pytest.fixture
def redis_layer(settings: Any) -> str:
    url = require_redis()
    settings.CHANNEL_LAYERS = {
        **settings.CHANNEL_LAYERS,
        ALIAS: {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [url], "prefix": f"llana_test_{uuid.uuid4().hex[:8]}"},
        },
    }
    return ALIAS


async def wait_for(eio: RecordingSocket, count: int) -> list[str | bytes]:
    for _ in range(500):
        if len(eio.sent) >= count:
            break
        await asyncio.sleep(0.01)
    return eio.take()


async def test_emit_reaches_the_sockets_of_another_process_once(redis_layer: str) -> None:
    name = f"bridge-{uuid.uuid4().hex[:8]}"
    first = SocketIOServer(channel_layer_alias=redis_layer, name=name, connect_timeout=60_000)
    second = SocketIOServer(channel_layer_alias=redis_layer, name=name, connect_timeout=60_000)
    try:
        for server in (first, second):
            server.of("/")
        here, there = await open_socket(first), await open_socket(second)
        sid_here = await connect(first, here)
        sid_there = await connect(second, there)
        await asyncio.wait_for(first.manager.ready.wait(), 10)
        await asyncio.wait_for(second.manager.ready.wait(), 10)
        second.get_socket(sid_there).join("room")  # type: ignore[union-attr]

        await first.emit("hello", {"n": 1}, b"\x01")
        assert await wait_for(there, 2) == ['51-["hello",{"n":1},{"_placeholder":true,"num":0}]', b"\x01"]
        assert here.take() == ['51-["hello",{"n":1},{"_placeholder":true,"num":0}]', b"\x01"]

        await first.emit("to-room", to="room")
        assert await wait_for(there, 1) == ['2["to-room"]']
        await first.emit("to-sid", to=sid_there)
        assert await wait_for(there, 1) == ['2["to-sid"]']
        await second.emit("skip", skip_sid=sid_here)
        assert await wait_for(there, 1) == ['2["skip"]']

        # from synchronous code in a thread, as a Django view or a worker would
        await asyncio.to_thread(second.emit_sync, "from-sync", to="room")
        assert await wait_for(there, 1) == ['2["from-sync"]']

        await settle(first, second)
        await asyncio.sleep(0.1)
        assert here.take() == []  # the origin never gets its own emit back
    finally:
        await first.shutdown()
        await second.shutdown()
        layer = channel_layers[redis_layer]
        await layer.flush()
