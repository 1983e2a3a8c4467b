//! The reference model and the run that drives the engine and the model side by side.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use bytes::Bytes;
use iorelay_core::engineio::payload;
use iorelay_core::{
    CloseReason, Config, ConnId, Emit, Event, NamespacePolicy, Output, SessionId, SocketId, Target,
};

use super::effects::Effects;
use super::ops::{ClientPacket, Op, NSPS, PICK_ANY, PICK_RANGE, ROOMS};
use crate::support::{polling, post_request, sio, Harness};

const PING_INTERVAL: Duration = Duration::from_millis(1000);
const PING_TIMEOUT: Duration = Duration::from_millis(500);
const CONNECT_TIMEOUT: Duration = Duration::from_millis(3000);
const BOGUS_ACK_ID: u64 = 1_000_000;

fn config() -> Config {
    Config {
        ping_interval: PING_INTERVAL,
        ping_timeout: PING_TIMEOUT,
        connect_timeout: CONNECT_TIMEOUT,
        namespaces: NamespacePolicy::Only(vec!["/".to_owned(), "/admin".to_owned()]),
        // The model has no parked sockets; recovery has its own tests (tests/recovery.rs).
        recovery_window: None,
        ..Config::default()
    }
}

#[derive(Debug, Clone, Copy)]
enum Transport {
    Polling {
        pending_get: Option<ConnId>,
        queued: bool,
    },
    WebSocket {
        conn: ConnId,
    },
}

#[derive(Debug, Clone, Copy)]
enum Heartbeat {
    PingDue(Instant),
    PongDeadline(Instant),
}

#[derive(Debug)]
struct ModelSession {
    sid: String,
    transport: Transport,
    heartbeat: Heartbeat,
    connect_deadline: Option<Instant>,
    sockets: BTreeMap<&'static str, usize>,
    alive: bool,
}

#[derive(Debug)]
struct ModelSocket {
    session: usize,
    nsp: &'static str,
    rooms: BTreeSet<&'static str>,
    acks: BTreeMap<u64, Instant>,
    next_ack: u64,
    alive: bool,
}

pub struct Run {
    /// The engine under test.
    pub h: Harness,
    sessions: Vec<ModelSession>,
    sockets: Vec<ModelSocket>,
    next_conn: u64,
    given: Vec<ConnId>,
    closed_conns: BTreeSet<ConnId>,
    answered: BTreeSet<u64>,
    issued_acks: BTreeSet<(u64, u64)>,
    resolved_acks: BTreeSet<(u64, u64)>,
    opened: BTreeSet<u64>,
    freed: BTreeSet<u64>,
    next_client_ack: u64,
    fx: Effects,
}

impl Run {
    pub fn new() -> Self {
        Self {
            h: Harness::new(config()),
            sessions: Vec::new(),
            sockets: Vec::new(),
            next_conn: 1,
            given: Vec::new(),
            closed_conns: BTreeSet::new(),
            answered: BTreeSet::new(),
            issued_acks: BTreeSet::new(),
            resolved_acks: BTreeSet::new(),
            opened: BTreeSet::new(),
            freed: BTreeSet::new(),
            next_client_ack: 0,
            fx: Effects::default(),
        }
    }

    fn new_conn(&mut self) -> ConnId {
        let conn = ConnId(self.next_conn);
        self.next_conn += 1;
        self.given.push(conn);
        conn
    }

