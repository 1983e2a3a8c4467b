//! A seeded lossy, delaying network between scripted clients and the engine, on virtual time.
//!
//! Each connection is a pair of FIFO pipes (client→engine, engine→client), like TCP: messages
//! keep their order and each waits a random delay. "Loss" is what TCP loss looks like to an
//! application: with a small chance, sending a message breaks its connection instead; what was
//! in flight on it is gone, the client hears `ConnBroken` and the engine `ConnClosed`.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use bytes::Bytes;
use iorelay_core::engineio::packet::Frame;
use iorelay_core::ConnId;

use super::prng::Prng;
use super::scripted::ClientInput;

/// A message for the engine.
#[derive(Debug, Clone)]
pub enum ToEngine {
    /// An HTTP request (head text and body).
    Http {
        /// The request head.
        request: String,
        /// The body.
        body: Bytes,
    },
    /// A websocket message.
    Ws(Frame),
    /// The connection closed.
    Closed,
}

/// Something the link delivers now.
#[derive(Debug, Clone)]
pub enum Delivery {
    /// To the engine, on `conn`.
    ToEngine {
        /// The connection.
        conn: ConnId,
        /// What arrives.
        message: ToEngine,
    },
    /// To the client that owns `input.conn()`.
    ToClient(ClientInput),
}

impl Delivery {
    fn conn(&self) -> ConnId {
        match self {
            Self::ToEngine { conn, .. } => *conn,
            Self::ToClient(input) => input.conn(),
        }
    }

    fn is_notice(&self) -> bool {
        matches!(
            self,
            Self::ToEngine {
                message: ToEngine::Closed,
                ..
            } | Self::ToClient(ClientInput::ConnBroken { .. } | ClientInput::WsClosed { .. })
        )
    }
}

/// The network.
#[derive(Debug)]
pub struct Link {
    rng: Prng,
    min_delay_ms: u64,
    max_delay_ms: u64,
    break_per_mille: u64,
    queue: BTreeMap<(Instant, u64), Delivery>,
    seq: u64,
    tails: BTreeMap<(ConnId, bool), Instant>,
    dead: BTreeSet<ConnId>,
    /// How many connections the link broke.
    pub breaks: u32,
}

impl Link {
    /// A link whose delays are `min_delay_ms..=max_delay_ms` and which breaks a connection on
    /// `break_per_mille` of the messages sent over it.
    pub fn new(seed: u64, min_delay_ms: u64, max_delay_ms: u64, break_per_mille: u64) -> Self {
        Self {
            rng: Prng::new(seed),
            min_delay_ms,
            max_delay_ms,
            break_per_mille,
            queue: BTreeMap::new(),
            seq: 0,
            tails: BTreeMap::new(),
            dead: BTreeSet::new(),
            breaks: 0,
        }
    }

    /// When the next delivery is due.
    pub fn next_at(&self) -> Option<Instant> {
        self.queue.keys().next().map(|(at, _)| *at)
    }

    /// Whether nothing is in flight.
    pub fn is_idle(&self) -> bool {
        self.queue.is_empty()
    }

    /// The next delivery due at `now`.
    pub fn pop_due(&mut self, now: Instant) -> Option<Delivery> {
        let (&key, _) = self.queue.iter().next()?;
        if key.0 > now {
            return None;
        }
        self.queue.remove(&key)
    }

    /// The client sends `message` on `conn`.
    pub fn client_sends(&mut self, now: Instant, conn: ConnId, message: ToEngine) {
        if self.dead.contains(&conn) {
            return;
        }
        if self.rng.chance(self.break_per_mille) {
            return self.break_conn(now, conn);
        }
        self.schedule(now, conn, true, Delivery::ToEngine { conn, message });
    }

    /// The engine sends `input` to the client on its connection.
    pub fn engine_sends(&mut self, now: Instant, input: ClientInput) {
        let conn = input.conn();
        if self.dead.contains(&conn) {
            return;
        }
        if self.rng.chance(self.break_per_mille) {
            return self.break_conn(now, conn);
        }
        self.schedule(now, conn, false, Delivery::ToClient(input));
    }

    /// The client closes `conn`: what it sent still arrives, then the engine hears the close;
    /// nothing more reaches the client on it.
    pub fn client_closes(&mut self, now: Instant, conn: ConnId) {
        if !self.dead.insert(conn) {
            return;
        }
        self.queue
            .retain(|_, d| d.conn() != conn || matches!(d, Delivery::ToEngine { .. }));
        let closed = Delivery::ToEngine {
            conn,
            message: ToEngine::Closed,
        };
        self.schedule(now, conn, true, closed);
    }

    /// The engine's runtime closes the websocket `conn` (after `WsClose`): frames already sent
    /// still reach the client, then the close; the runtime reads nothing more and reports the
    /// close to the engine.
    pub fn server_closes(&mut self, now: Instant, conn: ConnId) {
        if !self.dead.insert(conn) {
            return;
        }
        self.queue
            .retain(|_, d| d.conn() != conn || matches!(d, Delivery::ToClient(_)));
        self.schedule(
            now,
            conn,
            false,
            Delivery::ToClient(ClientInput::WsClosed { conn }),
        );
        let closed = Delivery::ToEngine {
            conn,
            message: ToEngine::Closed,
        };
        self.push(now + Duration::from_millis(1), closed);
    }

    fn break_conn(&mut self, now: Instant, conn: ConnId) {
        self.breaks += 1;
        self.dead.insert(conn);
        self.queue.retain(|_, d| d.conn() != conn || d.is_notice());
        let to_engine = Delivery::ToEngine {
            conn,
            message: ToEngine::Closed,
        };
        let delay = self.delay();
        self.push(now + delay, to_engine);
        let delay = self.delay();
        self.push(
            now + delay,
            Delivery::ToClient(ClientInput::ConnBroken { conn }),
        );
    }

    fn schedule(&mut self, now: Instant, conn: ConnId, to_engine: bool, delivery: Delivery) {
        let tail = self.tails.get(&(conn, to_engine)).copied();
        let at = (now + self.delay()).max(tail.unwrap_or(now));
        self.tails.insert((conn, to_engine), at);
        self.push(at, delivery);
    }

    fn push(&mut self, at: Instant, delivery: Delivery) {
        self.seq += 1;
        self.queue.insert((at, self.seq), delivery);
    }

    fn delay(&mut self) -> Duration {
        Duration::from_millis(self.rng.range(self.min_delay_ms, self.max_delay_ms))
    }
}
