//! The engine: Engine.IO sessions carrying Socket.IO sockets, behind one input and one output.
//!
//! Why one struct: a runtime drives a single value with `handle_input` and drains
//! `poll_output`; everything that decides anything lives behind it, so both runtimes, the
//! simulator and the fuzzer exercise the very same logic.

mod client;
mod commands;
mod conformance;
mod eio_requests;
mod guard;
mod introspect;
mod routes;
mod sio_dispatch;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::Instant;

use bytes::Bytes;

pub use commands::{Emit, Target};
pub use guard::Refusals;
pub use introspect::{ConnectionInfo, SocketInfo, TransportCounts};
pub use routes::Health;

use crate::config::{Config, Mode};
use crate::engineio::session::SessionLimits;
use crate::io::{ApiMisuse, CloseReason, ConnId, Event, Input, Output, SessionId, SocketId};
use crate::rng::Rng;
use crate::socketio::recovery::{Parked, RecoveryTable};
use crate::socketio::room::Rooms;
use crate::time::TimerTable;
use client::{Client, Socket};

/// The sans-io Engine.IO v4 / Socket.IO v5 server. See the crate docs for the run loop.
#[derive(Debug)]
pub struct Engine {
    config: Config,
    limits: SessionLimits,
    started: Instant,
    now: Instant,
    rng: Rng,
    /// Boxed: a B-tree node holds eleven entries and is often half full, so an inline
    /// 600-byte client cost about twice its size per session; a box costs its size.
    clients: BTreeMap<SessionId, Box<Client>>,
    by_sid: HashMap<String, SessionId>,
    conns: HashMap<ConnId, SessionId>,
    sockets: BTreeMap<SocketId, Socket>,
    rooms: Rooms,
    /// Sockets that lost their transport, kept for connection state recovery (`None`: off).
    recovery: Option<RecoveryTable>,
    timers: TimerTable<SessionId>,
    out: VecDeque<Output>,
    next_session: u64,
    next_socket: u64,
    /// Requests and CONNECTs refused by origin or token.
    refusals: Refusals,
    /// CONNECTs naming a pid not parked here ask the application first
    /// ([`Event::RecoveryLookup`]): cluster mode, where another node may have parked it.
    remote_recovery: bool,
    /// The CONNECTs waiting for such a lookup: their auth, by session and namespace.
    lookups: HashMap<(SessionId, String), Bytes>,
}

impl Engine {
    /// An engine with no sessions, started at `now`, whose ids come from `seed`.
    #[must_use]
    pub fn new(config: Config, now: Instant, seed: [u8; 32]) -> Self {
        let limits = SessionLimits {
            ping_interval: config.ping_interval,
            ping_timeout: config.ping_timeout,
            upgrade_timeout: config.upgrade_timeout,
            max_queued_bytes: config.max_queued_bytes,
            slow_consumer_timeout: config.slow_consumer_timeout,
            max_packets_per_poll: config.max_packets_per_poll,
        };
        let recovery = config.recovery_window.map(RecoveryTable::new);
        Self {
            config,
            limits,
            started: now,
            now,
            rng: Rng::new(seed),
            clients: BTreeMap::new(),
            by_sid: HashMap::new(),
            conns: HashMap::new(),
            sockets: BTreeMap::new(),
            rooms: Rooms::default(),
            recovery,
            timers: TimerTable::default(),
            out: VecDeque::new(),
            next_session: 0,
            next_socket: 0,
            refusals: Refusals::default(),
            remote_recovery: false,
            lookups: HashMap::new(),
        }
    }

    /// Turns on lookups of pids parked elsewhere (see [`Event::RecoveryLookup`]); without
    /// recovery (`recovery_window` unset) it changes nothing.
    pub fn set_remote_recovery(&mut self, on: bool) {
        self.remote_recovery = on;
    }

    /// The socket parked here under `pid`, if its window has not ended.
    #[must_use]
    pub fn parked(&self, pid: &str) -> Option<&Parked> {
        self.recovery.as_ref()?.get(self.now, pid)
    }

