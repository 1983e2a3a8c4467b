//! History: `event_history` on connect (filtered and limited like the client's auth), the
//! `history` request with its ack, `GET /api/history`, and expiry by age on virtual time.

mod support;

use std::time::Duration;

use iorelay_core::Config;
use serde_json::{json, Value};
use support::relay::{event_history, ids, offsets, relay};
use support::{ms, secs, Harness};

/// Posts stop events with ids `e1…` in the sessions given, on conns from 100.
fn post_sessions(h: &mut Harness<iorelay_core::Relay>, sessions: &[&str]) {
    for (i, session) in sessions.iter().enumerate() {
        h.post_stop(100 + i as u64, &format!("e{}", i + 1), session);
    }
}

fn events(page: &Value) -> Vec<Value> {
    page["events"].as_array().expect("events").clone()
}

#[test]
fn a_late_joiner_gets_the_earlier_events_oldest_first() {
    let mut h = relay();
    post_sessions(&mut h, &["s1", "s2", "s1"]);
    let history = event_history(&h.dashboard(1, "/", ""));
    assert_eq!(ids(&events(&history)), ["e1", "e2", "e3"]);
    assert_eq!(
        (&history["count"], &history["total_available"]),
        (&json!(3), &json!(3))
    );
}

#[test]
fn event_history_is_the_same_json_that_was_delivered_live() {
    let mut h = relay();
    h.dashboard(1, "/", "");
    let live = h.post_stop(2, "e1", "s").ws_sent(1);
    let late = h.dashboard(3, "/", "");
    let live_args: Value = live[0]
        .strip_prefix("42")
        .and_then(|rest| serde_json::from_str(rest).ok())
        .expect("one claude_event");
    assert_eq!(live_args[0], "claude_event");
    assert_eq!(
        live_args[2], live_args[1]["offset"],
        "the offset argument follows"
    );
    let page = serde_json::to_string(late[0].arg()).unwrap();
    assert_eq!(
        events(&serde_json::from_str(&page).unwrap()),
        [live_args[1].clone()]
    );
}

#[test]
fn an_empty_relay_sends_an_empty_event_history() {
    let mut h = relay();
    let got = h.dashboard(1, "/", "");
    assert_eq!(
        event_history(&got),
        json!({"events": [], "count": 0, "total_available": 0})
    );
}

