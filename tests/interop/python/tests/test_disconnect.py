"""Server-side disconnect ("server-disconnect" of the test-facing contract)."""

import pytest

from conftest import until


@pytest.mark.parametrize("transport", ["polling", "websocket"])
def test_server_disconnect_ends_the_session_without_reconnection(clients, transport):
    c = clients(reconnection=True, reconnection_delay=0.05, reconnection_delay_max=0.1)
    c.connect(transports=[transport])
    c.auth()
    c.sio.emit("server-disconnect")
    until(lambda: c.disconnects["/"], "the disconnect")
    assert c.disconnects["/"] == [c.sio.reason.SERVER_DISCONNECT]
    until(lambda: not c.sio.connected, "the client to report itself disconnected")
    # No reconnection is attempted after a server disconnect: the client stays down.
    assert c.sio._reconnect_task is None
    assert c.connects["/"] == 1


def test_server_disconnect_on_root_keeps_custom(clients):
    c = clients(namespaces=("/", "/custom")).connect(transports=["websocket"])
    c.auth("/")
    c.auth("/custom")
    c.sio.emit("server-disconnect")
    until(lambda: c.disconnects["/"], "the disconnect of /")
    assert c.disconnects["/"] == [c.sio.reason.SERVER_DISCONNECT]
    assert c.disconnects["/custom"] == []
    assert c.sio.connected
    assert "/custom" in c.sio.namespaces and "/" not in c.sio.namespaces