    /// Runs one op; returns what the engine did (or `None` when the op does not apply).
    pub fn apply(&mut self, op: &Op) -> Option<Vec<Output>> {
        self.fx = Effects::default();
        let now = self.h.now;
        let outputs = match *op {
            Op::OpenPolling => {
                let conn = self.new_conn();
                let out = self.h.get(conn.0, &sio("transport=polling"));
                self.fx.replies.insert(conn.0, 200);
                self.opened_session(
                    &out.outputs,
                    Transport::Polling {
                        pending_get: None,
                        queued: false,
                    },
                );
                out.outputs
            }
            Op::OpenWebSocket => {
                let conn = self.new_conn();
                let out = self.h.ws_open(conn.0, &sio("transport=websocket"));
                self.fx.accepts.insert(conn.0);
                self.fx.ws_sends.insert(conn.0);
                self.opened_session(&out.outputs, Transport::WebSocket { conn });
                out.outputs
            }
            Op::Connect { client, nsp } => {
                let s = self.pick_session(client)?;
                self.client_sends(s, ClientPacket::Connect(NSPS[nsp]))?
            }
            Op::Join { socket, room } | Op::Leave { socket, room } => {
                let i = self.pick_socket(socket)?;
                let id = SocketId(i as u64);
                let joining = matches!(op, Op::Join { .. });
                let result = if joining {
                    self.h.engine.join(id, ROOMS[room])
                } else {
                    self.h.engine.leave(id, ROOMS[room])
                };
                let sock = &mut self.sockets[i];
                assert_eq!(result.is_ok(), sock.alive, "{op:?}");
                if joining {
                    sock.rooms.insert(ROOMS[room]);
                } else {
                    sock.rooms.remove(ROOMS[room]);
                }
                self.h.drain().outputs
            }
            Op::Emit { nsp, room, except } => {
                let mut target = Target::namespace(NSPS[nsp]);
                if let Some(room) = room {
                    target = target.room(ROOMS[room]);
                }
                if let Some(except) = except {
                    target = target.except(ROOMS[except]);
                }
                let sent = self.h.engine.emit(now, &target, &Emit::new("news", &[]));
                let recipients: Vec<usize> = (0..self.sockets.len())
                    .filter(|&i| {
                        let s = &self.sockets[i];
                        s.alive
                            && s.nsp == NSPS[nsp]
                            && room.is_none_or(|r| s.rooms.contains(ROOMS[r]))
                            && except.is_none_or(|e| !s.rooms.contains(ROOMS[e]))
                    })
                    .collect();
                assert_eq!(sent, recipients.len(), "{op:?}");
                for i in recipients {
                    let session = self.sockets[i].session;
                    self.send(session);
                }
                self.h.drain().outputs
            }
            Op::EmitTo { socket, ack_ms } => {
                let i = self.pick_socket(socket)?;
                let timeout = ack_ms.map(Duration::from_millis);
                let emit = Emit::new("e", &[]);
                let result = self
                    .h
                    .engine
                    .emit_to(now, SocketId(i as u64), &emit, timeout);
                let sock = &mut self.sockets[i];
                if sock.alive {
                    let expected = timeout.map(|t| {
                        let id = sock.next_ack;
                        sock.next_ack += 1;
                        sock.acks.insert(id, now + t);
                        id
                    });
                    assert_eq!(result, Ok(expected), "{op:?}");
                    if let Some(id) = expected {
                        assert!(self.issued_acks.insert((i as u64, id)), "ack id reused");
                    }
                    let session = sock.session;
                    self.send(session);
                } else {
                    assert!(result.is_err(), "{op:?} on a gone socket");
                }
                self.h.drain().outputs
            }
            Op::ClientEvent { socket, with_ack } => {
                let i = self.pick_socket(socket)?;
                let ack = with_ack.then(|| {
                    self.next_client_ack += 1;
                    self.next_client_ack
                });
                let (session, nsp) = (self.sockets[i].session, self.sockets[i].nsp);
                self.client_sends(session, ClientPacket::Event(nsp, ack))?
            }
            Op::ClientAck { socket, pick } => {
                let i = self.pick_socket_awaiting_ack(socket)?;
                let (session, nsp) = (self.sockets[i].session, self.sockets[i].nsp);
                let id = match self.sessions[session].sockets.get(nsp) {
                    Some(&current) => {
                        let pending: Vec<u64> =
                            self.sockets[current].acks.keys().copied().collect();
                        pending.get(pick % (pending.len() + 1)).copied()
                    }
                    None => None,
                };
                let packet = ClientPacket::Ack(nsp, id.unwrap_or(BOGUS_ACK_ID));
                self.client_sends(session, packet)?
            }
            Op::ClientDisconnect { socket } => {
                let i = self.pick_socket(socket)?;
                let (session, nsp) = (self.sockets[i].session, self.sockets[i].nsp);
                self.client_sends(session, ClientPacket::Disconnect(nsp))?
            }
            Op::ServerDisconnect { socket } => {
                let i = self.pick_socket(socket)?;
                let result = self.h.engine.disconnect(now, SocketId(i as u64));
                assert_eq!(result.is_ok(), self.sockets[i].alive, "{op:?}");
                if self.sockets[i].alive {
                    let session = self.sockets[i].session;
                    self.send(session);
                    self.remove_socket(i, CloseReason::ServerClose);
                }
                self.h.drain().outputs
            }
            Op::ServerClose { client } => {
                let s = self.pick_session(client)?;
                self.h.engine.close(now, SessionId(s as u64));
                if self.sessions[s].alive {
                    self.close(s, CloseReason::ServerClose);
                }
                self.h.drain().outputs
            }
            Op::Pong { client } => {
                let s = self.pick_session_awaiting_pong(client)?;
                self.client_sends(s, ClientPacket::Pong)?
            }
            Op::Poll { client } => {
                let s = self.pick_session(client)?;
                let Transport::Polling { .. } = self.sessions[s].transport else {
                    return None;
                };
                let conn = self.new_conn();
                let out = self.h.get(conn.0, &polling(&self.sessions[s].sid));
                self.model_poll(s, conn);
                out.outputs
            }
            Op::Advance { ms } => {
                let at = now + Duration::from_millis(ms);
                let out = self.h.tick_at(at);
                for s in 0..self.sessions.len() {
                    self.model_timeouts(s, at);
                }
                out.outputs
            }
            Op::CloseConn { pick } => {
                if self.given.is_empty() {
                    return None;
                }
                let conn = self.given[pick % self.given.len()];
                if !self.closed_conns.insert(conn) {
                    return None;
                }
                let out = self.h.conn_closed(conn.0);
                self.model_conn_closed(conn);
                out.outputs
            }
            Op::Garbage { client, kind } => {
                let s = self.pick_session(client)?;
                self.client_sends(s, ClientPacket::Garbage(kind))?
            }
        };
        Some(outputs)
    }

