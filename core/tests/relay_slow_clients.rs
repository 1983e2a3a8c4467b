//! Slow consumers through the relay (issue 5 item 3): a client whose queue is over its bound
//! loses volatile event types (counted), keeps the rest, and is disconnected as a slow
//! consumer exactly when its grace period ends unless it drains first; a queue past its hard
//! cap disconnects at once. Other clients never notice. All on virtual time.

mod support;

use iorelay_core::{Config, ConnId, Input, Relay};
use support::{ms, secs, Harness};

/// A relay whose `post_tool_use` events are volatile, with two websocket clients on `/`:
/// conn 1 (the slow one) and conn 2.
fn relay_with_two_clients() -> Harness<Relay> {
    let mut config = Config::default();
    config.relay.volatile_types = vec!["post_tool_use".to_owned()];
    let mut h = Harness::relay(config);
    for conn in [1, 2] {
        h.open_websocket(conn);
        let sent = h.ws_text(conn, "40").ws_sent(conn);
        assert!(sent[1].starts_with("42[\"event_history\""), "{sent:?}");
    }
    h
}

/// POSTs one hook event (`hook` is its `hook_event_name`) with `id` on `conn`.
fn post_hook(h: &mut Harness<Relay>, conn: u64, id: &str, hook: &str) -> support::Drained {
    let body = format!(r#"{{"id":"{id}","hook_event_name":"{hook}","session_id":"s"}}"#);
    let out = h.post(conn, "/api/hooks", body.as_bytes());
    assert_eq!(out.reply(conn).status, 204);
    out
}

/// The ids of the `claude_event`s sent to `conn`.
fn ids_to(out: &support::Drained, conn: u64) -> Vec<String> {
    out.ws_sent(conn)
        .iter()
        .filter_map(|f| f.strip_prefix("42"))
        .map(|data| serde_json::from_str::<serde_json::Value>(data).expect("event array"))
        .filter(|args| args[0] == "claude_event")
        .map(|args| args[1]["id"].as_str().expect("id").to_owned())
        .collect()
}

fn congestion(h: &mut Harness<Relay>, conn: u64, congested: bool) -> support::Drained {
    let now = h.now;
    h.input(Input::Congestion {
        now,
        conn: ConnId(conn),
        congested,
    })
}

/// The value of an unlabelled (or fully written) series in the `/metrics` page.
fn metric(h: &mut Harness<Relay>, conn: u64, series: &str) -> f64 {
    let page = h.get(conn, "/metrics");
    let body = String::from_utf8(page.reply(conn).body.to_vec()).expect("text");
    body.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("{series} in {body}"))
        .parse()
        .expect("a number")
}

#[test]
fn an_over_bound_client_loses_volatile_types_only_and_the_others_lose_nothing() {
    let mut h = relay_with_two_clients();
    congestion(&mut h, 1, true);
    let tool = post_hook(&mut h, 10, "tool-output", "PostToolUse");
    assert_eq!(ids_to(&tool, 1), Vec::<String>::new(), "volatile: dropped");
    assert_eq!(ids_to(&tool, 2), ["tool-output"]);
    let stop = post_hook(&mut h, 11, "stop", "Stop");
    assert_eq!(ids_to(&stop, 1), ["stop"], "not volatile: still queued");
    assert_eq!(ids_to(&stop, 2), ["stop"]);
    assert_eq!(
        metric(
            &mut h,
            20,
            "iorelay_events_dropped_total{reason=\"slow_client\"}"
        ),
        1.0
    );
    congestion(&mut h, 1, false);
    let later = post_hook(&mut h, 12, "tool-again", "PostToolUse");
    assert_eq!(ids_to(&later, 1), ["tool-again"], "drained: volatile again");
}

#[test]
fn a_client_that_never_drains_is_disconnected_exactly_at_the_end_of_its_grace() {
    let mut h = relay_with_two_clients();
    h.set_time(secs(3));
    congestion(&mut h, 1, true);
    h.set_time(secs(5));
    // A second report while congested does not restart the grace period.
    congestion(&mut h, 1, true);
    let before = h.tick(secs(13) - ms(1));
    assert!(!before.touches(1), "{before:?}");
    let due = h.tick(secs(13));
    assert_eq!(due.transcript(), ["1 ws close 1008 slow consumer"]);
    assert_eq!(
        metric(&mut h, 20, "iorelay_slow_client_disconnects_total"),
        1.0
    );
    let after = post_hook(&mut h, 11, "after", "Stop");
    assert_eq!(
        ids_to(&after, 2),
        ["after"],
        "the other client is unaffected"
    );
    assert!(!after.touches(1));
}

#[test]
fn a_client_that_drains_within_its_grace_is_kept() {
    let mut h = relay_with_two_clients();
    congestion(&mut h, 1, true);
    h.set_time(secs(10) - ms(1));
    congestion(&mut h, 1, false);
    let later = h.tick(secs(30));
    assert!(
        !later.transcript().iter().any(|line| line.contains("close")),
        "{later:?}"
    );
    let event = post_hook(&mut h, 10, "kept", "Stop");
    assert_eq!(ids_to(&event, 1), ["kept"]);
    assert_eq!(
        metric(&mut h, 20, "iorelay_slow_client_disconnects_total"),
        0.0
    );
}

#[test]
fn a_queue_past_its_hard_cap_disconnects_at_once_and_the_client_can_recover() {
    let mut h = Harness::relay(Config::default());
    h.open_websocket(1);
    let sent = h.ws_text(1, r#"40{"offsets":true}"#).ws_sent(1);
    let reply: serde_json::Value = serde_json::from_str(&sent[0][2..]).expect("CONNECT reply");
    let pid = reply["pid"].as_str().expect("pid").to_owned();
    let now = h.now;
    let overflow = h.input(Input::QueueOverflow {
        now,
        conn: ConnId(1),
    });
    assert!(
        !overflow.touches(1),
        "the runtime already dropped the connection: {overflow:?}"
    );
    assert_eq!(
        metric(&mut h, 20, "iorelay_slow_client_disconnects_total"),
        1.0
    );
    post_hook(&mut h, 10, "missed", "Stop");
    h.open_websocket(2);
    let auth = format!(r#"{{"pid":"{pid}","offset":"0"}}"#);
    let back = h.ws_text(2, &format!("40{auth}"));
    let reply: serde_json::Value =
        serde_json::from_str(&back.ws_sent(2)[0][2..]).expect("CONNECT reply");
    assert_eq!(reply["pid"], pid.as_str(), "recovered");
    assert_eq!(ids_to(&back, 2), ["missed"]);
}

#[test]
fn the_history_is_bounded_in_bytes() {
    let mut config = Config::default();
    config.relay.history_max_bytes = 4096;
    let mut h = Harness::relay(config);
    let data = "x".repeat(1000);
    for i in 0..10 {
        let body = format!(r#"{{"id":"e{i}","hook_event_name":"Stop","data":"{data}"}}"#);
        assert_eq!(
            h.post(10 + i, "/api/hooks", body.as_bytes())
                .reply(10 + i)
                .status,
            204
        );
    }
    let held = metric(&mut h, 30, "iorelay_history_events");
    assert!((1.0..=4.0).contains(&held), "{held}");
    assert!(metric(&mut h, 31, "iorelay_history_bytes") <= 4096.0);
}
