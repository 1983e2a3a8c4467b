"""Namespaces on one connection, the invalid-namespace error, and the CONNECT auth payload."""

import pytest
import socketio

from conftest import WAIT


@pytest.mark.parametrize("transport", ["polling", "websocket"])
def test_root_and_custom_share_one_connection(clients, transport):
    c = clients(namespaces=("/", "/custom")).connect(transports=[transport])
    assert c.auth("/") == {}
    assert c.auth("/custom") == {}
    assert c.sio.get_sid("/") != c.sio.get_sid("/custom")
    c.sio.emit("message", "on root")
    assert c.inbox.next("message-back") == ["on root"]
    assert not c.inboxes["/custom"].received("message-back")


def test_unknown_namespace_is_refused_with_invalid_namespace(clients):
    c = clients(namespaces=("/nope",))
    with pytest.raises(socketio.exceptions.ConnectionError):
        c.connect(transports=["websocket"])
    assert c.connect_errors["/nope"] == [{"message": "Invalid namespace"}]


def test_unknown_namespace_next_to_a_valid_one_is_refused_alone(clients):
    c = clients(namespaces=("/custom", "/nope"))
    with pytest.raises(socketio.exceptions.ConnectionError):
        c.connect(transports=["polling"])
    assert c.connect_errors["/nope"] == [{"message": "Invalid namespace"}]
    assert c.connect_errors["/custom"] == []


def test_auth_payload_comes_back_on_both_namespaces(clients):
    auth = {"token": "abc", "n": 1, "nested": {"list": [1, "two", None, True]}, "unicode": "é✓"}
    c = clients(namespaces=("/", "/custom")).connect(auth=auth, transports=["websocket"])
    assert c.auth("/") == auth
    assert c.auth("/custom") == auth


def test_auth_from_a_callable_over_polling(clients):
    c = clients().connect(auth=lambda: {"from": "callable"}, transports=["polling"])
    assert c.auth(timeout=WAIT) == {"from": "callable"}
