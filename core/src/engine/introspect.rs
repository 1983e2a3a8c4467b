//! Read-only views of the engine's sessions and sockets, for operators: who is connected, on
//! which transport, in which namespaces and rooms, and how far behind.
//!
//! Why read-only and on demand: `/connections` and `/metrics` are answered from the state the
//! engine already keeps, so observing a server costs nothing until somebody looks, and no
//! counter can drift from the truth.

use std::collections::BTreeMap;
use std::time::Instant;

use super::Engine;
use crate::io::{SessionId, TransportKind};

/// One Engine.IO session as an operator sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionInfo<'a> {
    /// The engine's name for the session.
    pub session: SessionId,
    /// The Engine.IO sid the client uses.
    pub sid: &'a str,
    /// The transport in use now (a session being upgraded is still on polling).
    pub transport: TransportKind,
    /// When the session was opened.
    pub connected_at: Instant,
    /// When the client last answered a ping (`None` before the first pong).
    pub last_pong: Option<Instant>,
    /// Bytes waiting for the next poll of a polling session. `None` for a websocket session:
    /// its outbound queue belongs to the runtime, and the engine only learns whether it is
    /// over its bound (`congested`).
    pub queued_bytes: Option<usize>,
    /// Whether the client is not keeping up (poll queue over its bound, or the runtime
    /// reported its websocket queue full).
    pub congested: bool,
    /// The Socket.IO sockets of the session, in namespace order (empty for raw Engine.IO).
    pub sockets: Vec<SocketInfo<'a>>,
}

/// One Socket.IO socket: a session's membership of a namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SocketInfo<'a> {
    /// The namespace.
    pub namespace: &'a str,
    /// The rooms the socket is in, sorted.
    pub rooms: Vec<&'a str>,
}

/// Live sessions per transport.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TransportCounts {
    /// Sessions on HTTP long-polling (including those being upgraded).
    pub polling: usize,
    /// Sessions on a websocket.
    pub websocket: usize,
}

impl Engine {
    /// Every live session, in the order they were opened.
    pub fn connections(&self) -> impl Iterator<Item = ConnectionInfo<'_>> {
        self.clients.iter().map(|(&session, client)| {
            let transport = client.eio.transport();
            let sockets = client
                .socket_ids()
                .filter_map(|id| self.sockets.get(&id))
                .map(|socket| SocketInfo {
                    namespace: &socket.nsp,
                    rooms: socket.rooms.iter().map(String::as_str).collect(),
                })
                .collect();
            ConnectionInfo {
                session,
                sid: client.eio.sid(),
                transport,
                connected_at: client.eio.opened_at(),
                last_pong: client.eio.last_pong(),
                queued_bytes: (transport == TransportKind::Polling)
                    .then(|| client.eio.queued_bytes()),
                congested: client.eio.is_congested(),
                sockets,
            }
        })
    }

    /// How many live sessions use each transport.
    #[must_use]
    pub fn sessions_by_transport(&self) -> TransportCounts {
        let mut counts = TransportCounts::default();
        for client in self.clients.values() {
            match client.eio.transport() {
                TransportKind::Polling => counts.polling += 1,
                TransportKind::WebSocket => counts.websocket += 1,
            }
        }
        counts
    }

    /// How many sockets each namespace with at least one socket has, by namespace.
    #[must_use]
    pub fn sockets_by_namespace(&self) -> BTreeMap<&str, usize> {
        let mut counts = BTreeMap::new();
        for socket in self.sockets.values() {
            *counts.entry(&*socket.nsp).or_insert(0) += 1;
        }
        counts
    }
}
