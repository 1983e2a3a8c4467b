//! Engine.IO / Socket.IO over the real binary in conformance mode: polling, websocket, the
//! upgrade between them, held polls, and websocket limits.

mod common;

use std::time::Duration;

use common::{poll_path, ws_send, ws_text, Server, CONFORMANCE};

#[test]
fn polling_handshake_connect_and_event_round_trip() {
    let server = Server::start(CONFORMANCE);
    let sid = server.handshake();
    server.connected_session_at(&sid);
    server.post(&sid, "42[\"message\",1]");
    assert_eq!(server.poll(&sid), ["42[\"message-back\",1]"]);
}

#[test]
fn websocket_handshake_connect_and_event_round_trip() {
    let server = Server::start(CONFORMANCE);
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

#[test]
fn a_fragmented_websocket_message_is_reassembled() {
    use tungstenite::protocol::frame::coding::{Data, OpCode};
    use tungstenite::protocol::frame::Frame;
    let server = Server::start(CONFORMANCE);
    let mut ws = server.websocket("");
    ws_text(&mut ws);
    ws_send(&mut ws, "40");
    ws_text(&mut ws);
    ws_text(&mut ws);
    let first = Frame::message(&b"42[\"mess"[..], OpCode::Data(Data::Text), false);
    let rest = Frame::message(&b"age\",7]"[..], OpCode::Data(Data::Continue), true);
    ws.write(tungstenite::Message::Frame(first)).unwrap();
    ws.write(tungstenite::Message::Frame(rest)).unwrap();
    ws.flush().unwrap();
    assert_eq!(ws_text(&mut ws), "42[\"message-back\",7]");
}

#[test]
fn a_websocket_ping_frame_is_answered_with_a_pong() {
    let server = Server::start(CONFORMANCE);
    let mut ws = server.websocket("");
    ws_text(&mut ws);
    ws.send(tungstenite::Message::Ping(b"hi"[..].into()))
        .unwrap();
    match ws.read().unwrap() {
        tungstenite::Message::Pong(data) => assert_eq!(&data[..], b"hi"),
        other => panic!("expected a pong, got {other:?}"),
    }
}

#[test]
fn polling_upgrades_to_websocket() {
    let server = Server::start(CONFORMANCE);
    let sid = server.connected_session();
    let mut ws = server.websocket(&format!("&sid={sid}"));
    ws_send(&mut ws, "2probe");
    assert_eq!(ws_text(&mut ws), "3probe");
    ws_send(&mut ws, "5");
    ws_send(&mut ws, "42[\"message\",2]");
    assert_eq!(ws_text(&mut ws), "42[\"message-back\",2]");
    let response = server.get(&poll_path(&sid));
    assert_eq!(response.status, 400, "polling is over once upgraded");
}

#[test]
fn a_held_poll_is_released_by_data() {
    let server = Server::start(CONFORMANCE);
    let sid = server.connected_session();
    let mut held = server.connect();
    held.send_request("GET", &poll_path(&sid), "");
    assert!(
        !held.closed_within(Duration::from_millis(200)),
        "the poll is held, not answered or closed"
    );
    server.post(&sid, "42[\"message\",3]");
    let response = held.response();
    assert_eq!(response.status, 200);
    assert_eq!(response.text(), "42[\"message-back\",3]");
}

#[test]
fn an_aborted_held_poll_closes_the_session() {
    let server = Server::start(CONFORMANCE);
    let sid = server.connected_session();
    let mut held = server.connect();
    held.send_request("GET", &poll_path(&sid), "");
    drop(held);
    server.await_sessions(0);
    let response = server.get(&poll_path(&sid));
    assert_eq!(response.status, 400);
    assert_eq!(response.json()["code"], 1);
}

#[test]
fn an_over_large_websocket_message_closes_with_1009() {
    let mut flags = CONFORMANCE.to_vec();
    flags.extend(["--max-payload", "100"]);
    let server = Server::start(&flags);
    let mut ws = server.websocket("");
    ws_text(&mut ws);
    ws_send(&mut ws, &format!("4{}", "x".repeat(200)));
    let mut close_code = None;
    for _ in 0..10 {
        match ws.read() {
            Ok(tungstenite::Message::Close(frame)) => {
                close_code = frame.map(|f| u16::from(f.code));
                break;
            }
            Ok(_) => {}
            Err(err) => panic!("no close frame: {err}"),
        }
    }
    assert_eq!(close_code, Some(1009));
}

#[test]
fn many_messages_queued_together_all_arrive_in_order() {
    let server = Server::start(CONFORMANCE);
    let mut ws = server.websocket("");
    ws_text(&mut ws);
    ws_send(&mut ws, "40");
    ws_text(&mut ws);
    ws_text(&mut ws);
    for i in 0..200 {
        ws.write(tungstenite::Message::text(format!("42[\"message\",{i}]")))
            .unwrap();
    }
    ws.flush().unwrap();
    for i in 0..200 {
        assert_eq!(ws_text(&mut ws), format!("42[\"message-back\",{i}]"));
    }
}

#[test]
fn a_websocket_client_that_never_reads_is_cut_off_at_the_queue_cap() {
    let server = Server::start(CONFORMANCE);
    let mut ws = server.websocket("");
    ws_text(&mut ws);
    ws_send(&mut ws, "40");
    ws_text(&mut ws);
    ws_text(&mut ws);
    let message =
        tungstenite::Message::text(format!("42[\"message\",\"{}\"]", "x".repeat(64 * 1024)));
    // The echoes pile up: socket buffers, then the 4 MiB bound (congestion), then the hard cap.
    let mut sent = 0usize;
    let cut_off = loop {
        if ws.send(message.clone()).is_err() {
            break true;
        }
        sent += message.len();
        if sent > 512 * 1024 * 1024 {
            break false;
        }
    };
    assert!(cut_off, "still connected after sending {sent} bytes");
}
