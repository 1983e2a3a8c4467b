//! HTTP behaviour of the real binary over raw TCP: routes, keep-alive, framing errors, limits
//! and deadlines.

mod support;

use std::time::{Duration, Instant};

use support::{json_number, Server, WAIT};

#[test]
fn health_is_json_and_reports_the_real_port() {
    let server = Server::start(&[]);
    let reply = server.request("GET", "/health", b"");
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    let text = reply.text();
    assert!(text.contains("\"status\":\"ok\""), "{text}");
    assert_eq!(json_number(&text, "port"), Some(u64::from(server.port)));
}

#[test]
fn an_unknown_route_is_a_json_404() {
    let server = Server::start(&[]);
    let reply = server.request("GET", "/no-such-route", b"");
    assert_eq!(reply.status, 404);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert!(reply.text().contains("\"error\""), "{}", reply.text());
}

#[test]
fn a_keep_alive_connection_carries_several_requests_and_head_gets_no_body() {
    let server = Server::start(&[]);
    let mut client = server.connect();
    let first = client.request("GET", "/health", b"");
    assert_eq!(
        (first.status, first.header("connection")),
        (200, Some("keep-alive"))
    );
    let head = client.request("HEAD", "/health", b"");
    assert_eq!(head.status, 200);
    assert!(head.header("content-length").is_some());
    let third = client.request("GET", "/no-such-route", b"");
    assert_eq!(third.status, 404, "the HEAD reply wrote no body bytes");
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let server = Server::start(&[]);
    let mut client = server.connect();
    client.send(b"GET /health HTTP/1.1\r\n\r\nGET /no-such-route HTTP/1.1\r\n\r\n");
    assert_eq!(client.read_reply(false).status, 200);
    assert_eq!(client.read_reply(false).status, 404);
}

#[test]
fn connection_close_is_honoured() {
    let server = Server::start(&[]);
    let mut client = server.connect();
    client.send(b"GET /health HTTP/1.1\r\nConnection: close\r\n\r\n");
    let reply = client.read_reply(false);
    assert_eq!(
        (reply.status, reply.header("connection")),
        (200, Some("close"))
    );
    client.expect_closed(WAIT);
}

#[test]
fn a_malformed_request_gets_a_json_400_and_the_connection_closes() {
    let server = Server::start(&[]);
    let mut client = server.connect();
    client.send(b"GET /health HTTP/1.1\r\nthis is not a header\r\n\r\n");
    let reply = client.read_reply(false);
    assert_eq!(reply.status, 400);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!(reply.header("connection"), Some("close"));
    assert!(reply.text().contains("\"error\""), "{}", reply.text());
    client.expect_closed(WAIT);
}

#[test]
fn an_over_large_post_body_gets_413_and_the_connection_closes() {
    let server = Server::start(&["--max-payload", "1000"]);
    let sid = server.handshake();
    let mut client = server.connect();
    let path = format!("/socket.io/?EIO=4&transport=polling&sid={sid}");
    let reply = client.request("POST", &path, &[b'4'; 5000]);
    assert_eq!(reply.status, 413);
    assert_eq!(reply.header("connection"), Some("close"));
    client.expect_closed(WAIT);
}

#[test]
fn a_partial_head_is_closed_at_the_header_deadline() {
    let server = Server::start_with_env(&[], &[("IORELAY_HEADER_TIMEOUT_MS", "300")]);
    let mut client = server.connect();
    let started = Instant::now();
    client.send(b"GET /health HT");
    client.expect_closed(WAIT);
    assert!(started.elapsed() >= Duration::from_millis(250));
}

#[test]
fn an_idle_keep_alive_connection_is_closed_at_the_idle_deadline() {
    let server = Server::start_with_env(&[], &[("IORELAY_IDLE_TIMEOUT_MS", "300")]);
    let mut client = server.connect();
    assert_eq!(client.request("GET", "/health", b"").status, 200);
    let answered = Instant::now();
    client.expect_closed(WAIT);
    assert!(answered.elapsed() >= Duration::from_millis(250));
}
