//! A scripted Engine.IO v4 / Socket.IO v5 client, sans-io like the engine: it hears what the
//! network delivered (`ClientInput`), says what to send (`ClientAction`), and names its next
//! timer. It opens a session over polling (optionally upgrading to websocket) or straight over
//! websocket, joins `/`, answers pings, emits `events` acked events, answers the server's
//! acked events, re-polls, and closes once everything it expected has arrived. A client told to
//! freeze goes silent part way and must then observe the server closing the session (or stop
//! hearing pings).
//!
//! Everything it receives is checked: a payload that does not decode, a packet out of place,
//! a server event out of order or twice, an ack twice: each is a `violation`.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::{Duration, Instant};

use bytes::Bytes;
use iorelay_core::engineio::packet::{Frame, Packet};
use iorelay_core::engineio::payload;
use iorelay_core::socketio::packet::{Limits, Packet as SioPacket, PacketKind};
use iorelay_core::ConnId;

use super::prng::Prng;
use super::{get_request, polling, post_request, sio, websocket, ws_request};

/// What this client will do.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// Open the session over websocket directly (no polling, no upgrade).
    pub websocket_only: bool,
    /// Upgrade a polling session to websocket.
    pub upgrade: bool,
    /// How many acked events to emit.
    pub events: u32,
    /// Go silent (no more writes, polls or pongs) after this many server events.
    pub freeze_after: Option<u32>,
}

/// Something the network delivered to the client.
#[derive(Debug, Clone)]
pub enum ClientInput {
    /// The HTTP response to the request on `conn`.
    HttpReply {
        /// The request's connection.
        conn: ConnId,
        /// Its status.
        status: u16,
        /// Its body.
        body: Bytes,
    },
    /// The websocket handshake on `conn` completed.
    WsAccepted {
        /// The connection.
        conn: ConnId,
    },
    /// A websocket message.
    WsFrame {
        /// The connection.
        conn: ConnId,
        /// The message.
        frame: Frame,
    },
    /// The server closed the websocket.
    WsClosed {
        /// The connection.
        conn: ConnId,
    },
    /// The connection broke.
    ConnBroken {
        /// The connection.
        conn: ConnId,
    },
}

impl ClientInput {
    /// The connection it concerns.
    pub fn conn(&self) -> ConnId {
        match self {
            Self::HttpReply { conn, .. }
            | Self::WsAccepted { conn }
            | Self::WsFrame { conn, .. }
            | Self::WsClosed { conn }
            | Self::ConnBroken { conn } => *conn,
        }
    }
}

/// Something the client sends.
#[derive(Debug, Clone)]
pub enum ClientAction {
    /// An HTTP request (a poll, a post, or a websocket upgrade) on a new connection.
    Http {
        /// The new connection.
        conn: ConnId,
        /// The request head text.
        request: String,
        /// The body.
        body: Bytes,
    },
    /// A websocket message.
    WsSend {
        /// The connection.
        conn: ConnId,
        /// The message.
        frame: Frame,
    },
    /// The client closes the connection.
    Close {
        /// The connection.
        conn: ConnId,
    },
}

