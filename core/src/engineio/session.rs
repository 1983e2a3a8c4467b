//! One Engine.IO session: its transport (long-polling, websocket, or polling being upgraded),
//! the frames queued for the next poll, and its heartbeat, upgrade and congestion deadlines.
//!
//! Why here and not in the engine: everything about how bytes reach one client lives in one
//! place, so the Socket.IO layer above only ever says "send these frames" and hears "this
//! message arrived", whatever the transport.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::engineio::handshake::ErrorCode;
use crate::engineio::heartbeat::{Heartbeat, HeartbeatDue};
use crate::engineio::packet::{Frame, Packet};
use crate::engineio::payload;
use crate::http::{error_response, Response};
use crate::io::{CloseReason, ConnId, Output, SessionId, TransportKind};
use crate::time::earliest;

/// How a session took a group of frames ([`Session::take`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Taken {
    /// Dropped: volatile while the client is congested, or past the poll queue's cap.
    Refused,
    /// Queued for the client's next poll (a poll waiting for it was answered).
    Queued,
    /// The caller sends the group on this websocket connection.
    Websocket(ConnId),
}

impl Taken {
    /// Finishes a send to this one session: a websocket's group becomes its own
    /// `Output::WsSend`s. Returns whether the group was taken.
    pub fn send_alone(self, frames: &[Frame], out: &mut VecDeque<Output>) -> bool {
        match self {
            Taken::Websocket(conn) => {
                out.extend(frames.iter().map(|frame| Output::WsSend {
                    conn,
                    frame: frame.clone(),
                }));
                true
            }
            Taken::Queued => true,
            Taken::Refused => false,
        }
    }
}

/// The timings and bounds a session works with, copied from `Config`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionLimits {
    /// Interval between pings.
    pub ping_interval: Duration,
    /// Pong deadline after a ping.
    pub ping_timeout: Duration,
    /// Time an upgrade may take from the probe websocket's opening to `5`.
    pub upgrade_timeout: Duration,
    /// Bytes queued for a poll beyond which the session is congested.
    pub max_queued_bytes: usize,
    /// Time a session may stay congested before it is closed.
    pub slow_consumer_timeout: Duration,
    /// Most packets in one polling response (at least one is always sent).
    pub max_packets_per_poll: usize,
}

/// Where an incoming packet came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The session's current transport (a polling POST, or its websocket).
    Primary,
    /// The websocket that is probing an upgrade.
    Probe,
}

/// What an incoming packet means for the layer above.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Nothing for the layer above.
    Nothing,
    /// A message (`Packet::Message` or `Packet::Binary`) for the layer above.
    Message(Packet),
    /// The upgrade to websocket completed.
    Upgraded,
    /// The session must close for this reason.
    Close(CloseReason),
}

/// Why a poll request cannot be served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PollRejected {
    /// The session no longer uses polling (it upgraded to websocket).
    NotPolling,
    /// Another GET is already waiting on this session.
    Overlap,
}

