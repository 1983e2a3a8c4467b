//! Process lifecycle of the real binary: the listening line, a busy port, and a graceful stop
//! on SIGTERM that flushes what the engine's shutdown sends.

mod common;

use std::process::Command;
use std::time::Duration;

use common::{ws_send, ws_text, Server, CONFORMANCE};

#[test]
fn sigterm_closes_websockets_and_exits_zero() {
    let mut server = Server::start(CONFORMANCE);
    let mut ws = server.websocket("");
    ws_text(&mut ws);
    ws_send(&mut ws, "40");
    ws_text(&mut ws);
    ws_text(&mut ws);
    server.terminate();
    let mut saw_close = false;
    for _ in 0..10 {
        match ws.read() {
            Ok(tungstenite::Message::Close(_)) => {
                saw_close = true;
                break;
            }
            Ok(_) => {}
            Err(err) => panic!("connection ended without a close frame: {err}"),
        }
    }
    assert!(saw_close);
    let status = server.wait_exit(Duration::from_secs(5));
    assert_eq!(status.code(), Some(0));
}

#[test]
fn sigterm_answers_a_held_poll_before_exiting_zero() {
    let mut server = Server::start(CONFORMANCE);
    let sid = server.connected_session();
    let mut held = server.connect();
    held.send_request("GET", &common::poll_path(&sid), "");
    assert!(
        !held.closed_within(Duration::from_millis(200)),
        "the poll is held"
    );
    server.terminate();
    // 503 with a JSON reason: clients treat it as a transport error and reconnect.
    let response = held.response();
    assert_eq!(response.status, 503);
    assert!(
        response.text().contains("shutting down"),
        "{}",
        response.text()
    );
    let status = server.wait_exit(Duration::from_secs(5));
    assert_eq!(status.code(), Some(0));
}

#[test]
fn sigterm_on_an_idle_server_exits_zero() {
    let mut server = Server::start(&[]);
    let _idle = server.connect();
    server.terminate();
    let status = server.wait_exit(Duration::from_secs(5));
    assert_eq!(status.code(), Some(0));
}

#[test]
fn a_busy_port_is_a_clear_error_and_exit_one() {
    let server = Server::start(&[]);
    let output = Command::new(env!("CARGO_BIN_EXE_iorelay"))
        .args(["serve", "--port", &server.port.to_string()])
        .output()
        .expect("run iorelay");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("127.0.0.1:{}", server.port)),
        "{stderr}"
    );
    assert!(output.stdout.is_empty());
}
