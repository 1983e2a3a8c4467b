//! A sans-io Engine.IO v4 / Socket.IO v5 client: the engine's mirror, with the same contract.
//!
//! Feed what happened with [`Client::handle_input`] (a reply, a websocket message, a closed
//! connection, the passing of time) or give a command ([`Client::connect`],
//! [`Client::emit`], [`Client::ack`], [`Client::disconnect`], [`Client::close`]); then drain
//! [`Client::poll_output`] until [`ClientOutput::Timeout`]. Each other output is something to
//! do now: open a connection and send one HTTP request on it, open a websocket, send a
//! message, close a connection, or look at a [`ClientEvent`].
//!
//! What it does, on virtual time like the engine:
//!
//! - the handshake over websocket, or over polling with an upgrade to websocket
//!   ([`Transports`]);
//! - the heartbeat from the client's side: pongs for the server's pings, and the session
//!   given up when no ping comes within `pingInterval + pingTimeout`;
//! - namespaces, each with its own auth, CONNECT deadline, acks and recovery state;
//! - acks both ways (emits that await one with a deadline; acks for the server's emits) and
//!   binary attachments both ways (reassembled with a byte cap and a deadline);
//! - reconnection with a [`Backoff`] whose jitter comes from the seeded generator, and
//!   connection state recovery: each namespace's next CONNECT carries the `pid` and the last
//!   offset, and [`ClientEvent::Connected`] says whether the server recovered the socket.
//!
//! Every wait has a deadline: the open packet, each ping, a POST's answer, an upgrade, a
//! namespace CONNECT, an ack, an attachment, the next reconnection attempt. Whatever the
//! server sends, however malformed, ends the session with a [`LostReason`] (and a reconnect);
//! `Err` only ever means the caller misused the API.
//!
//! ```
//! use std::time::Instant;
//! use iorelay_core::client::{Client, ClientConfig, ClientInput, ClientOutput};
//! use iorelay_core::engineio::packet::Frame;
//!
//! let now = Instant::now();
//! let mut client = Client::new(ClientConfig::default(), now, [7; 32]);
//! client.connect(now, "/", None).unwrap();
//! let ClientOutput::WsOpen { conn, target } = client.poll_output() else { panic!() };
//! assert_eq!(target, "/socket.io/?EIO=4&transport=websocket");
//! client.handle_input(ClientInput::WsOpened { now, conn }).unwrap();
//! let open = br#"0{"sid":"s","upgrades":[],"pingInterval":25000,"pingTimeout":20000}"#;
//! let frame = Frame::Text(bytes::Bytes::from_static(open));
//! client.handle_input(ClientInput::WsMessage { now, conn, frame }).unwrap();
//! let mut sent = Vec::new();
//! loop {
//!     match client.poll_output() {
//!         ClientOutput::WsSend { frame: Frame::Text(text), .. } => sent.push(text),
//!         ClientOutput::Timeout(_) => break,
//!         _ => {}
//!     }
//! }
//! assert_eq!(sent, ["40"]);
//! ```

mod backoff;
mod config;
mod handshake;
mod heartbeat;
mod io;
mod namespace;
mod recovery;
mod socketio;
mod transport;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use bytes::Bytes;

pub use backoff::Backoff;
pub use config::{ClientConfig, Transports};
pub use handshake::{target, OpenInfo};
pub use heartbeat::PingWatch;
pub use io::{
    ClientEvent, ClientInput, ClientOutput, ClientRequest, DisconnectReason, LostReason, Method,
};
pub use recovery::RecoveryState;

use crate::engine::Emit;
use crate::engineio::packet::Frame;
use crate::io::{ApiMisuse, TransportKind};
use crate::rng::Rng;
use crate::socketio::binary::Reassembly;
use crate::socketio::packet::Packet;
use namespace::{Namespace, NspState};
use transport::{EioSession, Happened, Wire};

