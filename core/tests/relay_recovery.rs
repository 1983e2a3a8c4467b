//! Connection state recovery through the relay: a socket that lost its transport comes back
//! with its `pid` and last `offset` and receives exactly what it missed, in order.

mod support;

use iorelay_core::{Config, Relay};
use support::{secs, Harness};

/// A relay with one websocket client on `/` (conn 1); returns the client's pid.
fn relay_with_client(auth: &str) -> (Harness<Relay>, String) {
    let mut h = Harness::relay(Config::default());
    h.open_websocket(1);
    let sent = h.ws_text(1, &format!("40{auth}")).ws_sent(1);
    let reply: serde_json::Value = serde_json::from_str(&sent[0][2..]).expect("CONNECT reply");
    let pid = reply["pid"]
        .as_str()
        .expect("a pid with recovery on")
        .to_owned();
    assert!(sent[1].starts_with("42[\"event_history\""), "{sent:?}");
    (h, pid)
}

fn post_event(h: &mut Harness<Relay>, conn: u64, id: &str, session: &str) -> support::Drained {
    let body = format!(r#"{{"id":"{id}","hook_event_name":"Stop","session_id":"{session}"}}"#);
    let out = h.post(conn, "/api/hooks", body.as_bytes());
    assert_eq!(out.reply(conn).status, 204);
    out
}

/// The ids and trailing offsets of the live events in `frames`.
fn live_events(frames: &[String]) -> Vec<(String, String)> {
    frames
        .iter()
        .filter_map(|f| f.strip_prefix("42"))
        .map(|data| serde_json::from_str::<serde_json::Value>(data).expect("event array"))
        .filter(|args| args[0] == "claude_event")
        .map(|args| {
            let id = args[1]["id"].as_str().expect("id").to_owned();
            let offset = args[2].as_str().expect("offset argument").to_owned();
            assert_eq!(
                args[1]["offset"], args[2],
                "the argument is the event's offset"
            );
            (id, offset)
        })
        .collect()
}

#[test]
fn live_events_carry_their_offset_as_the_last_argument() {
    let (mut h, _) = relay_with_client("");
    let first = post_event(&mut h, 10, "e1", "s").ws_sent(1);
    let second = post_event(&mut h, 11, "e2", "s").ws_sent(1);
    assert_eq!(
        [live_events(&first), live_events(&second)].concat(),
        [
            ("e1".to_owned(), "1".to_owned()),
            ("e2".to_owned(), "2".to_owned())
        ]
    );
}

#[test]
fn a_client_that_lost_its_transport_gets_what_it_missed_once_in_order() {
    let (mut h, pid) = relay_with_client(r#"{"session":"s"}"#);
    post_event(&mut h, 10, "seen", "s");
    h.conn_closed(1);
    for (i, session) in ["s", "other", "s", "s"].iter().enumerate() {
        post_event(&mut h, 20 + i as u64, &format!("missed{i}"), session);
    }
    h.set_time(secs(60));
    h.open_websocket(2);
    let auth = format!(r#"{{"session":"s","pid":"{pid}","offset":"1"}}"#);
    let sent = h.ws_text(2, &format!("40{auth}")).ws_sent(2);
    let reply: serde_json::Value = serde_json::from_str(&sent[0][2..]).expect("CONNECT reply");
    assert_eq!(
        reply["pid"],
        pid.as_str(),
        "same pid: the client reports recovered"
    );
    assert!(
        !sent.iter().any(|f| f.contains("event_history")),
        "{sent:?}"
    );
    assert_eq!(
        live_events(&sent[1..]),
        [("missed0", "2"), ("missed2", "4"), ("missed3", "5")]
            .map(|(id, offset)| (id.to_owned(), offset.to_owned()))
    );
    let after = post_event(&mut h, 30, "after", "s").ws_sent(2);
    assert_eq!(live_events(&after), [("after".to_owned(), "6".to_owned())]);
}

#[test]
fn recovery_ends_with_its_window() {
    let (mut h, pid) = relay_with_client("");
    h.conn_closed(1);
    post_event(&mut h, 10, "missed", "s");
    h.tick(secs(120));
    h.open_websocket(2);
    let auth = format!(r#"{{"pid":"{pid}","offset":"0"}}"#);
    let sent = h.ws_text(2, &format!("40{auth}")).ws_sent(2);
    let reply: serde_json::Value = serde_json::from_str(&sent[0][2..]).expect("CONNECT reply");
    assert_ne!(reply["pid"], pid.as_str(), "a new socket, not recovered");
    assert!(
        sent[1].starts_with("42[\"event_history\""),
        "history instead: {sent:?}"
    );
}

#[test]
fn a_client_that_left_on_purpose_is_not_recovered() {
    let (mut h, pid) = relay_with_client("");
    h.ws_text(1, "41");
    h.open_websocket(2);
    let sent = h
        .ws_text(2, &format!(r#"40{{"pid":"{pid}","offset":"0"}}"#))
        .ws_sent(2);
    let reply: serde_json::Value = serde_json::from_str(&sent[0][2..]).expect("CONNECT reply");
    assert_ne!(reply["pid"], pid.as_str());
}

#[test]
fn a_client_may_opt_out_of_the_offset_argument() {
    let (mut h, _) = relay_with_client(r#"{"offsets":false}"#);
    let body = br#"{"id":"e1","hook_event_name":"Stop"}"#;
    let out = h.post(10, "/api/hooks", body);
    let frames = out.ws_sent(1);
    let args: serde_json::Value = serde_json::from_str(&frames[0][2..]).expect("event");
    assert_eq!(
        args.as_array().map(Vec::len),
        Some(2),
        "name and event only: {frames:?}"
    );
}

#[test]
fn conformance_mode_has_no_recovery() {
    let mut h = Harness::relay(Config::conformance());
    h.open_websocket(1);
    let sent = h.ws_text(1, "40").ws_sent(1);
    assert!(!sent[0].contains("pid"), "{sent:?}");
}
