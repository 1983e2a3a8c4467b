//! Acks both ways: the client asks and the application answers; the server asks and the client
//! answers, or the deadline passes. Each server ack resolves exactly once.

mod support;

use std::time::Duration;

use bytes::Bytes;
use iorelay_core::{CloseReason, Emit, Event};
use support::{ms, polling, secs, Harness};

fn args(json: &'static str) -> Bytes {
    Bytes::from_static(json.as_bytes())
}

#[test]
fn a_client_ack_request_is_answered_by_engine_ack() {
    let mut h = Harness::default_config();
    let (_, socket) = h.connected_websocket(1);
    let asked = h.ws_text(1, r#"421["question",1]"#);
    assert_eq!(
        asked.events(),
        [Event::Message {
            socket,
            name: "question".to_owned(),
            args: args("[1]"),
            attachments: vec![],
            ack: Some(1)
        }]
    );
    let now = h.now;
    h.engine
        .ack(now, socket, 1, args(r#"["answer",42]"#), vec![])
        .expect("connected");
    assert_eq!(h.drain().transcript(), [r#"1 ws 431["answer",42]"#]);
}

#[test]
fn an_ack_on_a_custom_namespace_names_it() {
    let mut h = Harness::default_config();
    h.open_websocket(1);
    let socket = h.ws_text(1, "40/admin,").connected_socket().expect("admin");
    let asked = h.ws_text(1, r#"42/admin,7["q"]"#);
    assert!(matches!(
        asked.events()[..],
        [Event::Message { ack: Some(7), .. }]
    ));
    let now = h.now;
    h.engine
        .ack(now, socket, 7, args("[]"), vec![])
        .expect("ok");
    assert_eq!(h.drain().transcript(), ["1 ws 43/admin,7[]"]);
}

#[test]
fn a_client_ack_request_over_polling_is_answered_on_the_next_poll() {
    let mut h = Harness::default_config();
    let opened = h.open_polling(1);
    let socket = h
        .post(2, &polling(&opened.sid), b"40")
        .connected_socket()
        .expect("connected");
    h.get(3, &polling(&opened.sid));
    let asked = h.post(4, &polling(&opened.sid), br#"423["q"]"#);
    assert!(matches!(
        asked.events()[..],
        [Event::Message { ack: Some(3), .. }]
    ));
    let now = h.now;
    h.engine
        .ack(now, socket, 3, args(r#"["a"]"#), vec![])
        .expect("ok");
    assert!(h.drain().outputs.is_empty(), "queued for the next poll");
    assert_eq!(h.get(5, &polling(&opened.sid)).polled(5), [r#"433["a"]"#]);
}

#[test]
fn a_server_ack_request_is_resolved_by_the_client_answer() {
    let mut h = Harness::default_config();
    let (_, socket) = h.connected_websocket(1);
    let now = h.now;
    let ack = h
        .engine
        .emit_to(now, socket, &Emit::new("ping?", &[]), Some(secs(5)))
        .expect("connected");
    assert_eq!(ack, Some(0));
    let sent = h.drain();
    assert_eq!(sent.transcript(), [r#"1 ws 420["ping?"]"#]);
    assert_eq!(
        sent.next,
        Some(h.t0 + secs(5)),
        "the ack deadline is the next"
    );
    let answered = h.ws_text(1, r#"430["pong!"]"#);
    assert_eq!(
        answered.events(),
        [Event::AckReceived {
            socket,
            ack: 0,
            args: args(r#"["pong!"]"#),
            attachments: vec![]
        }]
    );
    assert_eq!(
        answered.next,
        Some(h.t0 + secs(25)),
        "back to the heartbeat"
    );
    let again = h.ws_text(1, r#"430["again"]"#);
    assert_eq!(again.events(), [], "an ack resolves once");
}

#[test]
fn an_unanswered_server_ack_times_out_exactly_at_its_deadline() {
    let mut h = Harness::default_config();
    let (_, socket) = h.connected_websocket(1);
    h.set_time(ms(100));
    let now = h.now;
    let ack = h
        .engine
        .emit_to(now, socket, &Emit::new("e", &[]), Some(secs(3)))
        .expect("connected")
        .expect("an ack id");
    let deadline = h.t0 + ms(3100);
    assert_eq!(h.drain().next, Some(deadline));
    let early = h.tick_at(deadline - Duration::from_nanos(1));
    assert_eq!(early.events(), []);
    assert_eq!(early.next, Some(deadline));
    let due = h.tick_at(deadline);
    assert_eq!(due.events(), [Event::AckTimedOut { socket, ack }]);
    assert_eq!(due.next, Some(h.t0 + secs(25)));
    let late = h.ws_text(1, &format!("43{ack}[]"));
    assert_eq!(late.events(), [], "a late answer is ignored");
}

#[test]
fn ack_ids_count_up_per_socket() {
    let mut h = Harness::default_config();
    let (_, a) = h.connected_websocket(1);
    let (_, b) = h.connected_websocket(2);
    let now = h.now;
    let mut ids = Vec::new();
    for socket in [a, a, b, a] {
        ids.push(
            h.engine
                .emit_to(now, socket, &Emit::new("e", &[]), Some(secs(1)))
                .expect("connected"),
        );
    }
    assert_eq!(ids, [Some(0), Some(1), Some(0), Some(2)]);
    assert_eq!(
        h.drain().transcript(),
        [
            r#"1 ws 420["e"]"#,
            r#"1 ws 421["e"]"#,
            r#"2 ws 420["e"]"#,
            r#"1 ws 422["e"]"#
        ]
    );
}

#[test]
fn acks_with_different_timeouts_expire_in_deadline_order() {
    let mut h = Harness::default_config();
    let (_, socket) = h.connected_websocket(1);
    let now = h.now;
    for timeout in [secs(3), secs(1), secs(2)] {
        h.engine
            .emit_to(now, socket, &Emit::new("e", &[]), Some(timeout))
            .expect("connected");
    }
    let first = h.drain();
    assert_eq!(first.next, Some(h.t0 + secs(1)));
    let one = h.tick(secs(1));
    assert_eq!(one.events(), [Event::AckTimedOut { socket, ack: 1 }]);
    assert_eq!(one.next, Some(h.t0 + secs(2)));
    let rest = h.tick(secs(10));
    assert_eq!(
        rest.events(),
        [
            Event::AckTimedOut { socket, ack: 2 },
            Event::AckTimedOut { socket, ack: 0 }
        ]
    );
}

#[test]
fn a_disconnecting_socket_abandons_its_acks_as_timed_out() {
    let mut h = Harness::default_config();
    let (_, socket) = h.connected_websocket(1);
    let now = h.now;
    for _ in 0..2 {
        h.engine
            .emit_to(now, socket, &Emit::new("e", &[]), Some(secs(9)))
            .expect("connected");
    }
    h.drain();
    let out = h.ws_text(1, "41");
    assert_eq!(
        out.events(),
        [
            Event::AckTimedOut { socket, ack: 0 },
            Event::AckTimedOut { socket, ack: 1 },
            Event::SocketDisconnected {
                socket,
                reason: CloseReason::ClientDisconnect
            }
        ]
    );
    assert_eq!(out.next, Some(h.t0 + secs(25)), "no ack deadline is left");
    assert!(
        h.tick(secs(9)).events().is_empty(),
        "nothing resolves twice"
    );
}

#[test]
fn a_closing_session_abandons_its_acks_as_timed_out() {
    let mut h = Harness::default_config();
    let (opened, socket) = h.connected_websocket(1);
    let now = h.now;
    h.engine
        .emit_to(now, socket, &Emit::new("e", &[]), Some(secs(9)))
        .expect("connected");
    h.drain();
    let out = h.conn_closed(1);
    assert_eq!(
        out.events(),
        [
            Event::AckTimedOut { socket, ack: 0 },
            Event::SocketDisconnected {
                socket,
                reason: CloseReason::TransportClose
            },
            Event::SessionClosed {
                session: opened.session,
                reason: CloseReason::TransportClose
            }
        ]
    );
    assert_eq!(
        out.next,
        Some(h.now + secs(120)),
        "only the parked socket's recovery window is left"
    );
}

#[test]
fn an_ack_for_an_id_never_asked_is_ignored() {
    let mut h = Harness::default_config();
    h.connected_websocket(1);
    let out = h.ws_text(1, "4399[]");
    assert!(out.outputs.is_empty(), "{out:?}");
    assert_eq!(h.engine.session_count(), 1);
}

#[test]
fn misused_ack_and_emit_calls_are_errors_not_outputs() {
    let mut h = Harness::default_config();
    let (_, socket) = h.connected_websocket(1);
    let now = h.now;
    let not_array = h.engine.ack(now, socket, 1, args(r#"{"a":1}"#), vec![]);
    assert!(not_array.is_err());
    let gone = iorelay_core::SocketId(99);
    assert!(h.engine.ack(now, gone, 1, args("[]"), vec![]).is_err());
    let emit = h
        .engine
        .emit_to(now, gone, &Emit::new("e", &[]), Some(secs(1)));
    let message = emit.expect_err("not connected").to_string();
    assert!(message.contains("socket 99 is not connected"), "{message}");
    assert!(h.drain().outputs.is_empty());
}
