"""Transports: polling only, websocket only, polling → websocket upgrade; raw Engine.IO echo."""

import engineio
import pytest

from conftest import URL, WAIT, Inbox, until


@pytest.mark.parametrize("transport", ["polling", "websocket"])
def test_single_transport_connects_gets_auth_and_echoes(clients, transport):
    c = clients().connect(transports=[transport])
    assert c.auth() == {}
    c.sio.emit("message", ("hello", 1, {"a": [True, None]}))
    assert c.inbox.next("message-back") == ["hello", 1, {"a": [True, None]}]
    assert c.sio.transport() == transport


def test_default_transports_upgrade_to_websocket_and_echo(clients):
    c = clients().connect()
    assert c.auth() == {}
    until(lambda: c.sio.transport() == "websocket", "the upgrade to websocket")
    for i in range(20):
        c.sio.emit("message", i)
    for i in range(20):
        assert c.inbox.next("message-back") == [i]


def test_connection_survives_several_heartbeats(clients):
    c = clients().connect(transports=["polling"])
    c.auth()
    # pingInterval 300 ms + pingTimeout 200 ms: a dead heartbeat would end this within ~0.5 s.
    # Wait for the server's PINGs the client answered, counted by the Engine.IO client.
    pings = []
    original = c.sio.eio._receive_packet

    def counting(pkt):
        if pkt.packet_type == engineio.packet.PING:
            pings.append(pkt)
        return original(pkt)

    c.sio.eio._receive_packet = counting
    until(lambda: len(pings) >= 4, "4 pings", WAIT)
    assert c.sio.connected
    c.sio.emit("message", "still here")
    assert c.inbox.next("message-back") == ["still here"]


@pytest.mark.parametrize("transports", [["polling"], ["websocket"], ["polling", "websocket"]])
def test_raw_engineio_echo(transports):
    eio = engineio.Client(handle_sigint=False)
    inbox = Inbox()
    eio.on("message", lambda data: inbox.push("message", [data]))
    eio.connect(URL, transports=transports, engineio_path="engine.io")
    try:
        eio.send("hello")
        assert inbox.next("message") == ["hello"]
        eio.send(b"\x00\x01\xff")
        assert inbox.next("message") == [b"\x00\x01\xff"]
        eio.send("é✓ unicode")
        assert inbox.next("message") == ["é✓ unicode"]
    finally:
        eio.disconnect()
