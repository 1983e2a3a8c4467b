//! Reliable mode through the relay, on virtual time: a client that connects with
//! `{"reliable":true}` receives live events with an ack request; what it does not ack is
//! re-sent — same event, same id and offset, new ack id — 1 s, 3 s and 7 s after the first
//! send, and abandoned 30 s after it. Counters appear in `/metrics`.

mod support;

use iorelay_core::{Config, Relay};
use support::relay::relay;
use support::{ms, secs, Harness};

/// A relay with a websocket client on `/` (conn 1) connected with `auth`.
fn with_client(auth: &str) -> Harness<Relay> {
    let mut h = relay();
    h.dashboard(1, "/", auth);
    h
}

/// Posts event `id` on HTTP conn `conn`.
fn post(h: &mut Harness<Relay>, conn: u64, id: &str) {
    h.post_stop(conn, id, "s");
}

/// The (ack id, event id, offset argument) of every acked `claude_event` packet in `frames`.
fn acked_events(frames: &[String]) -> Vec<(u64, String, String)> {
    frames
        .iter()
        .filter_map(|frame| frame.strip_prefix("42"))
        .filter_map(|rest| {
            let split = rest.find('[')?;
            let ack = rest[..split].parse().ok()?;
            let data: serde_json::Value = serde_json::from_str(&rest[split..]).ok()?;
            assert_eq!(data[0], "claude_event", "{rest}");
            let id = data[1]["id"].as_str()?.to_owned();
            let offset = data[2].as_str()?.to_owned();
            Some((ack, id, offset))
        })
        .collect()
}

/// The value of the series `name` in the `/metrics` page.
fn metric(h: &mut Harness<Relay>, conn: u64, name: &str) -> u64 {
    let page = h.get(conn, "/metrics").status_and_body(conn).1;
    page.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no {name} in\n{page}"))
        .parse()
        .expect("a whole number")
}

fn ack(id: u64, rest: &str) -> (u64, String, String) {
    (id, rest.to_owned(), "1".to_owned())
}