    /// The configuration the engine runs with.
    #[must_use]
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Feeds one input. Drain `poll_output` until `Output::Timeout` afterwards.
    ///
    /// # Errors
    /// Only for misuse of the API by the caller; anything a peer sends becomes output.
    pub fn handle_input(&mut self, input: Input) -> Result<(), ApiMisuse> {
        match input {
            Input::Timeout(now) => self.advance(now),
            Input::Http {
                now,
                conn,
                head,
                body,
                ..
            } => {
                self.advance(now);
                self.on_http(conn, head, body);
            }
            Input::WsMessage { now, conn, frame } => {
                self.advance(now);
                self.on_ws_frame(conn, frame);
            }
            Input::WsTooLarge { now, conn } => {
                self.advance(now);
                self.on_ws_too_large(conn);
            }
            Input::QueueOverflow { now, conn } => {
                self.advance(now);
                self.on_queue_overflow(conn);
            }
            // Measurements are the relay's business; for the engine they only move the clock.
            Input::Measured { now, .. } | Input::Cluster { now, .. } => self.advance(now),
            Input::ConnClosed { now, conn } => {
                self.advance(now);
                self.on_conn_closed(conn);
            }
            Input::Congestion {
                now,
                conn,
                congested,
            } => {
                self.advance(now);
                if let Some(&id) = self.conns.get(&conn) {
                    if let Some(client) = self.clients.get_mut(&id) {
                        client.eio.on_congestion(self.now, conn, congested);
                    }
                    self.refresh_timer(id);
                }
            }
        }
        Ok(())
    }

    /// The next thing to do; `Output::Timeout` means nothing more until that instant or the
    /// next input.
    #[must_use]
    pub fn poll_output(&mut self) -> Output {
        self.out
            .pop_front()
            .unwrap_or_else(|| Output::Timeout(self.next_deadline()))
    }

    /// The largest body the runtime should read for a request to `path`; see
    /// [`Config::body_limit`].
    #[must_use]
    pub fn body_limit(&self, head: &crate::http::RequestHead) -> usize {
        self.config.body_limit(head)
    }

    /// Bytes queued for a polling session's next poll (`None` for an unknown session).
    #[must_use]
    pub fn queued_bytes(&self, session: SessionId) -> Option<usize> {
        self.clients
            .get(&session)
            .map(|client| client.eio.queued_bytes())
    }

    /// The most bytes a session's poll queue ever holds (see `Session::queue_cap`).
    #[must_use]
    pub fn queue_cap(&self) -> usize {
        crate::engineio::session::Session::queue_cap(&self.limits)
    }

    /// Number of live Engine.IO sessions.
    #[must_use]
    pub fn session_count(&self) -> usize {
        self.clients.len()
    }

    /// Number of connected Socket.IO sockets.
    #[must_use]
    pub fn socket_count(&self) -> usize {
        self.sockets.len()
    }

    /// The private id that recovers `socket` (`None` when recovery is off or the socket is
    /// not connected).
    #[must_use]
    pub fn socket_pid(&self, socket: SocketId) -> Option<&str> {
        self.sockets.get(&socket).and_then(|s| s.pid.as_deref())
    }

    /// The earliest deadline of any session (`None` with no sessions).
    #[must_use]
    pub fn next_deadline(&self) -> Option<Instant> {
        let parked = self.recovery.as_ref().and_then(RecoveryTable::poll_timeout);
        crate::time::earliest(self.timers.next_deadline(), parked)
    }

    /// Moves the clock to `now` (never backwards) and does everything due by then.
    fn advance(&mut self, now: Instant) {
        self.now = self.now.max(now);
        while let Some(id) = self.timers.pop_due(self.now) {
            self.on_session_timeout(id);
        }
        if let Some(table) = self.recovery.as_mut() {
            table.handle_timeout(self.now);
        }
    }

