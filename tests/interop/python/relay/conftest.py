"""The relay suite's helpers: the conformance suite's clients (tests/conftest.py), pointed at
the relay server (IORELAY_RELAY_URL, started by run.sh with `serve --port 0`, no
--conformance), and event posting over HTTP."""

import http.client
import importlib.util
import json
import os
import pathlib
import urllib.parse
import uuid

import pytest

_spec = importlib.util.spec_from_file_location(
    "interop_shared", pathlib.Path(__file__).resolve().parent.parent / "tests" / "conftest.py"
)
shared = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(shared)

RELAY_URL = os.environ.get("IORELAY_RELAY_URL", "")
WAIT = shared.WAIT
Inbox = shared.Inbox
until = shared.until


class Poster:
    """One keep-alive HTTP/1.1 connection to the relay, reused for every request."""

    def __init__(self, url=None):
        parts = urllib.parse.urlsplit(url or RELAY_URL)
        self.conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=WAIT)
        self.sockets = set()

    def request(self, method, path, body=None):
        """Sends a request on the connection; returns (status, parsed JSON body or None)."""
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"} if data is not None else {}
        self.conn.request(method, path, body=data, headers=headers)
        self.sockets.add(id(self.conn.sock))
        response = self.conn.getresponse()
        raw = response.read()
        return response.status, (json.loads(raw) if raw else None)

    def event(self, body, path="/api/events"):
        status, reply = self.request("POST", path, body)
        assert status in (202, 204), (status, reply)
        return reply

    def close(self):
        self.conn.close()


@pytest.fixture
def poster():
    p = Poster()
    yield p
    p.close()


@pytest.fixture
def dashboards():
    """Makes python-socketio clients of the relay and closes them all when the test ends.
    `make(transport, auth)` connects over that one transport with that auth payload."""
    made = []

    def make(transport, auth=None):
        c = shared.Client()
        made.append(c)
        kwargs = {"transports": [transport]}
        if auth is not None:
            kwargs["auth"] = auth
        c.connect(RELAY_URL, **kwargs)
        assert c.sio.transport() == transport
        return c

    yield make
    for c in made:
        c.close()


@pytest.fixture
def session():
    """A session id no other test uses (the relay server is shared)."""
    return f"py-{uuid.uuid4().hex[:12]}"
