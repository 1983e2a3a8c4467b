//! Batched delivery through the relay, on virtual time: a client that connects with
//! `{"batch":true}` receives live events as `event_batch` events holding an array of
//! canonical events, 50 ms after the first one or as soon as ten are waiting, one batch per
//! namespace.

mod support;

use iorelay_core::Relay;
use support::relay::{ids, relay, Got};
use support::{ms, Harness};

/// Posts `{"id":…,"hook_event_name":"PreToolUse","tool_name":"Bash"}` (delivered on `/` and
/// on `/tools`) on HTTP conn `conn`.
fn post_tool(h: &mut Harness<Relay>, conn: u64, id: &str) -> support::Drained {
    let body = format!(r#"{{"id":"{id}","hook_event_name":"PreToolUse","tool_name":"Bash"}}"#);
    let out = h.post(conn, "/api/hooks", body.as_bytes());
    assert_eq!(out.reply(conn).status, 204);
    out
}

/// The ids in each `event_batch` of `got`, with the batch's namespace and offset argument.
fn batches(got: &[Got]) -> Vec<(String, Vec<String>, Option<String>)> {
    got.iter()
        .map(|g| {
            assert_eq!(g.name, "event_batch", "{got:#?}");
            let events = g.arg().as_array().expect("an array of events");
            let offset = g.args.get(1).and_then(|o| o.as_str()).map(str::to_owned);
            (g.nsp.clone(), ids(events), offset)
        })
        .collect()
}

fn batch(nsp: &str, ids: &[&str], offset: &str) -> (String, Vec<String>, Option<String>) {
    (
        nsp.to_owned(),
        ids.iter().map(|id| (*id).to_owned()).collect(),
        Some(offset.to_owned()),
    )
}

#[test]
fn events_are_held_50_ms_then_sent_as_one_batch() {
    let mut h = relay();
    h.dashboard(1, "/", r#"{"batch":true}"#);
    assert!(!post_tool(&mut h, 10, "e1").touches(1));
    h.set_time(ms(30));
    let drained = post_tool(&mut h, 11, "e2");
    assert!(!drained.touches(1));
    assert_eq!(drained.next, Some(h.t0 + ms(50)), "from the first event");
    assert!(h.tick(ms(49)).got(1).is_empty());
    let got = h.tick(ms(50)).got(1);
    assert_eq!(
        batches(&got),
        [batch("/", &["e1", "e2"], "2")],
        "the last event's offset is the last argument"
    );
    let page = h.get(90, "/metrics").status_and_body(90).1;
    assert!(
        page.contains("\niorelay_event_batches_sent_total 1\n"),
        "{page}"
    );
}

#[test]
fn ten_events_go_out_at_once() {
    let mut h = relay();
    h.dashboard(1, "/", r#"{"batch":true}"#);
    let body: Vec<String> = (1..=12)
        .map(|n| format!(r#"{{"id":"e{n}","type":"hook","subtype":"stop"}}"#))
        .collect();
    let out = h.post(
        10,
        "/api/events",
        format!("[{}]", body.join(",")).as_bytes(),
    );
    let first: Vec<String> = (1..=10).map(|n| format!("e{n}")).collect();
    let first: Vec<&str> = first.iter().map(String::as_str).collect();
    assert_eq!(batches(&out.got(1)), [batch("/", &first, "10")]);
    assert_eq!(
        batches(&h.tick(ms(50)).got(1)),
        [batch("/", &["e11", "e12"], "12")]
    );
}

#[test]
fn each_namespace_gets_its_own_batch() {
    let mut h = relay();
    h.dashboard(1, "/", r#"{"batch":true}"#);
    h.ws_text(1, r#"40/tools,{"batch":true}"#);
    post_tool(&mut h, 10, "e1");
    post_tool(&mut h, 11, "e2");
    let got = h.tick(ms(50)).got(1);
    assert_eq!(
        batches(&got),
        [
            batch("/", &["e1", "e2"], "2"),
            batch("/tools", &["e1", "e2"], "2"),
        ]
    );
}

#[test]
fn a_client_that_did_not_ask_gets_events_one_by_one() {
    let mut h = relay();
    h.dashboard(1, "/", r#"{"batch":true}"#);
    h.dashboard(2, "/", "");
    let got = post_tool(&mut h, 10, "e1").got(2);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].name, "claude_event");
}

#[test]
fn a_reliable_batching_client_acks_whole_batches() {
    let mut h = relay();
    h.dashboard(1, "/", r#"{"batch":true,"reliable":true}"#);
    post_tool(&mut h, 10, "e1");
    let sent = h.tick(ms(50)).ws_sent(1);
    assert_eq!(sent.len(), 1);
    assert!(sent[0].starts_with("420[\"event_batch\",["), "{sent:?}");
    let again = h.tick(ms(1050)).ws_sent(1);
    assert!(again[0].starts_with("421[\"event_batch\",["), "{again:?}");
    h.ws_text(1, "431[]");
    assert!(h.tick(ms(3050)).ws_sent(1).is_empty());
}

#[test]
fn a_client_that_leaves_drops_its_open_batch() {
    let mut h = relay();
    h.dashboard(1, "/", r#"{"batch":true}"#);
    post_tool(&mut h, 10, "e1");
    h.conn_closed(1);
    let drained = h.tick(ms(50));
    assert!(!drained.touches(1));
    let page = h.get(90, "/metrics").status_and_body(90).1;
    assert!(page.contains("\niorelay_batch_held_events 0\n"), "{page}");
}
