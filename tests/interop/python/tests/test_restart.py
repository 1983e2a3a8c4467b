"""Client reconnection after a server restart on the same port."""

import signal

from conftest import Client, Server, free_port, until


def test_client_reconnects_after_the_server_restarts():
    port = free_port()
    server = Server(port)
    c = Client(
        reconnection=True,
        reconnection_delay=0.1,
        reconnection_delay_max=0.3,
        randomization_factor=0,
    )
    try:
        c.connect(server.url, auth={"session": "restart"})
        assert c.auth() == {"session": "restart"}
        first_sid = c.sio.get_sid("/")
        server.stop(signal.SIGTERM)
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
