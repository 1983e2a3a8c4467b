//! Transcript tests of the client on literal instants: what it sends and reports for a
//! handshake, a CONNECT, acks both ways, attachments, the heartbeat deadline, an upgrade,
//! reconnection and recovery.

use std::time::{Duration, Instant};

use bytes::Bytes;

use super::*;
use crate::io::ConnId;
use crate::time::test_clock::t0;

const OPEN: &str =
    r#"0{"sid":"S1","upgrades":[],"pingInterval":300,"pingTimeout":200,"maxPayload":1000}"#;
const OPEN_POLLING: &str =
    r#"0{"sid":"S1","upgrades":["websocket"],"pingInterval":300,"pingTimeout":200}"#;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn text(s: &str) -> Frame {
    Frame::Text(Bytes::copy_from_slice(s.as_bytes()))
}

/// Everything one step produced, as readable lines, and the next deadline.
fn drain(client: &mut Client) -> (Vec<String>, Option<Instant>) {
    let mut lines = Vec::new();
    for _ in 0..10_000 {
        match client.poll_output() {
            ClientOutput::Timeout(next) => return (lines, next),
            ClientOutput::HttpRequest { conn, request } => lines.push(format!(
                "{} {} {} {}",
                conn.0,
                request.method.as_str(),
                request.target,
                String::from_utf8_lossy(&request.body).replace('\u{1e}', "␞")
            )),
            ClientOutput::WsOpen { conn, target } => {
                lines.push(format!("{} open {target}", conn.0))
            }
            ClientOutput::WsSend { conn, frame } => lines.push(match frame {
                Frame::Text(t) => format!("{} ws {}", conn.0, String::from_utf8_lossy(&t)),
                Frame::Binary(b) => format!("{} ws <{b:?}>", conn.0),
            }),
            ClientOutput::Close { conn } => lines.push(format!("{} close", conn.0)),
            ClientOutput::Event(event) => lines.push(format!("event {event:?}")),
        }
    }
    panic!("the client never stopped producing output");
}

fn input(client: &mut Client, input: ClientInput) -> (Vec<String>, Option<Instant>) {
    client.handle_input(input).unwrap();
    drain(client)
}

