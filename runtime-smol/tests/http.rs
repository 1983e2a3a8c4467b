//! HTTP behaviour of the real binary: routing answers, keep-alive, limits, bad input and the
//! connection deadlines the runtime owns.

mod common;

use std::time::{Duration, Instant};

use common::{Server, CONFORMANCE};

#[test]
fn health_answers_json_with_the_real_port() {
    let server = Server::start(&[]);
    let response = server.get("/health");
    assert_eq!(response.status, 200);
    assert_eq!(response.header("content-type"), Some("application/json"));
    let health = response.json();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["service"], "iorelay");
    assert_eq!(health["port"], u64::from(server.port));
}

#[test]
fn an_unknown_route_is_404_json() {
    let server = Server::start(&[]);
    let response = server.get("/nope");
    assert_eq!(response.status, 404);
    assert_eq!(response.json()["error"], "not found");
}

#[test]
fn a_keep_alive_connection_carries_two_requests() {
    let server = Server::start(&[]);
    let mut client = server.connect();
    let first = client.request("GET", "/health", "");
    let second = client.request("GET", "/nope", "");
    assert_eq!((first.status, second.status), (200, 404));
    assert_eq!(first.header("connection"), Some("keep-alive"));
}

#[test]
fn a_head_request_gets_the_head_only_and_the_connection_stays_usable() {
    let server = Server::start(&[]);
    let mut client = server.connect();
    client.send(b"HEAD /health HTTP/1.1\r\nHost: x\r\n\r\nGET /nope HTTP/1.1\r\nHost: x\r\n\r\n");
    let head = client.response_head_only();
    assert_eq!(head.status, 200);
    assert!(head.header("content-length").is_some());
    let next = client.response();
    assert_eq!(next.status, 404);
}

#[test]
fn connection_close_is_honoured() {
    let server = Server::start(&[]);
    let mut client = server.connect();
    client.send(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let response = client.response();
    assert_eq!(response.header("connection"), Some("close"));
    assert!(client.closed_within(Duration::from_secs(2)));
}

#[test]
fn an_over_large_post_body_is_413_and_closes_the_connection() {
    let server = Server::start(CONFORMANCE);
    let sid = server.handshake();
    let mut client = server.connect();
    let head = format!(
        "POST {} HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n\r\n",
        common::poll_path(&sid)
    );
    client.send(head.as_bytes());
    let response = client.response();
    assert_eq!(response.status, 413);
    assert_eq!(response.header("connection"), Some("close"));
    assert!(client.closed_within(Duration::from_secs(2)));
}

#[test]
fn a_malformed_request_is_400_json_and_closes_the_connection() {
    let server = Server::start(&[]);
    let mut client = server.connect();
    client.send(b"GARBAGE\x01 / HTTP/1.1\r\n\r\n");
    let response = client.response();
    assert_eq!(response.status, 400);
    assert_eq!(response.json()["error"], "malformed_request");
    assert!(client.closed_within(Duration::from_secs(2)));
}

#[test]
fn a_partial_head_is_closed_by_the_header_deadline_even_while_trickling() {
    let server = Server::start_with_env(&[], &[("IORELAY_HEADER_TIMEOUT_MS", "300")]);
    let mut client = server.connect();
    let started = Instant::now();
    client.send(b"GET /health HTTP/1.1\r\n");
    let mut closed = false;
    for _ in 0..30 {
        if client.closed_within(Duration::from_millis(100)) {
            closed = true;
            break;
        }
        let _ = std::io::Write::write_all(&mut client.stream, b"X-Slow: 1\r\n");
    }
    assert!(closed, "still open after 3 s of trickling");
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[test]
fn an_idle_keep_alive_connection_is_closed() {
    let server = Server::start_with_env(&[], &[("IORELAY_IDLE_TIMEOUT_MS", "200")]);
    let mut client = server.connect();
    assert_eq!(client.request("GET", "/health", "").status, 200);
    assert!(client.closed_within(Duration::from_secs(3)));
}
