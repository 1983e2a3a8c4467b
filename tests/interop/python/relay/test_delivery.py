"""Issue 5's reliable mode with the stock python-socketio client against the relay: a client
connecting with auth `{"reliable": true}` receives live events with an ack request, which
python-socketio answers with its handler's return value; each event arrives once and the
relay's /metrics show every delivery acked, none retried. A client asking for batches
(`{"batch": true}`) receives `event_batch` arrays. Tests run one at a time, so counter deltas
are this test's."""

import http.client
import re
import urllib.parse

from conftest import RELAY_URL, WAIT, until


def counters():
    parts = urllib.parse.urlsplit(RELAY_URL)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=WAIT)
    try:
        conn.request("GET", "/metrics")
        text = conn.getresponse().read().decode()
    finally:
        conn.close()

    def value(name):
        match = re.search(rf"^{name} (\d+)$", text, re.MULTILINE)
        assert match, f"no {name} in /metrics"
        return int(match.group(1))

    return {
        "queued": value("iorelay_reliable_queued_total"),
        "retried": value("iorelay_reliable_retried_total"),
        "succeeded": value("iorelay_reliable_succeeded_total"),
        "outstanding": value("iorelay_reliable_outstanding"),
    }


def stop(event_id, session):
    return {"id": event_id, "type": "hook", "subtype": "stop", "session_id": session}


def test_a_reliable_client_acks_each_event_and_gets_it_once(dashboards, poster, session):
    before = counters()
    client = dashboards("websocket", {"session": session, "reliable": True})
    client.inbox.next("event_history")
    ids = [f"{session}-{i}" for i in range(3)]
    for event_id in ids:
        poster.event(stop(event_id, session))
    got = [client.inbox.next("claude_event")[0]["id"] for _ in ids]
    assert got == ids

    def settled():
        now = counters()
        return now["succeeded"] - before["succeeded"] == 3 and now["outstanding"] == 0

    # Acks arrive well before the first retry (1 s); only acks bring outstanding back to 0.
    until(settled, "three acked deliveries")
    now = counters()
    assert now["queued"] - before["queued"] == 3
    assert now["retried"] - before["retried"] == 0
    assert client.inbox.count("claude_event") == 3


def test_a_batching_client_gets_arrays_of_events(dashboards, poster, session):
    client = dashboards("websocket", {"session": session, "batch": True})
    client.inbox.next("event_history")
    ids = [f"{session}-{i}" for i in range(3)]
    for event_id in ids:
        poster.event(stop(event_id, session))
    seen = []
    while len(seen) < 3:
        events, offset = client.inbox.next("event_batch")
        assert offset == events[-1]["offset"]
        seen.extend(e["id"] for e in events)
    assert seen == ids
    assert client.inbox.count("claude_event") == 0
