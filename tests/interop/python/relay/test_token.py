"""A relay started with IORELAY_TOKEN, with the stock python-socketio client: a CONNECT
without `auth.token` is refused with a connect error the client surfaces ("unauthorized"), the
same client connects with the token and receives events, and ingest needs
`Authorization: Bearer` (401 without). The test starts its own relay, since run.sh's relay has
no token."""

import os

import pytest
import socketio

from conftest import WAIT, Poster, shared

TOKEN = "py-interop-s3cret"


@pytest.fixture
def token_relay(tmp_path):
    env = dict(
        os.environ,
        IORELAY_TOKEN=TOKEN,
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        IORELAY_DATA_DIR=str(tmp_path / "data"),
        IORELAY_STATE_DIR=str(tmp_path / "state"),
    )
    server = shared.Server(0, args=(), env=env)
    yield server
    server.stop()


def test_connect_without_the_token_is_refused_and_with_it_receives_events(token_relay):
    client = shared.Client()
    try:
        with pytest.raises(socketio.exceptions.ConnectionError):
            client.connect(token_relay.url, transports=["websocket"])
        assert client.connect_errors["/"] == [{"message": "unauthorized"}]
    finally:
        client.close()

    client = shared.Client()
    try:
        client.connect(token_relay.url, transports=["websocket"], auth={"token": TOKEN})
        client.inbox.next("event_history")
        poster = Poster(token_relay.url)
        try:
            status, reply = poster.request("POST", "/api/events", {"type": "hook", "subtype": "stop"})
            assert (status, reply["error"]) == (401, "unauthorized")
            headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
            poster.conn.request("POST", "/api/events", body=b'{"id":"py-tok-1"}', headers=headers)
            response = poster.conn.getresponse()
            response.read()
            assert response.status == 204
        finally:
            poster.close()
        (event,) = client.inbox.next("claude_event", WAIT)[:1]
        assert event["id"] == "py-tok-1"
    finally:
        client.close()
