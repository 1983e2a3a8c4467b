"""Rooms through the test-facing contract: "join", "leave", "to-room"."""


def join(c, room):
    assert c.sio.call("join", room, timeout=3) == room


def leave(c, room):
    assert c.sio.call("leave", room, timeout=3) == room


def barrier(c):
    """A round trip: everything the server queued for `c` before is delivered by now."""
    c.sio.emit("message", "barrier")
    assert c.inbox.next("message-back") == ["barrier"]


def test_to_room_reaches_members_only(clients):
    a = clients().connect(transports=["websocket"])
    b = clients().connect(transports=["polling"])
    outsider = clients().connect()
    for c in (a, b, outsider):
        c.auth()
    join(a, "py-r1")
    join(b, "py-r1")
    assert outsider.sio.call("to-room", ("py-r1", "news", 1, {"x": "y"}), timeout=3) is None
    assert a.inbox.next("news") == [1, {"x": "y"}]
    assert b.inbox.next("news") == [1, {"x": "y"}]
    barrier(outsider)
    assert not outsider.inbox.received("news")


def test_leave_stops_delivery(clients):
    a = clients().connect(transports=["websocket"])
    b = clients().connect(transports=["websocket"])
    a.auth()
    b.auth()
    join(a, "py-r2")
    join(b, "py-r2")
    leave(a, "py-r2")
    b.sio.call("to-room", ("py-r2", "after-leave", 7), timeout=3)
    assert b.inbox.next("after-leave") == [7]
    barrier(a)
    assert not a.inbox.received("after-leave")


def test_sender_in_the_room_receives_its_own_broadcast(clients):
    a = clients().connect(transports=["polling"])
    a.auth()
    join(a, "py-self")
    a.sio.emit("to-room", ("py-self", "echoed", "hi"))
    assert a.inbox.next("echoed") == ["hi"]
