//! Websocket transport through the real binary: direct connections, the upgrade from
//! polling, control frames, the message size limit, and bytes sent with the upgrade request.

mod support;

use support::{ws_expect, Server};
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::Message;

#[test]
fn websocket_handshake_connect_and_event_round_trip() {
    let server = Server::start(&["--conformance"]);
    let mut ws = server.websocket("");
    assert!(ws_expect(&mut ws, "0").contains("\"sid\""));
    ws.send(Message::text("40")).unwrap();
    assert!(ws_expect(&mut ws, "40").starts_with("40{\"sid\":"));
    ws.send(Message::text(r#"42["message",1]"#)).unwrap();
    assert_eq!(
        ws_expect(&mut ws, r#"42["message-back""#),
        r#"42["message-back",1]"#
    );
}

#[test]
fn websocket_pings_are_answered_with_pongs() {
    let server = Server::start(&[]);
    let mut ws = server.websocket("");
    ws_expect(&mut ws, "0");
    ws.send(Message::Ping("hi".into())).unwrap();
    for _ in 0..10 {
        if let Message::Pong(data) = ws.read().unwrap() {
            assert_eq!(&data[..], b"hi");
            return;
        }
    }
    panic!("no pong");
}

#[test]
fn a_polling_session_upgrades_to_websocket() {
    let server = Server::start(&[]);
    let sid = server.handshake();
    let mut ws = server.websocket(&format!("&sid={sid}"));
    ws.send(Message::text("2probe")).unwrap();
    assert_eq!(ws_expect(&mut ws, "3"), "3probe");
    ws.send(Message::text("5")).unwrap();
    ws.send(Message::text("40")).unwrap();
    assert!(ws_expect(&mut ws, "40").starts_with("40{\"sid\":"));
}

#[test]
fn a_message_over_max_payload_closes_the_websocket_with_1009() {
    let server = Server::start(&["--max-payload", "100"]);
    let mut ws = server.websocket("");
    ws_expect(&mut ws, "0");
    ws.send(Message::text("4".repeat(200))).unwrap();
    for _ in 0..10 {
        if let Message::Close(frame) = ws.read().unwrap() {
            assert_eq!(frame.map(|f| f.code), Some(CloseCode::Size));
            return;
        }
    }
    panic!("no close frame");
}

#[test]
fn websocket_bytes_sent_with_the_upgrade_request_are_not_lost() {
    let server = Server::start(&[]);
    let mut client = server.connect();
    let mut raw = b"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: test\r\n\
        Upgrade: websocket\r\nConnection: Upgrade\r\n\
        Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        .to_vec();
    // A masked text frame "40" (mask 0), in the same write as the request.
    raw.extend_from_slice(&[0x81, 0x82, 0, 0, 0, 0, b'4', b'0']);
    client.send(&raw);
    let reply = client.read_reply(false);
    assert_eq!(reply.status, 101);
    let mut texts = Vec::new();
    for _ in 0..2 {
        let head = client.read_bytes(2);
        assert_eq!(head[0], 0x81, "an unmasked final text frame");
        let len = usize::from(head[1]);
        assert!(len < 126);
        texts.push(String::from_utf8(client.read_bytes(len)).unwrap());
    }
    assert!(texts[0].starts_with("0{\"sid\":"), "{texts:?}");
    assert!(texts[1].starts_with("40{\"sid\":"), "{texts:?}");
}