#[test]
fn the_auth_limit_keeps_the_newest_and_total_available_counts_them_all() {
    let mut h = relay();
    post_sessions(&mut h, &["s"; 5]);
    let history = event_history(&h.dashboard(1, "/", r#"{"limit":2}"#));
    assert_eq!(offsets(&events(&history)), [4, 5]);
    assert_eq!(
        (&history["count"], &history["total_available"]),
        (&json!(2), &json!(5))
    );
}

#[test]
fn without_a_limit_the_default_applies_and_no_limit_exceeds_the_maximum() {
    let mut config = Config::default();
    config.relay.history_default_limit = 3;
    config.relay.history_max_limit = 4;
    let mut h = Harness::relay(config);
    post_sessions(&mut h, &["s"; 6]);
    let default = event_history(&h.dashboard(1, "/", ""));
    assert_eq!(offsets(&events(&default)), [4, 5, 6]);
    let capped = event_history(&h.dashboard(2, "/", r#"{"limit":50}"#));
    assert_eq!(offsets(&events(&capped)), [3, 4, 5, 6]);
    assert_eq!(capped["total_available"], 6);
}

#[test]
fn a_session_filtered_late_joiner_gets_only_its_session() {
    let mut h = relay();
    post_sessions(&mut h, &["s1", "s2", "s1", "s2"]);
    let history = event_history(&h.dashboard(1, "/", r#"{"session":"s2"}"#));
    assert_eq!(ids(&events(&history)), ["e2", "e4"]);
    assert_eq!(history["total_available"], 2);
}

#[test]
fn project_and_types_filters_combine() {
    let mut h = relay();
    let hooks = [
        r#"{"id":"a","hook_event_name":"PreToolUse","cwd":"/w/shop","session_id":"s"}"#,
        r#"{"id":"b","hook_event_name":"Stop","cwd":"/w/shop","session_id":"s"}"#,
        r#"{"id":"c","hook_event_name":"PreToolUse","cwd":"/w/blog","session_id":"s"}"#,
    ];
    for (i, hook) in hooks.iter().enumerate() {
        h.post_json(10 + i as u64, "/api/hooks", hook);
    }
    let auth = r#"{"project":"shop","types":["pre_tool_use"]}"#;
    assert_eq!(
        ids(&events(&event_history(&h.dashboard(1, "/", auth)))),
        ["a"]
    );
    let by_type = r#"{"types":["hook"]}"#;
    assert_eq!(
        ids(&events(&event_history(&h.dashboard(2, "/", by_type)))),
        ["a", "b", "c"],
        "a type matches `type` as well as `subtype`"
    );
}

#[test]
fn the_history_request_pages_backwards_with_before_and_forwards_with_after() {
    let mut h = relay();
    post_sessions(&mut h, &["s"; 6]);
    h.dashboard(1, "/", "");
    let got = h.ask(1, 7, "history", r#"{"limit":2,"before":"5"}"#);
    assert_eq!(got[0].name, "ack 7");
    assert_eq!(offsets(&events(got[0].arg())), [3, 4]);
    assert_eq!(got[0].arg()["total_available"], 4);
    let got = h.ask(1, 8, "history", r#"{"limit":2,"after":2}"#);
    assert_eq!(offsets(&events(got[0].arg())), [3, 4]);
    let got = h.ask(1, 9, "history", r#"{"session":"nobody"}"#);
    assert_eq!(
        got[0].arg(),
        &json!({"events": [], "count": 0, "total_available": 0})
    );
}

#[test]
fn a_bad_history_request_is_answered_with_an_error_object() {
    let mut h = relay();
    h.dashboard(1, "/", "");
    let got = h.ask(1, 3, "history", r#"{"after":"yesterday"}"#);
    assert_eq!(got[0].name, "ack 3");
    assert_eq!(got[0].arg()["error"], "bad history request");
    assert!(got[0].arg()["detail"]
        .as_str()
        .is_some_and(|d| d.contains("\"yesterday\" is not a number")));
}

#[test]
fn api_history_filters_and_pages_like_the_socket_request() {
    let mut h = relay();
    post_sessions(&mut h, &["s1", "s2", "s1", "s1", "s2"]);
    let page = |h: &mut Harness<iorelay_core::Relay>, conn, query: &str| {
        let (status, body) = h
            .get(conn, &format!("/api/history{query}"))
            .status_and_body(conn);
        assert_eq!(status, 200, "{query}: {body}");
        serde_json::from_str::<Value>(&body).unwrap()
    };
    assert_eq!(offsets(&events(&page(&mut h, 1, ""))), [1, 2, 3, 4, 5]);
    assert_eq!(offsets(&events(&page(&mut h, 2, "?session=s1"))), [1, 3, 4]);
    assert_eq!(
        offsets(&events(&page(&mut h, 3, "?session=s1&limit=2"))),
        [3, 4]
    );
    assert_eq!(
        offsets(&events(&page(&mut h, 4, "?after=1&limit=2"))),
        [2, 3]
    );
    assert_eq!(offsets(&events(&page(&mut h, 5, "?before=3"))), [1, 2]);
    assert_eq!(
        offsets(&events(&page(&mut h, 6, "?type=stop&session=s2"))),
        [2, 5]
    );
    assert_eq!(
        offsets(&events(&page(&mut h, 7, "?type=nothing"))),
        Vec::<u64>::new()
    );
    let whole = page(&mut h, 8, "?limit=1");
    assert_eq!(
        (&whole["count"], &whole["total_available"]),
        (&json!(1), &json!(5))
    );
}

#[test]
fn api_history_refuses_numbers_that_are_not_offsets_with_400() {
    let mut h = relay();
    let cases = [
        (
            "?after=abc",
            r#"after="abc" is not an offset (a non-negative integer or a stream id)"#,
        ),
        (
            "?before=-1",
            r#"before="-1" is not an offset (a non-negative integer or a stream id)"#,
        ),
        ("?limit=ten", r#"limit="ten" is not a non-negative integer"#),
    ];
    for (i, (query, detail)) in cases.into_iter().enumerate() {
        let conn = i as u64 + 1;
        let (status, body) = h
            .get(conn, &format!("/api/history{query}"))
            .status_and_body(conn);
        assert_eq!(status, 400, "{query}");
        assert_eq!(
            serde_json::from_str::<Value>(&body).unwrap(),
            json!({"error": "bad query", "detail": detail})
        );
    }
}

fn retention(age: Duration) -> Harness<iorelay_core::Relay> {
    let mut config = Config::default();
    config.relay.retention_age = age;
    Harness::relay(config)
}

#[test]
fn events_leave_the_history_at_their_retention_age() {
    let mut h = retention(secs(60));
    let first = h.post_stop(1, "old", "s");
    assert_eq!(
        first.next,
        Some(h.t0 + secs(60)),
        "the first event's expiry"
    );
    h.set_time(secs(30));
    h.post_stop(2, "newer", "s");
    let at_60 = h.tick(secs(60) - ms(1));
    assert_eq!(h.engine.history_len(), 2);
    assert_eq!(
        at_60.next,
        Some(h.t0 + secs(60)),
        "the oldest event's expiry"
    );
    h.tick(secs(60) + ms(1));
    assert_eq!(h.engine.history_len(), 1);
    let history = event_history(&h.dashboard(3, "/", ""));
    assert_eq!(ids(&events(&history)), ["newer"]);
    h.tick(secs(91));
    assert_eq!(h.engine.history_len(), 0);
}

#[test]
fn a_client_connecting_after_the_retention_age_gets_no_expired_event_even_before_a_timeout() {
    let mut h = retention(secs(10));
    h.post_stop(1, "old", "s");
    h.set_time(secs(11));
    let history = event_history(&h.dashboard(2, "/", ""));
    assert_eq!(history["total_available"], 0, "{history}");
    h.set_time(secs(12));
    h.post_stop(3, "new", "s");
    h.set_time(secs(23));
    let got = h.ask(2, 1, "history", "{}");
    assert_eq!(got[0].arg()["total_available"], 0, "{:?}", got[0]);
}
