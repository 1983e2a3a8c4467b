//! Protection, on virtual time: the token on relay routes (401) and on Socket.IO CONNECT
//! (CONNECT_ERROR), browser origins refused (403) on relay routes and Engine.IO requests, the
//! ingest rate limit (429 with `Retry-After`, refilled by time), and the counters `/metrics`
//! shows for each.

mod support;

use std::net::{IpAddr, Ipv4Addr};

use bytes::Bytes;
use iorelay_core::relay::admission::Refusal;
use iorelay_core::relay::measure::Measurement;
use iorelay_core::relay::protection::RateLimit;
use iorelay_core::{Body, Config, ConnId, Input, Relay};
use serde_json::{json, Value};
use support::{secs, show_frame, ws_request, Drained, Harness};

const TOKEN: &str = "s3cret-token";
const HOOK: &str = r#"{"type":"hook","subtype":"stop"}"#;

fn relay_with(edit: impl FnOnce(&mut Config)) -> Harness<Relay> {
    let mut config = Config::default();
    edit(&mut config);
    Harness::relay(config)
}

fn with_token() -> Harness<Relay> {
    relay_with(|c| c.relay.protection.token = Some(TOKEN.to_owned()))
}

/// A request with extra header lines (each ending in `\r\n`) and a body.
fn request(
    h: &mut Harness<Relay>,
    conn: u64,
    method: &str,
    target: &str,
    headers: &str,
    body: &str,
) -> Drained {
    let raw = format!(
        "{method} {target} HTTP/1.1\r\nHost: localhost\r\n{headers}Content-Length: {}\r\n\r\n",
        body.len()
    );
    h.http(
        conn,
        &raw,
        Body::Complete(Bytes::copy_from_slice(body.as_bytes())),
    )
}

/// A POST of `body` from `peer`.
fn post_from(h: &mut Harness<Relay>, conn: u64, peer: IpAddr, body: &str) -> Drained {
    let raw = format!(
        "POST /api/events HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    h.input(Input::Http {
        now: h.now,
        conn: ConnId(conn),
        peer: Some(peer),
        head: support::head(&raw),
        body: Body::Complete(Bytes::copy_from_slice(body.as_bytes())),
    })
}

fn error_of(drained: &Drained, conn: u64) -> (u16, Value) {
    let (status, body) = drained.status_and_body(conn);
    (status, serde_json::from_str(&body).unwrap_or(Value::Null))
}

fn header<'a>(drained: &'a Drained, conn: u64, name: &str) -> Option<&'a str> {
    drained
        .reply(conn)
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// The value of the `/metrics` sample `series` (name with labels, as written).
fn metric(h: &mut Harness<Relay>, conn: u64, series: &str) -> f64 {
    let auth = h
        .engine
        .engine()
        .config()
        .connect_token
        .clone()
        .map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    let drained = request(h, conn, "GET", "/metrics", &auth, "");
    let (status, text) = drained.status_and_body(conn);
    assert_eq!(status, 200, "{text}");
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no {series} in\n{text}"))
        .parse()
        .unwrap()
}

#[test]
fn with_a_token_ingest_without_it_is_401_with_a_bearer_challenge_and_nothing_is_accepted() {
    let mut h = with_token();
    let drained = request(&mut h, 1, "POST", "/api/events", "", HOOK);
    assert_eq!(
        error_of(&drained, 1),
        (
            401,
            json!({"error": "unauthorized",
                   "detail": "this relay requires `Authorization: Bearer <token>` (IORELAY_TOKEN)"})
        )
    );
    assert_eq!(
        header(&drained, 1, "www-authenticate"),
        Some("Bearer realm=\"iorelay\"")
    );
    let wrong = request(
        &mut h,
        2,
        "POST",
        "/api/hooks",
        "Authorization: Bearer nope\r\n",
        HOOK,
    );
    assert_eq!(
        error_of(&wrong, 2).1["detail"],
        "the bearer token is not the relay's (IORELAY_TOKEN)"
    );
    assert_eq!(h.engine.stats().events_in, 0);
    let right = format!("Authorization: Bearer {TOKEN}\r\n");
    let ok = request(&mut h, 3, "POST", "/api/events", &right, HOOK);
    assert_eq!(ok.status_and_body(3), (204, String::new()));
    assert_eq!(h.engine.stats().events_in, 1);
    assert_eq!(
        metric(&mut h, 4, "iorelay_unauthorized_total{surface=\"http\"}"),
        2.0
    );
}

