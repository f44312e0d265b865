"""``Manager``: rooms by namespace, delivery of encoded frames, and the one message dispatcher of a process."""

from __future__ import annotations

import asyncio
import sys
import threading
from typing import Any

import pytest

from llana_realtime.socketio.manager import Frames, Manager


class Member:
    """What the manager needs from a socket: sid, namespace, rooms_joined, send_frames()."""

    def __init__(self, sid: str, namespace: str = "/") -> None:
        self.sid = sid
        self.namespace = namespace
        self.rooms_joined: tuple[str, ...] | None = None
        self.received: list[Frames] = []

    def send_frames(self, frames: Frames) -> None:
        self.received.append(frames)


def test_rooms_are_per_namespace_and_vanish_with_their_last_member() -> None:
    manager = Manager()
    a, b, other = Member("a"), Member("b"), Member("c", "/other")
    for member in (a, b, other):
        manager.add(member)
        manager.join(member, "room")
    assert manager.has_room("/", "room")
    assert manager.has_room("/other", "room")
    frames: Frames = ['2["x"]']
    assert manager.send_to_room("/", "room", frames) == 2
    assert [a.received, b.received, other.received] == [[frames], [frames], []]
    assert a.received[0] is frames  # the same frames object: encoded once, shared by every target
    manager.leave(a, "room")
    manager.remove(b)
    assert not manager.has_room("/", "room")
    assert manager.send_to_room("/", "room", frames) == 0
    assert (a.rooms_joined, b.rooms_joined) == (None, None)
    assert manager.sockets("/") == [a]


def test_deliver_reaches_sids_rooms_and_skips() -> None:
    manager = Manager()
    a, b, c = Member("a"), Member("b"), Member("c")
    for member in (a, b, c):
        manager.add(member)
    manager.join(a, "r")
    manager.join(b, "r")
    assert manager.deliver("/", ["1"], None) == 3
    assert manager.deliver("/", ["2"], ["r", "c"], skip=["b"]) == 2
    assert manager.deliver("/", ["3"], ["c"]) == 1  # a sid is an implicit room
    assert [a.received, b.received, c.received] == [[["1"], ["2"]], [["1"]], [["1"], ["2"], ["3"]]]


async def test_messages_are_dispatched_by_type_once_from_any_thread() -> None:
    manager = Manager()
    got: list[tuple[str, dict[str, Any]]] = []
    manager.on_message("llana.a", lambda message: got.append(("a", message)))

    def failing(message: dict[str, Any]) -> None:
        raise RuntimeError("handler bug")

    manager.on_message("llana.b", failing)
    manager.receive_threadsafe({"type": "llana.a"})  # before start(): no socket served yet, dropped
    manager.start()
    manager.receive({"type": "llana.a", "n": 1})
    manager.receive({"type": "unknown"})
    manager.receive({"type": "llana.b"})  # logged, never raised into the receiver
    thread = threading.Thread(target=manager.receive_threadsafe, args=({"type": "llana.a", "n": 2},))
    thread.start()
    thread.join()
    for _ in range(3):
        await asyncio.sleep(0)
    assert got == [("a", {"type": "llana.a", "n": 1}), ("a", {"type": "llana.a", "n": 2})]


@pytest.mark.parametrize("room", ["a", "r"])
def test_joining_ones_own_sid_stores_nothing(room: str) -> None:
    manager = Manager()
    a = Member("a")
    manager.add(a)
    manager.join(a, "a")
    assert a.rooms_joined is None
    manager.join(a, room)
    assert manager.has_room("/", "r") is (room == "r")


def test_a_socket_keeps_its_rooms_in_a_tuple_not_a_set() -> None:
    # Every feed socket is in one room: a set of one (216 bytes) was most of what joining cost a connection.
    manager = Manager()
    a = Member("a")
    manager.add(a)
    manager.join(a, "r")
    manager.join(a, "r")
    assert a.rooms_joined == ("r",)
    assert sys.getsizeof(a.rooms_joined) < sys.getsizeof(set())
    manager.join(a, "s")
    assert a.rooms_joined == ("r", "s")
    manager.leave(a, "r")
    manager.leave(a, "unknown")
    assert a.rooms_joined == ("s",)
    assert manager.room_members("/", "s") == [a]
    manager.join(a, "r")
    manager.remove(a)
    assert a.rooms_joined is None
    assert not manager.has_room("/", "r")
    assert not manager.has_room("/", "s")
