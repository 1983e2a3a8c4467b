//! Encode/decode throughput per packet kind: Engine.IO packets and polling payloads,
//! Socket.IO packets, and the HTTP request head parser.
//!
//! Run: `cargo bench -p iorelay-core --bench codec`

mod support;

use bytes::Bytes;
use iorelay_core::engineio::packet::{Frame, Packet as EioPacket};
use iorelay_core::engineio::payload;
use iorelay_core::http::{parse_request_head, HeadLimits};
use iorelay_core::socketio::packet::{Limits, Packet, PacketKind};
use support::{budget, measure};

fn hook_event(size: usize) -> Bytes {
    let filler = "x".repeat(size.saturating_sub(120));
    Bytes::from(format!(
        r#"["claude_event",{{"hook_event_name":"PostToolUse","session_id":"abc","tool_name":"Bash","data":"{filler}"}}]"#
    ))
}

fn main() {
    let budget = budget();
    println!("{:<44} {:>15} {:>15}", "bench", "time", "throughput");
    for size in [64, 512, 8192] {
        let data = hook_event(size);
        let packet = Packet {
            kind: PacketKind::Event,
            nsp: "/".to_owned(),
            id: None,
            data: Some(data.clone()),
            attachments: 0,
        };
        let encoded = packet.encode();
        measure(
            &format!("socketio encode_message EVENT {size} B"),
            encoded.len(),
            budget,
            || packet.encode_message(),
        );
        let limits = Limits::default();
        measure(
            &format!("socketio decode EVENT {size} B"),
            encoded.len(),
            budget,
            || Packet::decode(&encoded, &limits),
        );
        let text = Frame::Text(EioPacket::message_frame(&encoded).as_bytes().clone());
        measure(
            &format!("engineio decode message {size} B"),
            encoded.len(),
            budget,
            || EioPacket::decode(text.clone()),
        );
    }
    let ack = Packet {
        kind: PacketKind::Ack,
        nsp: "/admin".to_owned(),
        id: Some(456),
        data: Some(Bytes::from_static(b"[\"ok\"]")),
        attachments: 0,
    }
    .encode();
    measure("socketio decode ACK /admin", ack.len(), budget, || {
        Packet::decode(&ack, &Limits::default())
    });
    let binary = Bytes::from_static(br#"51-["upload",{"_placeholder":true,"num":0}]"#);
    measure(
        "socketio decode BINARY_EVENT header",
        binary.len(),
        budget,
        || Packet::decode(&binary, &Limits::default()),
    );
    let connect = Bytes::from_static(br#"0/admin,{"token":"abc"}"#);
    measure(
        "socketio decode CONNECT with auth",
        connect.len(),
        budget,
        || Packet::decode(&connect, &Limits::default()),
    );

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
    measure(
        "engineio payload encode 10 frames",
        body.len(),
        budget,
        || payload::encode(&frames),
    );
    measure(
        "engineio payload decode 10 frames",
        body.len(),
        budget,
        || payload::decode(&body, 100),
    );
    let ping = EioPacket::Ping(Bytes::new());
    measure("engineio encode ping", 1, budget, || ping.encode());

    let head = b"POST /socket.io/?EIO=4&transport=polling&sid=abcdefghijklmnopqrst HTTP/1.1\r\nHost: 127.0.0.1:8765\r\nUser-Agent: node\r\nAccept: */*\r\nContent-Type: text/plain;charset=UTF-8\r\nContent-Length: 530\r\nConnection: keep-alive\r\n\r\n";
    measure(
        "http parse_request_head (polling POST)",
        head.len(),
        budget,
        || parse_request_head(head, &HeadLimits::default()),
    );
}

trait FrameBytes {
    fn as_bytes(&self) -> &Bytes;
}

impl FrameBytes for Frame {
    fn as_bytes(&self) -> &Bytes {
        match self {
            Frame::Text(b) | Frame::Binary(b) => b,
        }
    }
}
