//! Socket.IO namespace CONNECT and DISCONNECT in both directions, over websocket and polling.

mod support;

use bytes::Bytes;
use iorelay_core::{CloseReason, Config, Event, NamespacePolicy, SocketId};
use support::{closed_for, connect_reply_sid, polling, Harness};

#[test]
fn connect_over_websocket_is_answered_with_the_socket_sid() {
    let mut h = Harness::default_config();
    let opened = h.open_websocket(1);
    let out = h.ws_text(1, "40");
    let sent = out.ws_sent(1);
    assert_eq!(sent.len(), 1);
    let sid = connect_reply_sid(&sent[0], "");
    assert_ne!(sid, opened.sid, "the socket sid is not the Engine.IO sid");
    assert_eq!(
        out.events(),
        [Event::SocketConnected {
            socket: SocketId(0),
            session: opened.session,
            nsp: "/".to_owned(),
            auth: Bytes::from_static(b"{}"),
            recovered: false,
        }]
    );
    assert_eq!(h.engine.socket_count(), 1);
}

#[test]
fn connect_over_polling_is_answered_on_the_next_poll() {
    let mut h = Harness::default_config();
    let opened = h.open_polling(1);
    let post = h.post(2, &polling(&opened.sid), b"40");
    assert_eq!(post.transcript(), ["2 http 200 ok"]);
    assert!(post.connected_socket().is_some());
    let poll = h.get(3, &polling(&opened.sid));
    let frames = poll.polled(3);
    assert_eq!(frames.len(), 1);
    connect_reply_sid(&frames[0], "");
}

#[test]
fn a_held_poll_is_answered_by_the_connect_reply() {
    let mut h = Harness::default_config();
    let opened = h.open_polling(1);
    let poll = h.get(2, &polling(&opened.sid));
    assert_eq!(
        poll.transcript(),
        Vec::<String>::new(),
        "nothing queued: held"
    );
    let post = h.post(3, &polling(&opened.sid), b"40");
    let lines = post.transcript();
    assert_eq!(lines[0], "3 http 200 ok");
    assert!(
        lines[1].starts_with("2 http 200 40{\"sid\":\""),
        "{lines:?}"
    );
}