    fn opened_session(&mut self, outputs: &[Output], transport: Transport) {
        let now = self.h.now;
        let id = self.sessions.len() as u64;
        self.fx.opened.insert(id);
        let sid = outputs
            .iter()
            .find_map(|o| match o {
                Output::Event(Event::SessionOpened { sid, .. }) => Some(sid.clone()),
                _ => None,
            })
            .expect("SessionOpened");
        self.sessions.push(ModelSession {
            sid,
            transport,
            heartbeat: Heartbeat::PingDue(now + PING_INTERVAL),
            connect_deadline: Some(now + CONNECT_TIMEOUT),
            sockets: BTreeMap::new(),
            alive: true,
        });
    }

    /// A session: mostly a live one, sometimes any (dead ones included).
    fn pick_session(&self, client: usize) -> Option<usize> {
        let live: Vec<usize> = (0..self.sessions.len())
            .filter(|&s| self.sessions[s].alive)
            .collect();
        pick(&live, (0..self.sessions.len()).collect(), client)
    }

    /// A session: mostly one waiting for a pong, else like `pick_session`.
    fn pick_session_awaiting_pong(&self, client: usize) -> Option<usize> {
        let waiting: Vec<usize> = (0..self.sessions.len())
            .filter(|&s| {
                let session = &self.sessions[s];
                session.alive && matches!(session.heartbeat, Heartbeat::PongDeadline(_))
            })
            .collect();
        if waiting.is_empty() {
            return self.pick_session(client);
        }
        pick(&waiting, (0..self.sessions.len()).collect(), client)
    }

    /// A socket: mostly one awaiting an ack, else like `pick_socket`.
    fn pick_socket_awaiting_ack(&self, socket: usize) -> Option<usize> {
        let waiting: Vec<usize> = (0..self.sockets.len())
            .filter(|&i| self.sockets[i].alive && !self.sockets[i].acks.is_empty())
            .collect();
        if waiting.is_empty() {
            return self.pick_socket(socket);
        }
        pick(&waiting, (0..self.sockets.len()).collect(), socket)
    }