/// A client on `/` over websocket with the session open and the CONNECT answered.
fn connected(t: Instant, auth: Option<&'static str>) -> Client {
    let mut client = Client::new(ClientConfig::default(), t, [1; 32]);
    client
        .connect(t, "/", auth.map(|a| Bytes::from_static(a.as_bytes())))
        .unwrap();
    let conn = ConnId(1);
    let _ = drain(&mut client);
    let _ = input(&mut client, ClientInput::WsOpened { now: t, conn });
    let _ = input(
        &mut client,
        ClientInput::WsMessage {
            now: t,
            conn,
            frame: text(OPEN),
        },
    );
    let _ = input(
        &mut client,
        ClientInput::WsMessage {
            now: t,
            conn,
            frame: text(r#"40{"sid":"A","pid":"P"}"#),
        },
    );
    assert!(client.is_connected("/"));
    client
}

#[test]
fn a_websocket_handshake_sends_the_connect_with_its_auth_and_reports_the_socket() {
    let t = t0();
    let mut client = Client::new(ClientConfig::default(), t, [1; 32]);
    assert_eq!(
        drain(&mut client),
        (vec![], None),
        "idle until a namespace is asked for"
    );
    client
        .connect(t, "/", Some(Bytes::from_static(br#"{"token":"x"}"#)))
        .unwrap();
    assert_eq!(
        drain(&mut client),
        (
            vec!["1 open /socket.io/?EIO=4&transport=websocket".to_owned()],
            Some(t + Duration::from_secs(20))
        )
    );
    let conn = ConnId(1);
    let (lines, _) = input(&mut client, ClientInput::WsOpened { now: t, conn });
    assert!(lines.is_empty());
    let (lines, next) = input(
        &mut client,
        ClientInput::WsMessage {
            now: t,
            conn,
            frame: text(OPEN),
        },
    );
    assert_eq!(
        lines,
        [
            r#"event Opened { sid: "S1", transport: WebSocket }"#,
            r#"1 ws 40{"token":"x"}"#,
        ]
    );
    assert_eq!(next, Some(t + ms(500)), "no ping by interval + timeout");
    let (lines, _) = input(
        &mut client,
        ClientInput::WsMessage {
            now: t,
            conn,
            frame: text(r#"40{"sid":"A","pid":"P"}"#),
        },
    );
    assert_eq!(
        lines,
        [r#"event Connected { nsp: "/", sid: "A", recovered: false }"#]
    );
}

#[test]
fn pings_are_answered_and_a_missing_ping_loses_the_session_at_its_deadline() {
    let t = t0();
    let mut client = connected(t, None);
    let conn = ConnId(1);
    let (lines, next) = input(
        &mut client,
        ClientInput::WsMessage {
            now: t + ms(300),
            conn,
            frame: text("2"),
        },
    );
    assert_eq!(lines, ["1 ws 3", "event Pinged"]);
    assert_eq!(next, Some(t + ms(800)));
    let (lines, _) = input(&mut client, ClientInput::Timeout(t + ms(799)));
    assert!(lines.is_empty());
    let (lines, next) = input(&mut client, ClientInput::Timeout(t + ms(800)));
    assert_eq!(
        lines,
        [
            "1 close",
            "event Lost { reason: PingTimeout }",
            r#"event Disconnected { nsp: "/", reason: Lost(PingTimeout) }"#,
            format!(
                "event Reconnecting {{ attempt: 1, at: {:?} }}",
                next.unwrap()
            )
            .as_str(),
        ]
    );
    let delay = next.unwrap() - (t + ms(800));
    assert!(delay >= ms(500) && delay <= ms(1500), "{delay:?}");
}

#[test]
fn a_reconnect_asks_to_recover_with_pid_and_last_offset_and_reports_recovery() {
    let t = t0();
    let mut client = connected(t, Some(r#"{"session":"s1"}"#));
    let conn = ConnId(1);
    let (lines, _) = input(
        &mut client,
        ClientInput::WsMessage {
            now: t,
            conn,
            frame: text(r#"42["claude_event",{"a":1},"7"]"#),
        },
    );
    assert_eq!(
        lines,
        [
            r#"event Message { nsp: "/", name: "claude_event", args: b"[{\"a\":1},\"7\"]", attachments: [], ack: None }"#
        ]
    );
    assert_eq!(client.recovery("/").unwrap().offset(), Some("7"));
    let (_, next) = input(
        &mut client,
        ClientInput::ConnClosed {
            now: t + ms(10),
            conn,
        },
    );
    let at = next.unwrap();
    let (lines, _) = input(&mut client, ClientInput::Timeout(at));
    assert_eq!(lines, ["2 open /socket.io/?EIO=4&transport=websocket"]);
    let conn = ConnId(2);
    let _ = input(&mut client, ClientInput::WsOpened { now: at, conn });
    let (lines, _) = input(
        &mut client,
        ClientInput::WsMessage {
            now: at,
            conn,
            frame: text(OPEN),
        },
    );
    assert_eq!(
        lines[1],
        r#"2 ws 40{"offset":"7","pid":"P","session":"s1"}"#
    );
    let (lines, _) = input(
        &mut client,
        ClientInput::WsMessage {
            now: at,
            conn,
            frame: text(r#"40{"sid":"A","pid":"P"}"#),
        },
    );
    assert_eq!(
        lines,
        [r#"event Connected { nsp: "/", sid: "A", recovered: true }"#]
    );
}

#[test]
fn an_emit_awaits_its_ack_until_the_deadline_and_resolves_once() {
    let t = t0();
    let mut client = connected(t, None);
    let conn = ConnId(1);
    let emit = Emit::new("history", &[br#"{"limit":1}"#]);
    let id = client.emit(t, "/", &emit, Some(ms(100))).unwrap();
    assert_eq!(id, Some(0));
    assert_eq!(drain(&mut client).0, [r#"1 ws 420["history",{"limit":1}]"#]);
    let (lines, _) = input(
        &mut client,
        ClientInput::WsMessage {
            now: t + ms(5),
            conn,
            frame: text(r#"430[{"events":[]}]"#),
        },
    );
    assert_eq!(
        lines,
        [r#"event AckReceived { nsp: "/", id: 0, args: b"[{\"events\":[]}]", attachments: [] }"#]
    );
    let (lines, _) = input(
        &mut client,
        ClientInput::WsMessage {
            now: t + ms(6),
            conn,
            frame: text(r#"430[2]"#),
        },
    );
    assert!(lines.is_empty(), "an ack resolves once");
    let id = client.emit(t + ms(10), "/", &emit, Some(ms(100))).unwrap();
    assert_eq!(id, Some(1));
    let (_, next) = drain(&mut client);
    assert_eq!(next, Some(t + ms(110)));
    let (lines, _) = input(&mut client, ClientInput::Timeout(t + ms(110)));
    assert_eq!(lines, [r#"event AckTimedOut { nsp: "/", id: 1 }"#]);
}

#[test]
fn a_binary_event_is_reassembled_and_acked_with_an_attachment() {
    let t = t0();
    let mut client = connected(t, None);
    let conn = ConnId(1);
    let header = text(r#"451-4["up",{"_placeholder":true,"num":0}]"#);
    let (lines, next) = input(
        &mut client,
        ClientInput::WsMessage {
            now: t,
            conn,
            frame: header,
        },
    );
    assert!(lines.is_empty());
    assert_eq!(
        next,
        Some(t + ms(500)),
        "the ping deadline comes before the attachment's"
    );
    let data = Frame::Binary(Bytes::from_static(&[1, 2]));
    let (lines, _) = input(
        &mut client,
        ClientInput::WsMessage {
            now: t,
            conn,
            frame: data,
        },
    );
    assert_eq!(
        lines,
        [
            r#"event Message { nsp: "/", name: "up", args: b"[{\"_placeholder\":true,\"num\":0}]", attachments: [b"\x01\x02"], ack: Some(4) }"#
        ]
    );
    client
        .ack(
            t,
            "/",
            4,
            Bytes::from_static(br#"[{"_placeholder":true,"num":0}]"#),
            vec![Bytes::from_static(b"x")],
        )
        .unwrap();
    assert_eq!(
        drain(&mut client).0,
        [
            r#"1 ws 461-4[{"_placeholder":true,"num":0}]"#,
            r#"1 ws <b"x">"#
        ]
    );
}

#[test]
fn an_attachment_nobody_announced_is_a_parse_error() {
    let t = t0();
    let mut client = connected(t, None);
    let data = Frame::Binary(Bytes::from_static(&[1]));
    let (lines, _) = input(
        &mut client,
        ClientInput::WsMessage {
            now: t,
            conn: ConnId(1),
            frame: data,
        },
    );
    assert_eq!(lines[..2], ["1 close", "event Lost { reason: ParseError }"]);
}

#[test]
fn server_garbage_ends_the_session_never_the_api() {
    let t = t0();
    for garbage in [
        "",
        "9",
        "4",
        "4garbage",
        "0{}",
        "5",
        r#"44{"message":1}"#,
        "3probe",
    ] {
        let mut client = connected(t, None);
        let result = client.handle_input(ClientInput::WsMessage {
            now: t,
            conn: ConnId(1),
            frame: text(garbage),
        });
        assert_eq!(result, Ok(()));
        let (lines, next) = drain(&mut client);
        assert!(next.is_some(), "{garbage:?}: a deadline remains");
        let _ = lines;
    }
}

#[test]
fn a_refused_namespace_is_reported_and_not_asked_again() {
    let t = t0();
    let mut client = connected(t, None);
    client
        .connect(t, "/tools", Some(Bytes::from_static(b"{}")))
        .unwrap();
    assert_eq!(drain(&mut client).0, ["1 ws 40/tools,{}"]);
    let (lines, _) = input(
        &mut client,
        ClientInput::WsMessage {
            now: t,
            conn: ConnId(1),
            frame: text(r#"44/tools,{"message":"Invalid namespace"}"#),
        },
    );
    assert_eq!(
        lines,
        [r#"event ConnectError { nsp: "/tools", data: b"{\"message\":\"Invalid namespace\"}" }"#]
    );
    assert!(!client.is_connected("/tools"));
}

#[test]
fn an_unanswered_connect_gives_the_session_up_at_its_deadline() {
    let t = t0();
    let config = ClientConfig {
        connect_timeout: ms(100),
        ..ClientConfig::default()
    };
    let mut client = Client::new(config, t, [1; 32]);
    client.connect(t, "/", None).unwrap();
    let _ = drain(&mut client);
    let conn = ConnId(1);
    let _ = input(&mut client, ClientInput::WsOpened { now: t, conn });
    let (lines, next) = input(
        &mut client,
        ClientInput::WsMessage {
            now: t,
            conn,
            frame: text(OPEN),
        },
    );
    assert_eq!(lines[1], "1 ws 40");
    assert_eq!(next, Some(t + ms(100)));
    let (lines, _) = input(&mut client, ClientInput::Timeout(t + ms(100)));
    assert_eq!(
        lines[..2],
        ["1 close", "event Lost { reason: ConnectTimeout }"]
    );
}

#[test]
fn polling_opens_polls_posts_and_upgrades_after_the_probe() {
    let t = t0();
    let config = ClientConfig {
        transports: Transports::PollingThenUpgrade,
        ..ClientConfig::default()
    };
    let mut client = Client::new(config, t, [1; 32]);
    client.connect(t, "/", None).unwrap();
    assert_eq!(
        drain(&mut client).0,
        ["1 GET /socket.io/?EIO=4&transport=polling "]
    );
    let reply = ClientInput::HttpReply {
        now: t,
        conn: ConnId(1),
        status: 200,
        body: Bytes::from_static(OPEN_POLLING.as_bytes()),
    };
    let (lines, _) = input(&mut client, reply);
    assert_eq!(
        lines,
        [
            "2 open /socket.io/?EIO=4&transport=websocket&sid=S1",
            "3 GET /socket.io/?EIO=4&transport=polling&sid=S1 ",
            r#"event Opened { sid: "S1", transport: Polling }"#,
            "4 POST /socket.io/?EIO=4&transport=polling&sid=S1 40",
        ]
    );
    let ok = |conn| ClientInput::HttpReply {
        now: t,
        conn: ConnId(conn),
        status: 200,
        body: Bytes::from_static(b"ok"),
    };
    assert!(input(&mut client, ok(4)).0.is_empty());
    let (lines, _) = input(
        &mut client,
        ClientInput::WsOpened {
            now: t,
            conn: ConnId(2),
        },
    );
    assert_eq!(lines, ["2 ws 2probe"]);
    let (lines, _) = input(
        &mut client,
        ClientInput::WsMessage {
            now: t,
            conn: ConnId(2),
            frame: text("3probe"),
        },
    );
    assert!(lines.is_empty(), "paused until the held poll returns");
    let released = ClientInput::HttpReply {
        now: t,
        conn: ConnId(3),
        status: 200,
        body: Bytes::from_static(br#"40{"sid":"A"}"#),
    };
    let (lines, _) = input(&mut client, released);
    assert_eq!(
        lines,
        [
            "2 ws 5",
            r#"event Connected { nsp: "/", sid: "A", recovered: false }"#,
            "event Upgraded",
        ]
    );
    assert_eq!(client.transport(), Some(TransportKind::WebSocket));
}

#[test]
fn a_probe_that_never_answers_is_abandoned_and_polling_goes_on() {
    let t = t0();
    let config = ClientConfig {
        transports: Transports::PollingThenUpgrade,
        upgrade_timeout: ms(50),
        ..ClientConfig::default()
    };
    let mut client = Client::new(config, t, [1; 32]);
    client.connect(t, "/", None).unwrap();
    let _ = drain(&mut client);
    let reply = ClientInput::HttpReply {
        now: t,
        conn: ConnId(1),
        status: 200,
        body: Bytes::from_static(OPEN_POLLING.as_bytes()),
    };
    let (_, next) = input(&mut client, reply);
    assert_eq!(next, Some(t + ms(50)));
    let (lines, _) = input(&mut client, ClientInput::Timeout(t + ms(50)));
    assert_eq!(lines, ["2 close"]);
    assert_eq!(client.transport(), Some(TransportKind::Polling));
}

#[test]
fn a_refused_handshake_retries_with_growing_delays_until_the_policy_gives_up() {
    let t = t0();
    let config = ClientConfig {
        reconnect: Some(Backoff {
            jitter_per_mille: 0,
            max_attempts: Some(2),
            ..Backoff::default()
        }),
        ..ClientConfig::default()
    };
    let mut client = Client::new(config, t, [1; 32]);
    client.connect(t, "/", None).unwrap();
    let _ = drain(&mut client);
    let (lines, next) = input(
        &mut client,
        ClientInput::ConnClosed {
            now: t,
            conn: ConnId(1),
        },
    );
    assert_eq!(lines[1], "event Lost { reason: HandshakeFailed }");
    assert_eq!(next, Some(t + Duration::from_secs(1)));
    let _ = input(
        &mut client,
        ClientInput::Timeout(t + Duration::from_secs(1)),
    );
    let (_, next) = input(
        &mut client,
        ClientInput::ConnClosed {
            now: t + Duration::from_secs(1),
            conn: ConnId(2),
        },
    );
    assert_eq!(next, Some(t + Duration::from_secs(3)));
    let _ = input(
        &mut client,
        ClientInput::Timeout(t + Duration::from_secs(3)),
    );
    let (lines, next) = input(
        &mut client,
        ClientInput::ConnClosed {
            now: t + Duration::from_secs(3),
            conn: ConnId(3),
        },
    );
    assert_eq!(lines.last().map(String::as_str), Some("event GaveUp"));
    assert_eq!(next, None);
    assert!(client.is_closed());
}

#[test]
fn close_leaves_every_namespace_and_ends_the_session() {
    let t = t0();
    let mut client = connected(t, None);
    client.close(t);
    assert_eq!(
        drain(&mut client),
        (
            vec![
                "1 ws 41".to_owned(),
                r#"event Disconnected { nsp: "/", reason: ClientDisconnect }"#.to_owned(),
                "1 ws 1".to_owned(),
                "1 close".to_owned(),
            ],
            None
        )
    );
    assert!(client.connect(t, "/", None).is_err());
}

#[test]
fn misuse_is_an_error_that_says_how_to_fix_the_call() {
    let t = t0();
    let mut client = Client::new(ClientConfig::default(), t, [1; 32]);
    assert!(client
        .connect(t, "nsp", None)
        .unwrap_err()
        .0
        .contains("must start with '/'"));
    assert!(client
        .connect(t, "/", Some(Bytes::from_static(b"[1]")))
        .unwrap_err()
        .0
        .contains("JSON object"));
    let emit = Emit::new("x", &[]);
    assert!(client
        .emit(t, "/", &emit, None)
        .unwrap_err()
        .0
        .contains("wait for ClientEvent::Connected"));
}