#[test]
fn with_a_token_every_route_but_health_and_the_dashboard_needs_it() {
    let mut h = with_token();
    let routes = [
        ("GET", "/metrics"),
        ("GET", "/connections"),
        ("GET", "/api/history"),
        ("POST", "/api/shutdown"),
    ];
    for (i, (method, path)) in routes.into_iter().enumerate() {
        let conn = i as u64 + 1;
        let drained = request(&mut h, conn, method, path, "", "");
        assert_eq!(drained.reply(conn).status, 401, "{method} {path}");
    }
    let health = request(&mut h, 10, "GET", "/health", "", "");
    assert_eq!(health.reply(10).status, 200);
    // The page loads without the token, then asks the user for it.
    for (conn, path) in [(12, "/"), (13, "/assets/config.json")] {
        let page = request(&mut h, conn, "GET", path, "", "");
        assert_eq!(page.reply(conn).status, 200, "{path}");
    }
    let right = format!("Authorization: bearer {TOKEN}\r\n");
    let history = request(&mut h, 11, "GET", "/api/history", &right, "");
    assert_eq!(history.reply(11).status, 200);
}

#[test]
fn without_a_token_nothing_asks_for_one() {
    let mut h = support::relay::relay();
    let drained = request(&mut h, 1, "POST", "/api/events", "", HOOK);
    assert_eq!(drained.reply(1).status, 204);
    assert!(h
        .dashboard(2, "/", "")
        .iter()
        .any(|g| g.name == "event_history"));
}