    /// A socket: mostly a connected one, sometimes any (gone ones included).
    fn pick_socket(&self, socket: usize) -> Option<usize> {
        let live: Vec<usize> = (0..self.sockets.len())
            .filter(|&i| self.sockets[i].alive)
            .collect();
        pick(&live, (0..self.sockets.len()).collect(), socket)
    }

    /// The client of session `s` sends one packet (a POST, or a websocket message); `None` when
    /// it cannot (its websocket is gone).
    fn client_sends(&mut self, s: usize, packet: ClientPacket) -> Option<Vec<Output>> {
        let frame = packet.frame();
        let mut outputs = match self.sessions[s].transport {
            Transport::WebSocket { conn } => {
                if !self.sessions[s].alive || self.closed_conns.contains(&conn) {
                    return None;
                }
                self.h.ws(conn.0, frame).outputs
            }
            Transport::Polling { .. } => {
                let conn = self.new_conn();
                let body = payload::encode(&[frame]);
                let request = post_request(&polling(&self.sessions[s].sid), body.len());
                let out = self
                    .h
                    .http(conn.0, &request, iorelay_core::Body::Complete(body.clone()));
                let status = if !self.sessions[s].alive || body.is_empty() {
                    400
                } else {
                    200
                };
                self.fx.replies.insert(conn.0, status);
                if body.is_empty() && self.sessions[s].alive {
                    self.close(s, CloseReason::ParseError);
                }
                out.outputs
            }
        };
        if self.sessions[s].alive {
            self.model_packet(s, packet);
        }
        // The application answers every client ack request at once.
        let asks: Vec<(SocketId, u64)> = outputs
            .iter()
            .filter_map(|o| match o {
                Output::Event(Event::Message {
                    socket,
                    ack: Some(ack),
                    ..
                }) => Some((*socket, *ack)),
                _ => None,
            })
            .collect();
        for (socket, ack) in asks {
            let now = self.h.now;
            self.h
                .engine
                .ack(now, socket, ack, Bytes::from_static(b"[]"), vec![])
                .expect("the socket just sent an event");
            outputs.extend(self.h.drain().outputs);
        }
        Some(outputs)
    }

    fn model_packet(&mut self, s: usize, packet: ClientPacket) {
        let now = self.h.now;
        match packet {
            ClientPacket::Connect("/nope") => self.send(s),
            ClientPacket::Connect(nsp) => {
                if self.sessions[s].sockets.contains_key(nsp) {
                    return self.close(s, CloseReason::ParseError);
                }
                let i = self.sockets.len();
                self.sockets.push(ModelSocket {
                    session: s,
                    nsp,
                    rooms: BTreeSet::new(),
                    acks: BTreeMap::new(),
                    next_ack: 0,
                    alive: true,
                });
                let session = &mut self.sessions[s];
                session.sockets.insert(nsp, i);
                session.connect_deadline = None;
                self.fx
                    .connected
                    .insert((i as u64, s as u64, nsp.to_owned()));
                self.send(s);
            }
            ClientPacket::Event(nsp, ack) => match self.sessions[s].sockets.get(nsp) {
                Some(&i) => {
                    self.fx.messages.insert((i as u64, ack));
                    if ack.is_some() {
                        self.send(s);
                    }
                }
                None => self.close(s, CloseReason::ParseError),
            },
            ClientPacket::Ack(nsp, id) => match self.sessions[s].sockets.get(nsp) {
                Some(&i) => {
                    if self.sockets[i].acks.remove(&id).is_some() {
                        self.fx.acks_received.insert((i as u64, id));
                    }
                }
                None => self.close(s, CloseReason::ParseError),
            },
            ClientPacket::Disconnect(nsp) => match self.sessions[s].sockets.get(nsp) {
                Some(&i) => self.remove_socket(i, CloseReason::ClientDisconnect),
                None => self.close(s, CloseReason::ParseError),
            },
            ClientPacket::Pong => {
                if let Heartbeat::PongDeadline(_) = self.sessions[s].heartbeat {
                    self.sessions[s].heartbeat = Heartbeat::PingDue(now + PING_INTERVAL);
                }
            }
            ClientPacket::Garbage(4 | 5 | 7) => {}
            ClientPacket::Garbage(_) => self.close(s, CloseReason::ParseError),
        }
    }

