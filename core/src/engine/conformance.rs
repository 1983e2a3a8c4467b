//! The application `serve --conformance` runs: what the public Engine.IO v4 and Socket.IO v5
//! test suites expect of a server under test.
//!
//! Namespaces `/` and `/custom` emit `auth` with the CONNECT payload on connect; on `/`,
//! `message` is echoed as `message-back` and `message-with-ack` is acknowledged with its own
//! arguments. Raw Engine.IO messages are echoed in `Engine::on_raw_message`.

use std::time::Duration;

use bytes::Bytes;

use super::{Emit, Engine};
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
    match (name, ack) {
        ("message", _) => {
            let emit = Emit {
                data: with_name("message-back", args),
                attachments: attachments.to_vec(),
                volatile: false,
            };
            let _ = engine.emit_to(now, socket, &emit, None);
        }
        ("message-with-ack", Some(ack)) => {
            let _ = engine.ack(now, socket, ack, args.clone(), attachments.to_vec());
        }
        _ => {}
    }
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