/// Where the client stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Phase {
    /// Waiting for the open packet.
    Opening,
    /// The session is open.
    Open,
    /// Everything arrived; the close packet is on its way.
    Closing,
    /// Everything arrived and the client closed the session.
    Completed,
    /// The session ended before everything arrived; why.
    Closed(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Probe {
    Opening(ConnId),
    Probing(ConnId),
    Probed(ConnId),
}

impl Probe {
    fn conn(self) -> ConnId {
        match self {
            Self::Opening(conn) | Self::Probing(conn) | Self::Probed(conn) => conn,
        }
    }
}

/// How long the client waits for the open packet before it gives up.
const OPEN_TIMEOUT: Duration = Duration::from_secs(5);

/// The scripted client.
#[derive(Debug)]
pub struct ScriptedClient {
    plan: Plan,
    rng: Prng,
    next_conn: u64,
    /// Where it stands.
    pub phase: Phase,
    sid: String,
    ping_interval: Duration,
    ping_timeout: Duration,
    handshake: Option<ConnId>,
    websocket: Option<ConnId>,
    get: Option<ConnId>,
    post: Option<ConnId>,
    open_conns: BTreeSet<ConnId>,
    writes: Vec<Frame>,
    probe: Option<Probe>,
    upgrade_at: Option<Instant>,
    liveness_deadline: Option<Instant>,
    emit_at: Option<Instant>,
    connected: bool,
    sent: u32,
    awaiting: BTreeMap<u64, u32>,
    /// Client events the server acknowledged, in arrival order.
    pub acked: Vec<u32>,
    /// Server events received, in arrival order.
    pub server_events: Vec<u32>,
    pending_binary: Option<(Option<u64>, u32)>,
    actions: VecDeque<ClientAction>,
    /// Everything that broke the protocol.
    pub violations: Vec<String>,
}

impl ScriptedClient {
    /// A client whose connections are numbered from `conn_base`, starting at `now`.
    pub fn new(plan: Plan, seed: u64, conn_base: u64, now: Instant) -> Self {
        let mut client = Self {
            plan,
            rng: Prng::new(seed),
            next_conn: conn_base,
            phase: Phase::Opening,
            sid: String::new(),
            ping_interval: Duration::ZERO,
            ping_timeout: Duration::ZERO,
            handshake: None,
            websocket: None,
            get: None,
            post: None,
            open_conns: BTreeSet::new(),
            writes: Vec::new(),
            probe: None,
            upgrade_at: None,
            liveness_deadline: Some(now + OPEN_TIMEOUT),
            emit_at: None,
            connected: false,
            sent: 0,
            awaiting: BTreeMap::new(),
            acked: Vec::new(),
            server_events: Vec::new(),
            pending_binary: None,
            actions: VecDeque::new(),
            violations: Vec::new(),
        };
        let conn = client.new_conn();
        client.handshake = Some(conn);
        let request = if plan.websocket_only {
            ws_request(&sio("transport=websocket"))
        } else {
            get_request(&sio("transport=polling"))
        };
        client.http(conn, request, Bytes::new());
        client
    }

    /// What the client was told to do.
    pub fn plan(&self) -> Plan {
        self.plan
    }

    /// Whether the client is finished, one way or the other.
    pub fn is_finished(&self) -> bool {
        matches!(self.phase, Phase::Completed | Phase::Closed(_))
    }

    /// The next thing to send.
    pub fn poll_action(&mut self) -> Option<ClientAction> {
        self.actions.pop_front()
    }

    /// The client's next timer.
    pub fn next_timer(&self) -> Option<Instant> {
        if self.is_finished() {
            return None;
        }
        [self.liveness_deadline, self.upgrade_at, self.emit_at]
            .into_iter()
            .flatten()
            .min()
    }

    /// Time passed.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.is_finished() {
            return;
        }
        if self.liveness_deadline.is_some_and(|at| at <= now) {
            return self.close("no ping from the server");
        }
        if self.upgrade_at.is_some_and(|at| at <= now) {
            self.upgrade_at = None;
            let conn = self.new_conn();
            self.probe = Some(Probe::Opening(conn));
            self.http(conn, ws_request(&websocket(&self.sid)), Bytes::new());
        }
        if self.emit_at.is_some_and(|at| at <= now) {
            self.emit_next(now);
        }
    }

    /// Something arrived.
    pub fn handle_input(&mut self, now: Instant, input: ClientInput) {
        let conn = input.conn();
        if matches!(
            input,
            ClientInput::ConnBroken { .. } | ClientInput::WsClosed { .. }
        ) {
            self.open_conns.remove(&conn);
        }
        if self.is_finished() {
            return;
        }
        if self.probe.is_some_and(|probe| probe.conn() == conn) {
            return self.on_probe_input(input);
        }
        match input {
            ClientInput::HttpReply { status, body, .. } => self.on_reply(now, conn, status, &body),
            ClientInput::WsAccepted { .. } => {
                if self.handshake != Some(conn) {
                    self.violation(format!("unexpected accept on {conn:?}"));
                }
            }
            ClientInput::WsFrame { frame, .. } => {
                if self.handshake == Some(conn) || self.websocket == Some(conn) {
                    self.on_frame(now, frame);
                } else {
                    self.violation(format!("frame on unknown {conn:?}"));
                }
            }
            ClientInput::WsClosed { .. } | ClientInput::ConnBroken { .. } => {
                let ours = [self.handshake, self.websocket, self.get, self.post];
                if ours.contains(&Some(conn)) {
                    self.close(&format!("{conn:?} closed"));
                }
            }
        }
        self.check_done();
    }

    fn on_reply(&mut self, now: Instant, conn: ConnId, status: u16, body: &Bytes) {
        self.close_conn(conn);
        let is_post = if self.handshake == Some(conn) {
            self.handshake = None;
            false
        } else if self.get == Some(conn) {
            self.get = None;
            false
        } else if self.post == Some(conn) {
            self.post = None;
            true
        } else {
            return self.violation(format!("reply on unknown {conn:?}"));
        };
        if status != 200 {
            return self.close(&format!("http {status}"));
        }
        if is_post {
            if body.as_ref() != b"ok" {
                self.violation(format!("post answered {body:?}"));
            }
            if self.phase == Phase::Closing && self.writes.is_empty() {
                return self.complete();
            }
        } else {
            match payload::decode(body, 10_000) {
                Ok(frames) => {
                    for frame in frames {
                        self.on_frame(now, frame);
                    }
                }
                Err(err) => self.violation(format!("bad payload {body:?}: {err}")),
            }
        }
        self.poll();
        self.flush();
        self.finish_upgrade();
    }

    fn on_probe_input(&mut self, input: ClientInput) {
        let Some(probe) = self.probe else {
            return;
        };
        match (probe, input) {
            (Probe::Opening(_), ClientInput::WsAccepted { .. }) if self.is_frozen() => {}
            (Probe::Opening(conn), ClientInput::WsAccepted { .. }) => {
                self.probe = Some(Probe::Probing(conn));
                self.ws_send(conn, Packet::Ping(Bytes::from_static(b"probe")).encode());
            }
            (Probe::Probing(conn), ClientInput::WsFrame { frame, .. })
                if frame == Packet::Pong(Bytes::from_static(b"probe")).encode() =>
            {
                self.probe = Some(Probe::Probed(conn));
                self.finish_upgrade();
            }
            (_, ClientInput::WsFrame { frame, .. }) => {
                self.violation(format!("unexpected frame on the probe: {frame:?}"));
            }
            (probe, _) => {
                // Refused, closed or broken: stay on polling.
                self.close_conn(probe.conn());
                self.probe = None;
                self.poll();
                self.flush();
            }
        }
    }

    /// Sends `5` once the probe succeeded and no poll or post is in flight.
    fn finish_upgrade(&mut self) {
        let Some(Probe::Probed(conn)) = self.probe else {
            return;
        };
        if self.get.is_some() || self.post.is_some() || self.is_finished() || self.is_frozen() {
            return;
        }
        self.probe = None;
        self.websocket = Some(conn);
        self.ws_send(conn, Packet::Upgrade.encode());
        self.flush();
        self.check_done();
    }

    fn on_frame(&mut self, now: Instant, frame: Frame) {
        let packet = match Packet::decode(frame) {
            Ok(packet) => packet,
            Err(err) => return self.violation(format!("bad frame: {err}")),
        };
        match packet {
            Packet::Open(json) if self.phase == Phase::Opening => self.on_open(now, &json),
            Packet::Ping(data) if data.is_empty() && self.phase != Phase::Opening => {
                self.liveness_deadline = Some(now + self.ping_interval + self.ping_timeout);
                self.write(vec![Packet::Pong(Bytes::new()).encode()]);
            }
            Packet::Close => self.close("close packet"),
            Packet::Noop => {}
            Packet::Message(text) => self.on_sio_text(now, &text),
            Packet::Binary(data) => self.on_sio_binary(&data),
            other => self.violation(format!("unexpected {other:?} in {:?}", self.phase)),
        }
    }

    fn on_open(&mut self, now: Instant, json: &Bytes) {
        let open: serde_json::Value = match serde_json::from_slice(json) {
            Ok(value) => value,
            Err(err) => return self.violation(format!("open packet: {err}")),
        };
        let millis = |key: &str| Duration::from_millis(open[key].as_u64().unwrap_or(0));
        self.sid = open["sid"].as_str().unwrap_or_default().to_owned();
        self.ping_interval = millis("pingInterval");
        self.ping_timeout = millis("pingTimeout");
        self.liveness_deadline = Some(now + self.ping_interval + self.ping_timeout);
        self.phase = Phase::Open;
        if self.plan.websocket_only {
            self.websocket = self.handshake;
        } else if self.plan.upgrade {
            self.upgrade_at = Some(now + Duration::from_millis(self.rng.range(0, 300)));
        }
        self.write(vec![Frame::Text(Bytes::from_static(b"40"))]);
    }

    fn on_sio_text(&mut self, now: Instant, text: &Bytes) {
        let limits = Limits::default();
        let packet = match SioPacket::decode(text, &limits) {
            Ok(packet) => packet,
            Err(err) => return self.violation(format!("bad Socket.IO packet {text:?}: {err}")),
        };
        if self.pending_binary.is_some() {
            return self.violation("text while waiting for an attachment".to_owned());
        }
        match packet.kind {
            PacketKind::Connect if !self.connected => {
                self.connected = true;
                self.emit_at = Some(now);
            }
            PacketKind::Event | PacketKind::BinaryEvent => {
                let data = packet.data.unwrap_or_default();
                let Some(k) = server_event_number(&data) else {
                    return self.violation(format!("unexpected event {data:?}"));
                };
                if packet.kind == PacketKind::BinaryEvent {
                    self.pending_binary = Some((packet.id, k));
                } else {
                    self.on_server_event(packet.id, k);
                }
            }
            PacketKind::Ack => {
                let id = packet.id.unwrap_or(u64::MAX);
                let Some(n) = self.awaiting.remove(&id) else {
                    return self.violation(format!("ack {id} unknown or twice"));
                };
                let expected = format!(r#"["ok",{n}]"#);
                if packet.data.as_deref() != Some(expected.as_bytes()) {
                    self.violation(format!("ack {id} carries {:?}", packet.data));
                }
                self.acked.push(n);
            }
            other => self.violation(format!("unexpected Socket.IO {other:?}")),
        }
    }

    fn on_sio_binary(&mut self, data: &Bytes) {
        let Some((id, k)) = self.pending_binary.take() else {
            return self.violation("attachment nobody announced".to_owned());
        };
        if data.as_ref() != [k as u8] {
            self.violation(format!("attachment of event {k} is {data:?}"));
        }
        self.on_server_event(id, k);
    }

    fn on_server_event(&mut self, id: Option<u64>, k: u32) {
        if k as usize != self.server_events.len() {
            self.violation(format!(
                "server event {k} after {:?}: out of order or twice",
                self.server_events
            ));
        }
        self.server_events.push(k);
        if self.is_frozen() {
            self.emit_at = None;
            self.upgrade_at = None;
            return;
        }
        if let Some(id) = id {
            let ack = format!(r#"43{id}["got",{k}]"#);
            self.write(vec![Frame::Text(Bytes::from(ack))]);
        }
    }

    fn emit_next(&mut self, now: Instant) {
        let n = self.sent;
        self.sent += 1;
        let id = u64::from(n);
        self.awaiting.insert(id, n);
        let frames = if n % 3 == 1 {
            let header = format!(r#"451-{id}["ev",{n},{{"_placeholder":true,"num":0}}]"#);
            vec![
                Frame::Text(Bytes::from(header)),
                Frame::Binary(Bytes::from(vec![n as u8])),
            ]
        } else {
            vec![Frame::Text(Bytes::from(format!(r#"42{id}["ev",{n}]"#)))]
        };
        self.write(frames);
        self.emit_at = (self.sent < self.plan.events)
            .then(|| now + Duration::from_millis(self.rng.range(0, 200)));
    }

    fn check_done(&mut self) {
        let all_arrived = self.connected
            && self.sent == self.plan.events
            && self.awaiting.is_empty()
            && self.server_events.len() == self.plan.events as usize
            && self.pending_binary.is_none();
        if self.phase != Phase::Open || !all_arrived || self.probe.is_some() {
            return;
        }
        self.phase = Phase::Closing;
        self.writes.push(Packet::Close.encode());
        self.flush();
        if let Some(conn) = self.websocket {
            self.close_conn(conn);
            self.complete();
        }
    }

    fn complete(&mut self) {
        self.phase = Phase::Completed;
        self.close_all();
    }

    fn close(&mut self, why: &str) {
        if self.phase == Phase::Closing {
            // Everything arrived and the close packet is on its way: however the session ends
            // now (a poll refused after it closed, a broken post), the client is done.
            return self.complete();
        }
        self.phase = Phase::Closed(why.to_owned());
        self.close_all();
    }

    fn close_all(&mut self) {
        let conns: Vec<ConnId> = self.open_conns.iter().copied().collect();
        for conn in conns {
            self.close_conn(conn);
        }
        self.writes.clear();
    }

    /// Whether the client went silent.
    pub fn is_frozen(&self) -> bool {
        self.plan
            .freeze_after
            .is_some_and(|after| self.server_events.len() >= after as usize)
    }

    fn write(&mut self, frames: Vec<Frame>) {
        if self.phase == Phase::Closing || self.is_frozen() {
            return;
        }
        self.writes.extend(frames);
        self.flush();
    }

    fn flush(&mut self) {
        if self.writes.is_empty() || self.is_finished() || self.is_frozen() {
            return;
        }
        if let Some(conn) = self.websocket {
            let writes = std::mem::take(&mut self.writes);
            for frame in writes {
                self.ws_send(conn, frame);
            }
            return;
        }
        let paused = matches!(self.probe, Some(Probe::Probed(_)));
        if self.post.is_some() || paused || self.phase == Phase::Opening {
            return;
        }
        let body = payload::encode(&std::mem::take(&mut self.writes));
        let conn = self.new_conn();
        self.post = Some(conn);
        self.http(conn, post_request(&polling(&self.sid), body.len()), body);
    }

    fn poll(&mut self) {
        let paused = matches!(self.probe, Some(Probe::Probed(_)));
        let polling_open =
            self.websocket.is_none() && self.phase == Phase::Open && !self.is_frozen();
        if polling_open && self.get.is_none() && !paused {
            let conn = self.new_conn();
            self.get = Some(conn);
            self.http(conn, get_request(&polling(&self.sid)), Bytes::new());
        }
    }

    fn new_conn(&mut self) -> ConnId {
        let conn = ConnId(self.next_conn);
        self.next_conn += 1;
        self.open_conns.insert(conn);
        conn
    }

    fn http(&mut self, conn: ConnId, request: String, body: Bytes) {
        self.actions.push_back(ClientAction::Http {
            conn,
            request,
            body,
        });
    }

    fn ws_send(&mut self, conn: ConnId, frame: Frame) {
        self.actions.push_back(ClientAction::WsSend { conn, frame });
    }

    fn close_conn(&mut self, conn: ConnId) {
        if self.open_conns.remove(&conn) {
            self.actions.push_back(ClientAction::Close { conn });
        }
    }

    fn violation(&mut self, what: String) {
        self.violations.push(what);
    }
}

/// `k` of a server event `["s",k]` or `["s",k,{placeholder}]`.
fn server_event_number(data: &[u8]) -> Option<u32> {
    let value: serde_json::Value = serde_json::from_slice(data).ok()?;
    let array = value.as_array()?;
    if array.first()?.as_str()? != "s" {
        return None;
    }
    u32::try_from(array.get(1)?.as_u64()?).ok()
}
