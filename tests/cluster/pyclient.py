"""A python-socketio client for the cluster tests: connects to URL (websocket) and prints one
JSON line per event, flushed: {"connected": true|false} on each (re)connection and loss, and
{"id": ..., "offset": ...} for each `claude_event`. python-socketio runs each event's handler
on a thread of its own, so lines of events that arrive close together may be out of order. It ends when stdin closes (the driver keeps it open) or on SIGTERM."""

import json
import sys

import socketio


def main():
    url = sys.argv[1]
    sio = socketio.Client(reconnection=True, reconnection_delay=0.2, reconnection_delay_max=1)

    def say(obj):
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()

    @sio.event
    def connect():
        say({"connected": True})

    @sio.event
    def disconnect(*_reason):
        say({"connected": False})

    @sio.on("claude_event")
    def on_event(*args):
        event = args[0] if args else None
        if isinstance(event, dict):
            say({"id": event.get("id"), "offset": event.get("offset")})

    sio.connect(url, transports=["websocket"], wait_timeout=10)
    try:
        sys.stdin.read()
    finally:
        sio.disconnect()


if __name__ == "__main__":
    main()
