//! `/connections` and `/metrics` of a relay on virtual time: what each reports about a
//! websocket client and a polling client, and what the runtime measured.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use iorelay_core::engineio::packet::Frame;
use iorelay_core::http::Response;
use iorelay_core::relay::measure::{HookBreaker, Measurement, RouteLabel};
use iorelay_core::{Body, Config, ConnId, Input, Output, Relay, ServerInfo};
use support::{get_request, head, ms, post_request, secs, t0, ws_request, SEED};

/// 2026-11-22T01:02:03.000Z: the wall time of `t0`.
const START_MS: u64 = 1_795_309_323_000;

/// A relay driven by hand: each call feeds one input at `t0 + at` and drains the outputs.
struct Bench {
    relay: Relay,
    t0: std::time::Instant,
    replies: BTreeMap<u64, Response>,
    ws: BTreeMap<u64, Vec<String>>,
}

impl Bench {
    fn new() -> Self {
        let t0 = t0();
        let config = Config {
            server: ServerInfo {
                pid: 1,
                port: 8765,
                started_unix_ms: START_MS,
            },
            ..Config::default()
        };
        Self {
            relay: Relay::new(config, t0, SEED),
            t0,
            replies: BTreeMap::new(),
            ws: BTreeMap::new(),
        }
    }

    fn feed(&mut self, input: Input) {
        self.relay.handle_input(input).expect("no misuse");
        loop {
            // A broadcast as the messages each of its connections gets.
            for output in self.relay.poll_output().per_connection() {
                match output {
                    Output::Timeout(_) => return,
                    Output::HttpReply { conn, response } => {
                        self.replies.insert(conn.0, response);
                    }
                    Output::WsSend {
                        conn,
                        frame: Frame::Text(text),
                    } => self
                        .ws
                        .entry(conn.0)
                        .or_default()
                        .push(String::from_utf8_lossy(&text).into_owned()),
                    _ => {}
                }
            }
        }
    }

    fn http(&mut self, at: Duration, conn: u64, request: &str, body: &[u8]) -> Response {
        self.feed(Input::Http {
            now: self.t0 + at,
            conn: ConnId(conn),
            peer: None,
            head: head(request),
            body: Body::Complete(Bytes::copy_from_slice(body)),
        });
        self.replies.remove(&conn).expect("a reply")
    }

    fn ws_text(&mut self, at: Duration, conn: u64, text: &str) {
        let frame = Frame::Text(Bytes::copy_from_slice(text.as_bytes()));
        self.feed(Input::WsMessage {
            now: self.t0 + at,
            conn: ConnId(conn),
            frame,
        });
    }

    fn json(&mut self, at: Duration, path: &str) -> serde_json::Value {
        let response = self.http(at, 99, &get_request(path), b"");
        assert_eq!(response.status, 200);
        serde_json::from_slice(&response.body).expect("JSON")
    }

    fn metrics(&mut self, at: Duration) -> String {
        let response = self.http(at, 98, &get_request("/metrics"), b"");
        assert_eq!(response.status, 200);
        let content_type = response
            .headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-type"));
        assert_eq!(
            content_type.map(|(_, v)| v.as_str()),
            Some("text/plain; version=0.0.4; charset=utf-8")
        );
        String::from_utf8(response.body.to_vec()).expect("UTF-8")
    }
}

/// The sid in an open packet `0{"sid":…}`.
fn open_sid(packet: &str) -> String {
    let json: serde_json::Value =
        serde_json::from_str(packet.strip_prefix('0').expect("open packet")).expect("JSON");
    json["sid"].as_str().expect("sid").to_owned()
}

