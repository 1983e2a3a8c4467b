//! One Engine.IO session from the client's side: the handshake (over websocket, or polling),
//! long-polling with one GET and one POST in flight, the upgrade of a polling session to
//! websocket (probe, pause, switch), and the heartbeat deadline.
//!
//! Why one machine per attempt: everything here ends together. When the session is lost the
//! whole value is dropped (after closing its connections) and the next attempt starts a fresh
//! one, so no state of a dead session can leak into the next.

use std::collections::VecDeque;
use std::time::Instant;

use bytes::Bytes;

use super::config::{ClientConfig, Transports};
use super::handshake::{target, OpenInfo};
use super::heartbeat::PingWatch;
use super::io::{ClientInput, ClientOutput, ClientRequest, LostReason, Method};
use crate::engineio::packet::{Frame, Packet};
use crate::engineio::payload;
use crate::io::{ConnId, TransportKind};

/// Where the client's outputs go and where its connection ids come from.
pub(crate) struct Wire<'a> {
    pub(crate) out: &'a mut VecDeque<ClientOutput>,
    pub(crate) next_conn: &'a mut u64,
}

impl Wire<'_> {
    fn new_conn(&mut self) -> ConnId {
        let conn = ConnId(*self.next_conn);
        *self.next_conn += 1;
        conn
    }

    fn send(&mut self, conn: ConnId, frame: Frame) {
        self.out.push_back(ClientOutput::WsSend { conn, frame });
    }

    fn close(&mut self, conn: ConnId) {
        self.out.push_back(ClientOutput::Close { conn });
    }

    fn request(&mut self, method: Method, target: String, body: Bytes) -> ConnId {
        let conn = self.new_conn();
        let request = ClientRequest {
            method,
            target,
            body,
        };
        self.out
            .push_back(ClientOutput::HttpRequest { conn, request });
        conn
    }
}

/// What the session reports to the Socket.IO layer above it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Happened {
    /// The open packet arrived.
    Opened {
        sid: String,
        transport: TransportKind,
    },
    /// A text message (a Socket.IO packet).
    Message(Bytes),
    /// A binary message (an attachment).
    Binary(Bytes),
    /// The upgrade to websocket finished.
    Upgraded,
    /// The server pinged.
    Pinged,
    /// The session is over; its connections were closed.
    Lost(LostReason),
}

#[derive(Debug)]
enum State {
    Handshake {
        conn: ConnId,
        websocket: bool,
        deadline: Instant,
    },
    Polling {
        get: Option<ConnId>,
        post: Option<(ConnId, Instant)>,
        queue: Vec<Frame>,
        probe: Option<Probe>,
    },
    WebSocket {
        conn: ConnId,
    },
    Ended,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// The websocket is being opened.
    Opening,
    /// `2probe` went out; waiting for `3probe`.
    Probing,
    /// `3probe` came back; polling pauses until nothing is in flight, then `5` switches.
    Probed,
}

#[derive(Debug, Clone, Copy)]
struct Probe {
    conn: ConnId,
    stage: Stage,
    deadline: Instant,
}

/// One Engine.IO session attempt.
#[derive(Debug)]
pub(crate) struct EioSession {
    state: State,
    sid: Option<String>,
    watch: Option<PingWatch>,
    upgrade: bool,
    /// The instant of the input or command being handled.
    now: Instant,
}

impl EioSession {
    /// Starts the handshake at `now`.
    pub(crate) fn start(now: Instant, config: &ClientConfig, wire: &mut Wire<'_>) -> Self {
        let websocket = config.transports == Transports::WebSocket;
        let conn = if websocket {
            let conn = wire.new_conn();
            let target = target(&config.path, "websocket", None);
            wire.out.push_back(ClientOutput::WsOpen { conn, target });
            conn
        } else {
            let target = target(&config.path, "polling", None);
            wire.request(Method::Get, target, Bytes::new())
        };
        Self {
            state: State::Handshake {
                conn,
                websocket,
                deadline: now + config.open_timeout,
            },
            sid: None,
            watch: None,
            upgrade: config.transports == Transports::PollingThenUpgrade,
            now,
        }
    }

    /// Whether the open packet arrived and the session is not lost.
    pub(crate) fn is_open(&self) -> bool {
        matches!(self.state, State::Polling { .. } | State::WebSocket { .. })
    }

