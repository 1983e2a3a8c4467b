//! Requests the Engine.IO endpoint refuses: each gets HTTP 400 with the protocol's exact error
//! body, and none opens or disturbs a session.

mod support;

use iorelay_core::{Body, CloseReason, Event};
use support::{get_request, polling, post_request, sio, websocket, Harness};

const UNKNOWN_TRANSPORT: &str = r#"{"code":0,"message":"Transport unknown"}"#;
const UNKNOWN_SID: &str = r#"{"code":1,"message":"Session ID unknown"}"#;
const BAD_HANDSHAKE_METHOD: &str = r#"{"code":2,"message":"Bad handshake method"}"#;
const BAD_REQUEST: &str = r#"{"code":3,"message":"Bad request"}"#;
const UNSUPPORTED_VERSION: &str = r#"{"code":5,"message":"Unsupported protocol version"}"#;

fn refused(h: &mut Harness, request: &str, body: &str) {
    let out = h.http(9, request, Body::Complete(Default::default()));
    assert_eq!(
        out.transcript(),
        [format!("9 http 400 {body}")],
        "{request}"
    );
    assert_eq!(
        out.reply(9).headers,
        [("Content-Type", "application/json".to_owned())]
    );
    assert_eq!(out.events(), []);
}

#[test]
fn an_unknown_transport_is_code_0() {
    let mut h = Harness::default_config();
    refused(
        &mut h,
        &get_request(&sio("transport=flashsocket")),
        UNKNOWN_TRANSPORT,
    );
    assert_eq!(h.engine.session_count(), 0);
}

#[test]
fn a_missing_transport_is_code_0() {
    let mut h = Harness::default_config();
    refused(&mut h, &get_request("/socket.io/?EIO=4"), UNKNOWN_TRANSPORT);
}

#[test]
fn an_unknown_sid_is_code_1_for_get_post_and_websocket() {
    let mut h = Harness::default_config();
    refused(&mut h, &get_request(&polling("nope")), UNKNOWN_SID);
    refused(&mut h, &post_request(&polling("nope"), 0), UNKNOWN_SID);
    refused(
        &mut h,
        &support::ws_request(&websocket("nope")),
        UNKNOWN_SID,
    );
}

#[test]
fn a_post_handshake_is_code_2() {
    let mut h = Harness::default_config();
    refused(
        &mut h,
        &post_request(&sio("transport=polling"), 0),
        BAD_HANDSHAKE_METHOD,
    );
    assert_eq!(h.engine.session_count(), 0);
}

#[test]
fn an_unsupported_eio_version_is_code_5() {
    let mut h = Harness::default_config();
    refused(
        &mut h,
        &get_request("/socket.io/?EIO=3&transport=polling"),
        UNSUPPORTED_VERSION,
    );
    refused(
        &mut h,
        &get_request("/socket.io/?transport=polling"),
        UNSUPPORTED_VERSION,
    );
    assert_eq!(h.engine.session_count(), 0);
}

#[test]
fn a_websocket_transport_without_upgrade_headers_is_code_3() {
    let mut h = Harness::default_config();
    refused(
        &mut h,
        &get_request(&sio("transport=websocket")),
        BAD_REQUEST,
    );
    assert_eq!(h.engine.session_count(), 0);
}

#[test]
fn a_put_with_a_live_sid_is_code_3_and_keeps_the_session() {
    let mut h = Harness::default_config();
    let opened = h.open_polling(1);
    let request = format!(
        "PUT {} HTTP/1.1\r\nHost: localhost\r\n\r\n",
        polling(&opened.sid)
    );
    refused(&mut h, &request, BAD_REQUEST);
    assert_eq!(h.engine.session_count(), 1);
}

#[test]
fn a_post_body_that_is_not_a_payload_is_refused_and_closes_the_session() {
    let mut h = Harness::default_config();
    let opened = h.open_polling(1);
    let out = h.post(2, &polling(&opened.sid), b"");
    assert_eq!(out.reply(2).status, 400);
    assert_eq!(
        out.events(),
        [Event::SessionClosed {
            session: opened.session,
            reason: CloseReason::ParseError
        }]
    );
    assert_eq!(h.engine.session_count(), 0);
    assert_eq!(out.next, None);
}

#[test]
fn a_post_packet_of_unknown_type_closes_the_session() {
    let mut h = Harness::default_config();
    let opened = h.open_polling(1);
    let out = h.post(2, &polling(&opened.sid), b"9");
    assert_eq!(out.transcript(), ["2 http 200 ok"]);
    assert_eq!(
        out.events(),
        [Event::SessionClosed {
            session: opened.session,
            reason: CloseReason::ParseError
        }]
    );
}

#[test]
fn a_path_outside_the_endpoints_is_404() {
    let mut h = Harness::default_config();
    let out = h.get(1, "/nowhere");
    assert_eq!(
        out.transcript(),
        [r#"1 http 404 {"error":"not found","detail":"no route for /nowhere"}"#]
    );
    assert_eq!(h.engine.session_count(), 0);
}

#[test]
fn a_raw_engineio_path_is_404_when_not_configured() {
    let mut h = Harness::default_config();
    let out = h.get(1, "/engine.io/?EIO=4&transport=polling");
    assert_eq!(out.reply(1).status, 404);
    assert_eq!(h.engine.session_count(), 0);
}

#[test]
fn a_sid_names_a_session_of_its_own_endpoint_only() {
    let mut h = Harness::new(iorelay_core::Config::conformance());
    let (_, raw_sid) = h
        .get(1, "/engine.io/?EIO=4&transport=polling")
        .opened_session()
        .expect("raw session");
    refused(&mut h, &get_request(&polling(&raw_sid)), UNKNOWN_SID);
    let sio_sid = h.open_polling(2).sid;
    let raw_target = format!("/engine.io/?EIO=4&transport=polling&sid={sio_sid}");
    refused(&mut h, &get_request(&raw_target), UNKNOWN_SID);
    assert_eq!(h.engine.session_count(), 2);
}