#[test]
fn with_a_token_a_connect_without_it_gets_connect_error_unauthorized_and_may_retry() {
    let mut h = with_token();
    h.open_websocket(1);
    let refused = h.ws_text(1, "40");
    assert_eq!(
        refused
            .ws_frames(1)
            .iter()
            .map(show_frame)
            .collect::<Vec<_>>(),
        vec![r#"44{"message":"unauthorized"}"#]
    );
    assert!(refused.connected_socket().is_none());
    let wrong = h.ws_text(1, r#"40{"token":"s3cret-tokeN"}"#);
    assert_eq!(wrong.ws_sent(1), vec![r#"44{"message":"unauthorized"}"#]);
    let not_a_string = h.ws_text(1, r#"40{"token":7}"#);
    assert_eq!(
        not_a_string.ws_sent(1),
        vec![r#"44{"message":"unauthorized"}"#]
    );
    // The same session connects once it presents the token.
    let accepted = h.ws_text(1, &format!(r#"40{{"token":"{TOKEN}"}}"#));
    assert!(accepted.connected_socket().is_some());
    assert_eq!(h.engine.engine().refusals().unauthorized_connects, 3);
    assert_eq!(
        metric(
            &mut h,
            2,
            "iorelay_unauthorized_total{surface=\"socketio\"}"
        ),
        3.0
    );
}

#[test]
fn a_typed_namespace_needs_the_token_too() {
    let mut h = with_token();
    h.open_websocket(1);
    let refused = h.ws_text(1, "40/tools,");
    assert_eq!(
        refused.ws_sent(1),
        vec![r#"44/tools,{"message":"unauthorized"}"#]
    );
    let got = h.dashboard(2, "/tools", &format!(r#"{{"token":"{TOKEN}"}}"#));
    assert!(got.is_empty() || got.iter().all(|g| g.nsp == "/tools"));
}

#[test]
fn a_foreign_origin_is_refused_403_on_relay_routes_with_no_cors_headers() {
    let mut h = support::relay::relay();
    let evil = "Origin: https://evil.example\r\n";
    let drained = request(&mut h, 1, "POST", "/api/events", evil, HOOK);
    assert_eq!(
        error_of(&drained, 1),
        (
            403,
            json!({"error": "origin not allowed",
                   "detail": "origin https://evil.example is not allowed by the CORS policy"})
        )
    );
    assert_eq!(header(&drained, 1, "access-control-allow-origin"), None);
    assert_eq!(h.engine.stats().events_in, 0);
    let local = request(
        &mut h,
        2,
        "POST",
        "/api/events",
        "Origin: http://localhost:5173\r\n",
        HOOK,
    );
    assert_eq!(local.reply(2).status, 204);
    assert_eq!(
        header(&local, 2, "access-control-allow-origin"),
        Some("http://localhost:5173")
    );
    assert_eq!(
        metric(&mut h, 3, "iorelay_origin_refused_total{surface=\"http\"}"),
        1.0
    );
}

#[test]
fn a_foreign_origin_cannot_open_a_websocket_or_a_polling_session() {
    let mut h = support::relay::relay();
    let upgrade = ws_request(&support::sio("transport=websocket"))
        .replace("\r\n\r\n", "\r\nOrigin: https://evil.example\r\n\r\n");
    let drained = h.http(1, &upgrade, Body::Complete(Bytes::new()));
    assert_eq!(
        drained.status_and_body(1),
        (403, r#"{"code":4,"message":"Forbidden"}"#.to_owned())
    );
    assert!(drained.opened_session().is_none());
    let handshake = request(
        &mut h,
        2,
        "GET",
        &support::sio("transport=polling"),
        "Origin: http://127.0.0.1.evil.example:80\r\n",
        "",
    );
    assert_eq!(handshake.reply(2).status, 403);
    let allowed = request(
        &mut h,
        3,
        "GET",
        &support::sio("transport=polling"),
        "Origin: http://127.0.0.1:8080\r\n",
        "",
    );
    assert!(allowed.opened_session().is_some());
    assert_eq!(h.engine.engine().refusals().forbidden_origins, 2);
}

#[test]
fn loopback_peers_are_exempt_from_the_rate_limit_unless_capped() {
    let tight = |cap_loopback| {
        relay_with(move |c| {
            c.relay.protection.rate_limit = RateLimit {
                burst: 1,
                per_second: 1,
            };
            c.relay.protection.cap_loopback = cap_loopback;
        })
    };
    let local = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let two = r#"[{"id":"a"},{"id":"b"}]"#;
    let mut exempt = tight(false);
    assert_eq!(post_from(&mut exempt, 1, local, two).reply(1).status, 202);
    assert_eq!(post_from(&mut exempt, 2, local, two).reply(2).status, 202);
    let mut capped = tight(true);
    assert_eq!(post_from(&mut capped, 1, local, two).reply(1).status, 202);
    assert_eq!(post_from(&mut capped, 2, local, two).reply(2).status, 429);
}

#[test]
fn over_the_rate_limit_ingest_is_429_with_retry_after_and_refills_with_time() {
    let mut h = relay_with(|c| {
        c.relay.protection.rate_limit = RateLimit {
            burst: 3,
            per_second: 1,
        };
    });
    let peer = IpAddr::V4(Ipv4Addr::new(10, 1, 2, 3));
    let three = r#"[{"id":"a"},{"id":"b"},{"id":"c"}]"#;
    assert_eq!(post_from(&mut h, 1, peer, three).reply(1).status, 202);
    let refused = post_from(&mut h, 2, peer, r#"[{"id":"d"},{"id":"e"}]"#);
    assert_eq!(
        error_of(&refused, 2),
        (
            429,
            json!({"error": "rate limited",
                   "detail": "too many events from this address; retry in 2 s"})
        )
    );
    assert_eq!(header(&refused, 2, "retry-after"), Some("2"));
    assert_eq!(h.engine.stats().events_in, 3);
    // Another address has its own bucket.
    let other = IpAddr::V4(Ipv4Addr::new(10, 1, 2, 4));
    assert_eq!(post_from(&mut h, 3, other, HOOK).reply(3).status, 204);
    // One second refills one event: not yet two.
    h.set_time(secs(1));
    assert_eq!(
        post_from(&mut h, 4, peer, r#"[{"id":"d"},{"id":"e"}]"#)
            .reply(4)
            .status,
        429
    );
    h.set_time(secs(2));
    let later = post_from(&mut h, 5, peer, r#"[{"id":"d"},{"id":"e"}]"#);
    assert_eq!(later.reply(5).status, 202);
    assert_eq!(h.engine.stats().events_in, 6);
    assert_eq!(metric(&mut h, 6, "iorelay_ingest_rate_limited_total"), 2.0);
    assert_eq!(
        metric(&mut h, 7, "iorelay_ingest_rate_limited_events_total"),
        4.0
    );
}

#[test]
fn the_default_limit_accepts_a_burst_of_ten_thousand_events_from_one_local_client() {
    let mut h = support::relay::relay();
    let local = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let batch: Vec<Value> = (0..1000)
        .map(|i| json!({"type": "hook", "subtype": "stop", "id": format!("e{i}")}))
        .collect();
    for round in 0..10u64 {
        let body: Vec<Value> = batch
            .iter()
            .map(|e| {
                json!({"type": "hook", "subtype": "stop",
                            "id": format!("{}-{round}", e["id"].as_str().unwrap())})
            })
            .collect();
        let drained = post_from(&mut h, round + 1, local, &Value::from(body).to_string());
        assert_eq!(drained.reply(round + 1).status, 202, "round {round}");
    }
    assert_eq!(h.engine.stats().events_in, 10_000);
    assert_eq!(metric(&mut h, 20, "iorelay_ingest_rate_limited_total"), 0.0);
}

#[test]
fn connections_the_runtime_refused_are_counted_by_reason() {
    let mut h = support::relay::relay();
    for reason in [
        Refusal::TooManyFromAddress,
        Refusal::TooManyFromAddress,
        Refusal::TooManyConnections,
    ] {
        h.input(Input::Measured {
            now: h.now,
            measurement: Measurement::ConnectionRefused { reason },
        });
    }
    assert_eq!(
        metric(
            &mut h,
            1,
            "iorelay_connections_refused_total{reason=\"max_connections_per_ip\"}"
        ),
        2.0
    );
    assert_eq!(
        metric(
            &mut h,
            2,
            "iorelay_connections_refused_total{reason=\"max_connections\"}"
        ),
        1.0
    );
}

#[test]
fn conformance_mode_asks_for_no_token_and_allows_any_origin() {
    let mut config = Config::conformance();
    config.relay.protection.token = Some(TOKEN.to_owned());
    let mut h = Harness::relay(config);
    h.open_websocket(1);
    assert!(h.ws_text(1, "40").connected_socket().is_some());
    let upgrade = ws_request(&support::sio("transport=websocket"))
        .replace("\r\n\r\n", "\r\nOrigin: https://evil.example\r\n\r\n");
    let drained = h.http(2, &upgrade, Body::Complete(Bytes::new()));
    assert!(drained.opened_session().is_some());
}

#[test]
fn without_the_token_an_api_request_may_send_no_body_and_gets_401_not_413() {
    let mut h = with_token();
    let post = |auth: &str| {
        support::head(&format!(
            "POST /api/events HTTP/1.1\r\nHost: x\r\n{auth}Content-Length: 10\r\n\r\n"
        ))
    };
    assert_eq!(h.engine.body_limit(&post("")), 0);
    assert_eq!(
        h.engine
            .body_limit(&post("Authorization: Bearer wrong\r\n")),
        0
    );
    let authorized = format!("Authorization: Bearer {TOKEN}\r\n");
    assert_eq!(h.engine.body_limit(&post(&authorized)), 16 * 1024 * 1024);
    let health = support::head("GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\n\r\n");
    assert_eq!(
        h.engine.body_limit(&health),
        1_000_000,
        "Engine.IO keeps its limit"
    );
    let refused = h.input(Input::Http {
        now: h.now,
        conn: ConnId(1),
        head: post(""),
        body: Body::TooLarge,
        peer: None,
    });
    assert_eq!(refused.reply(1).status, 401);
}
