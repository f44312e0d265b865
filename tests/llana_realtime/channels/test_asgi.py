"""``project.asgi.application``: Django over HTTP, Socket.IO at ``realtime_settings.PATH`` over polling and WebSocket."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from channels.testing import HttpCommunicator, WebsocketCommunicator

from llana_realtime.socketio.namespace import Namespace
from llana_realtime.socketio.server import default_server
from project.asgi import application


@pytest.fixture(autouse=True)
async def stop_default_server_receiver() -> AsyncIterator[None]:
    yield
    await default_server.shutdown()  # with a Redis layer (CI) its bridge runs on this test's event loop


async def test_socketio_over_websocket_reaches_the_default_server() -> None:
    # "/" is the Llana table feed in the project; an app namespace shows the generic server behind it.
    default_server.register(Namespace("/probe"))
    communicator = WebsocketCommunicator(application, "/socket.io/?EIO=4&transport=websocket")
    connected, _ = await communicator.connect()
    assert connected
    try:
        opened = await communicator.receive_from()
        assert opened.startswith("0{")
        await communicator.send_to(text_data="40/probe,")
        ack = await communicator.receive_from()
        assert ack.startswith("40/probe,{")
        sid = json.loads(ack[len("40/probe,") :])["sid"]
        socket = default_server.get_socket(sid, namespace="/probe")
        assert socket is not None
        await default_server.emit("hello", {"n": 1}, to=sid, namespace="/probe")
        assert await communicator.receive_from() == '42/probe,["hello",{"n":1}]'
        await communicator.send_to(text_data="40/nope,")
        assert await communicator.receive_from() == '44/nope,{"message":"Invalid namespace"}'
    finally:
        await communicator.disconnect()
        default_server.namespaces.pop("/probe", None)


async def test_socketio_handshake_over_polling() -> None:
    communicator = HttpCommunicator(application, "GET", "/socket.io/?EIO=4&transport=polling")
    response = await communicator.get_response()
    assert response["status"] == 200
    opened = json.loads(response["body"].decode()[1:])
    assert list(opened) == ["sid", "upgrades", "pingInterval", "pingTimeout", "maxPayload"]


@pytest.mark.django_db(transaction=True)
async def test_other_paths_go_to_django() -> None:
    communicator = HttpCommunicator(application, "GET", "/admin/login/", headers=[(b"host", b"testserver")])
    response = await communicator.get_response()
    assert response["status"] == 200
    assert b"csrfmiddlewaretoken" in response["body"]
    await communicator.wait()  # let Django close the request (its body file) before the loop ends
