//! Broadcast cost: one emit to N websocket sockets. The packet is encoded once and each
//! recipient gets a clone of the same `Bytes`, so the cost per recipient is a refcount and a
//! queue push, not an encode; this bench prints both so the ratio shows it.
//!
//! Run: `cargo bench -p iorelay-core --bench broadcast`

mod support;

use std::time::Instant;

use bytes::Bytes;
use iorelay_core::engineio::packet::Frame;
use iorelay_core::http::{parse_request_head, HeadLimits};
use iorelay_core::socketio::packet::Packet;
use iorelay_core::{Body, Config, ConnId, Emit, Engine, Input, Output, Target};
use support::{budget, measure};

fn drain(engine: &mut Engine) -> Vec<Output> {
    let mut outputs = Vec::new();
    loop {
        match engine.poll_output() {
            Output::Timeout(_) => return outputs,
            other => outputs.push(other),
        }
    }
}

fn connected_engine(now: Instant, clients: u64) -> Engine {
    let mut engine = Engine::new(Config::default(), now, [1; 32]);
    let raw = b"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";
    let (head, _) = parse_request_head(raw, &HeadLimits::default())
        .unwrap()
        .unwrap();
    for conn in 0..clients {
        let conn = ConnId(conn);
        let http = Input::Http {
            now,
            conn,
            peer: None,
            head: head.clone(),
            body: Body::Complete(Bytes::new()),
        };
        engine.handle_input(http).unwrap();
        let connect = Input::WsMessage {
            now,
            conn,
            frame: Frame::Text(Bytes::from_static(b"40")),
        };
        engine.handle_input(connect).unwrap();
        drain(&mut engine);
    }
    assert_eq!(engine.socket_count() as u64, clients);
    engine
}

#[allow(clippy::disallowed_methods)] // a bench needs one real origin for its virtual clock
fn origin() -> Instant {
    Instant::now()
}

fn main() {
    let budget = budget();
    let now = origin();
    let payload = Bytes::from(format!(
        r#"{{"hook_event_name":"PostToolUse","data":"{}"}}"#,
        "x".repeat(450)
    ));
    let emit = Emit::new("claude_event", &[&payload]);
    let encode_ns = measure(
        "encode one EVENT packet (512 B)",
        payload.len(),
        budget,
        || Packet::event("/", emit.data.clone(), None, 0).encode_message(),
    );
    let value: serde_json::Value = serde_json::from_slice(&payload).unwrap();
    measure(
        "serialize the event from a JSON value",
        payload.len(),
        budget,
        || {
            let data = serde_json::to_vec(&("claude_event", &value)).unwrap();
            Packet::event("/", Bytes::from(data), None, 0).encode_message()
        },
    );
    for clients in [1u64, 100, 1000] {
        let mut engine = connected_engine(now, clients);
        let target = Target::namespace("/");
        let ns = measure(
            &format!("emit to {clients} websocket sockets + drain"),
            0,
            budget,
            || {
                engine.emit(now, &target, &emit);
                drain(&mut engine).len()
            },
        );
        println!(
            "{:<44} {:>12.1} ns/recipient ({:.2}x one encode)",
            format!("  per recipient at N={clients}"),
            ns / clients as f64,
            ns / clients as f64 / encode_ns
        );
    }
    let mut engine = connected_engine(now, 100);
    engine.emit(now, &Target::namespace("/"), &emit);
    let pointers: std::collections::BTreeSet<usize> = drain(&mut engine)
        .into_iter()
        .filter_map(|o| match o {
            Output::WsSend {
                frame: Frame::Text(bytes),
                ..
            } => Some(bytes.as_ptr() as usize),
            _ => None,
        })
        .collect();
    println!(
        "distinct buffers handed to 100 recipients: {} (1 = encoded once)",
        pointers.len()
    );
}
