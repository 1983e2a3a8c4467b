//! Engine.IO long-polling through the real binary: handshake, Socket.IO connect and events,
//! held polls released by data or aborted by the peer.

mod support;

use std::time::Duration;

use support::{json_number, Server};

fn session_path(sid: &str) -> String {
    format!("/socket.io/?EIO=4&transport=polling&sid={sid}")
}

#[test]
fn polling_handshake_connect_and_event_round_trip() {
    let server = Server::start(&["--conformance"]);
    let sid = server.handshake();
    let path = session_path(&sid);
    let post = server.request("POST", &path, b"40");
    assert_eq!((post.status, post.text().as_str()), (200, "ok"));
    let mut seen = Vec::new();
    let mut sent_event = false;
    // Conformance mode pings every 300 ms: answer pings while waiting for the echo.
    for _ in 0..20 {
        let reply = server.request("GET", &path, b"");
        assert_eq!(reply.status, 200, "{}", reply.text());
        for packet in reply.text().split('\u{1e}') {
            if packet == "2" {
                assert_eq!(server.request("POST", &path, b"3").status, 200);
            }
            seen.push(packet.to_owned());
        }
        if !sent_event && seen.iter().any(|p| p.starts_with("40{\"sid\":")) {
            let post = server.request("POST", &path, br#"42["message",1]"#);
            assert_eq!(post.status, 200);
            sent_event = true;
        }
        if seen.iter().any(|p| p == r#"42["message-back",1]"#) {
            return;
        }
    }
    panic!("no message-back; saw {seen:?}");
}

#[test]
fn a_held_poll_outlives_the_connection_deadlines_and_is_released_by_data() {
    let server = Server::start_with_env(
        &[],
        &[
            ("IORELAY_IDLE_TIMEOUT_MS", "200"),
            ("IORELAY_HEADER_TIMEOUT_MS", "200"),
        ],
    );
    let sid = server.handshake();
    let path = session_path(&sid);
    let mut held = server.connect();
    held.send_request("GET", &path, b"");
    held.expect_nothing_for(Duration::from_millis(600));
    let post = server.request("POST", &path, b"40");
    assert_eq!(post.status, 200);
    let released = held.read_reply(false);
    assert_eq!(released.status, 200);
    assert!(
        released.text().starts_with("40{\"sid\":"),
        "{}",
        released.text()
    );
}

#[test]
fn an_aborted_held_poll_closes_the_session() {
    let server = Server::start(&[]);
    let sid = server.handshake();
    let path = session_path(&sid);
    let mut held = server.connect();
    held.send_request("GET", &path, b"");
    drop(held);
    server.await_sessions(0);
    let reply = server.request("GET", &path, b"");
    assert_eq!(reply.status, 400);
    assert_eq!(
        json_number(&reply.text(), "code"),
        Some(1),
        "{}",
        reply.text()
    );
}
