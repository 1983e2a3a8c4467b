//! Broken transports: an aborted poll, overlapping polls, oversized bodies and messages, and
//! closed connections.

mod support;

use iorelay_core::{Body, CloseReason, Config, Event};
use support::{closed_for, polling, post_request, Harness, Opened};

/// A polling session connected to `/` with a GET held on conn 4.
fn polling_with_held_get(h: &mut Harness) -> Opened {
    let opened = h.open_polling(1);
    h.post(2, &polling(&opened.sid), b"40");
    h.get(3, &polling(&opened.sid));
    assert!(h.get(4, &polling(&opened.sid)).outputs.is_empty());
    opened
}

#[test]
fn an_aborted_held_poll_closes_the_session() {
    let mut h = Harness::default_config();
    let opened = polling_with_held_get(&mut h);
    let out = h.conn_closed(4);
    assert_eq!(
        out.transcript(),
        Vec::<String>::new(),
        "nothing to the dead conn"
    );
    assert_eq!(
        out.events(),
        [
            Event::SocketDisconnected {
                socket: iorelay_core::SocketId(0),
                reason: CloseReason::TransportError
            },
            Event::SessionClosed {
                session: opened.session,
                reason: CloseReason::TransportError
            }
        ]
    );
    assert_eq!(
        out.next,
        Some(h.now + support::secs(120)),
        "the socket is parked for recovery"
    );
}

#[test]
fn closing_the_connection_of_an_answered_poll_is_harmless() {
    let mut h = Harness::default_config();
    polling_with_held_get(&mut h);
    let out = h.conn_closed(3);
    assert!(out.outputs.is_empty(), "{out:?}");
    let post = h.conn_closed(2);
    assert!(post.outputs.is_empty(), "{post:?}");
    assert_eq!(h.engine.session_count(), 1);
}

#[test]
fn a_second_concurrent_poll_ends_both_and_the_session() {
    let mut h = Harness::default_config();
    let opened = polling_with_held_get(&mut h);
    let out = h.get(5, &polling(&opened.sid));
    assert_eq!(
        out.transcript(),
        [
            r#"5 http 400 {"code":3,"message":"Bad request"}"#,
            "4 http 200 1"
        ]
    );
    assert!(out.events().contains(&Event::SessionClosed {
        session: opened.session,
        reason: CloseReason::TransportError
    }));
    assert_eq!(h.engine.session_count(), 0);
    let after = h.get(6, &polling(&opened.sid));
    assert_eq!(
        after.transcript(),
        [r#"6 http 400 {"code":1,"message":"Session ID unknown"}"#]
    );
}

#[test]
fn a_post_body_over_the_limit_is_413_and_closes_the_session() {
    let mut h = Harness::default_config();
    let opened = polling_with_held_get(&mut h);
    let request = post_request(&polling(&opened.sid), 2_000_000);
    let out = h.http(5, &request, Body::TooLarge);
    assert_eq!(
        out.transcript(),
        [
            r#"5 http 413 {"error":"payload too large","detail":"the body exceeds maxPayload"}"#,
            "4 http 200 1"
        ]
    );
    assert!(out.events().contains(&Event::SessionClosed {
        session: opened.session,
        reason: CloseReason::PayloadTooLarge
    }));
    assert_eq!(h.engine.session_count(), 0);
}

#[test]
fn a_websocket_message_over_the_limit_closes_the_session_with_1009() {
    let mut h = Harness::default_config();
    let (opened, socket) = h.connected_websocket(1);
    let out = h.ws_too_large(1);
    assert_eq!(out.transcript(), ["1 ws close 1009 payload too large"]);
    assert_eq!(
        out.events(),
        closed_for(CloseReason::PayloadTooLarge, socket, opened.session)
    );
}

#[test]
fn a_closed_websocket_closes_its_session() {
    let mut h = Harness::default_config();
    let (opened, socket) = h.connected_websocket(1);
    let out = h.conn_closed(1);
    assert_eq!(
        out.events(),
        closed_for(CloseReason::TransportClose, socket, opened.session)
    );
    assert_eq!(h.engine.socket_count(), 0);
}

#[test]
fn inputs_for_connections_the_engine_does_not_know_are_ignored() {
    let mut h = Harness::default_config();
    h.connected_websocket(1);
    h.get(7, "/nowhere");
    assert!(h.conn_closed(7).outputs.is_empty());
    assert!(h.ws_text(7, "42[\"x\"]").outputs.is_empty());
    assert!(h.ws_too_large(7).outputs.is_empty());
    assert_eq!(h.engine.session_count(), 1);
}

#[test]
fn messages_after_the_session_closed_are_ignored() {
    let mut h = Harness::default_config();
    h.connected_websocket(1);
    h.ws_text(1, "1");
    assert!(h.ws_text(1, "42[\"late\"]").outputs.is_empty());
    assert!(h.conn_closed(1).outputs.is_empty());
}

#[test]
fn a_close_packet_in_a_post_closes_the_session_and_releases_the_held_poll_with_noop() {
    let mut h = Harness::default_config();
    let opened = polling_with_held_get(&mut h);
    let out = h.post(5, &polling(&opened.sid), b"1");
    assert_eq!(out.transcript(), ["5 http 200 ok", "4 http 200 6"]);
    assert!(out.events().contains(&Event::SessionClosed {
        session: opened.session,
        reason: CloseReason::TransportClose
    }));
}

#[test]
fn packets_after_a_close_packet_in_the_same_post_are_dropped() {
    let mut h = Harness::default_config();
    let opened = polling_with_held_get(&mut h);
    let out = h.post(5, &polling(&opened.sid), b"1\x1e42[\"after\"]");
    let messages = out
        .events()
        .into_iter()
        .filter(|e| matches!(e, Event::Message { .. }))
        .count();
    assert_eq!(messages, 0);
    assert_eq!(h.engine.session_count(), 0);
}

#[test]
fn body_limit_is_max_payload_for_engineio_and_max_body_elsewhere() {
    let config = Config {
        max_payload: 1000,
        max_body: 50,
        ..Config::default()
    };
    let h = Harness::new(config);
    let limit = |path: &str| {
        h.engine
            .body_limit(&support::head(&support::post_request(path, 0)))
    };
    assert_eq!(limit("/socket.io/"), 1000);
    assert_eq!(limit("/socket.io"), 1000);
    assert_eq!(limit("/emit"), 50);
}

#[test]
fn a_websocket_the_runtime_reported_closed_gets_no_close_frame() {
    let mut h = support::Harness::default_config();
    h.connected_websocket(1);
    let out = h.conn_closed(1);
    assert!(!out.touches(1), "{:?}", out.transcript());
    assert_eq!(h.engine.session_count(), 0);
}