#[test]
fn a_reliable_client_gets_each_live_event_with_an_ack_request() {
    let mut h = with_client(r#"{"reliable":true}"#);
    h.set_time(ms(10));
    let sent = h.post_stop(10, "e1", "s").ws_sent(1);
    assert_eq!(acked_events(&sent), [ack(0, "e1")], "{sent:?}");
}

#[test]
fn an_unacked_event_is_resent_after_1_3_and_7_seconds_and_abandoned_at_30() {
    let mut h = with_client(r#"{"reliable":true}"#);
    post(&mut h, 10, "e1");
    let mut resends = Vec::new();
    for at in [
        ms(999),
        secs(1),
        secs(2),
        secs(3),
        secs(6),
        secs(7),
        secs(29),
    ] {
        let sent = h.tick(at).ws_sent(1);
        for event in acked_events(&sent) {
            resends.push((at, event));
        }
    }
    assert_eq!(
        resends,
        [
            (secs(1), ack(1, "e1")),
            (secs(3), ack(2, "e1")),
            (secs(7), ack(3, "e1")),
        ],
        "the same event, id and offset, a new ack id each time"
    );
    assert_eq!(metric(&mut h, 90, "iorelay_reliable_outstanding"), 1);
    h.tick(secs(30));
    assert_eq!(metric(&mut h, 91, "iorelay_reliable_queued_total"), 1);
    assert_eq!(metric(&mut h, 92, "iorelay_reliable_retried_total"), 3);
    assert_eq!(metric(&mut h, 93, "iorelay_reliable_succeeded_total"), 0);
    assert_eq!(metric(&mut h, 94, "iorelay_reliable_abandoned_total"), 1);
    assert_eq!(metric(&mut h, 95, "iorelay_reliable_outstanding"), 0);
}

#[test]
fn the_relay_asks_to_be_woken_for_the_retry() {
    let mut h = with_client(r#"{"reliable":true}"#);
    h.set_time(ms(500));
    let drained = h.post_stop(10, "e1", "s");
    assert_eq!(drained.next, Some(h.t0 + ms(1500)));
}

#[test]
fn an_acked_event_is_not_resent() {
    let mut h = with_client(r#"{"reliable":true}"#);
    post(&mut h, 10, "e1");
    assert!(h.ws_text(1, "430[]").ws_sent(1).is_empty());
    assert!(acked_events(&h.tick(secs(1)).ws_sent(1)).is_empty());
    assert!(acked_events(&h.tick(secs(30)).ws_sent(1)).is_empty());
    assert_eq!(metric(&mut h, 90, "iorelay_reliable_succeeded_total"), 1);
    assert_eq!(metric(&mut h, 91, "iorelay_reliable_retried_total"), 0);
}

#[test]
fn acking_a_retry_ends_the_delivery() {
    let mut h = with_client(r#"{"reliable":true}"#);
    post(&mut h, 10, "e1");
    let sent = h.tick(secs(1)).ws_sent(1);
    assert_eq!(acked_events(&sent), [ack(1, "e1")]);
    h.ws_text(1, r#"431["thanks"]"#);
    assert!(acked_events(&h.tick(secs(3)).ws_sent(1)).is_empty());
    assert_eq!(metric(&mut h, 90, "iorelay_reliable_succeeded_total"), 1);
    assert_eq!(metric(&mut h, 91, "iorelay_reliable_retried_total"), 1);
}

#[test]
fn a_plain_client_beside_a_reliable_one_gets_no_ack_request() {
    let mut h = with_client(r#"{"reliable":true}"#);
    h.dashboard(2, "/", "");
    let out = h.post_stop(10, "e1", "s");
    assert_eq!(acked_events(&out.ws_sent(1)), [ack(0, "e1")]);
    let plain = out.ws_sent(2);
    assert_eq!(plain.len(), 1);
    assert!(plain[0].starts_with("42[\"claude_event\""), "{plain:?}");
    assert!(h.tick(secs(1)).ws_sent(2).is_empty());
}

#[test]
fn a_client_that_leaves_abandons_what_it_did_not_ack() {
    let mut h = with_client(r#"{"reliable":true}"#);
    post(&mut h, 10, "e1");
    post(&mut h, 11, "e2");
    h.conn_closed(1);
    assert_eq!(metric(&mut h, 90, "iorelay_reliable_abandoned_total"), 2);
    assert_eq!(metric(&mut h, 91, "iorelay_reliable_outstanding"), 0);
    h.tick(secs(1));
    assert_eq!(metric(&mut h, 92, "iorelay_reliable_retried_total"), 0);
}

#[test]
fn past_the_per_client_cap_the_oldest_unacked_event_is_abandoned() {
    let mut config = Config::default();
    config.relay.retry.max_queued = 2;
    let mut h = Harness::relay(config);
    h.dashboard(1, "/", r#"{"reliable":true}"#);
    for (i, id) in ["e1", "e2", "e3"].iter().enumerate() {
        post(&mut h, 10 + i as u64, id);
    }
    assert_eq!(metric(&mut h, 90, "iorelay_reliable_abandoned_total"), 1);
    let resent: Vec<String> = acked_events(&h.tick(secs(1)).ws_sent(1))
        .into_iter()
        .map(|(_, id, _)| id)
        .collect();
    assert_eq!(resent, ["e2", "e3"]);
}

#[test]
fn a_retry_follows_the_configured_policy() {
    let mut config = Config::default();
    config.relay.retry.retries = 1;
    config.relay.retry.initial_backoff = ms(200);
    config.relay.retry.give_up_after = secs(2);
    let mut h = Harness::relay(config);
    h.dashboard(1, "/", r#"{"reliable":true}"#);
    post(&mut h, 10, "e1");
    assert_eq!(acked_events(&h.tick(ms(200)).ws_sent(1)), [ack(1, "e1")]);
    assert!(acked_events(&h.tick(ms(600)).ws_sent(1)).is_empty());
    h.tick(secs(2));
    assert_eq!(metric(&mut h, 90, "iorelay_reliable_abandoned_total"), 1);
}

#[test]
fn a_recovered_reliable_client_is_replayed_what_it_missed_with_ack_requests() {
    let mut h = relay();
    h.open_websocket(1);
    let sent = h.ws_text(1, r#"40{"reliable":true}"#).ws_sent(1);
    let reply: serde_json::Value = serde_json::from_str(&sent[0][2..]).expect("CONNECT reply");
    let pid = reply["pid"].as_str().expect("a pid").to_owned();
    post(&mut h, 10, "e1");
    h.conn_closed(1);
    assert_eq!(
        metric(&mut h, 90, "iorelay_reliable_abandoned_total"),
        1,
        "the parked socket's unacked event is given up; recovery covers it"
    );
    post(&mut h, 11, "e2");
    h.open_websocket(2);
    let auth = format!(r#"{{"reliable":true,"pid":"{pid}","offset":"0"}}"#);
    let sent = h.ws_text(2, &format!("40{auth}")).ws_sent(2);
    let replayed: Vec<(u64, String)> = acked_events(&sent[1..])
        .into_iter()
        .map(|(ack, id, _)| (ack, id))
        .collect();
    assert_eq!(replayed, [(0, "e1".to_owned()), (1, "e2".to_owned())]);
    let retried = h.tick(secs(1)).ws_sent(2);
    assert_eq!(acked_events(&retried).len(), 2, "{retried:?}");
}
