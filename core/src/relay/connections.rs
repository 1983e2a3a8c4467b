//! `/connections`: every connected client as JSON, for an operator looking at who is there.
//!
//! Why in the relay: the engine offers the facts ([`Engine::connections`]) in `Instant`s; the
//! relay owns the wall clock that turns them into timestamps a person can read.
//!
//! [`Engine::connections`]: crate::Engine::connections

use std::collections::BTreeMap;

use bytes::Bytes;
use serde::Serialize;

use super::clock::iso8601;
use super::Relay;

/// One client in `/connections`.
#[derive(Serialize)]
struct Connection<'a> {
    sid: &'a str,
    transport: &'static str,
    namespaces: Vec<&'a str>,
    /// Rooms of each namespace's socket.
    rooms: BTreeMap<&'a str, Vec<&'a str>>,
    connected_at: String,
    connected_at_ms: u64,
    /// Bytes waiting for the next poll; `null` for websocket clients, whose queue is the
    /// runtime's (see `congested`).
    queued_bytes: Option<usize>,
    congested: bool,
    last_pong: Option<String>,
    last_pong_ms: Option<u64>,
}

impl Relay {
    /// The `/connections` body: a JSON array, oldest session first.
    pub(super) fn connections_json(&self) -> Bytes {
        let list: Vec<Connection<'_>> = self
            .engine
            .connections()
            .map(|info| {
                let connected_at_ms = self.clock.unix_ms(info.connected_at);
                let last_pong_ms = info.last_pong.map(|at| self.clock.unix_ms(at));
                Connection {
                    sid: info.sid,
                    transport: info.transport.as_str(),
                    namespaces: info.sockets.iter().map(|s| s.namespace).collect(),
                    rooms: info
                        .sockets
                        .into_iter()
                        .map(|s| (s.namespace, s.rooms))
                        .collect(),
                    connected_at: iso8601(connected_at_ms),
                    connected_at_ms,
                    queued_bytes: info.queued_bytes,
                    congested: info.congested,
                    last_pong: last_pong_ms.map(iso8601),
                    last_pong_ms,
                }
            })
            .collect();
        Bytes::from(serde_json::to_vec(&list).unwrap_or_default())
    }
}