    fn model_poll(&mut self, s: usize, conn: ConnId) {
        let session = &mut self.sessions[s];
        if !session.alive {
            self.fx.replies.insert(conn.0, 400);
            return;
        }
        let Transport::Polling {
            pending_get,
            queued,
        } = &mut session.transport
        else {
            unreachable!("only polling sessions poll")
        };
        if pending_get.is_some() {
            self.fx.replies.insert(conn.0, 400);
            self.close(s, CloseReason::TransportError);
        } else if *queued {
            *queued = false;
            self.fx.replies.insert(conn.0, 200);
        } else {
            *pending_get = Some(conn);
        }
    }

    fn model_conn_closed(&mut self, conn: ConnId) {
        for s in 0..self.sessions.len() {
            if !self.sessions[s].alive {
                continue;
            }
            match &mut self.sessions[s].transport {
                Transport::WebSocket { conn: ws } if *ws == conn => {
                    // The runtime closed it: the engine sends it nothing more, not even a
                    // close frame.
                    self.close(s, CloseReason::TransportClose);
                    self.fx.ws_closes.remove(&conn.0);
                    return;
                }
                Transport::Polling { pending_get, .. } if *pending_get == Some(conn) => {
                    *pending_get = None;
                    return self.close(s, CloseReason::TransportError);
                }
                _ => {}
            }
        }
    }

    /// Everything due by `at` for session `s`, in the order the engine does it.
    fn model_timeouts(&mut self, s: usize, at: Instant) {
        while self.sessions[s].alive && self.deadline(s) <= at {
            match self.sessions[s].heartbeat {
                Heartbeat::PongDeadline(due) if due <= at => {
                    return self.close(s, CloseReason::PingTimeout);
                }
                Heartbeat::PingDue(due) if due <= at => {
                    self.sessions[s].heartbeat = Heartbeat::PongDeadline(due + PING_TIMEOUT);
                    self.send(s);
                }
                _ => {}
            }
            if self.sessions[s].connect_deadline.is_some_and(|d| d <= at) {
                return self.close(s, CloseReason::ConnectTimeout);
            }
            let sockets: Vec<usize> = self.sessions[s].sockets.values().copied().collect();
            for i in sockets {
                let due: Vec<u64> = self.sockets[i]
                    .acks
                    .iter()
                    .filter(|(_, d)| **d <= at)
                    .map(|(id, _)| *id)
                    .collect();
                for id in due {
                    self.sockets[i].acks.remove(&id);
                    self.fx.acks_timed_out.insert((i as u64, id));
                }
            }
        }
    }

    /// The earliest deadline of live session `s`.
    fn deadline(&self, s: usize) -> Instant {
        let session = &self.sessions[s];
        let (Heartbeat::PingDue(mut at) | Heartbeat::PongDeadline(mut at)) = session.heartbeat;
        if let Some(connect) = session.connect_deadline {
            at = at.min(connect);
        }
        for &i in session.sockets.values() {
            if let Some(ack) = self.sockets[i].acks.values().min() {
                at = at.min(*ack);
            }
        }
        at
    }

    /// The engine sends something to session `s`.
    fn send(&mut self, s: usize) {
        match &mut self.sessions[s].transport {
            Transport::WebSocket { conn } => {
                self.fx.ws_sends.insert(conn.0);
            }
            Transport::Polling {
                pending_get,
                queued,
            } => match pending_get.take() {
                Some(get) => {
                    self.fx.replies.insert(get.0, 200);
                }
                None => *queued = true,
            },
        }
    }

