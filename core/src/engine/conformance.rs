//! The application `serve --conformance` runs: what the public Engine.IO v4 and Socket.IO v5
//! test suites expect of a server under test.
//!
//! Namespaces `/` and `/custom` emit `auth` with the CONNECT payload on connect; on `/`,
//! `message` is echoed as `message-back` and `message-with-ack` is acknowledged with its own
//! arguments. Raw Engine.IO messages are echoed in `Engine::on_raw_message`.
//!
//! For the interop suites (tests/interop/README.md, "the test-facing contract") namespace `/`
//! also understands `join`, `leave`, `to-room`, `server-disconnect` and `ask-ack`, which
//! exercise rooms, server-side disconnects and server→client acks with the official clients.

use std::time::Duration;

use bytes::Bytes;

use serde_json::value::RawValue;

use super::{Emit, Engine, Target};
use crate::io::SocketId;

/// How long after the CONNECT reply the `auth` event goes out.
///
/// The official Socket.IO v5 suite listens for one websocket message at a time, and a client
/// that reads the CONNECT reply and `auth` in one socket read loses `auth`. Sending it a few
/// milliseconds later makes it a separate read; it is still the very next packet, because the
/// suite sends nothing before it has seen `auth`.
const AUTH_DELAY: Duration = Duration::from_millis(10);

pub(super) fn on_connect(engine: &mut Engine, socket: SocketId, auth: &Bytes) {
    let Some(session) = engine.sockets.get(&socket).map(|s| s.session) else {
        return;
    };
    let due = engine.now + AUTH_DELAY;
    if let Some(sio) = engine
        .clients
        .get_mut(&session)
        .and_then(|c| c.sio.as_mut())
    {
        sio.deferred
            .push_back((due, socket, Emit::new("auth", &[auth])));
    }
    engine.refresh_timer(session);
}

pub(super) fn on_event(
    engine: &mut Engine,
    socket: SocketId,
    name: &str,
    args: &Bytes,
    attachments: &[Bytes],
    ack: Option<u64>,
) {
    let now = engine.now;
    let on_root = engine.sockets.get(&socket).is_some_and(|s| s.nsp == "/");
    if !on_root {
        return;
    }
    let Ok(list) = serde_json::from_slice::<Vec<&RawValue>>(args) else {
        return;
    };
    let text = |i: usize| {
        list.get(i)
            .and_then(|raw| serde_json::from_str::<String>(raw.get()).ok())
    };
    let ack_with = |engine: &mut Engine, reply: &[u8]| {
        if let Some(ack) = ack {
            let _ = engine.ack(now, socket, ack, Bytes::copy_from_slice(reply), Vec::new());
        }
    };
    match name {
        "message" => {
            let emit = Emit {
                data: with_name("message-back", args),
                attachments: attachments.to_vec(),
                volatile: false,
            };
            let _ = engine.emit_to(now, socket, &emit, None);
        }
        "message-with-ack" => {
            if let Some(ack) = ack {
                let _ = engine.ack(now, socket, ack, args.clone(), attachments.to_vec());
            }
        }
        "join" | "leave" => {
            let (Some(room), Some(raw)) = (text(0), list.first()) else {
                return;
            };
            let _ = if name == "join" {
                engine.join(socket, &room)
            } else {
                engine.leave(socket, &room)
            };
            ack_with(engine, format!("[{}]", raw.get()).as_bytes());
        }
        "to-room" => {
            let (Some(room), Some(_)) = (text(0), text(1)) else {
                return;
            };
            let rest: Vec<&[u8]> = list[1..].iter().map(|raw| raw.get().as_bytes()).collect();
            let emit = Emit {
                data: crate::socketio::json::join_json_array(rest.into_iter()),
                attachments: attachments.to_vec(),
                volatile: false,
            };
            engine.emit(now, &Target::namespace("/").room(&room), &emit);
            ack_with(engine, b"[]");
        }
        "server-disconnect" => {
            let _ = engine.disconnect(now, socket);
        }
        "ask-ack" => {
            if text(0).is_none() {
                return;
            }
            let emit = Emit {
                data: args.clone(),
                attachments: attachments.to_vec(),
                volatile: false,
            };
            let _ = engine.emit_to(now, socket, &emit, Some(ASK_ACK_TIMEOUT));
        }
        _ => {}
    }
}

/// How long `ask-ack` waits for the client's ack.
const ASK_ACK_TIMEOUT: Duration = Duration::from_millis(1000);

/// The client answered an `ask-ack`: report its arguments as `ack-result`.
pub(super) fn on_ack(engine: &mut Engine, socket: SocketId, args: &Bytes, attachments: &[Bytes]) {
    let emit = Emit {
        data: with_name("ack-result", args),
        attachments: attachments.to_vec(),
        volatile: false,
    };
    let now = engine.now;
    let _ = engine.emit_to(now, socket, &emit, None);
}

/// An `ask-ack` went unanswered: report `{"timeout":true}` as `ack-result`.
pub(super) fn on_ack_timeout(engine: &mut Engine, socket: SocketId) {
    let now = engine.now;
    let emit = Emit::new("ack-result", &[br#"{"timeout":true}"#]);
    let _ = engine.emit_to(now, socket, &emit, None);
}

/// `["name",a,b]` from the arguments array `[a,b]`.
fn with_name(name: &str, args: &Bytes) -> Bytes {
    let inner = args
        .get(1..args.len().saturating_sub(1))
        .unwrap_or_default();
    let quoted = serde_json::to_string(name).unwrap_or_default();
    let mut data = Vec::with_capacity(quoted.len() + args.len() + 1);
    data.push(b'[');
    data.extend_from_slice(quoted.as_bytes());
    if !inner.is_empty() {
        data.push(b',');
        data.extend_from_slice(inner);
    }
    data.push(b']');
    Bytes::from(data)
}
