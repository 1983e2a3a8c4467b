//! Encode/decode throughput per packet kind: Engine.IO packets and polling payloads,
//! Socket.IO packets, and the HTTP request head parser (criterion; throughput in bytes of the
//! encoded packet, so MB/s reads as before).
//!
//! Run: `cargo bench -p iorelay-core --bench codec` (`-- --quick` for a short pass,
//! `-- socketio` to filter). CI only builds it (`cargo bench -p iorelay-core --no-run`).

use std::hint::black_box;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use iorelay_core::engineio::packet::{Frame, Packet as EioPacket};
use iorelay_core::engineio::payload;
use iorelay_core::http::{parse_request_head, HeadLimits};
use iorelay_core::socketio::packet::{Limits, Packet, PacketKind};

fn hook_event(size: usize) -> Bytes {
    let filler = "x".repeat(size.saturating_sub(120));
    Bytes::from(format!(
        r#"["claude_event",{{"hook_event_name":"PostToolUse","session_id":"abc","tool_name":"Bash","data":"{filler}"}}]"#
    ))
}

fn frame_bytes(frame: &Frame) -> &Bytes {
    match frame {
        Frame::Text(b) | Frame::Binary(b) => b,
    }
}

/// Socket.IO EVENT encode and decode, and the Engine.IO message decode under it, at three sizes.
fn event_packets(c: &mut Criterion) {
    let mut group = c.benchmark_group("event");
    for size in [64usize, 512, 8192] {
        let packet = Packet {
            kind: PacketKind::Event,
            nsp: "/".to_owned(),
            id: None,
            data: Some(hook_event(size)),
            attachments: 0,
        };
        let encoded = packet.encode();
        group.throughput(Throughput::Bytes(encoded.len() as u64));
        group.bench_function(BenchmarkId::new("socketio_encode_message", size), |b| {
            b.iter(|| black_box(&packet).encode_message());
        });
        let limits = Limits::default();
        group.bench_function(BenchmarkId::new("socketio_decode", size), |b| {
            b.iter(|| Packet::decode(black_box(&encoded), &limits));
        });
        let text = Frame::Text(frame_bytes(&EioPacket::message_frame(&encoded)).clone());
        group.bench_function(BenchmarkId::new("engineio_decode_message", size), |b| {
            b.iter(|| EioPacket::decode(black_box(&text).clone()));
        });
    }
    group.finish();
}

/// Decoding the other Socket.IO packet kinds a relay sees.
fn other_packets(c: &mut Criterion) {
    let mut group = c.benchmark_group("socketio_decode");
    let limits = Limits::default();
    let ack = Packet {
        kind: PacketKind::Ack,
        nsp: "/admin".to_owned(),
        id: Some(456),
        data: Some(Bytes::from_static(b"[\"ok\"]")),
        attachments: 0,
    }
    .encode();
    let binary = Bytes::from_static(br#"51-["upload",{"_placeholder":true,"num":0}]"#);
    let connect = Bytes::from_static(br#"0/admin,{"token":"abc"}"#);
    for (name, packet) in [
        ("ack_admin", ack),
        ("binary_event_header", binary),
        ("connect_with_auth", connect),
    ] {
        group.throughput(Throughput::Bytes(packet.len() as u64));
        group.bench_function(name, |b| {
            b.iter(|| Packet::decode(black_box(&packet), &limits));
        });
    }
    group.finish();
}

/// Engine.IO polling payloads (10 frames, two of them binary), a ping, and the HTTP head parser.
fn engineio_and_http(c: &mut Criterion) {
    let frames: Vec<Frame> = (0..10)
        .map(|i| {
            if i % 5 == 4 {
                Frame::Binary(Bytes::from(vec![7u8; 256]))
            } else {
                EioPacket::message_frame(&hook_event(512))
            }
        })
        .collect();
    let body = payload::encode(&frames);
    let mut group = c.benchmark_group("engineio");
    group.throughput(Throughput::Bytes(body.len() as u64));
    group.bench_function("payload_encode_10_frames", |b| {
        b.iter(|| payload::encode(black_box(&frames)));
    });
    group.bench_function("payload_decode_10_frames", |b| {
        b.iter(|| payload::decode(black_box(&body), 100));
    });
    let ping = EioPacket::Ping(Bytes::new());
    group.throughput(Throughput::Bytes(1));
    group.bench_function("encode_ping", |b| b.iter(|| black_box(&ping).encode()));
    group.finish();

    let head = b"POST /socket.io/?EIO=4&transport=polling&sid=abcdefghijklmnopqrst HTTP/1.1\r\nHost: 127.0.0.1:8765\r\nUser-Agent: node\r\nAccept: */*\r\nContent-Type: text/plain;charset=UTF-8\r\nContent-Length: 530\r\nConnection: keep-alive\r\n\r\n";
    let mut group = c.benchmark_group("http");
    group.throughput(Throughput::Bytes(head.len() as u64));
    group.bench_function("parse_request_head_polling_post", |b| {
        b.iter(|| parse_request_head(black_box(head), &HeadLimits::default()));
    });
    group.finish();
}

criterion_group!(benches, event_packets, other_packets, engineio_and_http);
criterion_main!(benches);