    fn on_session_timeout(&mut self, id: SessionId) {
        let now = self.now;
        let Some(client) = self.clients.get_mut(&id) else {
            return;
        };
        if let Some(reason) = client.eio.handle_timeout(now, &mut self.out) {
            self.close_session(id, reason);
            return;
        }
        if let Some(reason) = client.sio_timeout(now) {
            self.close_session(id, reason);
            return;
        }
        while let Some((socket, emit)) = self
            .clients
            .get_mut(&id)
            .and_then(|c| c.sio.as_mut())
            .and_then(|sio| sio.pop_due_emit(now))
        {
            let _ = self.emit_to(now, socket, &emit, None);
        }
        let Some(client) = self.clients.get(&id) else {
            return;
        };
        let socket_ids: Vec<SocketId> = client.socket_ids().collect();
        for socket_id in socket_ids {
            while let Some(ack) = self
                .sockets
                .get_mut(&socket_id)
                .and_then(|socket| socket.acks.pop_expired(now))
            {
                if self.config.mode == Mode::Conformance {
                    conformance::on_ack_timeout(self, socket_id);
                }
                self.out.push_back(Output::Event(Event::AckTimedOut {
                    socket: socket_id,
                    ack,
                }));
            }
        }
        self.refresh_timer(id);
    }

    /// Recomputes a session's place in the timer table after anything touched it.
    fn refresh_timer(&mut self, id: SessionId) {
        let deadline = self
            .clients
            .get(&id)
            .map(|client| client.poll_timeout(&self.sockets));
        self.timers.set(id, deadline);
    }

    /// Ends a session: its sockets leave their namespaces, awaited acks time out, its
    /// transports are closed and every resource it held is freed.
    fn close_session(&mut self, id: SessionId, reason: CloseReason) {
        let Some(mut client) = self.clients.remove(&id) else {
            return;
        };
        let socket_ids: Vec<SocketId> = client.socket_ids().collect();
        for socket_id in socket_ids {
            self.remove_socket(socket_id, reason);
        }
        for conn in client.eio.conns() {
            self.conns.remove(&conn);
        }
        client.eio.close(reason, &mut self.out);
        self.by_sid.remove(client.eio.sid());
        self.timers.set(id, None);
        self.out.push_back(Output::Event(Event::SessionClosed {
            session: id,
            reason,
        }));
    }

    /// Removes a socket from its namespace and rooms; reports its awaited acks as timed out.
    fn remove_socket(&mut self, socket_id: SocketId, reason: CloseReason) {
        let Some(mut socket) = self.sockets.remove(&socket_id) else {
            return;
        };
        self.rooms
            .remove_socket(&socket.nsp, &socket.rooms, socket_id);
        if let (Some(table), Some(pid)) = (self.recovery.as_mut(), socket.pid.take()) {
            if reason.is_recoverable() {
                let parked = Parked {
                    sid: socket.sid.clone(),
                    nsp: socket.nsp.to_string(),
                    rooms: std::mem::take(&mut socket.rooms),
                };
                table.park(self.now, pid, parked);
            }
        }
        if let Some(client) = self.clients.get_mut(&socket.session) {
            client.forget_socket(&socket.nsp);
        }
        for ack in socket.acks.abandon_all() {
            self.out.push_back(Output::Event(Event::AckTimedOut {
                socket: socket_id,
                ack,
            }));
        }
        self.out.push_back(Output::Event(Event::SocketDisconnected {
            socket: socket_id,
            reason,
        }));
    }

    fn on_queue_overflow(&mut self, conn: ConnId) {
        let now = self.now;
        let Some(&id) = self.conns.get(&conn) else {
            return;
        };
        let reason = self
            .clients
            .get_mut(&id)
            .and_then(|client| client.eio.on_overflow(now, conn));
        if let Some(reason) = reason {
            self.close_session(id, reason);
        }
    }

    fn on_conn_closed(&mut self, conn: ConnId) {
        let Some(id) = self.conns.remove(&conn) else {
            return;
        };
        let Some(client) = self.clients.get_mut(&id) else {
            return;
        };
        match client.eio.on_conn_closed(conn) {
            Some(reason) => self.close_session(id, reason),
            None => self.refresh_timer(id),
        }
    }
}
