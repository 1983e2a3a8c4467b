//! Ingest: what `POST /api/events` and `POST /api/hooks` answer, the canonical event every
//! dashboard receives, duplicates, offsets, and conformance mode leaving it all to the engine.

mod support;

use iorelay_core::{Body, Config};
use serde_json::{json, Value};
use support::relay::{claude_events, ids, offsets, relay};
use support::{post_request, Harness};

#[test]
fn a_single_event_is_204_with_no_body() {
    let mut h = relay();
    let drained = h.post_json(1, "/api/events", r#"{"type":"hook","subtype":"stop"}"#);
    assert_eq!(drained.status_and_body(1), (204, String::new()));
    assert_eq!(h.engine.stats().events_in, 1);
}

#[test]
fn an_array_is_202_counting_accepted_and_duplicates() {
    let mut h = relay();
    let drained = h.post_json(1, "/api/events", r#"[{"id":"a"},{"id":"b"},{"id":"a"}]"#);
    assert_eq!(
        drained.status_and_body(1),
        (202, r#"{"accepted":2,"duplicates":1}"#.to_owned())
    );
    let drained = h.post_json(2, "/api/hooks", r#"[{"id":"b"},{"id":"c"}]"#);
    assert_eq!(
        drained.status_and_body(2),
        (202, r#"{"accepted":1,"duplicates":1}"#.to_owned())
    );
}

#[test]
fn bad_bodies_are_json_400s_naming_the_problem() {
    let mut h = relay();
    let cases = [
        ("{\"oops\": ", "the body is not JSON"),
        ("", "the body is empty"),
        ("42", "an event must be a JSON object"),
        (
            r#"[{"id":"x"},7]"#,
            "event 1: an event must be a JSON object",
        ),
    ];
    for (i, (body, detail)) in cases.into_iter().enumerate() {
        let conn = i as u64 + 1;
        let (status, reply) = h.post_json(conn, "/api/events", body).status_and_body(conn);
        let reply: Value = serde_json::from_str(&reply).expect("JSON error body");
        assert_eq!(
            (status, &reply["error"]),
            (400, &json!("malformed JSON")),
            "{body}"
        );
        let got = reply["detail"].as_str().expect("detail");
        assert!(got.starts_with(detail), "{body}: {got}");
    }
    assert_eq!(h.engine.stats().requests_rejected, 4);
    assert_eq!(
        h.engine.stats().events_in,
        0,
        "nothing of a bad array is accepted"
    );
}

#[test]
fn an_event_over_the_per_event_limit_is_413_and_a_body_over_the_request_limit_too() {
    let mut config = Config::default();
    config.relay.max_event_bytes = 64;
    let mut h = Harness::relay(config);
    let big = format!(r#"[{{"id":"ok"}},{{"x":"{}"}}]"#, "a".repeat(100));
    let (status, body) = h.post_json(1, "/api/events", &big).status_and_body(1);
    assert_eq!(
        (status, body.as_str()),
        (
            413,
            r#"{"error":"event too large","detail":"event 1: 108 bytes, over the 64-byte limit per event"}"#
        )
    );
    let request = post_request("/api/hooks", 20_000_000);
    let (status, body) = h.http(2, &request, Body::TooLarge).status_and_body(2);
    assert_eq!(
        (status, body.as_str()),
        (
            413,
            r#"{"error":"payload too large","detail":"the body is over the 16777216-byte request limit"}"#
        )
    );
    assert_eq!(h.engine.stats().events_in, 0);
}

#[test]
fn wrong_methods_are_405_with_allow_and_unknown_api_routes_404() {
    let mut h = relay();
    let drained = h.get(1, "/api/events");
    let response = drained.reply(1);
    assert_eq!(response.status, 405);
    assert_eq!(
        &response.body[..],
        br#"{"error":"method not allowed","detail":"POST /api/events"}"#
    );
    assert!(response
        .headers
        .iter()
        .any(|(n, v)| n.eq_ignore_ascii_case("allow") && v == "POST"));
    let drained = h.post_json(2, "/api/history", "{}");
    assert_eq!(drained.reply(2).status, 405);
    let (status, body) = h.post_json(3, "/api/nothing", "{}").status_and_body(3);
    assert_eq!(status, 404);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["error"],
        "not found"
    );
}

#[test]
fn a_raw_claude_code_hook_becomes_one_canonical_claude_event() {
    let mut h = relay();
    h.dashboard(1, "/", "");
    let hook = r#"{"session_id":"s-1","transcript_path":"/t.jsonl","cwd":"/home/a/shop","hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"ls"},"tool_use_id":"tu-1"}"#;
    let drained = h.post_json(2, "/api/hooks", hook);
    assert_eq!(drained.status_and_body(2), (204, String::new()));
    let got = drained.got(1);
    assert_eq!(got.len(), 1, "one event, one name: {got:#?}");
    assert_eq!(
        (got[0].nsp.as_str(), got[0].name.as_str()),
        ("/", "claude_event")
    );
    assert_eq!(got[0].args.len(), 2, "the event, then its offset");
    assert_eq!(got[0].args[1], got[0].arg()["offset"]);
    let mut event = got[0].arg().clone();
    let id = event["id"].take();
    assert!(
        id.as_str().is_some_and(|id| !id.is_empty()),
        "the relay assigned an id"
    );
    assert_eq!(
        event,
        json!({
            "id": null,
            "offset": "1",
            "type": "hook",
            "subtype": "pre_tool_use",
            "hook_event_name": "PreToolUse",
            "timestamp": "2026-01-01T00:00:00.000Z",
            "received_at": "2026-01-01T00:00:00.000Z",
            "session_id": "s-1",
            "agent_id": null,
            "agent_type": null,
            "cwd": "/home/a/shop",
            "project": "shop",
            "tool_name": "Bash",
            "tool_use_id": "tu-1",
            "source": "hook",
            "data": serde_json::from_str::<Value>(hook).unwrap(),
        })
    );
}

#[test]
fn the_canonical_fields_come_in_reading_order_and_data_is_byte_for_byte() {
    let mut h = relay();
    h.dashboard(1, "/", "");
    h.set_time(support::ms(1_234));
    let hook = r#"{"hook_event_name":"SubagentStop","session_id":"s","agent_id":"ag-1","agent_type":"reviewer","big":12345678901234567890123,"id":"h-1"}"#;
    let frames = h.post_json(2, "/api/hooks", hook).ws_sent(1);
    assert_eq!(
        frames,
        [format!(
            r#"42["claude_event",{{"id":"h-1","offset":"1","type":"hook","subtype":"subagent_stop","hook_event_name":"SubagentStop","timestamp":"2026-01-01T00:00:01.234Z","received_at":"2026-01-01T00:00:01.234Z","session_id":"s","agent_id":"ag-1","agent_type":"reviewer","cwd":null,"project":null,"tool_name":null,"tool_use_id":null,"source":"hook","data":{hook}}},"1"]"#
        )]
    );
}

#[test]
fn the_legacy_wrapper_is_unwrapped_to_the_event_inside() {
    let mut h = relay();
    h.dashboard(1, "/", "");
    let body = r#"{"namespace":"","event":"claude_event","data":{"id":"L-1","type":"hook","subtype":"post_tool_use","timestamp":"2025-12-31T23:59:59Z","session_id":"s-2","source":"legacy","data":{"tool_name":"Edit","cwd":"/x/site"}}}"#;
    let drained = h.post_json(2, "/api/events", body);
    assert_eq!(drained.status_and_body(2), (204, String::new()));
    let events = claude_events(&drained.got(1));
    assert_eq!(
        events,
        [json!({
            "id": "L-1",
            "offset": "1",
            "type": "hook",
            "subtype": "post_tool_use",
            "hook_event_name": null,
            "timestamp": "2025-12-31T23:59:59Z",
            "received_at": "2026-01-01T00:00:00.000Z",
            "session_id": "s-2",
            "agent_id": null,
            "agent_type": null,
            "cwd": "/x/site",
            "project": "site",
            "tool_name": "Edit",
            "tool_use_id": null,
            "source": "legacy",
            "data": {"tool_name": "Edit", "cwd": "/x/site"},
        })]
    );
}

#[test]
fn a_bare_event_without_data_is_its_own_data_and_its_source_is_api() {
    let mut h = relay();
    h.dashboard(1, "/", "");
    let body = r#"{"event_id":"B-1","hook_event_name":"UserPromptSubmit","sessionId":"s-3","working_directory":"/p/q"}"#;
    let events = claude_events(&h.post_json(2, "/api/events", body).got(1));
    let event = &events[0];
    assert_eq!(event["id"], "B-1");
    assert_eq!(
        (&event["type"], &event["subtype"]),
        (&json!("hook"), &json!("user_prompt_submit"))
    );
    assert_eq!(
        (&event["session_id"], &event["project"]),
        (&json!("s-3"), &json!("q"))
    );
    assert_eq!(event["source"], "api");
    assert_eq!(event["data"], serde_json::from_str::<Value>(body).unwrap());
}

#[test]
fn an_unknown_hook_name_passes_through_untouched() {
    let mut h = relay();
    h.dashboard(1, "/", "");
    let hook =
        r#"{"hook_event_name":"BrandNewHook2027","session_id":"s","surprise":{"nested":[1,2]}}"#;
    let drained = h.post_json(2, "/api/hooks", hook);
    assert_eq!(drained.status_and_body(2), (204, String::new()));
    let events = claude_events(&drained.got(1));
    assert_eq!(events[0]["subtype"], "brand_new_hook2027");
    assert_eq!(events[0]["hook_event_name"], "BrandNewHook2027");
    assert_eq!(events[0]["data"]["surprise"], json!({"nested": [1, 2]}));
}

#[test]
fn an_id_posted_three_times_is_delivered_once_and_counted_twice() {
    let mut h = relay();
    h.dashboard(1, "/", "");
    let mut delivered = Vec::new();
    for conn in 2..=4 {
        let drained = h.post_stop(conn, "same-id", "s");
        delivered.extend(claude_events(&drained.got(1)));
    }
    assert_eq!(ids(&delivered), ["same-id"]);
    let stats = h.engine.stats();
    assert_eq!((stats.events_in, stats.events_deduplicated), (1, 2));
    assert_eq!(h.engine.history_len(), 1);
}

#[test]
fn offsets_increase_by_one_per_accepted_event_and_skip_no_number_for_duplicates() {
    let mut h = relay();
    h.dashboard(1, "/", "");
    let mut delivered = Vec::new();
    for (conn, id) in [(2, "a"), (3, "b"), (4, "a"), (5, "c")] {
        let drained = h.post_json(conn, "/api/events", &format!(r#"{{"id":"{id}"}}"#));
        delivered.extend(claude_events(&drained.got(1)));
    }
    let drained = h.post_json(6, "/api/events", r#"[{"id":"d"},{"id":"c"},{"id":"e"}]"#);
    delivered.extend(claude_events(&drained.got(1)));
    assert_eq!(ids(&delivered), ["a", "b", "c", "d", "e"]);
    assert_eq!(offsets(&delivered), [1, 2, 3, 4, 5]);
    assert_eq!(h.engine.next_offset(), 6);
}

#[test]
fn health_reports_the_relay_counters() {
    let mut h = relay();
    h.post_stop(1, "a", "s");
    h.post_stop(2, "a", "s");
    h.post_json(3, "/api/events", "nope");
    let (status, body) = h.get(4, "/health").status_and_body(4);
    let health: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(status, 200);
    assert_eq!(
        health["events"],
        json!({"events_in":1,"events_deduplicated":1,"events_out":0,"events_dropped":0,"deliveries_dropped":0,"requests_rejected":1,"slow_client_disconnects":0})
    );
    assert_eq!(
        (&health["history"], &health["next_offset"]),
        (&json!(1), &json!(2))
    );
}

#[test]
fn conformance_mode_leaves_every_route_to_the_engine() {
    let mut h = Harness::relay(Config::conformance());
    for (conn, path) in [(1, "/api/events"), (2, "/api/hooks")] {
        let (status, body) = h
            .post_json(conn, path, r#"{"id":"x"}"#)
            .status_and_body(conn);
        assert_eq!(status, 404, "{path}");
        assert_eq!(
            serde_json::from_str::<Value>(&body).unwrap()["error"],
            "not found"
        );
    }
    assert_eq!(h.get(3, "/api/history").reply(3).status, 404);
    assert_eq!(h.engine.stats().events_in, 0);
    h.open_websocket(4);
    h.ws_text(4, "40");
    assert_eq!(
        h.tick(support::ms(10)).ws_sent(4),
        [r#"42["auth",{}]"#],
        "the conformance namespace's auth event, no event_history"
    );
}
