//! The operations a scenario is made of, how proptest generates them, and the packets a
//! client sends in model terms.

use bytes::Bytes;
use iorelay_core::engineio::packet::Frame;
use proptest::prelude::*;

/// The namespaces clients use: two allowed, one refused.
pub const NSPS: [&str; 3] = ["/", "/admin", "/nope"];
/// The rooms sockets join.
pub const ROOMS: [&str; 3] = ["r0", "r1", "r2"];
/// Indices in ops range over `0..PICK_RANGE`; the top `PICK_ANY` pick among dead things too.
pub const PICK_RANGE: usize = 64;
/// See `PICK_RANGE`.
pub const PICK_ANY: usize = 8;

/// One step of a scenario. Indices pick among what exists (modulo its count).
#[derive(Debug, Clone)]
pub enum Op {
    OpenPolling,
    OpenWebSocket,
    Connect {
        client: usize,
        nsp: usize,
    },
    Join {
        socket: usize,
        room: usize,
    },
    Leave {
        socket: usize,
        room: usize,
    },
    Emit {
        nsp: usize,
        room: Option<usize>,
        except: Option<usize>,
    },
    EmitTo {
        socket: usize,
        ack_ms: Option<u64>,
    },
    ClientEvent {
        socket: usize,
        with_ack: bool,
    },
    ClientAck {
        socket: usize,
        pick: usize,
    },
    ClientDisconnect {
        socket: usize,
    },
    ServerDisconnect {
        socket: usize,
    },
    ServerClose {
        client: usize,
    },
    Pong {
        client: usize,
    },
    Poll {
        client: usize,
    },
    Advance {
        ms: u64,
    },
    CloseConn {
        pick: usize,
    },
    Garbage {
        client: usize,
        kind: usize,
    },
}

/// A random operation.
pub fn op() -> impl Strategy<Value = Op> {
    let idx = || 0..PICK_RANGE;
    prop_oneof![
        2 => Just(Op::OpenPolling),
        2 => Just(Op::OpenWebSocket),
        4 => (idx(), 0..3usize).prop_map(|(client, nsp)| Op::Connect { client, nsp }),
        2 => (idx(), 0..3usize).prop_map(|(socket, room)| Op::Join { socket, room }),
        1 => (idx(), 0..3usize).prop_map(|(socket, room)| Op::Leave { socket, room }),
        2 => (0..3usize, proptest::option::of(0..3usize), proptest::option::of(0..3usize))
            .prop_map(|(nsp, room, except)| Op::Emit { nsp, room, except }),
        4 => (idx(), prop_oneof![1 => Just(None), 3 => (1..3000u64).prop_map(Some)])
            .prop_map(|(socket, ack_ms)| Op::EmitTo { socket, ack_ms }),
        2 => (idx(), any::<bool>())
            .prop_map(|(socket, with_ack)| Op::ClientEvent { socket, with_ack }),
        5 => (idx(), idx()).prop_map(|(socket, pick)| Op::ClientAck { socket, pick }),
        1 => idx().prop_map(|socket| Op::ClientDisconnect { socket }),
        1 => idx().prop_map(|socket| Op::ServerDisconnect { socket }),
        1 => idx().prop_map(|client| Op::ServerClose { client }),
        4 => idx().prop_map(|client| Op::Pong { client }),
        4 => idx().prop_map(|client| Op::Poll { client }),
        5 => prop_oneof![3 => 0..200u64, 1 => 0..3000u64].prop_map(|ms| Op::Advance { ms }),
        1 => (0..1024usize).prop_map(|pick| Op::CloseConn { pick }),
        1 => (idx(), 0..8usize).prop_map(|(client, kind)| Op::Garbage { client, kind }),
    ]
}

/// A packet a client sends, in model terms.
#[derive(Debug, Clone, Copy)]
pub enum ClientPacket {
    Connect(&'static str),
    Event(&'static str, Option<u64>),
    Ack(&'static str, u64),
    Disconnect(&'static str),
    Pong,
    Garbage(usize),
}

impl ClientPacket {
    /// The frame that carries it.
    pub fn frame(self) -> Frame {
        let prefix = |nsp: &str| {
            if nsp == "/" {
                String::new()
            } else {
                format!("{nsp},")
            }
        };
        let id = |ack: Option<u64>| ack.map(|n| n.to_string()).unwrap_or_default();
        let text = match self {
            Self::Connect(nsp) => format!("40{}", prefix(nsp)),
            Self::Event(nsp, ack) => format!(r#"42{}{}["ev"]"#, prefix(nsp), id(ack)),
            Self::Ack(nsp, ack) => format!("43{}{ack}[]", prefix(nsp)),
            Self::Disconnect(nsp) => format!("41{}", prefix(nsp)),
            Self::Pong => "3".to_owned(),
            Self::Garbage(6) => return Frame::Binary(Bytes::from_static(&[1, 2])),
            Self::Garbage(kind) => {
                ["", "9x", "4{", r#"44{"message":"x"}"#, "6", "2", "", "5"][kind].to_owned()
            }
        };
        Frame::Text(Bytes::from(text))
    }
}
