//! The client state machine fed whatever a server might send: replies, websocket messages
//! and closes on its connections (and on connections it never opened), the passing of time,
//! and the application's commands in between.
//!
//! Invariants: `handle_input` never errs; every drain ends within a bound; the client only
//! sends on and closes connections it opened; while it is neither idle nor closed it always
//! has a deadline (no protocol wait without one).

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use bytes::Bytes;
use iorelay_core::client::{Client, ClientConfig, ClientInput, ClientOutput, Transports};
use iorelay_core::engineio::packet::Frame;
use iorelay_core::{ConnId, Emit};

use super::cursor::Cursor;

const MAX_STEPS: usize = 256;
const MAX_OUTPUTS: usize = 10_000;

/// Server messages a fuzzer would take long to find on its own.
const DICTIONARY: &[&[u8]] = &[
    br#"0{"sid":"S","upgrades":["websocket"],"pingInterval":100,"pingTimeout":100,"maxPayload":100000}"#,
    b"2",
    b"3probe",
    b"6",
    b"1",
    br#"40{"sid":"A","pid":"P"}"#,
    br#"40/tools,{"sid":"B"}"#,
    br#"44{"message":"unauthorized"}"#,
    br#"42["claude_event",{"a":1},"7"]"#,
    br#"42["event_history",{"events":[]}]"#,
    br#"430[{"ok":true}]"#,
    br#"451-["up",{"_placeholder":true,"num":0}]"#,
    br#"461-0[{"_placeholder":true,"num":0}]"#,
    b"41",
    b"42",
];

/// Runs one fuzz input through a client.
pub fn client(data: &[u8]) {
    let mut cursor = Cursor::new(data);
    let start = Instant::now();
    let transports = cursor.pick(&[
        Transports::WebSocket,
        Transports::Polling,
        Transports::PollingThenUpgrade,
    ]);
    let config = ClientConfig {
        transports,
        max_payload: 64 * 1024,
        ..ClientConfig::default()
    };
    let mut now = start;
    let mut client = Client::new(config, now, [3; 32]);
    client
        .connect(now, "/", Some(Bytes::from_static(b"{}")))
        .expect("a valid connect");
    let mut opened: BTreeSet<ConnId> = BTreeSet::new();
    let mut live: Vec<ConnId> = Vec::new();
    drain(&mut client, &mut opened, &mut live);
    for _ in 0..MAX_STEPS {
        if cursor.is_empty() {
            break;
        }
        let conn = if live.is_empty() || cursor.below(8) == 0 {
            ConnId(u64::from(cursor.byte()))
        } else {
            live[cursor.below(live.len())]
        };
        let input = match cursor.below(8) {
            0 => {
                now += Duration::from_millis(u64::from(cursor.u16()));
                ClientInput::Timeout(now)
            }
            1 => ClientInput::HttpReply {
                now,
                conn,
                status: cursor.pick(&[200, 200, 400, 503]),
                body: Bytes::copy_from_slice(message(&mut cursor)),
            },
            2 => ClientInput::WsOpened { now, conn },
            3 => ClientInput::ConnClosed { now, conn },
            4 => ClientInput::WsMessage {
                now,
                conn,
                frame: Frame::Binary(Bytes::copy_from_slice(cursor.chunk())),
            },
            5 => {
                let emit = Emit::new("ev", &[b"1"]);
                let _ = client.emit(now, "/", &emit, Some(Duration::from_millis(50)));
                let _ = client.ack(
                    now,
                    "/",
                    u64::from(cursor.byte()),
                    Bytes::from_static(b"[]"),
                    vec![],
                );
                drain(&mut client, &mut opened, &mut live);
                continue;
            }
            _ => ClientInput::WsMessage {
                now,
                conn,
                frame: Frame::Text(Bytes::copy_from_slice(message(&mut cursor))),
            },
        };
        client
            .handle_input(input)
            .expect("server input is never an API error");
        drain(&mut client, &mut opened, &mut live);
    }
    client.close(now);
    drain(&mut client, &mut opened, &mut live);
    assert!(client.is_closed());
}

/// A dictionary message (maybe followed by more) or raw bytes.
fn message<'a>(cursor: &mut Cursor<'a>) -> &'a [u8] {
    if cursor.below(2) == 0 {
        DICTIONARY[cursor.below(DICTIONARY.len())]
    } else {
        cursor.chunk()
    }
}

fn drain(client: &mut Client, opened: &mut BTreeSet<ConnId>, live: &mut Vec<ConnId>) {
    for _ in 0..MAX_OUTPUTS {
        match client.poll_output() {
            ClientOutput::Timeout(next) => {
                let idle = client.is_closed();
                assert!(idle || next.is_some(), "an open client without a deadline");
                return;
            }
            ClientOutput::HttpRequest { conn, .. } | ClientOutput::WsOpen { conn, .. } => {
                assert!(opened.insert(conn), "connection {conn:?} opened twice");
                live.push(conn);
            }
            ClientOutput::WsSend { conn, .. } => {
                assert!(opened.contains(&conn), "sent on {conn:?}, never opened");
            }
            ClientOutput::Close { conn } => {
                assert!(opened.contains(&conn), "closed {conn:?}, never opened");
                live.retain(|&c| c != conn);
            }
            _ => {}
        }
    }
    panic!("the client never stopped producing output");
}
