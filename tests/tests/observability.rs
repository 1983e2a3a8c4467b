//! `/metrics` and `/connections` of both binaries in relay mode, with a websocket client and a
//! polling client connected and events posted: the clients are listed with their transports
//! and rooms, and the runtime's request latencies reach the histograms.
//!
//! The strict parse of `/metrics` with the Prometheus client's own text parser is in the
//! interop suite (tests/interop/python/tests/test_observability.py), which has the Python
//! environment.

use std::thread;
use std::time::{Duration, Instant};

use iorelay_tests::process::{poll_path, ws_send, ws_text, RuntimeUnderTest, Server, WAIT};

fn observed(runtime: &RuntimeUnderTest) {
    let server = runtime.start(&["--ping-interval", "20000", "--ping-timeout", "20000"]);
    let label = runtime.label;

    let mut ws = server.websocket("");
    let open = ws_text(&mut ws);
    let ws_sid = sid_of(open.strip_prefix('0').expect("open packet"));
    ws_send(&mut ws, r#"40{"session":"obs-1"}"#);
    assert!(
        ws_text(&mut ws).starts_with("40{"),
        "{label}: CONNECT reply"
    );

    let poll_sid = server.handshake();
    server.post(&poll_sid, "40");
    let packets = server.poll(&poll_sid);
    assert!(packets[0].starts_with("40{"), "{label}: {packets:?}");

    for id in ["obs-e1", "obs-e2"] {
        let event =
            format!(r#"{{"id":"{id}","type":"hook","subtype":"stop","session_id":"obs-1"}}"#);
        let reply = server
            .connect()
            .request("POST", "/api/events", event.as_bytes());
        assert_eq!(reply.status, 204, "{label}: {reply:?}");
    }

    let list = server.get("/connections").json();
    let list = list.as_array().expect("a JSON array");
    assert_eq!(list.len(), 2, "{label}: {list:?}");
    let find = |sid: &str| {
        list.iter()
            .find(|c| c["sid"] == sid)
            .unwrap_or_else(|| panic!("{label}: {sid} not in {list:?}"))
    };
    let (ws_entry, poll_entry) = (find(&ws_sid), find(&poll_sid));
    assert_eq!(ws_entry["transport"], "websocket", "{label}");
    assert_eq!(ws_entry["namespaces"], serde_json::json!(["/"]), "{label}");
    let ws_rooms = ws_entry["rooms"]["/"].as_array().expect("rooms");
    assert!(ws_rooms.iter().any(|r| r == "session:obs-1"), "{label}");
    assert!(ws_entry["queued_bytes"].is_null(), "{label}");
    assert_eq!(poll_entry["transport"], "polling", "{label}");
    assert_eq!(
        poll_entry["namespaces"],
        serde_json::json!(["/"]),
        "{label}"
    );
    assert!(poll_entry["queued_bytes"].is_u64(), "{label}");
    assert!(
        poll_entry["connected_at"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z')),
        "{label}: {poll_entry}"
    );

    // Measurements reach the driver just after each reply is written: wait for them.
    let metrics = metrics_until(&server, |text| {
        count(
            text,
            r#"iorelay_http_request_seconds_count{route="/api/events"}"#,
        ) >= 2.0
            && count(
                text,
                r#"iorelay_http_request_seconds_count{route="/connections"}"#,
            ) >= 1.0
    });
    for (series, expected) in [
        (r#"iorelay_sessions{transport="websocket"}"#, 1.0),
        (r#"iorelay_sessions{transport="polling"}"#, 1.0),
        (r#"iorelay_sockets{namespace="/"}"#, 2.0),
        ("iorelay_events_received_total", 2.0),
        ("iorelay_history_events", 2.0),
        (
            r#"iorelay_http_requests_total{route="/api/events",status_class="2xx"}"#,
            2.0,
        ),
    ] {
        assert_eq!(count(&metrics, series), expected, "{label}: {series}");
    }
    assert!(
        count(&metrics, "iorelay_events_delivered_total") >= 2.0,
        "{label}"
    );
    assert!(
        count(
            &metrics,
            r#"iorelay_http_requests_total{route="/socket.io",status_class="1xx"}"#
        ) >= 1.0,
        "{label}: the websocket upgrade is measured as a 101\n{metrics}"
    );
    // The polling client's next poll is held: it is measured once answered.
    let mut held = server.connect();
    held.send_request("GET", &poll_path(&poll_sid), b"");
    let event = br#"{"id":"obs-e3","type":"hook","subtype":"stop"}"#;
    let reply = server.connect().request("POST", "/api/events", event);
    assert_eq!(reply.status, 204, "{label}");
    assert_eq!(held.response().status, 200, "{label}");
    metrics_until(&server, |text| {
        count(
            text,
            r#"iorelay_http_request_seconds_count{route="engineio_poll"}"#,
        ) >= 2.0
    });
}

/// The sid of an open packet's JSON.
fn sid_of(json: &str) -> String {
    let value: serde_json::Value = serde_json::from_str(json).expect("JSON");
    value["sid"].as_str().expect("sid").to_owned()
}

/// The value of the sample line `series value`, or -1 when there is none.
fn count(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map_or(-1.0, |v| v.parse().expect("a number"))
}

/// `/metrics` once `ready` holds for it (bounded by [`WAIT`]).
fn metrics_until(server: &Server, ready: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + WAIT;
    loop {
        let reply = server.get("/metrics");
        assert_eq!(reply.status, 200);
        assert_eq!(
            reply.header("content-type"),
            Some("text/plain; version=0.0.4; charset=utf-8")
        );
        let text = reply.text();
        if ready(&text) {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "metrics never got there:\n{text}"
        );
        thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn metrics_and_connections_describe_the_clients_of_the_smol_binary() {
    observed(&RuntimeUnderTest::SMOL);
}

#[test]
fn metrics_and_connections_describe_the_clients_of_the_std_binary() {
    observed(&RuntimeUnderTest::STD);
}
