//! Binary events and acks with attachments, both directions, over websocket (binary frames)
//! and over polling (`b` + base64 segments).

mod support;

use bytes::Bytes;
use iorelay_core::{CloseReason, Config, Emit, Event};
use support::{polling, secs, Harness};

const PLACEHOLDER_0: &str = r#"{"_placeholder":true,"num":0}"#;
const PLACEHOLDER_1: &str = r#"{"_placeholder":true,"num":1}"#;

#[test]
fn a_binary_event_over_websocket_is_reported_once_its_attachment_arrives() {
    let mut h = Harness::default_config();
    let (_, socket) = h.connected_websocket(1);
    let header = h.ws_text(1, &format!(r#"451-["upload",{PLACEHOLDER_0}]"#));
    assert!(header.outputs.is_empty(), "waiting for the attachment");
    let done = h.ws_binary(1, &[1, 2, 3]);
    assert_eq!(
        done.events(),
        [Event::Message {
            socket,
            name: "upload".to_owned(),
            args: Bytes::from(format!("[{PLACEHOLDER_0}]")),
            attachments: vec![Bytes::from_static(&[1, 2, 3])],
            ack: None
        }]
    );
}

#[test]
fn a_binary_event_with_two_attachments_and_an_ack_id() {
    let mut h = Harness::default_config();
    let (_, socket) = h.connected_websocket(1);
    h.ws_text(
        1,
        &format!(r#"452-4["pair",{PLACEHOLDER_0},{PLACEHOLDER_1}]"#),
    );
    assert!(h.ws_binary(1, b"a").outputs.is_empty());
    let done = h.ws_binary(1, b"bc");
    assert_eq!(
        done.events(),
        [Event::Message {
            socket,
            name: "pair".to_owned(),
            args: Bytes::from(format!("[{PLACEHOLDER_0},{PLACEHOLDER_1}]")),
            attachments: vec![Bytes::from_static(b"a"), Bytes::from_static(b"bc")],
            ack: Some(4)
        }]
    );
}

#[test]
fn a_server_binary_emit_over_websocket_is_a_text_header_then_binary_frames() {
    let mut h = Harness::default_config();
    let (_, socket) = h.connected_websocket(1);
    let emit = Emit::new("file", &[PLACEHOLDER_0.as_bytes()])
        .with_attachments(vec![Bytes::from_static(&[0xde, 0xad])]);
    let now = h.now;
    h.engine
        .emit_to(now, socket, &emit, None)
        .expect("connected");
    assert_eq!(
        h.drain().transcript(),
        [
            format!(r#"1 ws 451-["file",{PLACEHOLDER_0}]"#),
            "1 ws <de ad>".to_owned()
        ]
    );
}

#[test]
fn a_binary_event_over_polling_carries_its_attachment_as_base64() {
    let mut h = Harness::default_config();
    let opened = h.open_polling(1);
    let socket = h
        .post(2, &polling(&opened.sid), b"40")
        .connected_socket()
        .expect("connected");
    let body = format!("451-[\"up\",{PLACEHOLDER_0}]\u{1e}bAQID");
    let out = h.post(3, &polling(&opened.sid), body.as_bytes());
    assert_eq!(out.transcript(), ["3 http 200 ok"]);
    assert_eq!(
        out.events(),
        [Event::Message {
            socket,
            name: "up".to_owned(),
            args: Bytes::from(format!("[{PLACEHOLDER_0}]")),
            attachments: vec![Bytes::from_static(&[1, 2, 3])],
            ack: None
        }]
    );
}

#[test]
fn a_server_binary_emit_over_polling_is_base64_in_the_payload() {
    let mut h = Harness::default_config();
    let opened = h.open_polling(1);
    let socket = h
        .post(2, &polling(&opened.sid), b"40")
        .connected_socket()
        .expect("connected");
    h.get(3, &polling(&opened.sid));
    let emit = Emit::new("file", &[PLACEHOLDER_0.as_bytes()])
        .with_attachments(vec![Bytes::from_static(&[1, 2, 3, 4])]);
    let now = h.now;
    h.engine
        .emit_to(now, socket, &emit, None)
        .expect("connected");
    h.drain();
    let poll = h.get(4, &polling(&opened.sid));
    assert_eq!(
        poll.transcript(),
        [format!(
            r#"4 http 200 451-["file",{PLACEHOLDER_0}]␞bAQIDBA=="#
        )]
    );
    assert_eq!(
        poll.polled(4),
        [
            format!(r#"451-["file",{PLACEHOLDER_0}]"#),
            "<01 02 03 04>".to_owned()
        ]
    );
}

#[test]
fn a_binary_ack_from_the_client_resolves_the_server_ack_with_its_attachment() {
    let mut h = Harness::default_config();
    let (_, socket) = h.connected_websocket(1);
    let now = h.now;
    let ack = h
        .engine
        .emit_to(now, socket, &Emit::new("want-bytes", &[]), Some(secs(5)))
        .expect("connected")
        .expect("ack id");
    h.drain();
    h.ws_text(1, &format!("461-{ack}[{PLACEHOLDER_0}]"));
    let done = h.ws_binary(1, &[9]);
    assert_eq!(
        done.events(),
        [Event::AckReceived {
            socket,
            ack,
            args: Bytes::from(format!("[{PLACEHOLDER_0}]")),
            attachments: vec![Bytes::from_static(&[9])]
        }]
    );
}

#[test]
fn a_binary_ack_from_the_server_is_a_header_then_its_attachment() {
    let mut h = Harness::default_config();
    let (_, socket) = h.connected_websocket(1);
    h.ws_text(1, r#"425["give-bytes"]"#);
    let now = h.now;
    h.engine
        .ack(
            now,
            socket,
            5,
            Bytes::from(format!("[{PLACEHOLDER_0}]")),
            vec![Bytes::from_static(b"xyz")],
        )
        .expect("connected");
    assert_eq!(
        h.drain().transcript(),
        [
            format!("1 ws 461-5[{PLACEHOLDER_0}]"),
            "1 ws <78 79 7a>".to_owned()
        ]
    );
}

#[test]
fn an_attachment_nobody_announced_closes_the_session() {
    let mut h = Harness::default_config();
    let (opened, _) = h.connected_websocket(1);
    let out = h.ws_binary(1, &[1]);
    assert!(out.events().contains(&Event::SessionClosed {
        session: opened.session,
        reason: CloseReason::ParseError
    }));
}

#[test]
fn a_second_binary_header_before_the_attachments_closes_the_session() {
    let mut h = Harness::default_config();
    let (opened, _) = h.connected_websocket(1);
    h.ws_text(1, &format!(r#"451-["a",{PLACEHOLDER_0}]"#));
    let out = h.ws_text(1, &format!(r#"451-["b",{PLACEHOLDER_0}]"#));
    assert!(out.events().contains(&Event::SessionClosed {
        session: opened.session,
        reason: CloseReason::ParseError
    }));
}

#[test]
fn attachments_larger_than_max_payload_close_the_session() {
    let config = Config {
        max_payload: 8,
        ..Config::default()
    };
    let mut h = Harness::new(config);
    let (opened, _) = h.connected_websocket(1);
    h.ws_text(
        1,
        &format!(r#"452-["big",{PLACEHOLDER_0},{PLACEHOLDER_1}]"#),
    );
    assert!(h.ws_binary(1, &[0; 5]).outputs.is_empty());
    let out = h.ws_binary(1, &[0; 5]);
    assert_eq!(out.transcript(), ["1 ws close 1009 payload too large"]);
    assert!(out.events().contains(&Event::SessionClosed {
        session: opened.session,
        reason: CloseReason::PayloadTooLarge
    }));
}
