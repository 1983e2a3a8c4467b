"""Binary attachments both ways: events and acks, client → server and server → client."""

import pytest

SMALL = bytes([0, 1, 2, 3, 255, 254])
LARGE = bytes([7]) * 50_000 + bytes([42]) * 50_000

TRANSPORTS = [["polling"], ["websocket"], ["polling", "websocket"]]


@pytest.mark.parametrize("transports", TRANSPORTS)
def test_binary_message_is_echoed_binary(clients, transports):
    c = clients().connect(transports=transports)
    c.auth()
    c.sio.emit("message", (SMALL, "text", {"nested": {"buf": LARGE, "list": [b"", 1]}}))
    a, b, obj = c.inbox.next("message-back")
    assert a == SMALL and isinstance(a, bytes)
    assert b == "text"
    assert obj == {"nested": {"buf": LARGE, "list": [b"", 1]}}


@pytest.mark.parametrize("transports", TRANSPORTS)
def test_binary_ack_from_the_server(clients, transports):
    c = clients().connect(transports=transports)
    c.auth()
    assert c.sio.call("message-with-ack", ({"b": SMALL}, LARGE), timeout=5) == ({"b": SMALL}, LARGE)


@pytest.mark.parametrize("transports", TRANSPORTS)
def test_binary_ack_from_the_client(clients, transports):
    c = clients()
    asked = []

    def bin_question(*args):
        asked.append(list(args))
        return (b"reply", {"inner": SMALL})

    c.sio.on("bin-question", bin_question)
    c.connect(transports=transports)
    c.auth()
    c.sio.emit("ask-ack", ("bin-question", SMALL, {"deep": [LARGE]}))
    assert c.inbox.next("ack-result") == [b"reply", {"inner": SMALL}]
    assert asked == [[SMALL, {"deep": [LARGE]}]]