/// Opens a websocket client joined to `/` in room `session:s1` at `t0`, and a polling
/// client joined to `/` at `t0 + 1s`; returns their sids.
fn two_clients(bench: &mut Bench) -> (String, String) {
    bench.feed(Input::Http {
        now: bench.t0,
        conn: ConnId(1),
        peer: None,
        head: head(&ws_request("/socket.io/?EIO=4&transport=websocket")),
        body: Body::Complete(Bytes::new()),
    });
    let ws_sid = open_sid(&bench.ws[&1][0]);
    bench.ws_text(ms(10), 1, r#"40{"session":"s1"}"#);

    let open = bench.http(
        secs(1),
        2,
        &get_request("/socket.io/?EIO=4&transport=polling"),
        b"",
    );
    let poll_sid = open_sid(&String::from_utf8_lossy(&open.body));
    let target = format!("/socket.io/?EIO=4&transport=polling&sid={poll_sid}");
    let ok = bench.http(secs(1), 3, &post_request(&target, 2), b"40");
    assert_eq!(ok.status, 200);
    (ws_sid, poll_sid)
}

#[test]
fn connections_lists_each_client_with_transport_namespaces_rooms_and_times() {
    let mut bench = Bench::new();
    let (ws_sid, poll_sid) = two_clients(&mut bench);
    // The first ping goes out at 25 s; the websocket client answers at 26 s.
    bench.feed(Input::Timeout(bench.t0 + secs(25)));
    assert_eq!(bench.ws[&1].last().map(String::as_str), Some("2"));
    bench.ws_text(secs(26), 1, "3");

    let mut list = bench.json(secs(30), "/connections");
    // Each socket is also in the room named by its Socket.IO id, first in order here.
    let rooms = |list: &serde_json::Value, i: usize| list[i]["rooms"]["/"].clone();
    let (ws_rooms, poll_rooms) = (rooms(&list, 0), rooms(&list, 1));
    assert_eq!(ws_rooms.as_array().map(Vec::len), Some(2), "{ws_rooms}");
    assert_eq!(ws_rooms[1], "session:s1");
    assert_eq!(poll_rooms.as_array().map(Vec::len), Some(1), "{poll_rooms}");
    list[0]["rooms"]["/"] = serde_json::json!(["<own>", "session:s1"]);
    list[1]["rooms"]["/"] = serde_json::json!(["<own>"]);
    assert_eq!(
        list,
        serde_json::json!([
            {
                "sid": ws_sid,
                "transport": "websocket",
                "namespaces": ["/"],
                "rooms": {"/": ["<own>", "session:s1"]},
                "connected_at": "2026-11-22T01:02:03.000Z",
                "connected_at_ms": START_MS,
                "queued_bytes": null,
                "congested": false,
                "last_pong": "2026-11-22T01:02:29.000Z",
                "last_pong_ms": START_MS + 26_000,
            },
            {
                "sid": poll_sid,
                "transport": "polling",
                "namespaces": ["/"],
                "rooms": {"/": ["<own>"]},
                "connected_at": "2026-11-22T01:02:04.000Z",
                "connected_at_ms": START_MS + 1_000,
                // The CONNECT reply, the history and the ping wait for the next poll.
                "queued_bytes": list[1]["queued_bytes"].as_u64().filter(|n| *n > 0),
                "congested": false,
                "last_pong": null,
                "last_pong_ms": null,
            }
        ])
    );
}

#[test]
fn metrics_count_sessions_sockets_events_and_what_the_runtime_measured() {
    let mut bench = Bench::new();
    two_clients(&mut bench);
    let event = br#"{"id":"e1","type":"hook","subtype":"stop","session_id":"s1"}"#;
    let request = post_request("/api/events", event.len());
    assert_eq!(bench.http(secs(2), 4, &request, event).status, 204);
    assert_eq!(bench.http(secs(2), 4, &request, event).status, 204);
    let bad = post_request("/api/events", 1);
    assert_eq!(bench.http(secs(2), 4, &bad, b"{").status, 400);
    for (route, status, latency) in [
        (RouteLabel::Events, 204, ms(2)),
        (RouteLabel::Events, 400, Duration::from_micros(80)),
        (RouteLabel::EngineIoPoll, 200, secs(20)),
    ] {
        let measurement = Measurement::Request {
            route,
            status,
            latency,
        };
        bench.feed(Input::Measured {
            now: bench.t0 + secs(3),
            measurement,
        });
    }
    bench.feed(Input::Measured {
        now: bench.t0 + secs(3),
        measurement: Measurement::StoreCommit {
            events: 2,
            latency: ms(4),
            ok: true,
        },
    });

    let text = bench.metrics(secs(4));
    let lines: Vec<&str> = text.lines().collect();
    for expected in [
        "# TYPE iorelay_build_info gauge",
        &format!(
            "iorelay_build_info{{version=\"{}\"}} 1",
            env!("CARGO_PKG_VERSION")
        ),
        "iorelay_uptime_seconds 4",
        "iorelay_sessions{transport=\"polling\"} 1",
        "iorelay_sessions{transport=\"websocket\"} 1",
        "iorelay_sockets{namespace=\"/\"} 2",
        "iorelay_sockets{namespace=\"/tools\"} 0",
        "# TYPE iorelay_events_received_total counter",
        "iorelay_events_received_total 1",
        // The websocket client's subscription (session s1) matches; the polling client's
        // (everything) too.
        "iorelay_events_delivered_total 2",
        "iorelay_events_deduplicated_total 1",
        "iorelay_ingest_rejected_total 1",
        "iorelay_history_events 1",
        "iorelay_store_commit_seconds_bucket{le=\"0.005\"} 1",
        "iorelay_store_commit_seconds_count 1",
        "iorelay_store_committed_events_total 2",
        "iorelay_http_requests_total{route=\"/api/events\",status_class=\"2xx\"} 1",
        "iorelay_http_requests_total{route=\"/api/events\",status_class=\"4xx\"} 1",
        "iorelay_http_requests_total{route=\"engineio_poll\",status_class=\"2xx\"} 1",
        "# TYPE iorelay_http_request_seconds histogram",
        "iorelay_http_request_seconds_bucket{route=\"/api/events\",le=\"0.0001\"} 1",
        "iorelay_http_request_seconds_bucket{route=\"/api/events\",le=\"0.0025\"} 2",
        "iorelay_http_request_seconds_count{route=\"/api/events\"} 2",
        "iorelay_http_request_seconds_bucket{route=\"engineio_poll\",le=\"10\"} 0",
        "iorelay_http_request_seconds_bucket{route=\"engineio_poll\",le=\"+Inf\"} 1",
        "iorelay_http_request_seconds_sum{route=\"engineio_poll\"} 20",
    ] {
        assert!(lines.contains(&expected), "missing {expected:?} in\n{text}");
    }
    assert!(
        !text.contains("iorelay_store_pending_events"),
        "no store, no pending"
    );
}

#[test]
fn metrics_show_the_hooks_breaker_and_spool_once_the_runtime_has_looked() {
    let mut bench = Bench::new();
    assert!(
        !bench.metrics(secs(1)).contains("iorelay_hook_"),
        "not looked yet"
    );
    bench.feed(Input::Measured {
        now: bench.t0 + secs(2),
        measurement: Measurement::HookClient {
            breaker: HookBreaker::Open,
            spooled_bytes: 4096,
        },
    });
    let text = bench.metrics(secs(3));
    let lines: Vec<&str> = text.lines().collect();
    for expected in [
        "# TYPE iorelay_hook_breaker_state gauge",
        "iorelay_hook_breaker_state{state=\"closed\"} 0",
        "iorelay_hook_breaker_state{state=\"open\"} 1",
        "iorelay_hook_breaker_state{state=\"half_open\"} 0",
        "iorelay_hook_breaker_failures 0",
        "iorelay_hook_spool_bytes 4096",
    ] {
        assert!(lines.contains(&expected), "missing {expected:?} in\n{text}");
    }
}

#[test]
fn metrics_and_connections_answer_head_and_refuse_other_methods() {
    let mut bench = Bench::new();
    for path in ["/metrics", "/connections"] {
        let request = format!("HEAD {path} HTTP/1.1\r\nHost: x\r\n\r\n");
        assert_eq!(bench.http(ms(1), 5, &request, b"").status, 200);
        let post = bench.http(ms(1), 5, &post_request(path, 0), b"");
        assert_eq!(post.status, 405);
        assert!(post
            .headers
            .iter()
            .any(|(k, v)| *k == "allow" && v == "GET, HEAD"));
    }
}
