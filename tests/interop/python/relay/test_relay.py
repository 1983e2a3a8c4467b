"""Issue 4's acceptance with the stock python-socketio client against the relay: one client
over websocket, a second over polling that connects later; both see legacy and raw-hook events
live with `id` and `session_id`, the late joiner's `event_history` holds the earlier events, a
session-filtered client receives only its session, an id posted three times arrives once, and
500 events posted on one keep-alive connection arrive once each, in order."""

from conftest import WAIT, until


def live(client, count, timeout=WAIT):
    """The next `count` claude_event payloads of `client`, in arrival order."""
    events = []
    for _ in range(count):
        args = client.inbox.next("claude_event", timeout)
        # The event, then its offset: connection state recovery's last argument.
        assert len(args) == 2 and args[1] == args[0]["offset"], args
        events.append(args[0])
    return events


def history(client):
    args = client.inbox.next("event_history")
    assert len(args) == 1, args
    return args[0]


def ids(events):
    return [e["id"] for e in events]


def barrier(client, auth):
    """A `subscribe` round trip keeping the filter: what was queued before it has arrived."""
    reply = client.sio.call("subscribe", auth, timeout=WAIT)
    assert reply["ok"] is True, reply


def legacy(event_id, session):
    return {
        "namespace": "",
        "event": "claude_event",
        "data": {
            "id": event_id,
            "type": "hook",
            "subtype": "user_prompt_submit",
            "session_id": session,
            "data": {"prompt": "hello"},
        },
    }


def raw_hook(event_id, session):
    return {
        "id": event_id,
        "session_id": session,
        "hook_event_name": "PreToolUse",
        "cwd": "/home/dev/shop",
        "tool_name": "Bash",
        "tool_input": {"command": "ls"},
        "tool_use_id": f"tu-{event_id}",
    }


def test_websocket_and_late_polling_clients_see_legacy_and_hook_events_live_and_in_history(
    dashboards, poster, session
):
    auth = {"session": session}
    ws = dashboards("websocket", auth)
    assert history(ws)["events"] == []
    poster.event(legacy(f"{session}-legacy", session))
    poster.event(raw_hook(f"{session}-hook", session), path="/api/hooks")
    early = live(ws, 2)
    assert ids(early) == [f"{session}-legacy", f"{session}-hook"]
    assert [e["session_id"] for e in early] == [session, session]
    assert early[0]["subtype"] == "user_prompt_submit"
    assert early[0]["data"] == {"prompt": "hello"}
    assert (early[1]["type"], early[1]["subtype"]) == ("hook", "pre_tool_use")
    assert (early[1]["tool_name"], early[1]["project"]) == ("Bash", "shop")
    assert early[1]["data"] == raw_hook(f"{session}-hook", session)

    late = dashboards("polling", auth)
    page = history(late)
    assert page["events"] == early, "the late joiner's history is what was delivered live"
    assert (page["count"], page["total_available"]) == (2, 2)

    poster.event(raw_hook(f"{session}-after", session), path="/api/hooks")
    for client in (ws, late):
        assert ids(live(client, 1)) == [f"{session}-after"]
        assert client.sio.transport() in ("websocket", "polling")
    assert ws.sio.transport() == "websocket" and late.sio.transport() == "polling"


def test_a_session_filtered_client_receives_only_its_session(dashboards, poster, session):
    other = f"{session}-other"
    mine_ws = dashboards("websocket", {"session": session})
    mine_polling = dashboards("polling", {"session": session})
    unfiltered = dashboards("websocket")
    for event_id, sid in [("f1", session), ("f2", other), ("f3", session)]:
        poster.event({"id": f"{session}-{event_id}", "type": "hook", "subtype": "stop",
                      "session_id": sid})
    for client in (mine_ws, mine_polling):
        got = live(client, 2)
        assert ids(got) == [f"{session}-f1", f"{session}-f3"]
        assert {e["session_id"] for e in got} == {session}
        barrier(client, {"session": session})
        assert client.inbox.count("claude_event") == 2
    until(lambda: len(claude_ids(unfiltered, session)) >= 3, "the unfiltered client's events")
    assert claude_ids(unfiltered, session) == [f"{session}-f1", f"{session}-f2", f"{session}-f3"]


def claude_ids(client, prefix):
    """Ids starting with `prefix` among every claude_event `client` received so far."""
    return [args[0]["id"] for name, args in list(client.inbox.all)
            if name == "claude_event" and args[0]["id"].startswith(prefix)]


def test_an_id_posted_three_times_arrives_once(dashboards, poster, session):
    auth = {"session": session}
    ws = dashboards("websocket", auth)
    polling = dashboards("polling", auth)
    duplicate = {"id": f"{session}-dup", "type": "hook", "subtype": "stop", "session_id": session}
    for _ in range(3):
        poster.event(duplicate)
    poster.event({"id": f"{session}-next", "type": "hook", "subtype": "stop", "session_id": session})
    reply = poster.event([duplicate, duplicate])
    assert reply == {"accepted": 0, "duplicates": 2}
    for client in (ws, polling):
        assert ids(live(client, 2)) == [f"{session}-dup", f"{session}-next"]
        barrier(client, auth)
        assert client.inbox.count("claude_event") == 2
    late = dashboards("polling", auth)
    assert ids(history(late)["events"]) == [f"{session}-dup", f"{session}-next"]


def test_500_events_on_one_keep_alive_connection_arrive_once_each_in_order(
    dashboards, poster, session
):
    auth = {"session": session}
    ws = dashboards("websocket", auth)
    polling = dashboards("polling", auth)
    expected = [f"{session}-{i:03d}" for i in range(500)]
    for event_id in expected:
        status, _ = poster.request("POST", "/api/events", {
            "id": event_id, "type": "hook", "subtype": "stop", "session_id": session})
        assert status == 204
    assert len(poster.sockets) == 1, "every event went over one connection"
    for client in (ws, polling):
        got = live(client, 500, timeout=30)
        assert ids(got) == expected
        offsets = [int(e["offset"]) for e in got]
        assert offsets == list(range(offsets[0], offsets[0] + 500))
        barrier(client, auth)
        assert client.inbox.count("claude_event") == 500
