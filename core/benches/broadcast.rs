//! Broadcast cost: one emit to N websocket sockets. The packet is encoded once and its
//! websocket recipients are named in one `Output::WsBroadcast`, so the cost per recipient is
//! two lookups and a push of its connection id, not an encode nor an output. Criterion reports the emit at N recipients with throughput in
//! elements (recipients), so its "elem/s" is recipients per second; compare its time per
//! recipient with `broadcast/encode_event_512B` (one encode) to read the ratio the hand-rolled
//! version printed. Before measuring, it checks that 100 recipients are named in one output.
//!
//! Run: `cargo bench -p iorelay-core --bench broadcast` (`-- --quick` for a short pass).
//! CI only builds it (`cargo bench -p iorelay-core --no-run`).

use std::hint::black_box;
use std::time::Instant;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use iorelay_core::engineio::packet::Frame;
use iorelay_core::http::{parse_request_head, HeadLimits};
use iorelay_core::socketio::packet::Packet;
use iorelay_core::{Body, Config, ConnId, Emit, Engine, Input, Output, Target};

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

fn payload() -> Bytes {
    Bytes::from(format!(
        r#"{{"hook_event_name":"PostToolUse","data":"{}"}}"#,
        "x".repeat(450)
    ))
}

/// The broadcast must reach every recipient in one output with one encoded buffer: checked
/// once, printed.
fn assert_encoded_once(now: Instant, emit: &Emit) {
    let mut engine = connected_engine(now, 100);
    engine.emit(now, &Target::namespace("/"), emit);
    let broadcasts: Vec<usize> = drain(&mut engine)
        .into_iter()
        .filter_map(|o| match o {
            Output::WsBroadcast { conns, .. } => Some(conns.len()),
            _ => None,
        })
        .collect();
    println!("outputs for 100 recipients: {broadcasts:?} (one output naming all 100)");
    assert_eq!(
        broadcasts,
        [100],
        "a broadcast must be one output, encoded once"
    );
}

fn broadcast(c: &mut Criterion) {
    let now = origin();
    let payload = payload();
    let emit = Emit::new("claude_event", &[&payload]);
    assert_encoded_once(now, &emit);

    let mut group = c.benchmark_group("broadcast");
    group.throughput(Throughput::Bytes(payload.len() as u64));
    group.bench_function("encode_event_512B", |b| {
        b.iter(|| Packet::event("/", black_box(&emit).data.clone(), None, 0).encode_message());
    });
    // What a relay that parses the body and re-serialises it (as the peers do) pays instead.
    let value: serde_json::Value = serde_json::from_slice(&payload).unwrap();
    group.bench_function("serialize_event_from_json_value_512B", |b| {
        b.iter(|| {
            let data = serde_json::to_vec(&("claude_event", black_box(&value))).unwrap();
            Packet::event("/", Bytes::from(data), None, 0).encode_message()
        });
    });
    for clients in [1u64, 100, 1000] {
        let mut engine = connected_engine(now, clients);
        let target = Target::namespace("/");
        group.throughput(Throughput::Elements(clients));
        group.bench_function(BenchmarkId::new("emit_and_drain_websocket", clients), |b| {
            b.iter(|| {
                engine.emit(now, &target, black_box(&emit));
                drain(&mut engine).len()
            });
        });
    }
    group.finish();
}

criterion_group!(benches, broadcast);
criterion_main!(benches);
