//! Subscriptions: the CONNECT `auth` filter and the `subscribe` request narrow the live
//! stream, put the socket in the rooms `session:<id>` and `project:<name>`, and every request
//! a client waits on is answered.

mod support;

use iorelay_core::{Emit, Target};
use serde_json::json;
use support::relay::{claude_events, ids, relay, Got};
use support::{polling, Harness};

/// Posts one stop event per `(id, session)`, one after the other on keep-alive conn 100;
/// returns what each websocket of `watched` received.
fn post_and_watch(
    h: &mut Harness<iorelay_core::Relay>,
    events: &[(&str, &str)],
    watched: &[u64],
) -> Vec<Vec<Got>> {
    let mut got = vec![Vec::new(); watched.len()];
    for (id, session) in events {
        let drained = h.post_stop(100, id, session);
        for (slot, conn) in watched.iter().enumerate() {
            got[slot].extend(drained.got(*conn));
        }
    }
    got
}

/// The conns (of `conns`) that receive a `news` broadcast to `room` of `/`.
fn room_members(h: &mut Harness<iorelay_core::Relay>, room: &str, conns: &[u64]) -> Vec<u64> {
    let now = h.now;
    let target = Target::namespace("/").room(room);
    h.engine
        .engine_mut()
        .emit(now, &target, &Emit::new("news", &[]));
    let drained = h.drain();
    conns
        .iter()
        .copied()
        .filter(|conn| !drained.ws_frames(*conn).is_empty())
        .collect()
}

#[test]
fn a_session_filtered_client_receives_only_its_session_live() {
    let mut h = relay();
    h.dashboard(1, "/", r#"{"session":"s1"}"#);
    h.dashboard(2, "/", "");
    let got = post_and_watch(&mut h, &[("a", "s1"), ("b", "s2"), ("c", "s1")], &[1, 2]);
    assert_eq!(ids(&claude_events(&got[0])), ["a", "c"]);
    assert_eq!(ids(&claude_events(&got[1])), ["a", "b", "c"]);
}

#[test]
fn subscribe_is_acked_with_the_new_filter_and_narrows_the_stream() {
    let mut h = relay();
    h.dashboard(1, "/", "");
    let got = h.ask(1, 4, "subscribe", r#"{"session":"s2"}"#);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].name, "ack 4");
    assert_eq!(
        got[0].arg(),
        &json!({"ok": true, "subscription": {"session": "s2", "project": null, "types": null}})
    );
    let got = post_and_watch(&mut h, &[("a", "s1"), ("b", "s2")], &[1]);
    assert_eq!(ids(&claude_events(&got[0])), ["b"]);
    h.ask(1, 5, "subscribe", "{}");
    let got = post_and_watch(&mut h, &[("c", "s1"), ("d", "s2")], &[1]);
    assert_eq!(
        ids(&claude_events(&got[0])),
        ["c", "d"],
        "an empty filter is everything"
    );
}

#[test]
fn the_filter_puts_the_socket_in_its_session_and_project_rooms_and_subscribe_moves_it() {
    let mut h = relay();
    h.dashboard(1, "/", r#"{"session":"s1","project":"shop"}"#);
    h.dashboard(2, "/", r#"{"session":"s2"}"#);
    h.dashboard(3, "/", "");
    assert_eq!(room_members(&mut h, "session:s1", &[1, 2, 3]), [1]);
    assert_eq!(room_members(&mut h, "project:shop", &[1, 2, 3]), [1]);
    assert_eq!(room_members(&mut h, "session:s2", &[1, 2, 3]), [2]);
    h.ask(1, 1, "subscribe", r#"{"session_id":"s2"}"#);
    assert_eq!(
        room_members(&mut h, "session:s1", &[1, 2, 3]),
        Vec::<u64>::new()
    );
    assert_eq!(
        room_members(&mut h, "project:shop", &[1, 2, 3]),
        Vec::<u64>::new()
    );
    assert_eq!(room_members(&mut h, "session:s2", &[1, 2, 3]), [1, 2]);
}

#[test]
fn a_subscription_of_the_wrong_shape_is_answered_with_an_error_and_changes_nothing() {
    let mut h = relay();
    h.dashboard(1, "/", r#"{"session":"s1"}"#);
    let got = h.ask(1, 2, "subscribe", r#"{"types":"stop"}"#);
    assert_eq!(got[0].name, "ack 2");
    assert_eq!(got[0].arg()["error"], "bad subscription");
    let got = post_and_watch(&mut h, &[("a", "s1"), ("b", "s2")], &[1]);
    assert_eq!(ids(&claude_events(&got[0])), ["a"]);
}

#[test]
fn an_unknown_event_with_an_ack_is_answered_with_an_error_and_without_one_is_ignored() {
    let mut h = relay();
    h.dashboard(1, "/", "");
    let got = h.ask(1, 9, "launch", r#"{"x":1}"#);
    assert_eq!(
        got,
        [Got {
            nsp: "/".to_owned(),
            name: "ack 9".to_owned(),
            args: vec![
                json!({"error": "unknown event", "detail": "the relay does not handle \"launch\""})
            ],
        }]
    );
    assert!(h.ws_text(1, r#"42["launch"]"#).ws_frames(1).is_empty());
}

#[test]
fn a_polling_client_gets_its_history_and_the_live_events_in_its_polls() {
    let mut h = relay();
    h.post_stop(50, "before", "s1");
    let sid = h.polling_dashboard(1, r#"{"session":"s1"}"#);
    h.post_stop(51, "live-1", "s1");
    h.post_stop(52, "other", "s2");
    h.post_stop(53, "live-2", "s1");
    let got = h.get(3, &polling(&sid)).got_polled(3);
    let names: Vec<&str> = got.iter().map(|g| g.name.as_str()).collect();
    assert_eq!(names, ["event_history", "claude_event", "claude_event"]);
    assert_eq!(ids(got[0].arg()["events"].as_array().unwrap()), ["before"]);
    assert_eq!(ids(&claude_events(&got)), ["live-1", "live-2"]);
}

#[test]
fn a_disconnected_client_is_forgotten() {
    let mut h = relay();
    h.dashboard(1, "/", "");
    h.dashboard(2, "/", "");
    h.ws_text(1, "41");
    let got = post_and_watch(&mut h, &[("a", "s")], &[1, 2]);
    assert!(got[0].is_empty());
    assert_eq!(ids(&claude_events(&got[1])), ["a"]);
    assert_eq!(h.engine.stats().events_out, 1);
}

#[test]
fn a_poll_carries_at_most_16_packets_and_the_next_poll_the_rest_in_order() {
    let mut h = relay();
    let sid = h.polling_dashboard(1, "");
    let first = h.get(3, &polling(&sid)).got_polled(3);
    assert_eq!(first.len(), 1, "event_history: {first:?}");
    for i in 0..20 {
        h.post_stop(100, &format!("e{i:02}"), "s");
    }
    let polls: Vec<Vec<Got>> = (4..=5)
        .map(|conn| h.get(conn, &polling(&sid)).got_polled(conn))
        .collect();
    assert_eq!(
        (polls[0].len(), polls[1].len()),
        (16, 4),
        "python-engineio refuses more than 16 packets in a payload"
    );
    let all: Vec<Got> = polls.concat();
    let expected: Vec<String> = (0..20).map(|i| format!("e{i:02}")).collect();
    assert_eq!(ids(&claude_events(&all)), expected);
}