/// The sans-io Socket.IO client. See the module docs for the run loop.
#[derive(Debug)]
pub struct Client {
    config: ClientConfig,
    now: Instant,
    rng: Rng,
    out: VecDeque<ClientOutput>,
    next_conn: u64,
    phase: Phase,
    namespaces: BTreeMap<String, Namespace>,
    reassembly: Option<Reassembly>,
    /// Failed attempts in a row since the last session opened.
    attempt: u32,
}

#[derive(Debug)]
enum Phase {
    /// No namespace asked for yet: nothing to open.
    Idle,
    /// A session is opening or open.
    Active(EioSession),
    /// Waiting to reconnect until this instant.
    Waiting(Instant),
    /// Closed by the application, or reconnection gave up.
    Closed,
}

impl Client {
    /// A client that opens its first session when the application connects a namespace;
    /// `seed` drives the reconnection jitter.
    #[must_use]
    pub fn new(config: ClientConfig, now: Instant, seed: [u8; 32]) -> Self {
        Self {
            config,
            now,
            rng: Rng::new(seed),
            out: VecDeque::new(),
            next_conn: 1,
            phase: Phase::Idle,
            namespaces: BTreeMap::new(),
            reassembly: None,
            attempt: 0,
        }
    }

    /// The configuration the client runs with.
    #[must_use]
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// Feeds one input. Drain `poll_output` until `ClientOutput::Timeout` afterwards.
    ///
    /// # Errors
    /// Never for what the server sent; the signature matches the engine's so that a misuse
    /// found later can be reported.
    pub fn handle_input(&mut self, input: ClientInput) -> Result<(), ApiMisuse> {
        let now = match &input {
            ClientInput::Timeout(now)
            | ClientInput::HttpReply { now, .. }
            | ClientInput::WsOpened { now, .. }
            | ClientInput::WsMessage { now, .. }
            | ClientInput::ConnClosed { now, .. } => *now,
        };
        self.advance(now);
        if matches!(input, ClientInput::Timeout(_)) {
            return Ok(());
        }
        let mut happened = Vec::new();
        if let Phase::Active(session) = &mut self.phase {
            let mut wire = Wire {
                out: &mut self.out,
                next_conn: &mut self.next_conn,
            };
            session.handle_input(input, &self.config, &mut wire, &mut happened);
        }
        self.on_happened(happened);
        Ok(())
    }

    /// The next thing to do; `ClientOutput::Timeout` means nothing more until that instant or
    /// the next input.
    #[must_use]
    pub fn poll_output(&mut self) -> ClientOutput {
        self.out
            .pop_front()
            .unwrap_or_else(|| ClientOutput::Timeout(self.poll_timeout()))
    }

