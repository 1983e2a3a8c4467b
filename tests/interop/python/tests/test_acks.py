"""Acknowledgements both ways, with timeouts."""

import time

import pytest
import socketio


@pytest.mark.parametrize("transport", ["polling", "websocket"])
def test_message_with_ack_is_acknowledged_with_its_arguments(clients, transport):
    c = clients().connect(transports=[transport])
    c.auth()
    assert c.sio.call("message-with-ack", (1, "two", {"three": [3]}), timeout=3) == (
        1,
        "two",
        {"three": [3]},
    )
    assert c.sio.call("message-with-ack", "single", timeout=3) == "single"


def test_callback_receives_ack_arguments(clients):
    c = clients().connect(transports=["websocket"])
    c.auth()
    c.sio.emit("message-with-ack", ("a", 2), callback=lambda *args: c.inbox.push("acked", args))
    assert c.inbox.next("acked") == ["a", 2]


def test_unacknowledged_event_times_out_on_the_client(clients):
    c = clients().connect(transports=["websocket"])
    c.auth()
    started = time.monotonic()
    with pytest.raises(socketio.exceptions.TimeoutError):
        c.sio.call("no-such-event", 1, timeout=0.3)
    assert time.monotonic() - started >= 0.29
    assert c.sio.call("message-with-ack", "after", timeout=3) == "after"


@pytest.mark.parametrize("transport", ["polling", "websocket"])
def test_ask_ack_returns_the_handlers_answer_in_ack_result(clients, transport):
    c = clients()
    asked = []

    def question(*args):
        asked.append(list(args))
        return ("answer", 42, {"nested": [True]})

    c.sio.on("question", question)
    c.connect(transports=[transport])
    c.auth()
    c.sio.emit("ask-ack", ("question", 1, {"x": 2}))
    assert c.inbox.next("ack-result") == ["answer", 42, {"nested": [True]}]
    assert asked == [[1, {"x": 2}]]


def test_ask_ack_of_an_unhandled_event_gets_an_empty_ack(clients):
    # python-socketio acknowledges an event without a handler with no arguments.
    c = clients().connect(transports=["websocket"])
    c.auth()
    c.sio.emit("ask-ack", ("nobody-handles-this", 1))
    assert c.inbox.next("nobody-handles-this") == [1]
    assert c.inbox.next("ack-result") == []
