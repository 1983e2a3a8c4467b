//! Conformance mode (`Config::conformance()`): the behaviour the public Engine.IO v4 and
//! Socket.IO v5 test suites expect of the server under test.

mod support;

use bytes::Bytes;
use iorelay_core::engineio::packet::Frame;
use iorelay_core::{Config, Event};
use std::time::Duration;

use support::{ms, Harness};

const NS: Duration = Duration::from_nanos(1);

fn conformance() -> Harness {
    Harness::new(Config::conformance())
}

#[test]
fn the_open_packet_carries_the_conformance_timings() {
    let mut h = conformance();
    let out = h.get(1, "/socket.io/?EIO=4&transport=polling");
    let (_, sid) = out.opened_session().expect("opened");
    assert_eq!(
        out.polled(1),
        [format!(
            r#"0{{"sid":"{sid}","upgrades":["websocket"],"pingInterval":300,"pingTimeout":200,"maxPayload":1000000}}"#
        )]
    );
    assert_eq!(out.next, Some(h.t0 + ms(300)));
}

#[test]
fn connect_is_answered_then_auth_is_emitted_10ms_later_with_the_connect_payload() {
    let mut h = conformance();
    h.open_websocket(1);
    let out = h.ws_text(1, "40");
    let sent = out.ws_sent(1);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(sent[0].starts_with("40{\"sid\":\""));
    assert_eq!(out.next, Some(h.t0 + ms(10)));
    assert!(h.tick_at(h.t0 + ms(10) - NS).outputs.is_empty());
    assert_eq!(h.tick(ms(10)).transcript(), [r#"1 ws 42["auth",{}]"#]);

    h.open_websocket(2);
    h.ws_text(2, r#"40{"token":"123"}"#);
    assert_eq!(
        h.tick(ms(20)).transcript(),
        [r#"2 ws 42["auth",{"token":"123"}]"#]
    );
}

#[test]
fn the_custom_namespace_also_emits_auth() {
    let mut h = conformance();
    h.open_websocket(1);
    let sent = h.ws_text(1, "40/custom,").ws_sent(1);
    assert!(sent[0].starts_with("40/custom,{\"sid\":\""));
    assert_eq!(
        h.tick(ms(10)).transcript(),
        [r#"1 ws 42/custom,["auth",{}]"#]
    );
}

#[test]
fn auth_is_not_emitted_to_a_socket_that_left_before_it_was_due() {
    let mut h = conformance();
    h.open_websocket(1);
    h.ws_text(1, "40");
    h.ws_text(1, "41");
    let due = h.tick(ms(10));
    assert!(due.outputs.is_empty(), "{due:?}");
    assert_eq!(h.engine.session_count(), 1);
}

#[test]
fn other_namespaces_are_refused() {
    let mut h = conformance();
    h.open_websocket(1);
    assert_eq!(
        h.ws_text(1, "40/random,").transcript(),
        [r#"1 ws 44/random,{"message":"Invalid namespace"}"#]
    );
}

#[test]
fn message_is_emitted_back_as_message_back() {
    let mut h = conformance();
    h.connected_websocket(1);
    let out = h.ws_text(1, r#"42["message",1,"2",{"3":[true]}]"#);
    assert_eq!(
        out.transcript(),
        [r#"1 ws 42["message-back",1,"2",{"3":[true]}]"#]
    );
    assert!(matches!(out.events()[..], [Event::Message { .. }]));
}

#[test]
fn message_without_arguments_is_emitted_back_without_arguments() {
    let mut h = conformance();
    h.connected_websocket(1);
    assert_eq!(
        h.ws_text(1, r#"42["message"]"#).transcript(),
        [r#"1 ws 42["message-back"]"#]
    );
}

#[test]
fn binary_message_is_emitted_back_with_its_attachment() {
    let mut h = conformance();
    h.connected_websocket(1);
    h.ws_text(1, r#"451-["message",{"_placeholder":true,"num":0}]"#);
    let out = h.ws_binary(1, &[1, 2, 3]);
    assert_eq!(
        out.transcript(),
        [
            r#"1 ws 451-["message-back",{"_placeholder":true,"num":0}]"#,
            "1 ws <01 02 03>"
        ]
    );
}

#[test]
fn message_with_ack_is_acknowledged_with_its_own_arguments() {
    let mut h = conformance();
    h.connected_websocket(1);
    assert_eq!(
        h.ws_text(1, r#"426["message-with-ack",1,"2",{"3":[true]}]"#)
            .transcript(),
        [r#"1 ws 436[1,"2",{"3":[true]}]"#]
    );
}

#[test]
fn messages_on_the_custom_namespace_are_not_echoed() {
    let mut h = conformance();
    h.open_websocket(1);
    h.ws_text(1, "40/custom,");
    let out = h.ws_text(1, r#"42/custom,["message",1]"#);
    assert_eq!(out.transcript(), Vec::<String>::new());
}

#[test]
fn raw_engineio_messages_are_echoed_over_websocket() {
    let mut h = conformance();
    let opened = h.ws_open(1, "/engine.io/?EIO=4&transport=websocket");
    let (session, _) = opened.opened_session().expect("opened");
    let out = h.ws_text(1, "4hello");
    assert_eq!(out.transcript(), ["1 ws 4hello"]);
    assert_eq!(
        out.events(),
        [Event::RawMessage {
            session,
            frame: Frame::Text(Bytes::from_static(b"hello"))
        }]
    );
    assert_eq!(h.ws_binary(1, &[7, 8]).transcript(), ["1 ws <07 08>"]);
}

#[test]
fn raw_engineio_messages_are_echoed_over_polling() {
    let mut h = conformance();
    let out = h.get(1, "/engine.io/?EIO=4&transport=polling");
    let (_, sid) = out.opened_session().expect("opened");
    let target = format!("/engine.io/?EIO=4&transport=polling&sid={sid}");
    let post = h.post(2, &target, "4hello\u{1e}4€\u{1e}bAQI=".as_bytes());
    assert_eq!(post.transcript(), ["2 http 200 ok"]);
    assert_eq!(h.get(3, &target).polled(3), ["4hello", "4€", "<01 02>"]);
}

#[test]
fn a_raw_engineio_session_has_no_connect_timeout() {
    let mut h = conformance();
    h.ws_open(1, "/engine.io/?EIO=4&transport=websocket");
    for round in 1..=5u64 {
        let ping = h.tick(ms(300 * round + 50 * (round - 1)));
        assert_eq!(ping.transcript(), ["1 ws 2"], "round {round}");
        h.set_time(ms(350 * round));
        h.ws_text(1, "3");
    }
    assert_eq!(h.engine.session_count(), 1, "alive past connect_timeout");
}

#[test]
fn a_socketio_session_without_connect_closes_after_connect_timeout() {
    let mut h = conformance();
    let opened = h.open_websocket(1);
    h.tick(ms(300));
    h.set_time(ms(310));
    h.ws_text(1, "3");
    h.tick(ms(610));
    h.set_time(ms(620));
    h.ws_text(1, "3");
    let out = h.tick(ms(1000));
    assert_eq!(
        out.events(),
        [Event::SessionClosed {
            session: opened.session,
            reason: iorelay_core::CloseReason::ConnectTimeout
        }]
    );
}
