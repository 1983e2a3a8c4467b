"""/metrics and /connections of the relay (the binary's default mode, not conformance), with
python-socketio clients on each transport: /metrics must parse with the Prometheus client's own
text parser and count the clients, /connections must list them with their rooms."""

import json
import os
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from conftest import WAIT, Server, until


@pytest.fixture
def relay(tmp_path):
    """A relay-mode server with its own empty config and data directories."""
    env = dict(
        os.environ,
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        XDG_DATA_HOME=str(tmp_path / "data"),
    )
    server = Server(0, args=("--ping-interval", "20000", "--ping-timeout", "20000"), env=env)
    yield server
    server.stop()


def http(relay, method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(relay.url + path, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=WAIT) as response:
        return response.status, response.headers.get("Content-Type"), response.read().decode()


def samples(text):
    """Every sample of the page, parsed by prometheus_client: {(name, labels): value}, and the
    families by name with their types."""
    values, types = {}, {}
    for family in text_string_to_metric_families(text):
        types[family.name] = family.type
        for s in family.samples:
            values[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return values, types


def test_metrics_parse_and_connections_list_both_clients(relay, clients):
    ws = clients().connect(relay.url, transports=["websocket"], auth={"session": "py-obs"})
    polling = clients().connect(relay.url, transports=["polling"])
    ws.inbox.next("event_history")
    polling.inbox.next("event_history")
    for n in range(2):
        event = {"id": f"py-obs-{n}", "type": "hook", "subtype": "stop", "session_id": "py-obs"}
        assert http(relay, "POST", "/api/events", event)[0] == 204
    ws.inbox.next("claude_event")
    polling.inbox.next("claude_event")

    status, _, body = http(relay, "GET", "/connections")
    assert status == 200
    listed = {c["sid"]: c for c in json.loads(body)}
    assert set(listed) == {ws.sio.eio.sid, polling.sio.eio.sid}
    ws_entry, polling_entry = listed[ws.sio.eio.sid], listed[polling.sio.eio.sid]
    assert ws_entry["transport"] == "websocket"
    assert ws_entry["namespaces"] == ["/"]
    assert "session:py-obs" in ws_entry["rooms"]["/"]
    assert polling_entry["transport"] == "polling"
    assert polling_entry["namespaces"] == ["/"]
    assert "session:py-obs" not in polling_entry["rooms"]["/"]

    page = {}

    def scraped():
        status, content_type, text = http(relay, "GET", "/metrics")
        assert status == 200
        assert content_type == "text/plain; version=0.0.4; charset=utf-8"
        page["values"], page["types"] = samples(text)
        key = ("iorelay_http_request_seconds_count", (("route", "/api/events"),))
        return page["values"].get(key, 0) >= 2

    until(scraped, "both ingest requests measured")
    values, types = page["values"], page["types"]
    assert types["iorelay_build_info"] == "gauge"
    assert types["iorelay_events_received"] == "counter"  # the parser drops `_total`
    assert types["iorelay_http_request_seconds"] == "histogram"
    assert types["iorelay_store_commit_seconds"] == "histogram"
    assert values[("iorelay_sessions", (("transport", "websocket"),))] == 1
    assert values[("iorelay_sessions", (("transport", "polling"),))] == 1
    assert values[("iorelay_sockets", (("namespace", "/"),))] == 2
    assert values[("iorelay_events_received_total", ())] == 2
    assert values[("iorelay_events_delivered_total", ())] >= 4
    assert values[("iorelay_history_events", ())] == 2
    requests = ("iorelay_http_requests_total", (("route", "/api/events"), ("status_class", "2xx")))
    assert values[requests] == 2
    inf = ("iorelay_http_request_seconds_bucket", (("le", "+Inf"), ("route", "/api/events")))
    assert values[inf] == 2
