"""Shared helpers for the python-socketio interop suite.

The server URL comes from IORELAY_URL (set by run.sh). Every wait ends on a condition or a
deadline; no test sleeps for a fixed time.
"""

import json
import os
import signal
import socket
import subprocess
import threading
import time

import pytest
import socketio

URL = os.environ.get("IORELAY_URL", "")
WAIT = 5.0

# The relay's own routes (/metrics, /connections) exist only in the iorelay binaries' relay
# mode; the official reference server has no such mode.
if "reference-server.mjs" in os.environ.get("IORELAY_SERVER_ARGV", ""):
    collect_ignore = ["test_observability.py"]


class Inbox:
    """Events a client received, queued per event name, so a test can wait for one that may
    already have arrived."""

    def __init__(self):
        self._cv = threading.Condition()
        self._queued = []
        self.all = []

    def push(self, name, args):
        with self._cv:
            self._queued.append((name, list(args)))
            self.all.append((name, list(args)))
            self._cv.notify_all()

    def next(self, name, timeout=WAIT):
        """Arguments of the next unconsumed `name` event, waiting up to `timeout` seconds."""
        end = time.monotonic() + timeout
        with self._cv:
            while True:
                for i, (n, args) in enumerate(self._queued):
                    if n == name:
                        del self._queued[i]
                        return args
                left = end - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"timed out after {timeout} s waiting for event {name!r}; "
                        f"got {[n for n, _ in self.all]}"
                    )
                self._cv.wait(left)

    def received(self, name):
        with self._cv:
            return any(n == name for n, _ in self.all)

    def count(self, name):
        with self._cv:
            return sum(1 for n, _ in self.all if n == name)


def until(predicate, what, timeout=WAIT):
    """Polls `predicate` until it holds, or fails at the deadline."""
    end = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.01)


class Client:
    """A python-socketio sync client with an inbox per namespace."""

    def __init__(self, namespaces=("/",), **options):
        options.setdefault("reconnection", False)
        options.setdefault("handle_sigint", False)
        self.sio = socketio.Client(**options)
        self.inboxes = {}
        self.disconnects = {}
        self.connect_errors = {}
        self.connects = {}
        for ns in namespaces:
            self._watch(ns)

    def _watch(self, ns):
        inbox = self.inboxes[ns] = Inbox()
        self.disconnects[ns] = []
        self.connect_errors[ns] = []
        self.connects[ns] = 0

        def on_any(event, *args):
            inbox.push(event, args)

        def on_connect():
            self.connects[ns] += 1

        def on_disconnect(reason=None):
            self.disconnects[ns].append(reason)

        def on_connect_error(*data):
            self.connect_errors[ns].append(data[0] if data else None)

        self.sio.on("*", on_any, namespace=ns)
        self.sio.on("connect", on_connect, namespace=ns)
        self.sio.on("disconnect", on_disconnect, namespace=ns)
        self.sio.on("connect_error", on_connect_error, namespace=ns)

    @property
    def inbox(self):
        return self.inboxes["/"]

    def connect(self, url=None, **kwargs):
        kwargs.setdefault("namespaces", list(self.inboxes))
        kwargs.setdefault("wait_timeout", WAIT)
        self.sio.connect(url or URL, **kwargs)
        return self

    def auth(self, ns="/", timeout=WAIT):
        """The payload of the next "auth" event on `ns`."""
        return self.inboxes[ns].next("auth", timeout)[0]

    def close(self):
        try:
            self.sio.shutdown()
        except Exception:  # noqa: BLE001 - best effort in teardown
            pass


@pytest.fixture
def clients():
    """Makes clients and closes them all when the test ends."""
    made = []

    def make(*args, **kwargs):
        c = Client(*args, **kwargs)
        made.append(c)
        return c

    yield make
    for c in made:
        c.close()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """The server under test (IORELAY_SERVER_ARGV) started on a given port (0: any free one),
    in conformance mode unless other `args` are given."""

    def __init__(self, port, timeout=10.0, args=("--conformance",), env=None):
        raw = os.environ.get("IORELAY_SERVER_ARGV")
        if not raw:
            raise RuntimeError("IORELAY_SERVER_ARGV is not set (run tests/interop/run.sh)")
        argv = json.loads(raw) + ["serve", *args, "--port", str(port)]
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=None, text=True, env=env)
        self.url = None
        found = threading.Event()

        def read():
            for line in self.proc.stdout:
                if self.url is None and line.startswith("iorelay listening on http://"):
                    self.url = line.split("iorelay listening on ", 1)[1].split()[0]
                    found.set()
            found.set()

        threading.Thread(target=read, daemon=True).start()
        if not found.wait(timeout) or self.url is None:
            self.stop(signal.SIGKILL)
            raise AssertionError(f"server on port {port} printed no listening line in {timeout} s")

    def stop(self, sig=signal.SIGTERM):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