    fn remove_socket(&mut self, i: usize, reason: CloseReason) {
        let sock = &mut self.sockets[i];
        sock.alive = false;
        for id in std::mem::take(&mut sock.acks).into_keys() {
            self.fx.acks_timed_out.insert((i as u64, id));
        }
        self.fx
            .disconnected
            .insert((i as u64, format!("{reason:?}")));
        let (session, nsp) = (sock.session, sock.nsp);
        self.sessions[session].sockets.remove(nsp);
    }

    fn close(&mut self, s: usize, reason: CloseReason) {
        let sockets: Vec<usize> = self.sessions[s].sockets.values().copied().collect();
        for i in sockets {
            self.remove_socket(i, reason);
        }
        let session = &mut self.sessions[s];
        session.alive = false;
        match &mut session.transport {
            Transport::WebSocket { conn } => {
                self.fx.ws_closes.insert(conn.0);
            }
            Transport::Polling { pending_get, .. } => {
                if let Some(get) = pending_get.take() {
                    self.fx.replies.insert(get.0, 200);
                }
            }
        }
        self.fx.closed.insert((s as u64, format!("{reason:?}")));
    }

    /// The invariants after a step whose outputs were `outputs`.
    pub fn check(&mut self, op: &Op, outputs: &[Output]) {
        let actual = Effects::of(outputs);
        assert_eq!(actual, self.fx, "after {op:?}");
        for conn in actual.replies.keys().chain(&actual.accepts) {
            assert!(self.answered.insert(*conn), "conn {conn} answered twice");
        }
        for &key in actual.acks_received.iter().chain(&actual.acks_timed_out) {
            assert!(self.issued_acks.contains(&key), "ack {key:?} never asked");
            assert!(self.resolved_acks.insert(key), "ack {key:?} resolved twice");
        }
        for &id in &actual.opened {
            assert!(self.opened.insert(id), "session {id} opened twice");
        }
        for (id, _) in &actual.closed {
            assert!(self.opened.contains(id), "session {id} never opened");
            assert!(self.freed.insert(*id), "session {id} freed twice");
        }
        let live: Vec<usize> = (0..self.sessions.len())
            .filter(|&s| self.sessions[s].alive)
            .collect();
        assert_eq!(self.h.engine.session_count(), live.len());
        for &s in &live {
            let queued = self.h.engine.queued_bytes(SessionId(s as u64));
            assert!(
                queued.is_some_and(|q| q <= self.h.engine.queue_cap()),
                "session {s} queue {queued:?} over its cap after {op:?}"
            );
        }
        let live_sockets = self.sockets.iter().filter(|s| s.alive).count();
        assert_eq!(self.h.engine.socket_count(), live_sockets);
        let expected = live.iter().map(|&s| self.deadline(s)).min();
        let next = self.h.engine.next_deadline();
        assert_eq!(next, expected, "next deadline after {op:?}");
        if let Some(at) = next {
            assert!(at >= self.h.now, "a deadline in the past after {op:?}");
        }
    }

    /// Shuts the engine down and checks everything was resolved and freed exactly once.
    pub fn finish(mut self) {
        let now = self.h.now;
        self.h.engine.shutdown(now);
        let out = self.h.drain();
        let actual = Effects::of(&out.outputs);
        for &key in actual.acks_received.iter().chain(&actual.acks_timed_out) {
            assert!(self.resolved_acks.insert(key), "ack {key:?} resolved twice");
        }
        for (id, reason) in &actual.closed {
            assert_eq!(reason, "Shutdown");
            assert!(self.freed.insert(*id), "session {id} freed twice");
        }
        assert_eq!(self.resolved_acks, self.issued_acks, "every ack resolved");
        assert_eq!(self.freed, self.opened, "every session freed");
        assert_eq!(self.h.engine.session_count(), 0);
        assert_eq!(self.h.engine.socket_count(), 0);
        assert_eq!(out.next, None);
    }
}

/// `choice` picks from `live` unless it is one of the last few values of its range (or
/// nothing is live), then from `all`.
fn pick(live: &[usize], all: Vec<usize>, choice: usize) -> Option<usize> {
    if !live.is_empty() && choice < PICK_RANGE - PICK_ANY {
        Some(live[choice % live.len()])
    } else {
        (!all.is_empty()).then(|| all[choice % all.len()])
    }
}