#[test]
fn connect_carries_the_auth_payload_to_the_application() {
    let mut h = Harness::default_config();
    h.open_websocket(1);
    let out = h.ws_text(1, r#"40{"token":"abc"}"#);
    let auth = out.events().into_iter().find_map(|event| match event {
        Event::SocketConnected { auth, .. } => Some(auth),
        _ => None,
    });
    assert_eq!(auth, Some(Bytes::from_static(br#"{"token":"abc"}"#)));
}

#[test]
fn connect_to_a_custom_namespace_names_it_in_the_reply() {
    let mut h = Harness::default_config();
    h.open_websocket(1);
    let out = h.ws_text(1, "40/admin,");
    connect_reply_sid(&out.ws_sent(1)[0], "/admin,");
    let nsp = out.events().into_iter().find_map(|event| match event {
        Event::SocketConnected { nsp, .. } => Some(nsp),
        _ => None,
    });
    assert_eq!(nsp.as_deref(), Some("/admin"));
}

#[test]
fn connect_to_a_namespace_outside_the_policy_is_refused() {
    let config = Config {
        namespaces: NamespacePolicy::Only(vec!["/".to_owned()]),
        ..Config::default()
    };
    let mut h = Harness::new(config);
    h.open_websocket(1);
    let out = h.ws_text(1, "40/nsp,");
    assert_eq!(
        out.transcript(),
        [r#"1 ws 44/nsp,{"message":"Invalid namespace"}"#]
    );
    assert_eq!(out.events(), []);
    assert_eq!(h.engine.socket_count(), 0);
    assert_eq!(h.engine.session_count(), 1, "the session stays open");
    let retry = h.ws_text(1, "40");
    assert!(retry.connected_socket().is_some());
}

#[test]
fn a_second_connect_to_the_same_namespace_closes_the_session() {
    let mut h = Harness::default_config();
    let (opened, socket) = h.connected_websocket(1);
    let out = h.ws_text(1, "40");
    assert_eq!(out.transcript(), ["1 ws close 1002 parse error"]);
    assert_eq!(
        out.events(),
        closed_for(CloseReason::ParseError, socket, opened.session)
    );
}

#[test]
fn client_disconnect_is_reported_without_a_reply_and_the_session_stays_usable() {
    let mut h = Harness::default_config();
    let (opened, socket) = h.connected_websocket(1);
    let out = h.ws_text(1, "41");
    assert_eq!(out.transcript(), Vec::<String>::new());
    assert_eq!(
        out.events(),
        [Event::SocketDisconnected {
            socket,
            reason: CloseReason::ClientDisconnect
        }]
    );
    assert_eq!(h.engine.socket_count(), 0);
    assert_eq!(h.engine.session_count(), 1);
    let again = h.ws_text(1, "40");
    connect_reply_sid(&again.ws_sent(1)[0], "");
    assert_eq!(
        again.events(),
        [Event::SocketConnected {
            socket: SocketId(1),
            session: opened.session,
            nsp: "/".to_owned(),
            auth: Bytes::from_static(b"{}"),
            recovered: false,
        }]
    );
}

#[test]
fn client_disconnect_from_one_namespace_keeps_the_others() {
    let mut h = Harness::default_config();
    let (_, root) = h.connected_websocket(1);
    let admin = h.ws_text(1, "40/admin,").connected_socket().expect("admin");
    let out = h.ws_text(1, "41/admin,");
    assert_eq!(
        out.events(),
        [Event::SocketDisconnected {
            socket: admin,
            reason: CloseReason::ClientDisconnect
        }]
    );
    let message = h.ws_text(1, r#"42["still",1]"#);
    assert_eq!(
        message.events(),
        [Event::Message {
            socket: root,
            name: "still".to_owned(),
            args: Bytes::from_static(b"[1]"),
            attachments: vec![],
            ack: None
        }]
    );
}

#[test]
fn server_disconnect_sends_41_and_keeps_the_session() {
    let mut h = Harness::default_config();
    let (_, socket) = h.connected_websocket(1);
    let now = h.now;
    h.engine.disconnect(now, socket).expect("connected");
    let out = h.drain();
    assert_eq!(out.transcript(), ["1 ws 41"]);
    assert_eq!(
        out.events(),
        [Event::SocketDisconnected {
            socket,
            reason: CloseReason::ServerClose
        }]
    );
    assert_eq!(h.engine.session_count(), 1);
    assert!(h.engine.disconnect(now, socket).is_err(), "already gone");
}

#[test]
fn server_disconnect_of_a_custom_namespace_names_it() {
    let mut h = Harness::default_config();
    h.open_websocket(1);
    let socket = h.ws_text(1, "40/chat,").connected_socket().expect("chat");
    let now = h.now;
    h.engine.disconnect(now, socket).expect("connected");
    assert_eq!(h.drain().transcript(), ["1 ws 41/chat,"]);
}

#[test]
fn a_client_event_becomes_a_message_event() {
    let mut h = Harness::default_config();
    let (_, socket) = h.connected_websocket(1);
    let out = h.ws_text(1, r#"42["chat",{"text":"hi"},2]"#);
    assert_eq!(out.transcript(), Vec::<String>::new());
    assert_eq!(
        out.events(),
        [Event::Message {
            socket,
            name: "chat".to_owned(),
            args: Bytes::from_static(br#"[{"text":"hi"},2]"#),
            attachments: vec![],
            ack: None
        }]
    );
}

#[test]
fn an_event_for_a_namespace_the_client_has_not_joined_closes_the_session() {
    let mut h = Harness::default_config();
    let (opened, _) = h.connected_websocket(1);
    let out = h.ws_text(1, r#"42/elsewhere,["x"]"#);
    assert_eq!(out.transcript(), ["1 ws close 1002 parse error"]);
    assert!(out.events().contains(&Event::SessionClosed {
        session: opened.session,
        reason: CloseReason::ParseError
    }));
}

#[test]
fn a_connect_error_from_the_client_closes_the_session() {
    let mut h = Harness::default_config();
    let (opened, _) = h.connected_websocket(1);
    let out = h.ws_text(1, r#"44{"message":"no"}"#);
    assert!(out.events().contains(&Event::SessionClosed {
        session: opened.session,
        reason: CloseReason::ParseError
    }));
}

#[test]
fn a_malformed_socketio_packet_closes_the_session() {
    let mut h = Harness::default_config();
    let (opened, socket) = h.connected_websocket(1);
    let out = h.ws_text(1, "4{");
    assert_eq!(out.transcript(), ["1 ws close 1002 parse error"]);
    assert_eq!(
        out.events(),
        closed_for(CloseReason::ParseError, socket, opened.session)
    );
}

#[test]
fn client_close_packet_closes_the_session_without_echoing_it() {
    let mut h = Harness::default_config();
    let (opened, socket) = h.connected_websocket(1);
    let out = h.ws_text(1, "1");
    assert_eq!(out.transcript(), ["1 ws close 1000 transport close"]);
    assert_eq!(
        out.events(),
        closed_for(CloseReason::TransportClose, socket, opened.session)
    );
    assert_eq!(
        out.next,
        Some(h.now + support::secs(120)),
        "a closed transport is recoverable: the socket is parked"
    );
}

#[test]
fn server_close_closes_the_websocket_with_a_close_frame_only() {
    let mut h = Harness::default_config();
    let (opened, _) = h.connected_websocket(1);
    let now = h.now;
    h.engine.close(now, opened.session);
    let out = h.drain();
    assert_eq!(out.transcript(), ["1 ws close 1000 forced close"]);
    assert_eq!(h.engine.session_count(), 0);
    assert_eq!(h.engine.socket_count(), 0);
}

#[test]
fn shutdown_closes_every_session_without_a_socketio_disconnect_so_clients_reconnect() {
    let mut h = Harness::default_config();
    h.connected_websocket(1);
    let polled = h.open_polling(2);
    h.post(3, &polling(&polled.sid), b"40");
    h.get(4, &polling(&polled.sid));
    h.get(5, &polling(&polled.sid));
    let now = h.now;
    h.engine.shutdown(now);
    let out = h.drain();
    assert_eq!(
        out.transcript(),
        [
            "1 ws close 1001 server shutting down",
            r#"5 http 503 {"error":"shutting down","detail":"the server is shutting down"}"#
        ]
    );
    let closed = out
        .events()
        .into_iter()
        .filter(|e| matches!(e, Event::SessionClosed { .. }))
        .count();
    assert_eq!(closed, 2);
    assert_eq!(h.engine.session_count(), 0);
}
