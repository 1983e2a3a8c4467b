//! The scenarios: each protocol behaviour written once, run against every [`Target`].
//!
//! They assume conformance mode (`Config::conformance()`, `serve --conformance`): ping every
//! 300 ms, pong within 200 ms, `/engine.io/` echoes, `/socket.io/` runs the test namespaces.

use std::time::Duration;

use serde_json::Value;

use crate::target::{Msg, Target, TargetExt, WsEvent, WsId};

/// A named scenario.
pub type Scenario = (&'static str, fn(&mut dyn Target));

const SOON: Duration = Duration::from_secs(2);
const EIO: &str = "/engine.io/?EIO=4";
const SIO: &str = "/socket.io/?EIO=4";

/// Every scenario, in a stable order.
#[must_use]
pub fn all() -> Vec<Scenario> {
    named![fn(&mut dyn Target);
        health_reports_the_service,
        unknown_routes_are_404_json,
        polling_handshake_sends_the_open_packet,
        bad_requests_get_engineio_error_bodies,
        polling_echo_batches_packets,
        held_poll_is_released_by_data,
        aborted_poll_closes_the_session,
        duplicate_poll_closes_the_session,
        socketio_connect_over_polling,
        websocket_connect_auth_and_message_back,
        websocket_binary_message_back,
        ack_is_answered_with_the_same_args,
        invalid_namespace_is_refused,
        disconnect_keeps_the_session_usable,
        malformed_socketio_packet_closes,
        upgrade_from_polling_to_websocket,
        poll_racing_the_upgrade_is_refused,
        heartbeat_pings_and_times_out,
        oversized_post_is_413_and_ends_the_session,
    ]
}

pub(crate) fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// Opens a polling session on `path` and returns its sid.
pub(crate) fn open_polling(t: &mut dyn Target, path: &str) -> String {
    let reply = t.http("GET", &format!("{path}&transport=polling"), b"", SOON);
    assert_eq!(
        reply.status,
        200,
        "[{}] handshake: {}",
        t.label(),
        reply.text()
    );
    let body = reply.text();
    let open = json(body.strip_prefix('0').expect("open packet"));
    open["sid"].as_str().expect("sid").to_owned()
}

fn session(path: &str, sid: &str) -> String {
    format!("{path}&transport=polling&sid={sid}")
}

/// Opens a websocket session on `path`, consuming the open packet.
fn open_ws(t: &mut dyn Target, path: &str) -> WsId {
    let ws = t
        .open_ws(&format!("{path}&transport=websocket"))
        .unwrap_or_else(|r| {
            panic!(
                "[{}] websocket refused: {} {}",
                t.label(),
                r.status,
                r.text()
            )
        });
    let open = t.ws_text(ws, SOON);
    assert!(
        open.starts_with("0{"),
        "[{}] open packet: {open}",
        t.label()
    );
    ws
}

/// A websocket Socket.IO connection to `/` with its `auth` event consumed.
fn connect_main(t: &mut dyn Target) -> WsId {
    let ws = open_ws(t, SIO);
    t.ws_send(ws, Msg::Text("40".into()));
    let reply = t.ws_text(ws, SOON);
    assert!(
        reply.starts_with("40{\"sid\":"),
        "[{}] CONNECT reply: {reply}",
        t.label()
    );
    assert_eq!(t.ws_text(ws, SOON), r#"42["auth",{}]"#);
    ws
}

fn expect_closed(t: &mut dyn Target, ws: WsId, within: Duration) {
    loop {
        match t.ws_recv(ws, within) {
            Some(WsEvent::Closed(_)) => return,
            Some(WsEvent::Msg(_)) => {}
            None => panic!("[{}] websocket still open after {within:?}", t.label()),
        }
    }
}

fn health_reports_the_service(t: &mut dyn Target) {
    let reply = t.http("GET", "/health", b"", SOON);
    assert_eq!(reply.status, 200);
    let health = json(&reply.text());
    assert_eq!(health["status"], "ok");
    assert_eq!(health["service"], "iorelay");
    assert!(health["uptime_s"].is_u64() && health["pid"].is_u64() && health["version"].is_string());
}

fn unknown_routes_are_404_json(t: &mut dyn Target) {
    let reply = t.http("GET", "/nope", b"", SOON);
    assert_eq!(reply.status, 404);
    assert_eq!(json(&reply.text())["error"], "not found");
}

fn polling_handshake_sends_the_open_packet(t: &mut dyn Target) {
    let reply = t.http("GET", &format!("{SIO}&transport=polling"), b"", SOON);
    assert_eq!(reply.status, 200);
    let open = json(reply.text().strip_prefix('0').expect("open packet"));
    let keys: Vec<&String> = open.as_object().expect("object").keys().collect();
    assert_eq!(keys.len(), 5, "exactly five keys: {open}");
    assert_eq!(open["upgrades"], serde_json::json!(["websocket"]));
    assert_eq!(open["pingInterval"], 300);
    assert_eq!(open["pingTimeout"], 200);
    assert_eq!(open["maxPayload"], 1_000_000);
}

fn bad_requests_get_engineio_error_bodies(t: &mut dyn Target) {
    let cases = [
        (
            "GET",
            "/socket.io/?EIO=3&transport=polling",
            r#"{"code":5,"message":"Unsupported protocol version"}"#,
        ),
        (
            "GET",
            "/socket.io/?EIO=4&transport=carrier-pigeon",
            r#"{"code":0,"message":"Transport unknown"}"#,
        ),
        (
            "POST",
            "/socket.io/?EIO=4&transport=polling",
            r#"{"code":2,"message":"Bad handshake method"}"#,
        ),
        (
            "GET",
            "/socket.io/?EIO=4&transport=polling&sid=unknown",
            r#"{"code":1,"message":"Session ID unknown"}"#,
        ),
    ];
    for (method, target, body) in cases {
        let reply = t.http(method, target, b"", SOON);
        assert_eq!(
            (reply.status, reply.text().as_str()),
            (400, body),
            "[{}] {method} {target}",
            t.label()
        );
    }
}

fn polling_echo_batches_packets(t: &mut dyn Target) {
    let sid = open_polling(t, EIO);
    let url = session(EIO, &sid);
    let post = t.http("POST", &url, b"4hello\x1e4world\x1ebAQIDBA==", SOON);
    assert_eq!((post.status, post.text().as_str()), (200, "ok"));
    let poll = t.http("GET", &url, b"", SOON);
    assert_eq!(poll.text(), "4hello\x1e4world\x1ebAQIDBA==");
}

fn held_poll_is_released_by_data(t: &mut dyn Target) {
    let sid = open_polling(t, EIO);
    let url = session(EIO, &sid);
    let held = t.send_http("GET", &url, b"");
    assert!(
        t.wait_http(held, Duration::from_millis(50)).is_none(),
        "an empty poll is held"
    );
    t.http("POST", &url, b"4ping me", SOON);
    let reply = t.wait_http(held, SOON).expect("the held poll is answered");
    assert_eq!(reply.text(), "4ping me");
}

fn aborted_poll_closes_the_session(t: &mut dyn Target) {
    let sid = open_polling(t, EIO);
    let url = session(EIO, &sid);
    let held = t.send_http("GET", &url, b"");
    assert!(t.wait_http(held, Duration::from_millis(50)).is_none());
    t.abort_http(held);
    // The close must reach the server before the next request; nothing observable marks it.
    t.pass(Duration::from_millis(50));
    let after = t.http("GET", &url, b"", SOON);
    assert_eq!(
        (after.status, after.text().as_str()),
        (400, r#"{"code":1,"message":"Session ID unknown"}"#)
    );
}

fn duplicate_poll_closes_the_session(t: &mut dyn Target) {
    let sid = open_polling(t, EIO);
    let url = session(EIO, &sid);
    let first = t.send_http("GET", &url, b"");
    assert!(t.wait_http(first, Duration::from_millis(50)).is_none());
    let second = t.http("GET", &url, b"", SOON);
    assert_eq!(second.status, 400);
    let first = t
        .wait_http(first, SOON)
        .expect("the first poll is answered");
    assert_eq!(first.text(), "1");
    assert_eq!(t.http("GET", &url, b"", SOON).status, 400);
}

fn socketio_connect_over_polling(t: &mut dyn Target) {
    let sid = open_polling(t, SIO);
    let url = session(SIO, &sid);
    t.http("POST", &url, br#"40{"token":"abc"}"#, SOON);
    let reply = t.http("GET", &url, b"", SOON).text();
    let connect = json(reply.strip_prefix("40").expect("CONNECT reply"));
    assert_eq!(
        connect.as_object().map(|o| o.len()),
        Some(1),
        "exactly {{sid}}: {connect}"
    );
    assert_ne!(
        connect["sid"].as_str(),
        Some(sid.as_str()),
        "socket id differs from the Engine.IO sid"
    );
    assert_eq!(
        t.http("GET", &url, b"", SOON).text(),
        r#"42["auth",{"token":"abc"}]"#
    );
}

fn websocket_connect_auth_and_message_back(t: &mut dyn Target) {
    let ws = connect_main(t);
    t.ws_send(ws, Msg::Text(r#"42["message",1,"2",{"3":[true]}]"#.into()));
    assert_eq!(
        t.ws_text(ws, SOON),
        r#"42["message-back",1,"2",{"3":[true]}]"#
    );
}

fn websocket_binary_message_back(t: &mut dyn Target) {
    let ws = connect_main(t);
    t.ws_send(
        ws,
        Msg::Text(
            r#"452-["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#.into(),
        ),
    );
    t.ws_send(ws, Msg::Binary(vec![1, 2, 3]));
    t.ws_send(ws, Msg::Binary(vec![4, 5, 6]));
    assert_eq!(
        t.ws_text(ws, SOON),
        r#"452-["message-back",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#
    );
    for expected in [vec![1, 2, 3], vec![4, 5, 6]] {
        assert_eq!(
            t.ws_recv(ws, SOON),
            Some(WsEvent::Msg(Msg::Binary(expected)))
        );
    }
}

fn ack_is_answered_with_the_same_args(t: &mut dyn Target) {
    let ws = connect_main(t);
    t.ws_send(
        ws,
        Msg::Text(r#"42456["message-with-ack",1,"2",{"3":[false]}]"#.into()),
    );
    assert_eq!(t.ws_text(ws, SOON), r#"43456[1,"2",{"3":[false]}]"#);
}

fn invalid_namespace_is_refused(t: &mut dyn Target) {
    let ws = open_ws(t, SIO);
    t.ws_send(ws, Msg::Text("40/random".into()));
    assert_eq!(
        t.ws_text(ws, SOON),
        r#"44/random,{"message":"Invalid namespace"}"#
    );
}

fn disconnect_keeps_the_session_usable(t: &mut dyn Target) {
    let ws = connect_main(t);
    t.ws_send(ws, Msg::Text("41".into()));
    t.ws_send(ws, Msg::Text("40/custom,".into()));
    let reply = t.ws_text(ws, SOON);
    assert!(
        reply.starts_with("40/custom,{\"sid\":"),
        "[{}] {reply}",
        t.label()
    );
    assert_eq!(t.ws_text(ws, SOON), r#"42/custom,["auth",{}]"#);
}

fn malformed_socketio_packet_closes(t: &mut dyn Target) {
    let ws = connect_main(t);
    t.ws_send(ws, Msg::Text("42{}".into()));
    expect_closed(t, ws, SOON);
}

fn upgrade_from_polling_to_websocket(t: &mut dyn Target) {
    let sid = open_polling(t, EIO);
    let url = session(EIO, &sid);
    let ws = t
        .open_ws(&format!("{EIO}&transport=websocket&sid={sid}"))
        .expect("probe websocket");
    t.ws_send(ws, Msg::Text("2probe".into()));
    assert_eq!(t.ws_text(ws, SOON), "3probe");
    assert_eq!(t.http("GET", &url, b"", SOON).text(), "6");
    t.ws_send(ws, Msg::Text("5".into()));
    t.ws_send(ws, Msg::Text("4hello".into()));
    assert_eq!(t.ws_text(ws, SOON), "4hello");
    let poll = t.http("GET", &url, b"", SOON);
    assert_eq!(
        (poll.status, poll.text().as_str()),
        (400, r#"{"code":3,"message":"Bad request"}"#)
    );
    let second = t
        .open_ws(&format!("{EIO}&transport=websocket&sid={sid}"))
        .expect("accepted, then closed");
    expect_closed(t, second, SOON);
}

fn poll_racing_the_upgrade_is_refused(t: &mut dyn Target) {
    let sid = open_polling(t, EIO);
    let url = session(EIO, &sid);
    let ws = t
        .open_ws(&format!("{EIO}&transport=websocket&sid={sid}"))
        .expect("probe websocket");
    t.ws_send(ws, Msg::Text("2probe".into()));
    assert_eq!(t.ws_text(ws, SOON), "3probe");
    let late = t.send_http("GET", &url, b"");
    assert!(
        t.wait_http(late, Duration::from_millis(10)).is_none(),
        "a poll after the probe is held briefly"
    );
    t.ws_send(ws, Msg::Text("5".into()));
    let reply = t
        .wait_http(late, SOON)
        .expect("answered once the upgrade completes");
    assert_eq!(
        (reply.status, reply.text().as_str()),
        (400, r#"{"code":3,"message":"Bad request"}"#)
    );
}

fn heartbeat_pings_and_times_out(t: &mut dyn Target) {
    let ws = open_ws(t, EIO);
    for _ in 0..2 {
        assert_eq!(
            t.ws_recv(ws, Duration::from_millis(600)),
            Some(WsEvent::Msg(Msg::Text("2".into())))
        );
        t.ws_send(ws, Msg::Text("3".into()));
    }
    assert_eq!(
        t.ws_recv(ws, Duration::from_millis(600)),
        Some(WsEvent::Msg(Msg::Text("2".into())))
    );
    expect_closed(t, ws, Duration::from_millis(600));
}

fn oversized_post_is_413_and_ends_the_session(t: &mut dyn Target) {
    let sid = open_polling(t, EIO);
    let url = session(EIO, &sid);
    let body = vec![b'4'; 1_000_001];
    let reply = t.http("POST", &url, &body, SOON);
    assert_eq!(reply.status, 413);
    assert_eq!(t.http("GET", &url, b"", SOON).status, 400);
}
