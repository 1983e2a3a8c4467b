//! Behaviours of a runtime binary as a process on real sockets, written once and run against
//! both `iorelay` (smol) and `iorelay-std`: HTTP framing, limits and connection deadlines, the
//! websocket transport's frames, signals, the exit status and the command line.
//!
//! Protocol behaviours that also hold in the simulator live in [`crate::scenarios`]; these are
//! the ones only a runtime owns. Each starts its own server with the flags and environment it
//! needs.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tungstenite::protocol::frame::coding::{Data, OpCode};
use tungstenite::protocol::frame::Frame;
use tungstenite::Message;

use crate::process::{poll_path, wait_exit, ws_send, ws_text, RuntimeUnderTest, CONFORMANCE, WAIT};

/// One runtime behaviour.
pub type RuntimeScenario = fn(&RuntimeUnderTest);

/// Every runtime behaviour, by name.
#[must_use]
pub fn all() -> Vec<(&'static str, RuntimeScenario)> {
    named![RuntimeScenario;
        health_is_json_with_the_real_port,
        an_unknown_route_is_a_json_404,
        a_keep_alive_connection_carries_several_requests_and_head_gets_no_body,
        a_head_request_pipelined_with_a_get_leaves_the_connection_usable,
        pipelined_requests_are_answered_in_order,
        connection_close_is_honoured,
        a_malformed_header_line_gets_a_json_400_and_the_connection_closes,
        a_malformed_request_line_gets_a_json_400_and_the_connection_closes,
        an_over_large_post_body_gets_413_and_the_connection_closes,
        a_post_declaring_an_over_large_body_gets_413_before_sending_it,
        a_partial_head_is_closed_at_the_header_deadline,
        a_trickling_head_is_closed_at_the_header_deadline,
        an_idle_keep_alive_connection_is_closed_at_the_idle_deadline,
        a_held_poll_outlives_the_connection_deadlines_and_is_released_by_data,
        an_aborted_held_poll_closes_the_session,
        polling_handshake_connect_and_event_round_trip,
        websocket_handshake_connect_and_event_round_trip,
        a_fragmented_websocket_message_is_reassembled,
        a_websocket_ping_frame_is_answered_with_a_pong,
        an_idle_websocket_holds_no_more_than_one_thread_and_still_gets_messages,
        a_websocket_message_over_max_payload_closes_with_1009,
        websocket_bytes_sent_with_the_upgrade_request_are_not_lost,
        many_websocket_messages_queued_together_all_arrive_in_order,
        sigterm_closes_websockets_with_1001_and_exits_zero,
        sigterm_answers_a_held_poll_with_503_and_exits_zero,
        sigterm_on_an_idle_server_exits_zero,
        a_busy_port_is_exit_1_naming_the_relay_that_holds_it,
        help_exits_zero_and_names_the_binary,
        a_websocket_client_that_never_reads_is_cut_off_at_the_outbound_queue_cap,
    ]
}

fn health_is_json_with_the_real_port(rt: &RuntimeUnderTest) {
    let server = rt.start(&[]);
    let response = server.get("/health");
    assert_eq!(response.status, 200);
    assert_eq!(response.header("content-type"), Some("application/json"));
    let health = response.json();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["service"], "iorelay");
    assert_eq!(health["port"], u64::from(server.port));
}

fn an_unknown_route_is_a_json_404(rt: &RuntimeUnderTest) {
    let server = rt.start(&[]);
    let response = server.get("/no-such-route");
    assert_eq!(response.status, 404);
    assert_eq!(response.header("content-type"), Some("application/json"));
    assert_eq!(response.json()["error"], "not found");
}