/// Why a websocket cannot probe an upgrade of this session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpgradeRejected {
    /// The session already uses a websocket.
    AlreadyUpgraded,
    /// Another websocket is already probing.
    AlreadyUpgrading,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Transport {
    Polling { pending_get: Option<ConnId> },
    WebSocket { conn: ConnId },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Upgrade {
    conn: ConnId,
    deadline: Instant,
    probed: bool,
    /// A poll that arrived after the probe is released with a noop at this instant.
    release_poll_at: Option<Instant>,
}

/// How long a poll that arrives after the upgrade probe is held before it is released with a
/// noop. Real clients stop polling once probed; a poll racing the client's `5` on another
/// connection is answered 400 when the upgrade wins, as the protocol's test suite expects.
const PROBED_POLL_GRACE: Duration = Duration::from_millis(50);

/// One Engine.IO session.
#[derive(Debug)]
pub struct Session {
    id: SessionId,
    sid: String,
    opened_at: Instant,
    transport: Transport,
    outbox: VecDeque<Frame>,
    outbox_bytes: usize,
    heartbeat: Heartbeat,
    upgrade: Option<Upgrade>,
    congested_since: Option<Instant>,
    /// When a send found the poll queue full: the session closes as a slow consumer at once.
    overflowed_at: Option<Instant>,
    /// The runtime reported the session's websocket closed: nothing more is sent on it.
    websocket_gone: bool,
    reply_headers: Vec<(&'static str, String)>,
    limits: SessionLimits,
}

const PAYLOAD_CONTENT_TYPE: &str = "text/plain; charset=UTF-8";

impl Session {
    /// A session opened at `now` on polling (`ws_conn` is `None`) or on the websocket
    /// `ws_conn`. `reply_headers` go on every HTTP reply of the session (CORS).
    #[must_use]
    pub fn new(
        id: SessionId,
        sid: String,
        now: Instant,
        ws_conn: Option<ConnId>,
        reply_headers: Vec<(&'static str, String)>,
        limits: SessionLimits,
    ) -> Self {
        let transport = match ws_conn {
            Some(conn) => Transport::WebSocket { conn },
            None => Transport::Polling { pending_get: None },
        };
        Self {
            id,
            sid,
            opened_at: now,
            transport,
            outbox: VecDeque::new(),
            outbox_bytes: 0,
            heartbeat: Heartbeat::new(now, limits.ping_interval, limits.ping_timeout),
            upgrade: None,
            congested_since: None,
            overflowed_at: None,
            websocket_gone: false,
            reply_headers,
            limits,
        }
    }

    /// The engine's name for the session.
    #[must_use]
    pub fn id(&self) -> SessionId {
        self.id
    }

    /// The Engine.IO sid the client uses.
    #[must_use]
    pub fn sid(&self) -> &str {
        &self.sid
    }

    /// When the session was opened (its handshake).
    #[must_use]
    pub fn opened_at(&self) -> Instant {
        self.opened_at
    }

    /// When the client last answered a ping (`None` before the first pong).
    #[must_use]
    pub fn last_pong(&self) -> Option<Instant> {
        self.heartbeat.last_pong()
    }

    /// The transport in use now.
    #[must_use]
    pub fn transport(&self) -> TransportKind {
        match self.transport {
            Transport::Polling { .. } => TransportKind::Polling,
            Transport::WebSocket { .. } => TransportKind::WebSocket,
        }
    }

    /// Bytes of frames waiting for the next poll.
    #[must_use]
    pub fn queued_bytes(&self) -> usize {
        self.outbox_bytes
    }

    /// Whether the client is not keeping up (polling queue over its bound, or the runtime
    /// reported its websocket queue full).
    #[must_use]
    pub fn is_congested(&self) -> bool {
        self.congested_since.is_some()
    }

    /// Every connection this session holds (pending poll, websocket, probe), so the engine can
    /// forget them when the session ends.
    pub fn conns(&self) -> impl Iterator<Item = ConnId> {
        let primary = match self.transport {
            Transport::Polling { pending_get } => pending_get,
            Transport::WebSocket { conn } => Some(conn),
        };
        primary
            .into_iter()
            .chain(self.upgrade.map(|upgrade| upgrade.conn))
    }

    /// The most bytes a poll queue holds, but for one group sent while it was within its
    /// bound: `QUEUE_HARD_CAP_FACTOR` times the congestion bound. Past the bound a client loses volatile emits and has `slow_consumer_timeout` to
    /// catch up; a send that would pass the cap is dropped and the session closes as a slow
    /// consumer at once, so memory stays bounded whatever the client does.
    #[must_use]
    pub fn queue_cap(limits: &SessionLimits) -> usize {
        limits
            .max_queued_bytes
            .saturating_mul(crate::config::QUEUE_HARD_CAP_FACTOR)
    }

    /// Queues or sends a group of frames that belong together (a Socket.IO packet and its
    /// attachments). Returns `false` when the group was dropped: volatile while the client is
    /// congested, or any group that would overflow the poll queue's cap.
    pub fn send(
        &mut self,
        frames: &[Frame],
        volatile: bool,
        now: Instant,
        out: &mut VecDeque<Output>,
    ) -> bool {
        self.take(frames, volatile, now, out)
            .send_alone(frames, out)
    }

    /// Takes a group of frames as [`Session::send`] does, but leaves a websocket's sending to
    /// the caller: a broadcast gathers its websocket recipients into one
    /// `Output::WsBroadcast`, so the runtime frames the message once and no output is made per
    /// recipient.
    pub fn take(
        &mut self,
        frames: &[Frame],
        volatile: bool,
        now: Instant,
        out: &mut VecDeque<Output>,
    ) -> Taken {
        if volatile && self.is_congested() {
            return Taken::Refused;
        }
        match self.transport {
            Transport::WebSocket { conn } => Taken::Websocket(conn),
            Transport::Polling { .. } => {
                let size: usize = frames.iter().map(Frame::len).sum();
                // A queue within its bound takes any one group, however large (a history
                // page may pass the cap on its own): only a client already behind is cut off.
                if self.outbox_bytes > self.limits.max_queued_bytes
                    && self.outbox_bytes.saturating_add(size) > Self::queue_cap(&self.limits)
                {
                    self.overflowed_at.get_or_insert(now);
                    return Taken::Refused;
                }
                for frame in frames {
                    self.outbox_bytes += frame.len();
                    self.outbox.push_back(frame.clone());
                }
                if self.outbox_bytes > self.limits.max_queued_bytes
                    && self.congested_since.is_none()
                {
                    self.congested_since = Some(now);
                }
                self.flush_poll(out);
                Taken::Queued
            }
        }
    }

    /// A GET poll arrived on `conn`: answered at once when frames are waiting, else held.
    ///
    /// # Errors
    /// `NotPolling` after an upgrade; `Overlap` when a GET is already held (the caller closes
    /// the session).
    pub fn on_poll(
        &mut self,
        now: Instant,
        conn: ConnId,
        out: &mut VecDeque<Output>,
    ) -> Result<(), PollRejected> {
        let Transport::Polling { pending_get } = &mut self.transport else {
            return Err(PollRejected::NotPolling);
        };
        if pending_get.is_some() {
            return Err(PollRejected::Overlap);
        }
        *pending_get = Some(conn);
        if let Some(upgrade) = self.upgrade.as_mut().filter(|upgrade| upgrade.probed) {
            upgrade.release_poll_at = Some(now + PROBED_POLL_GRACE);
        }
        self.flush_poll(out);
        Ok(())
    }

    /// Whether a polling POST may carry packets for this session now.
    #[must_use]
    pub fn accepts_post(&self) -> bool {
        matches!(self.transport, Transport::Polling { .. })
    }

    /// The reply to a POST whose packets were all taken: `ok`.
    #[must_use]
    pub fn post_ok(&self) -> Response {
        self.reply(Response::new(200).body("text/html", Bytes::from_static(b"ok")))
    }

    /// Adds the session's reply headers to a response.
    #[must_use]
    pub fn reply(&self, mut response: Response) -> Response {
        response.headers.extend(self.reply_headers.iter().cloned());
        response
    }

    /// A websocket opened on `conn` with this session's sid: it may probe an upgrade.
    ///
    /// # Errors
    /// The session already uses, or is already probing, a websocket; the caller closes `conn`.
    pub fn on_probe_opened(&mut self, now: Instant, conn: ConnId) -> Result<(), UpgradeRejected> {
        if matches!(self.transport, Transport::WebSocket { .. }) {
            return Err(UpgradeRejected::AlreadyUpgraded);
        }
        if self.upgrade.is_some() {
            return Err(UpgradeRejected::AlreadyUpgrading);
        }
        self.upgrade = Some(Upgrade {
            conn,
            deadline: now + self.limits.upgrade_timeout,
            probed: false,
            release_poll_at: None,
        });
        Ok(())
    }

    /// Which of the session's connections `conn` is, if any.
    #[must_use]
    pub fn source_of(&self, conn: ConnId) -> Option<Source> {
        match self.transport {
            Transport::WebSocket { conn: ws } if ws == conn => Some(Source::Primary),
            _ if self.upgrade.is_some_and(|upgrade| upgrade.conn == conn) => Some(Source::Probe),
            _ => None,
        }
    }

    /// Handles one packet from the client.
    pub fn on_packet(
        &mut self,
        now: Instant,
        source: Source,
        packet: Packet,
        out: &mut VecDeque<Output>,
    ) -> Step {
        match source {
            Source::Primary => match packet {
                Packet::Pong(_) => {
                    self.heartbeat.on_pong(now);
                    Step::Nothing
                }
                Packet::Message(_) | Packet::Binary(_) => Step::Message(packet),
                Packet::Close => Step::Close(CloseReason::TransportClose),
                Packet::Noop | Packet::Ping(_) | Packet::Upgrade => Step::Nothing,
                _ => Step::Close(CloseReason::ParseError),
            },
            Source::Probe => self.on_probe_packet(packet, out),
        }
    }

    fn on_probe_packet(&mut self, packet: Packet, out: &mut VecDeque<Output>) -> Step {
        let Some(upgrade) = self.upgrade.as_mut() else {
            return Step::Nothing;
        };
        let conn = upgrade.conn;
        match packet {
            Packet::Ping(data) if data.as_ref() == b"probe" && !upgrade.probed => {
                upgrade.probed = true;
                out.push_back(Output::WsSend {
                    conn,
                    frame: Packet::Pong(data).encode(),
                });
                self.release_poll(out);
                Step::Nothing
            }
            Packet::Upgrade if upgrade.probed => {
                self.upgrade = None;
                if let Transport::Polling {
                    pending_get: Some(poll),
                } = self.transport
                {
                    // This poll came after the probe (the one held before it was released
                    // then): polling is over for this session.
                    let refused = Response::json(400, ErrorCode::BadRequest.body());
                    out.push_back(Output::HttpReply {
                        conn: poll,
                        response: self.reply(refused),
                    });
                }
                out.extend(
                    self.outbox
                        .drain(..)
                        .map(|frame| Output::WsSend { conn, frame }),
                );
                self.outbox_bytes = 0;
                self.congested_since = None;
                self.transport = Transport::WebSocket { conn };
                Step::Upgraded
            }
            _ => {
                self.abort_upgrade(out, 1002, "unexpected packet during upgrade");
                Step::Nothing
            }
        }
    }

    /// A connection of this session closed. Returns why the session must close, if it must.
    pub fn on_conn_closed(&mut self, conn: ConnId) -> Option<CloseReason> {
        if self.upgrade.is_some_and(|upgrade| upgrade.conn == conn) {
            self.upgrade = None;
            return None;
        }
        match &mut self.transport {
            Transport::Polling { pending_get } if *pending_get == Some(conn) => {
                *pending_get = None;
                Some(CloseReason::TransportError)
            }
            Transport::WebSocket { conn: ws } if *ws == conn => {
                self.websocket_gone = true;
                Some(CloseReason::TransportClose)
            }
            _ => None,
        }
    }

    /// The runtime reports its outbound queue for `conn` over (or back under) its bound.
    pub fn on_congestion(&mut self, now: Instant, conn: ConnId, congested: bool) {
        if self.source_of(conn) != Some(Source::Primary) {
            return;
        }
        self.congested_since = match (congested, self.congested_since) {
            (true, Some(since)) => Some(since),
            (true, None) => Some(now),
            (false, _) => None,
        };
    }

    /// The runtime gave up on `conn`'s outbound queue (past its hard cap) and aborted it:
    /// when that is the session's transport, the session closes as a slow consumer at once.
    pub fn on_overflow(&mut self, now: Instant, conn: ConnId) -> Option<CloseReason> {
        if self.source_of(conn) != Some(Source::Primary) {
            return None;
        }
        // The runtime dropped the connection: no close frame can reach the peer.
        self.websocket_gone = true;
        self.overflowed_at.get_or_insert(now);
        Some(CloseReason::SlowConsumer)
    }

    /// The earliest instant this session needs attention; a live session always has one.
    #[must_use]
    pub fn poll_timeout(&self) -> Instant {
        let mut at = Some(self.heartbeat.poll_timeout());
        at = earliest(at, self.overflowed_at);
        at = earliest(at, self.upgrade.map(|upgrade| upgrade.deadline));
        at = earliest(at, self.upgrade.and_then(|upgrade| upgrade.release_poll_at));
        at = earliest(
            at,
            self.congested_since
                .map(|since| since + self.limits.slow_consumer_timeout),
        );
        at.unwrap_or_else(|| self.heartbeat.poll_timeout())
    }

    /// Does what is due at `now`; returns why the session must close, if it must.
    pub fn handle_timeout(
        &mut self,
        now: Instant,
        out: &mut VecDeque<Output>,
    ) -> Option<CloseReason> {
        if self.overflowed_at.is_some() {
            return Some(CloseReason::SlowConsumer);
        }
        if self
            .congested_since
            .is_some_and(|since| since + self.limits.slow_consumer_timeout <= now)
        {
            return Some(CloseReason::SlowConsumer);
        }
        if self.upgrade.is_some_and(|upgrade| upgrade.deadline <= now) {
            self.abort_upgrade(out, 1008, "upgrade timeout");
        }
        if let Some(upgrade) = self.upgrade.as_mut() {
            if upgrade.release_poll_at.is_some_and(|at| at <= now) {
                upgrade.release_poll_at = None;
                // The poll may have been answered with data meanwhile: then nothing to release.
                self.release_poll(out);
            }
        }
        match self.heartbeat.handle_timeout(now) {
            Some(HeartbeatDue::SendPing) => {
                let ping = [Packet::Ping(Bytes::new()).encode()];
                self.send(&ping, false, now, out);
                None
            }
            Some(HeartbeatDue::PongMissed) => Some(CloseReason::PingTimeout),
            None => None,
        }
    }

    /// Ends the session's transports. A held poll gets what is queued and a close packet,
    /// except that a client which closed itself just gets its poll released (noop), and at
    /// shutdown the poll fails with 503 so clients treat it as a transport error and
    /// reconnect. A websocket gets a close frame with a code and the reason: no close packet,
    /// as the reference server does (python-socketio does not reconnect after one). A probing
    /// websocket is closed.
    pub fn close(&mut self, reason: CloseReason, out: &mut VecDeque<Output>) {
        self.abort_upgrade(out, 1001, "session closed");
        match self.transport {
            Transport::Polling {
                pending_get: Some(conn),
            } if reason == CloseReason::Shutdown => {
                self.transport = Transport::Polling { pending_get: None };
                let response = error_response(503, "shutting down", "the server is shutting down");
                out.push_back(Output::HttpReply {
                    conn,
                    response: self.reply(response),
                });
            }
            Transport::Polling {
                pending_get: Some(_),
            } => {
                let last = if reason == CloseReason::TransportClose {
                    Packet::Noop
                } else {
                    Packet::Close
                };
                self.outbox.push_back(last.encode());
                self.flush_poll_up_to(out, usize::MAX);
            }
            Transport::Polling { pending_get: None } => {}
            Transport::WebSocket { conn } if !self.websocket_gone => {
                out.push_back(Output::WsClose {
                    conn,
                    code: ws_close_code(reason),
                    reason: reason.as_str(),
                });
            }
            Transport::WebSocket { .. } => {}
        }
        self.outbox.clear();
        self.outbox_bytes = 0;
    }

    /// Ends an upgrade in progress by closing its probing websocket with `code` and
    /// `reason`; the session goes on over polling.
    pub fn abort_upgrade(&mut self, out: &mut VecDeque<Output>, code: u16, reason: &'static str) {
        if let Some(upgrade) = self.upgrade.take() {
            out.push_back(Output::WsClose {
                conn: upgrade.conn,
                code,
                reason,
            });
        }
    }

    /// Answers a held poll, if there is one, with what is queued and a noop, so the client
    /// gets its poll back without data of its own.
    fn release_poll(&mut self, out: &mut VecDeque<Output>) {
        if matches!(
            self.transport,
            Transport::Polling {
                pending_get: Some(_)
            }
        ) {
            self.outbox.push_back(Packet::Noop.encode());
            self.flush_poll(out);
        }
    }

    fn flush_poll(&mut self, out: &mut VecDeque<Output>) {
        self.flush_poll_up_to(out, self.limits.max_packets_per_poll);
    }

    /// Answers the held poll with at most `limit` (at least one) queued frames, oldest first;
    /// the rest wait for the next poll.
    fn flush_poll_up_to(&mut self, out: &mut VecDeque<Output>, limit: usize) {
        let Transport::Polling { pending_get } = &mut self.transport else {
            return;
        };
        if self.outbox.is_empty() {
            return;
        }
        let Some(conn) = pending_get.take() else {
            return;
        };
        let count = self.outbox.len().min(limit.max(1));
        let frames: Vec<Frame> = self.outbox.drain(..count).collect();
        let sent: usize = frames.iter().map(Frame::len).sum();
        self.outbox_bytes = self.outbox_bytes.saturating_sub(sent);
        if self.outbox_bytes <= self.limits.max_queued_bytes {
            self.congested_since = None;
        }
        let body = payload::encode(&frames);
        let response = self.reply(Response::new(200).body(PAYLOAD_CONTENT_TYPE, body));
        out.push_back(Output::HttpReply { conn, response });
    }
}

/// The websocket close code for a session that closes for `reason`.
fn ws_close_code(reason: CloseReason) -> u16 {
    match reason {
        CloseReason::ParseError => 1002,
        CloseReason::PayloadTooLarge => 1009,
        CloseReason::SlowConsumer => 1008,
        CloseReason::Shutdown => 1001,
        _ => 1000,
    }
}
