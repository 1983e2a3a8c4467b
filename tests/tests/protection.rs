//! Protection against both binaries: the token on ingest (401 without, 204 with) and on
//! Socket.IO CONNECT (CONNECT_ERROR, then connected with `auth.token`), a burst of 10 000
//! events from one local client all accepted under the default rate limit, and connections
//! over a cap answered 503 and closed, counted in `/metrics`.
//!
//! The rules themselves (refill, Retry-After, the per-address cap, origins) are tested on
//! virtual time in core (core/tests/relay_protection.rs, core/src/relay/{ratelimit,admission}.rs).

use std::time::{Duration, Instant};

use iorelay_tests::process::{ws_send, ws_text, RuntimeUnderTest, Server, WAIT};
use iorelay_tests::raw::Client;
use iorelay_tests::target::HttpReply;

const TOKEN: &str = "it-s3cret";

fn both(check: fn(&RuntimeUnderTest)) {
    for runtime in [RuntimeUnderTest::STD, RuntimeUnderTest::SMOL] {
        check(&runtime);
    }
}

/// `method path` with extra header lines (each ending in `\r\n`) on a fresh connection.
fn request(server: &Server, method: &str, path: &str, headers: &str, body: &str) -> HttpReply {
    let mut client = server.connect();
    client.send(
        format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{headers}Content-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    );
    client.response()
}

fn token_is_required(runtime: &RuntimeUnderTest) {
    let label = runtime.label;
    let server = runtime.start_with_env(&[], &[("IORELAY_TOKEN", TOKEN)]);
    let event = r#"{"type":"hook","subtype":"stop"}"#;

    let refused = request(&server, "POST", "/api/events", "", event);
    assert_eq!(refused.status, 401, "{label}: {refused:?}");
    assert_eq!(refused.json()["error"], "unauthorized", "{label}");
    assert!(
        refused
            .header("www-authenticate")
            .is_some_and(|v| v.starts_with("Bearer")),
        "{label}: {refused:?}"
    );
    let wrong = request(
        &server,
        "POST",
        "/api/events",
        "Authorization: Bearer no\r\n",
        event,
    );
    assert_eq!(wrong.status, 401, "{label}");
    let bearer = format!("Authorization: Bearer {TOKEN}\r\n");
    let accepted = request(&server, "POST", "/api/events", &bearer, event);
    assert_eq!(accepted.status, 204, "{label}: {accepted:?}");

    assert_eq!(
        server.get("/health").status,
        200,
        "{label}: /health stays open"
    );
    assert_eq!(server.get("/api/history").status, 401, "{label}");
    let history = request(&server, "GET", "/api/history", &bearer, "");
    assert_eq!(
        history.json()["events"].as_array().map(Vec::len),
        Some(1),
        "{label}"
    );

    let mut ws = server.websocket("");
    assert!(ws_text(&mut ws).starts_with("0{"), "{label}: open packet");
    ws_send(&mut ws, "40");
    assert_eq!(
        ws_text(&mut ws),
        r#"44{"message":"unauthorized"}"#,
        "{label}"
    );
    ws_send(&mut ws, &format!(r#"40{{"token":"{TOKEN}"}}"#));
    assert!(
        ws_text(&mut ws).starts_with("40{\"sid\":"),
        "{label}: connected with the token"
    );
}

#[test]
fn with_a_token_ingest_and_socketio_require_it_on_both_runtimes() {
    both(token_is_required);
}

fn ten_thousand_events_pass(runtime: &RuntimeUnderTest) {
    let label = runtime.label;
    let server = runtime.start(&[]);
    let mut client = server.connect();
    let mut accepted = 0;
    for batch in 0..100 {
        let events: Vec<String> = (0..100)
            .map(|i| format!(r#"{{"id":"b{batch}-{i}","type":"hook","subtype":"stop"}}"#))
            .collect();
        let body = format!("[{}]", events.join(","));
        let reply = client.request("POST", "/api/events", body.as_bytes());
        assert_eq!(reply.status, 202, "{label}: batch {batch}: {reply:?}");
        accepted += reply.json()["accepted"].as_u64().expect("accepted");
    }
    assert_eq!(accepted, 10_000, "{label}");
    let metrics = server.get("/metrics").text();
    assert!(
        metrics.contains("\niorelay_ingest_rate_limited_total 0\n"),
        "{label}: {metrics}"
    );
}

#[test]
fn a_burst_of_ten_thousand_events_from_one_local_client_is_all_accepted_on_both_runtimes() {
    both(ten_thousand_events_pass);
}

/// Reads what a refused connection is sent: the 503, then the end.
fn refused(mut client: Client, label: &str) -> HttpReply {
    let reply = client.response();
    assert_eq!(reply.status, 503, "{label}: {reply:?}");
    assert_eq!(reply.json()["error"], "too many connections", "{label}");
    assert!(client.closed_within(WAIT), "{label}: closed after the 503");
    reply
}

/// `GET path`, retried while connections are still being released.
fn get_when_admitted(server: &Server, path: &str) -> HttpReply {
    let deadline = Instant::now() + WAIT;
    loop {
        let reply = server.get(path);
        if reply.status != 503 || Instant::now() > deadline {
            return reply;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn connection_caps(runtime: &RuntimeUnderTest) {
    let label = runtime.label;
    let server = runtime.start(&[
        "--max-connections",
        "2",
        "--max-connections-per-ip",
        "1",
        "--cap-loopback",
    ]);
    // One connection from 127.0.0.1 is admitted and served; a second is over the per-address cap.
    let mut first = server.connect();
    assert_eq!(first.request("GET", "/health", b"").status, 200, "{label}");
    let reply = refused(server.connect(), label);
    assert!(
        reply.text().contains("max_connections_per_ip"),
        "{label}: {reply:?}"
    );
    drop(first);
    // Retries while the first connection's place is released count as refusals too.
    let metrics = get_when_admitted(&server, "/metrics").text();
    let refusals: u64 = metrics
        .lines()
        .find_map(|line| {
            line.strip_prefix(
                "iorelay_connections_refused_total{reason=\"max_connections_per_ip\"} ",
            )
        })
        .and_then(|value| value.parse().ok())
        .unwrap_or_else(|| panic!("{label}: no refusal count in {metrics}"));
    assert!(refusals >= 1, "{label}: {metrics}");
}

#[test]
fn connections_over_a_cap_are_answered_503_and_closed_on_both_runtimes() {
    both(connection_caps);
}