fn a_keep_alive_connection_carries_several_requests_and_head_gets_no_body(rt: &RuntimeUnderTest) {
    let server = rt.start(&[]);
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

fn a_head_request_pipelined_with_a_get_leaves_the_connection_usable(rt: &RuntimeUnderTest) {
    let server = rt.start(&[]);
    let mut client = server.connect();
    client.send(b"HEAD /health HTTP/1.1\r\nHost: x\r\n\r\nGET /nope HTTP/1.1\r\nHost: x\r\n\r\n");
    let head = client.response_head_only();
    assert_eq!(head.status, 200);
    assert!(head.header("content-length").is_some());
    assert_eq!(client.response().status, 404);
}

fn pipelined_requests_are_answered_in_order(rt: &RuntimeUnderTest) {
    let server = rt.start(&[]);
    let mut client = server.connect();
    client.send(b"GET /health HTTP/1.1\r\n\r\nGET /no-such-route HTTP/1.1\r\n\r\n");
    assert_eq!(client.response().status, 200);
    assert_eq!(client.response().status, 404);
}

fn connection_close_is_honoured(rt: &RuntimeUnderTest) {
    let server = rt.start(&[]);
    let mut client = server.connect();
    client.send(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let response = client.response();
    assert_eq!(
        (response.status, response.header("connection")),
        (200, Some("close"))
    );
    assert!(client.closed_within(Duration::from_secs(2)));
}

fn a_malformed_header_line_gets_a_json_400_and_the_connection_closes(rt: &RuntimeUnderTest) {
    malformed_request_is_refused(rt, b"GET /health HTTP/1.1\r\nthis is not a header\r\n\r\n");
}

fn a_malformed_request_line_gets_a_json_400_and_the_connection_closes(rt: &RuntimeUnderTest) {
    malformed_request_is_refused(rt, b"GARBAGE\x01 / HTTP/1.1\r\n\r\n");
}

/// `request` gets a JSON 400 `malformed_request` with `Connection: close`, then the close.
fn malformed_request_is_refused(rt: &RuntimeUnderTest, request: &[u8]) {
    let server = rt.start(&[]);
    let mut client = server.connect();
    client.send(request);
    let response = client.response();
    assert_eq!(response.status, 400);
    assert_eq!(response.header("content-type"), Some("application/json"));
    assert_eq!(response.header("connection"), Some("close"));
    assert_eq!(response.json()["error"], "malformed_request");
    assert!(client.closed_within(Duration::from_secs(2)));
}

fn an_over_large_post_body_gets_413_and_the_connection_closes(rt: &RuntimeUnderTest) {
    let server = rt.start(&["--max-payload", "1000"]);
    let sid = server.handshake();
    let mut client = server.connect();
    let mut raw = format!(
        "POST {} HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain;charset=UTF-8\r\nContent-Length: 5000\r\n\r\n",
        poll_path(&sid)
    )
    .into_bytes();
    raw.extend_from_slice(&[b'4'; 5000]);
    // The server may refuse the body and close before reading all of it.
    client.try_send(&raw);
    let response = client.response();
    assert_eq!(response.status, 413);
    assert_eq!(response.header("connection"), Some("close"));
    assert!(client.closed_within(Duration::from_secs(2)));
}

fn a_post_declaring_an_over_large_body_gets_413_before_sending_it(rt: &RuntimeUnderTest) {
    let server = rt.start(CONFORMANCE);
    let sid = server.handshake();
    let mut client = server.connect();
    let head = format!(
        "POST {} HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n\r\n",
        poll_path(&sid)
    );
    client.send(head.as_bytes());
    let response = client.response();
    assert_eq!(response.status, 413);
    assert_eq!(response.header("connection"), Some("close"));
    assert!(client.closed_within(Duration::from_secs(2)));
}

fn a_partial_head_is_closed_at_the_header_deadline(rt: &RuntimeUnderTest) {
    let server = rt.start_with_env(&[], &[("IORELAY_HEADER_TIMEOUT_MS", "300")]);
    let mut client = server.connect();
    let started = Instant::now();
    client.send(b"GET /health HT");
    assert!(client.closed_within(WAIT));
    assert!(started.elapsed() >= Duration::from_millis(250));
}

fn a_trickling_head_is_closed_at_the_header_deadline(rt: &RuntimeUnderTest) {
    let server = rt.start_with_env(&[], &[("IORELAY_HEADER_TIMEOUT_MS", "300")]);
    let mut client = server.connect();
    let started = Instant::now();
    client.send(b"GET /health HTTP/1.1\r\n");
    let mut closed = false;
    for _ in 0..30 {
        if client.closed_within(Duration::from_millis(100)) {
            closed = true;
            break;
        }
        client.try_send(b"X-Slow: 1\r\n");
    }
    assert!(closed, "still open after 3 s of trickling");
    assert!(started.elapsed() < Duration::from_secs(2));
}

fn an_idle_keep_alive_connection_is_closed_at_the_idle_deadline(rt: &RuntimeUnderTest) {
    let server = rt.start_with_env(&[], &[("IORELAY_IDLE_TIMEOUT_MS", "300")]);
    let mut client = server.connect();
    assert_eq!(client.request("GET", "/health", b"").status, 200);
    let answered = Instant::now();
    assert!(client.closed_within(Duration::from_secs(3)));
    assert!(answered.elapsed() >= Duration::from_millis(250));
}

fn a_held_poll_outlives_the_connection_deadlines_and_is_released_by_data(rt: &RuntimeUnderTest) {
    let server = rt.start_with_env(
        &[],
        &[
            ("IORELAY_IDLE_TIMEOUT_MS", "200"),
            ("IORELAY_HEADER_TIMEOUT_MS", "200"),
        ],
    );
    let sid = server.handshake();
    let mut held = server.connect();
    held.send_request("GET", &poll_path(&sid), b"");
    assert!(
        !held.closed_within(Duration::from_millis(600)),
        "the poll is held past both deadlines"
    );
    server.post(&sid, "40");
    let released = held.response();
    assert_eq!(released.status, 200);
    assert!(
        released.text().starts_with("40{\"sid\":"),
        "{}",
        released.text()
    );
}

fn an_aborted_held_poll_closes_the_session(rt: &RuntimeUnderTest) {
    let server = rt.start(CONFORMANCE);
    let sid = server.connected_session();
    let mut held = server.connect();
    held.send_request("GET", &poll_path(&sid), b"");
    drop(held);
    server.await_sessions(0);
    let response = server.get(&poll_path(&sid));
    assert_eq!(response.status, 400);
    assert_eq!(response.json()["code"], 1);
}

fn polling_handshake_connect_and_event_round_trip(rt: &RuntimeUnderTest) {
    let server = rt.start(CONFORMANCE);
    let sid = server.connected_session();
    server.post(&sid, "42[\"message\",1]");
    assert_eq!(server.poll(&sid), ["42[\"message-back\",1]"]);
}

fn websocket_handshake_connect_and_event_round_trip(rt: &RuntimeUnderTest) {
    let server = rt.start(CONFORMANCE);
    let mut ws = server.websocket("");
    let open = ws_text(&mut ws);
    assert!(open.starts_with("0{\"sid\":"), "{open}");
    assert!(open.contains("\"upgrades\":[]"), "{open}");
    ws_send(&mut ws, "40");
    let connected = ws_text(&mut ws);
    assert!(connected.starts_with("40{\"sid\":"), "{connected}");
    assert_eq!(ws_text(&mut ws), "42[\"auth\",{}]");
    ws_send(&mut ws, "42[\"message\",1]");
    assert_eq!(ws_text(&mut ws), "42[\"message-back\",1]");
}

fn a_fragmented_websocket_message_is_reassembled(rt: &RuntimeUnderTest) {
    let server = rt.start(CONFORMANCE);
    let mut ws = server.connected_websocket();
    let first = Frame::message(&b"42[\"mess"[..], OpCode::Data(Data::Text), false);
    let rest = Frame::message(&b"age\",7]"[..], OpCode::Data(Data::Continue), true);
    ws.write(Message::Frame(first)).expect("first fragment");
    ws.write(Message::Frame(rest)).expect("last fragment");
    ws.flush().expect("flush");
    assert_eq!(ws_text(&mut ws), "42[\"message-back\",7]");
}

fn a_websocket_ping_frame_is_answered_with_a_pong(rt: &RuntimeUnderTest) {
    let server = rt.start(CONFORMANCE);
    let mut ws = server.websocket("");
    ws_text(&mut ws);
    ws.send(Message::Ping(b"hi"[..].into())).expect("ping");
    match ws.read().expect("a frame") {
        Message::Pong(data) => assert_eq!(&data[..], b"hi"),
        other => panic!("expected a pong, got {other:?}"),
    }
}

/// iorelay-std's writer thread ends after an idle second and is started again by the next
/// thing to write; the smol runtime adds no thread per connection at all.
fn an_idle_websocket_holds_no_more_than_one_thread_and_still_gets_messages(rt: &RuntimeUnderTest) {
    let server = rt.start(CONFORMANCE);
    let resting = threads(server.pid());
    let mut ws = server.connected_websocket();
    let deadline = Instant::now() + WAIT;
    while threads(server.pid()) > resting + 1 {
        assert!(
            Instant::now() < deadline,
            "{} threads for one idle websocket",
            threads(server.pid()) - resting
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    ws_send(&mut ws, "42[\"message\",2]");
    assert_eq!(ws_text(&mut ws), "42[\"message-back\",2]");
    ws.send(Message::Ping(b"again"[..].into())).expect("ping");
    match ws.read().expect("a frame") {
        Message::Pong(data) => assert_eq!(&data[..], b"again"),
        other => panic!("expected a pong, got {other:?}"),
    }
}

/// The process's thread count (`/proc/<pid>/status`).
fn threads(pid: u32) -> usize {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("process status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("Threads:"))
        .and_then(|n| n.trim().parse().ok())
        .expect("a Threads line")
}

fn a_websocket_message_over_max_payload_closes_with_1009(rt: &RuntimeUnderTest) {
    let mut flags = CONFORMANCE.to_vec();
    flags.extend(["--max-payload", "100"]);
    let server = rt.start(&flags);
    let mut ws = server.websocket("");
    ws_text(&mut ws);
    ws_send(&mut ws, &"4".repeat(200));
    assert_eq!(close_code(&mut ws), Some(1009));
}

fn websocket_bytes_sent_with_the_upgrade_request_are_not_lost(rt: &RuntimeUnderTest) {
    let server = rt.start(&[]);
    let mut client = server.connect();
    let mut raw = b"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: test\r\n\
        Upgrade: websocket\r\nConnection: Upgrade\r\n\
        Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        .to_vec();
    // A masked text frame "40" (mask 0), in the same write as the request.
    raw.extend_from_slice(&[0x81, 0x82, 0, 0, 0, 0, b'4', b'0']);
    client.send(&raw);
    let response = client.response();
    assert_eq!(response.status, 101);
    let mut texts = Vec::new();
    for _ in 0..2 {
        let head = client.read_bytes(2);
        assert_eq!(head[0], 0x81, "an unmasked final text frame");
        let len = usize::from(head[1]);
        assert!(len < 126);
        texts.push(String::from_utf8(client.read_bytes(len)).expect("UTF-8 text"));
    }
    assert!(texts[0].starts_with("0{\"sid\":"), "{texts:?}");
    assert!(texts[1].starts_with("40{\"sid\":"), "{texts:?}");
}

fn many_websocket_messages_queued_together_all_arrive_in_order(rt: &RuntimeUnderTest) {
    let server = rt.start(CONFORMANCE);
    let mut ws = server.connected_websocket();
    for i in 0..200 {
        ws.write(Message::text(format!("42[\"message\",{i}]")))
            .expect("queue a message");
    }
    ws.flush().expect("flush");
    for i in 0..200 {
        assert_eq!(ws_text(&mut ws), format!("42[\"message-back\",{i}]"));
    }
}

fn sigterm_closes_websockets_with_1001_and_exits_zero(rt: &RuntimeUnderTest) {
    let mut server = rt.start(CONFORMANCE);
    let mut ws = server.connected_websocket();
    server.terminate();
    assert_eq!(close_code(&mut ws), Some(1001));
    assert_eq!(server.wait_exit(WAIT).code(), Some(0));
}

fn sigterm_answers_a_held_poll_with_503_and_exits_zero(rt: &RuntimeUnderTest) {
    let mut server = rt.start(CONFORMANCE);
    let sid = server.connected_session();
    let mut held = server.connect();
    held.send_request("GET", &poll_path(&sid), b"");
    assert!(
        !held.closed_within(Duration::from_millis(200)),
        "the poll is held"
    );
    server.terminate();
    // 503 with a JSON reason: clients treat it as a transport error and reconnect.
    let response = held.response();
    assert_eq!(
        (response.status, response.text().as_str()),
        (
            503,
            r#"{"error":"shutting down","detail":"the server is shutting down"}"#
        )
    );
    assert_eq!(server.wait_exit(WAIT).code(), Some(0));
}

fn sigterm_on_an_idle_server_exits_zero(rt: &RuntimeUnderTest) {
    let mut server = rt.start(&[]);
    let _idle = server.connect();
    server.terminate();
    assert_eq!(server.wait_exit(WAIT).code(), Some(0));
}

fn a_busy_port_is_exit_1_naming_the_relay_that_holds_it(rt: &RuntimeUnderTest) {
    let server = rt.start(&[]);
    let mut second = Command::new(rt.binary())
        .args(["serve", "--port", &server.port.to_string()])
        .env_remove("IORELAY_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start a second server");
    let status = wait_exit(&mut second, WAIT);
    let (stdout, stderr) = read_output(&mut second);
    assert_eq!(status.code(), Some(1));
    let (port, pid) = (server.port, server.get("/health").json()["pid"].clone());
    let holder = format!("port {port} is already used by iorelay ");
    let hint = format!("; stop it with `{} stop --port {port}`", rt.name);
    assert!(
        stderr.contains(&holder)
            && stderr.contains(&format!("(pid {pid}, up "))
            && stderr.contains(&hint),
        "{stderr}"
    );
    assert_eq!(stdout, "");
}

fn help_exits_zero_and_names_the_binary(rt: &RuntimeUnderTest) {
    let mut help = Command::new(rt.binary())
        .arg("--help")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run --help");
    let status = wait_exit(&mut help, WAIT);
    let (stdout, _) = read_output(&mut help);
    assert_eq!(status.code(), Some(0));
    assert!(stdout.contains(rt.name), "{stdout}");
}

/// Everything an exited child wrote to its piped stdout and stderr.
fn read_output(child: &mut std::process::Child) -> (String, String) {
    let mut stdout = String::new();
    let mut stderr = String::new();
    if let Some(mut out) = child.stdout.take() {
        out.read_to_string(&mut stdout).expect("read stdout");
    }
    if let Some(mut err) = child.stderr.take() {
        err.read_to_string(&mut stderr).expect("read stderr");
    }
    (stdout, stderr)
}

fn a_websocket_client_that_never_reads_is_cut_off_at_the_outbound_queue_cap(rt: &RuntimeUnderTest) {
    // Whether the peer learns of the cut-off at once depends on a race in the kernel (an
    // orderly close that leaves nothing unread is not seen by a blocked writer for ~100 s):
    // a few rounds make a relay that does not reset such a connection fail.
    for round in 0..4 {
        let server = rt.start(CONFORMANCE);
        let mut ws = server.connected_websocket();
        ws.get_ref()
            .set_write_timeout(Some(WAIT))
            .expect("write timeout");
        let message = Message::text(format!("42[\"message\",\"{}\"]", "x".repeat(64 * 1024)));
        // The echoes pile up: socket buffers, then the 4 MiB bound (congestion), then the
        // hard cap, where the relay cuts the connection off with a reset.
        let mut sent = 0usize;
        let cut_off = loop {
            match ws.send(message.clone()) {
                Ok(()) => {}
                Err(tungstenite::Error::Io(err))
                    if matches!(
                        err.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    panic!(
                        "[{}] round {round}: a write stalled {WAIT:?} after {sent} bytes: the \
                         relay let go of the connection without telling the peer",
                        rt.label
                    )
                }
                Err(_) => break true,
            }
            sent += message.len();
            if sent > 512 * 1024 * 1024 {
                break false;
            }
        };
        assert!(
            cut_off,
            "[{}] still connected after sending {sent} bytes",
            rt.label
        );
    }
}

/// The code of the close frame the server sends, skipping at most 10 messages before it;
/// panics when the connection ends without one.
fn close_code<S: std::io::Read + std::io::Write>(
    ws: &mut tungstenite::WebSocket<S>,
) -> Option<u16> {
    for _ in 0..10 {
        match ws.read() {
            Ok(Message::Close(frame)) => return frame.map(|f| u16::from(f.code)),
            Ok(_) => {}
            Err(err) => panic!("connection ended without a close frame: {err}"),
        }
    }
    panic!("no close frame within 10 messages")
}