    /// The earliest deadline: the session's, a namespace's, an ack's, an attachment's, the
    /// next reconnection attempt.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        let phase = match &self.phase {
            Phase::Active(session) => session.poll_timeout(),
            Phase::Waiting(at) => Some(*at),
            Phase::Idle | Phase::Closed => None,
        };
        let reassembly = self.reassembly.as_ref().map(Reassembly::deadline);
        self.namespaces.values().map(Namespace::poll_timeout).fold(
            crate::time::earliest(phase, reassembly),
            crate::time::earliest,
        )
    }

    /// Asks to join `nsp` with `auth` (a JSON object text); the CONNECT goes out as soon as
    /// a session is open (at once when one is), and again after every reconnection, with
    /// the recovery `pid` and offset added. The first namespace opens the first session.
    ///
    /// # Errors
    /// The namespace does not start with `/` or holds a `,`; the auth is not a JSON object;
    /// the namespace is already asked for; the client is closed.
    pub fn connect(
        &mut self,
        now: Instant,
        nsp: &str,
        auth: Option<Bytes>,
    ) -> Result<(), ApiMisuse> {
        if !nsp.starts_with('/') || nsp.contains(',') {
            return Err(misuse(format!(
                "namespace {nsp:?} must start with '/' and hold no ','"
            )));
        }
        if let Some(auth) = &auth {
            if serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(auth).is_err() {
                return Err(misuse("the auth of a CONNECT must be a JSON object text"));
            }
        }
        if self.namespaces.contains_key(nsp) {
            return Err(misuse(format!(
                "namespace {nsp} is already connected or connecting; disconnect it first"
            )));
        }
        if matches!(self.phase, Phase::Closed) {
            return Err(misuse("the client is closed; make a new one"));
        }
        self.advance(now);
        self.namespaces.insert(nsp.to_owned(), Namespace::new(auth));
        match &self.phase {
            Phase::Idle => self.open_session(),
            Phase::Active(session) if session.is_open() => self.send_connect(nsp),
            _ => {}
        }
        Ok(())
    }

    /// Emits an event on `nsp`; with `ack_timeout`, asks for an ack and returns its id (the
    /// answer comes as [`ClientEvent::AckReceived`], or [`ClientEvent::AckTimedOut`] after
    /// `ack_timeout`).
    ///
    /// # Errors
    /// `nsp` is not connected (wait for [`ClientEvent::Connected`]).
    pub fn emit(
        &mut self,
        now: Instant,
        nsp: &str,
        emit: &Emit,
        ack_timeout: Option<Duration>,
    ) -> Result<Option<u64>, ApiMisuse> {
        self.advance(now);
        let namespace = self.connected_mut(nsp)?;
        let id = ack_timeout.map(|timeout| namespace.acks.register(now, timeout));
        let packet = Packet::event(nsp, emit.data.clone(), id, emit.attachments.len());
        self.send_packet(&packet, &emit.attachments);
        Ok(id)
    }

    /// Answers the server's event that asked for ack `id` on `nsp`, with the JSON array
    /// `args` and binary attachments its placeholders refer to.
    ///
    /// # Errors
    /// `nsp` is not connected.
    pub fn ack(
        &mut self,
        now: Instant,
        nsp: &str,
        id: u64,
        args: Bytes,
        attachments: Vec<Bytes>,
    ) -> Result<(), ApiMisuse> {
        self.advance(now);
        self.connected_mut(nsp)?;
        let packet = Packet::ack(nsp, id, args, attachments.len());
        self.send_packet(&packet, &attachments);
        Ok(())
    }

    /// Leaves `nsp`: a DISCONNECT to the server when joined, its awaited acks timed out, and
    /// it is not joined again.
    ///
    /// # Errors
    /// `nsp` was never asked for.
    pub fn disconnect(&mut self, now: Instant, nsp: &str) -> Result<(), ApiMisuse> {
        self.advance(now);
        let Some(namespace) = self.namespaces.get(nsp) else {
            return Err(misuse(format!("namespace {nsp} was never connected")));
        };
        if namespace.is_connected() {
            self.send_packet(&Packet::disconnect(nsp), &[]);
        }
        self.remove_namespace(nsp, DisconnectReason::ClientDisconnect);
        Ok(())
    }

    /// Closes the client: every namespace left, the session closed (with a close packet),
    /// no reconnection. Idempotent.
    pub fn close(&mut self, now: Instant) {
        self.advance(now);
        let joined: Vec<String> = self
            .namespaces
            .iter()
            .filter(|(_, n)| n.is_connected())
            .map(|(nsp, _)| nsp.clone())
            .collect();
        for nsp in &joined {
            self.send_packet(&Packet::disconnect(nsp), &[]);
        }
        let all: Vec<String> = self.namespaces.keys().cloned().collect();
        for nsp in all {
            self.remove_namespace(&nsp, DisconnectReason::ClientDisconnect);
        }
        if let Phase::Active(session) = &mut self.phase {
            let mut wire = Wire {
                out: &mut self.out,
                next_conn: &mut self.next_conn,
            };
            session.close(&self.config, &mut wire);
        }
        self.reassembly = None;
        self.phase = Phase::Closed;
    }

    /// Whether `nsp` is joined now.
    #[must_use]
    pub fn is_connected(&self, nsp: &str) -> bool {
        self.namespaces
            .get(nsp)
            .is_some_and(Namespace::is_connected)
    }

    /// Whether the client is closed (by [`Client::close`], or reconnection gave up).
    #[must_use]
    pub fn is_closed(&self) -> bool {
        matches!(self.phase, Phase::Closed)
    }

    /// The transport of the open session, if one is open.
    #[must_use]
    pub fn transport(&self) -> Option<TransportKind> {
        match &self.phase {
            Phase::Active(session) => session.transport(),
            _ => None,
        }
    }

    /// What `nsp` keeps for recovery (its `pid` and last offset).
    #[must_use]
    pub fn recovery(&self, nsp: &str) -> Option<&RecoveryState> {
        self.namespaces.get(nsp).map(|n| &n.recovery)
    }

    /// Moves the clock to `now` (never backwards) and does everything due by then.
    fn advance(&mut self, now: Instant) {
        self.now = self.now.max(now);
        let now = self.now;
        if let Phase::Waiting(at) = self.phase {
            if at <= now {
                self.open_session();
            }
        }
        let mut happened = Vec::new();
        if let Phase::Active(session) = &mut self.phase {
            let mut wire = Wire {
                out: &mut self.out,
                next_conn: &mut self.next_conn,
            };
            session.handle_timeout(now, &self.config, &mut wire, &mut happened);
        }
        self.on_happened(happened);
        if self
            .reassembly
            .as_ref()
            .is_some_and(|r| r.deadline() <= now)
        {
            self.lose(LostReason::ParseError);
        }
        if self
            .namespaces
            .values()
            .any(|n| matches!(n.state, NspState::Connecting { deadline } if deadline <= now))
        {
            self.lose(LostReason::ConnectTimeout);
        }
        let mut expired = Vec::new();
        for (nsp, namespace) in &mut self.namespaces {
            while let Some(id) = namespace.acks.pop_expired(now) {
                expired.push(ClientEvent::AckTimedOut {
                    nsp: nsp.clone(),
                    id,
                });
            }
        }
        self.out
            .extend(expired.into_iter().map(ClientOutput::Event));
    }

    fn open_session(&mut self) {
        let mut wire = Wire {
            out: &mut self.out,
            next_conn: &mut self.next_conn,
        };
        self.phase = Phase::Active(EioSession::start(self.now, &self.config, &mut wire));
    }

    fn on_happened(&mut self, happened: Vec<Happened>) {
        for event in happened {
            match event {
                Happened::Opened { sid, transport } => {
                    self.attempt = 0;
                    self.event(ClientEvent::Opened { sid, transport });
                    let pending: Vec<String> = self
                        .namespaces
                        .iter()
                        .filter(|(_, n)| n.state == NspState::Pending)
                        .map(|(nsp, _)| nsp.clone())
                        .collect();
                    for nsp in pending {
                        self.send_connect(&nsp);
                    }
                }
                Happened::Upgraded => self.event(ClientEvent::Upgraded),
                Happened::Pinged => self.event(ClientEvent::Pinged),
                Happened::Message(text) => self.on_sio_text(text),
                Happened::Binary(data) => self.on_sio_binary(data),
                Happened::Lost(reason) => self.on_lost(reason),
            }
            if !matches!(self.phase, Phase::Active(_)) {
                // The session ended part way through what it reported; the rest is moot.
                break;
            }
        }
    }

    fn send_connect(&mut self, nsp: &str) {
        let deadline = self.now + self.config.connect_timeout;
        let Some(namespace) = self.namespaces.get_mut(nsp) else {
            return;
        };
        let auth = namespace.connect_auth();
        namespace.state = NspState::Connecting { deadline };
        let packet = Packet {
            kind: crate::socketio::packet::PacketKind::Connect,
            nsp: nsp.to_owned(),
            id: None,
            data: auth,
            attachments: 0,
        };
        self.send_packet(&packet, &[]);
    }

    fn send_packet(&mut self, packet: &Packet, attachments: &[Bytes]) {
        let mut frames = Vec::with_capacity(1 + attachments.len());
        frames.push(Frame::Text(packet.encode_message()));
        frames.extend(attachments.iter().cloned().map(Frame::Binary));
        if let Phase::Active(session) = &mut self.phase {
            let mut wire = Wire {
                out: &mut self.out,
                next_conn: &mut self.next_conn,
            };
            session.send(self.now, frames, &self.config, &mut wire);
        }
    }

    fn connected_mut(&mut self, nsp: &str) -> Result<&mut Namespace, ApiMisuse> {
        match self.namespaces.get_mut(nsp) {
            Some(namespace) if namespace.is_connected() => Ok(namespace),
            _ => Err(misuse(format!(
                "namespace {nsp} is not connected; wait for ClientEvent::Connected"
            ))),
        }
    }

    /// Ends the session from the Socket.IO layer (a deadline, a packet out of place).
    fn lose(&mut self, reason: LostReason) {
        let mut happened = Vec::new();
        if let Phase::Active(session) = &mut self.phase {
            let mut wire = Wire {
                out: &mut self.out,
                next_conn: &mut self.next_conn,
            };
            session.lose(reason, &mut wire, &mut happened);
        }
        self.on_happened(happened);
    }

    /// The session is gone: sockets end (to be joined again), acks time out, and the next
    /// attempt is scheduled.
    fn on_lost(&mut self, reason: LostReason) {
        self.reassembly = None;
        let mut events = Vec::new();
        for (nsp, namespace) in &mut self.namespaces {
            for id in namespace.acks.abandon_all() {
                events.push(ClientEvent::AckTimedOut {
                    nsp: nsp.clone(),
                    id,
                });
            }
            match namespace.state {
                NspState::Connected { .. } => {
                    events.push(ClientEvent::Disconnected {
                        nsp: nsp.clone(),
                        reason: DisconnectReason::Lost(reason),
                    });
                    namespace.state = NspState::Pending;
                }
                NspState::Connecting { .. } => namespace.state = NspState::Pending,
                NspState::Pending | NspState::Refused => {}
            }
        }
        self.event(ClientEvent::Lost { reason });
        self.out.extend(events.into_iter().map(ClientOutput::Event));
        self.attempt = self.attempt.saturating_add(1);
        let delay = self
            .config
            .reconnect
            .and_then(|policy| policy.delay(self.attempt, self.rng.next_u64()));
        match delay {
            Some(delay) => {
                let at = self.now + delay;
                self.phase = Phase::Waiting(at);
                self.event(ClientEvent::Reconnecting {
                    attempt: self.attempt,
                    at,
                });
            }
            None => {
                self.phase = Phase::Closed;
                self.event(ClientEvent::GaveUp);
            }
        }
    }

    fn remove_namespace(&mut self, nsp: &str, reason: DisconnectReason) {
        let Some(mut namespace) = self.namespaces.remove(nsp) else {
            return;
        };
        for id in namespace.acks.abandon_all() {
            self.event(ClientEvent::AckTimedOut {
                nsp: nsp.to_owned(),
                id,
            });
        }
        if namespace.is_connected() {
            self.event(ClientEvent::Disconnected {
                nsp: nsp.to_owned(),
                reason,
            });
        }
    }

    fn event(&mut self, event: ClientEvent) {
        self.out.push_back(ClientOutput::Event(event));
    }
}

fn misuse(message: impl Into<String>) -> ApiMisuse {
    ApiMisuse(message.into())
}
