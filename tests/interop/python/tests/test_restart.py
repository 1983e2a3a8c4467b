"""Client reconnection after a server restart on the same port."""

import signal

import pytest

from conftest import Client, Server, free_port, until


@pytest.mark.parametrize(
    ("sig", "transports"),
    [(signal.SIGTERM, None), (signal.SIGKILL, ["websocket"]), (signal.SIGKILL, ["polling"])],
    ids=["SIGTERM-upgrade", "SIGKILL-websocket", "SIGKILL-polling"],
)
def test_client_reconnects_after_the_server_restarts(sig, transports):
    port = free_port()
    server = Server(port)
    c = Client(
        reconnection=True,
        reconnection_delay=0.1,
        reconnection_delay_max=0.3,
        randomization_factor=0,
    )
    try:
        c.connect(server.url, auth={"session": "restart"}, transports=transports)
        assert c.auth() == {"session": "restart"}
        first_sid = c.sio.get_sid("/")
        server.stop(sig)
        until(lambda: c.disconnects["/"], "the disconnect", 5)
        server = Server(port)
        until(lambda: c.connects["/"] >= 2, "the reconnection", 15)
        assert c.auth(timeout=5) == {"session": "restart"}
        assert c.sio.get_sid("/") != first_sid
        c.sio.emit("message", "after restart")
        assert c.inbox.next("message-back") == ["after restart"]
    finally:
        c.close()
        server.stop(signal.SIGKILL)