    /// The transport in use, once open.
    pub(crate) fn transport(&self) -> Option<TransportKind> {
        match self.state {
            State::Polling { .. } => Some(TransportKind::Polling),
            State::WebSocket { .. } => Some(TransportKind::WebSocket),
            _ => None,
        }
    }

    /// The session's earliest deadline (`None` once ended).
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        let watch = self.watch.as_ref().map(PingWatch::poll_timeout);
        let own = match &self.state {
            State::Handshake { deadline, .. } => Some(*deadline),
            State::Polling { post, probe, .. } => {
                crate::time::earliest(post.map(|(_, at)| at), probe.as_ref().map(|p| p.deadline))
            }
            State::WebSocket { .. } | State::Ended => None,
        };
        match self.state {
            State::Ended => None,
            _ => crate::time::earliest(watch, own),
        }
    }

    /// Does what is due at `now`.
    pub(crate) fn handle_timeout(
        &mut self,
        now: Instant,
        config: &ClientConfig,
        wire: &mut Wire<'_>,
        happened: &mut Vec<Happened>,
    ) {
        self.now = now;
        if let State::Handshake { deadline, .. } = self.state {
            if deadline <= now {
                return self.lose(LostReason::HandshakeFailed, wire, happened);
            }
        }
        if self.watch.is_some_and(|w| w.is_missed(now)) {
            return self.lose(LostReason::PingTimeout, wire, happened);
        }
        if let State::Polling { post, probe, .. } = &mut self.state {
            if post.is_some_and(|(_, at)| at <= now) {
                return self.lose(LostReason::TransportError, wire, happened);
            }
            if probe.is_some_and(|p| p.deadline <= now) {
                self.abort_probe(config, wire);
            }
        }
    }

    /// Handles an input about one of the session's connections; returns false when `conn`
    /// is not one of them.
    pub(crate) fn handle_input(
        &mut self,
        input: ClientInput,
        config: &ClientConfig,
        wire: &mut Wire<'_>,
        happened: &mut Vec<Happened>,
    ) -> bool {
        let (now, conn) = match &input {
            ClientInput::Timeout(_) => return false,
            ClientInput::HttpReply { now, conn, .. }
            | ClientInput::WsOpened { now, conn }
            | ClientInput::WsMessage { now, conn, .. }
            | ClientInput::ConnClosed { now, conn } => (*now, *conn),
        };
        self.now = now;
        match &mut self.state {
            State::Handshake { conn: hs, .. } if *hs == conn => {
                self.on_handshake_input(now, input, config, wire, happened);
            }
            State::WebSocket { conn: ws } if *ws == conn => match input {
                ClientInput::WsMessage { frame, .. } => {
                    self.on_frame(now, frame, wire, happened);
                }
                ClientInput::ConnClosed { .. } | ClientInput::HttpReply { .. } => {
                    self.lose(LostReason::TransportClose, wire, happened);
                }
                _ => {}
            },
            State::Polling {
                get, post, probe, ..
            } => {
                if *get == Some(conn) {
                    *get = None;
                    self.on_poll_input(now, input, config, wire, happened);
                } else if post.is_some_and(|(c, _)| c == conn) {
                    *post = None;
                    self.on_post_input(input, config, wire, happened);
                } else if probe.is_some_and(|p| p.conn == conn) {
                    self.on_probe_input(input, config, wire, happened);
                } else {
                    return false;
                }
            }
            _ => return false,
        }
        true
    }

    /// Sends frames to the server: over the websocket, or queued for the next POST.
    pub(crate) fn send(
        &mut self,
        now: Instant,
        frames: Vec<Frame>,
        config: &ClientConfig,
        wire: &mut Wire<'_>,
    ) {
        self.now = now;
        match &mut self.state {
            State::WebSocket { conn } => {
                let conn = *conn;
                for frame in frames {
                    wire.send(conn, frame);
                }
            }
            State::Polling { queue, .. } => {
                queue.extend(frames);
                self.flush(config, wire);
            }
            State::Handshake { .. } | State::Ended => {}
        }
    }

    /// Ends the session: a close packet to the server when it is open, then every connection
    /// closed.
    pub(crate) fn close(&mut self, config: &ClientConfig, wire: &mut Wire<'_>) {
        let sid = self.sid.clone();
        match std::mem::replace(&mut self.state, State::Ended) {
            State::WebSocket { conn } => {
                wire.send(conn, Packet::Close.encode());
                wire.close(conn);
            }
            State::Polling {
                get, post, probe, ..
            } => {
                let body = payload::encode(&[Packet::Close.encode()]);
                let target = target(&config.path, "polling", sid.as_deref());
                let _ = wire.request(Method::Post, target, body);
                for conn in [get, post.map(|(c, _)| c), probe.map(|p| p.conn)]
                    .into_iter()
                    .flatten()
                {
                    wire.close(conn);
                }
            }
            State::Handshake { conn, .. } => wire.close(conn),
            State::Ended => {}
        }
        self.watch = None;
    }

    fn on_handshake_input(
        &mut self,
        now: Instant,
        input: ClientInput,
        config: &ClientConfig,
        wire: &mut Wire<'_>,
        happened: &mut Vec<Happened>,
    ) {
        let State::Handshake {
            conn, websocket, ..
        } = self.state
        else {
            return;
        };
        let frames = match input {
            ClientInput::WsOpened { .. } if websocket => return,
            ClientInput::WsMessage { frame, .. } if websocket => vec![frame],
            ClientInput::HttpReply {
                status: 200, body, ..
            } if !websocket => match payload::decode(&body, config.max_packets_per_poll) {
                Ok(frames) => frames,
                Err(_) => return self.lose(LostReason::HandshakeFailed, wire, happened),
            },
            _ => return self.lose(LostReason::HandshakeFailed, wire, happened),
        };
        let mut frames = frames.into_iter();
        let open = frames.next().and_then(|frame| match Packet::decode(frame) {
            Ok(Packet::Open(json)) => OpenInfo::parse(&json),
            _ => None,
        });
        let Some(open) = open else {
            return self.lose(LostReason::HandshakeFailed, wire, happened);
        };
        self.watch = Some(PingWatch::new(now, open.ping_interval, open.ping_timeout));
        self.sid = Some(open.sid.clone());
        let transport = if websocket {
            self.state = State::WebSocket { conn };
            TransportKind::WebSocket
        } else {
            self.state = State::Polling {
                get: None,
                post: None,
                queue: Vec::new(),
                probe: None,
            };
            TransportKind::Polling
        };
        happened.push(Happened::Opened {
            sid: open.sid.clone(),
            transport,
        });
        for frame in frames {
            self.on_frame(now, frame, wire, happened);
        }
        if !self.is_open() {
            return;
        }
        if !websocket && self.upgrade && open.offers_websocket() {
            let conn = wire.new_conn();
            let target = target(&config.path, "websocket", Some(&open.sid));
            wire.out.push_back(ClientOutput::WsOpen { conn, target });
            if let State::Polling { probe, .. } = &mut self.state {
                *probe = Some(Probe {
                    conn,
                    stage: Stage::Opening,
                    deadline: now + config.upgrade_timeout,
                });
            }
        }
        self.poll(config, wire);
        self.flush(config, wire);
    }

    fn on_poll_input(
        &mut self,
        now: Instant,
        input: ClientInput,
        config: &ClientConfig,
        wire: &mut Wire<'_>,
        happened: &mut Vec<Happened>,
    ) {
        let body = match input {
            ClientInput::HttpReply {
                status: 200, body, ..
            } => body,
            ClientInput::HttpReply { .. } => {
                return self.lose(LostReason::TransportError, wire, happened);
            }
            _ => return self.lose(LostReason::TransportClose, wire, happened),
        };
        let Ok(frames) = payload::decode(&body, config.max_packets_per_poll) else {
            return self.lose(LostReason::ParseError, wire, happened);
        };
        for frame in frames {
            self.on_frame(now, frame, wire, happened);
            if !self.is_open() {
                return;
            }
        }
        self.poll(config, wire);
        self.flush(config, wire);
        self.finish_upgrade(wire, happened);
    }

    fn on_post_input(
        &mut self,
        input: ClientInput,
        config: &ClientConfig,
        wire: &mut Wire<'_>,
        happened: &mut Vec<Happened>,
    ) {
        match input {
            ClientInput::HttpReply { status: 200, .. } => {
                self.flush(config, wire);
                self.finish_upgrade(wire, happened);
            }
            ClientInput::HttpReply { .. } => self.lose(LostReason::TransportError, wire, happened),
            _ => self.lose(LostReason::TransportClose, wire, happened),
        }
    }

    fn on_probe_input(
        &mut self,
        input: ClientInput,
        config: &ClientConfig,
        wire: &mut Wire<'_>,
        happened: &mut Vec<Happened>,
    ) {
        let State::Polling {
            probe: Some(probe), ..
        } = &mut self.state
        else {
            return;
        };
        match (probe.stage, input) {
            (Stage::Opening, ClientInput::WsOpened { .. }) => {
                probe.stage = Stage::Probing;
                let conn = probe.conn;
                wire.send(conn, Packet::Ping(Bytes::from_static(b"probe")).encode());
            }
            (Stage::Probing, ClientInput::WsMessage { frame, .. })
                if frame == Packet::Pong(Bytes::from_static(b"probe")).encode() =>
            {
                probe.stage = Stage::Probed;
                self.finish_upgrade(wire, happened);
            }
            _ => self.abort_probe(config, wire),
        }
    }

    /// Gives up the upgrade and carries on polling.
    fn abort_probe(&mut self, config: &ClientConfig, wire: &mut Wire<'_>) {
        if let State::Polling { probe, .. } = &mut self.state {
            if let Some(probe) = probe.take() {
                wire.close(probe.conn);
            }
        }
        self.poll(config, wire);
        self.flush(config, wire);
    }

    /// Switches to the probed websocket once nothing is in flight over polling.
    fn finish_upgrade(&mut self, wire: &mut Wire<'_>, happened: &mut Vec<Happened>) {
        let State::Polling {
            get: None,
            post: None,
            probe: Some(probe),
            queue,
        } = &mut self.state
        else {
            return;
        };
        if probe.stage != Stage::Probed {
            return;
        }
        let conn = probe.conn;
        wire.send(conn, Packet::Upgrade.encode());
        for frame in std::mem::take(queue) {
            wire.send(conn, frame);
        }
        self.state = State::WebSocket { conn };
        happened.push(Happened::Upgraded);
    }

    fn poll(&mut self, config: &ClientConfig, wire: &mut Wire<'_>) {
        let State::Polling { get, probe, .. } = &mut self.state else {
            return;
        };
        let paused = probe.is_some_and(|p| p.stage == Stage::Probed);
        if get.is_none() && !paused {
            let target = target(&config.path, "polling", self.sid.as_deref());
            *get = Some(wire.request(Method::Get, target, Bytes::new()));
        }
    }

    fn flush(&mut self, config: &ClientConfig, wire: &mut Wire<'_>) {
        let State::Polling {
            post, queue, probe, ..
        } = &mut self.state
        else {
            return;
        };
        let paused = probe.is_some_and(|p| p.stage == Stage::Probed);
        if post.is_some() || paused || queue.is_empty() {
            return;
        }
        let body = payload::encode(&std::mem::take(queue));
        let target = target(&config.path, "polling", self.sid.as_deref());
        let conn = wire.request(Method::Post, target, body);
        *post = Some((conn, self.now + config.request_timeout));
    }

    fn on_frame(
        &mut self,
        now: Instant,
        frame: Frame,
        wire: &mut Wire<'_>,
        happened: &mut Vec<Happened>,
    ) {
        match Packet::decode(frame) {
            Ok(Packet::Ping(data)) if data.is_empty() => {
                if let Some(watch) = self.watch.as_mut() {
                    watch.on_ping(now);
                }
                happened.push(Happened::Pinged);
                let pong = Packet::Pong(Bytes::new()).encode();
                match &mut self.state {
                    State::WebSocket { conn } => wire.send(*conn, pong),
                    State::Polling { queue, .. } => queue.push(pong),
                    _ => {}
                }
            }
            Ok(Packet::Message(text)) => happened.push(Happened::Message(text)),
            Ok(Packet::Binary(data)) => happened.push(Happened::Binary(data)),
            Ok(Packet::Noop) => {}
            Ok(Packet::Close) => self.lose(LostReason::ServerClose, wire, happened),
            _ => self.lose(LostReason::ParseError, wire, happened),
        }
    }

    /// The session is over: every connection closed, `Lost` reported once.
    pub(crate) fn lose(
        &mut self,
        reason: LostReason,
        wire: &mut Wire<'_>,
        happened: &mut Vec<Happened>,
    ) {
        let conns: Vec<ConnId> = match std::mem::replace(&mut self.state, State::Ended) {
            State::Handshake { conn, .. } | State::WebSocket { conn } => vec![conn],
            State::Polling {
                get, post, probe, ..
            } => [get, post.map(|(c, _)| c), probe.map(|p| p.conn)]
                .into_iter()
                .flatten()
                .collect(),
            State::Ended => return,
        };
        for conn in conns {
            wire.close(conn);
        }
        self.watch = None;
        happened.push(Happened::Lost(reason));
    }
}
