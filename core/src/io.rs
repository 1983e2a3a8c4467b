//! The engine's boundary: what goes in (`Input`), what comes out (`Output`), and the ids
//! that name connections, sessions and sockets across it.
//!
//! Why one module: every layer (engineio, socketio, engine) speaks these types, and a runtime
//! needs nothing else to drive the engine.

use std::fmt;
use std::net::IpAddr;
use std::time::Instant;

use bytes::Bytes;

use crate::engineio::packet::Frame;
use crate::http::{RequestHead, Response};
use crate::relay::event::StoredEvent;
use crate::relay::measure::Measurement;

/// A transport connection the runtime owns (one TCP connection: HTTP keep-alive or websocket).
///
/// The runtime picks the numbers; the engine only compares them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConnId(pub u64);

/// An Engine.IO session, named by the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SessionId(pub u64);

/// A Socket.IO socket: one session's membership of one namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SocketId(pub u64);

/// The body of an HTTP request as the runtime read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// The whole body (empty when the request had none).
    Complete(Bytes),
    /// The declared or received body exceeded `Engine::body_limit`; the runtime stopped reading
    /// and will close the connection after the reply.
    TooLarge,
}

/// Something that happened, handed to the engine.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Input {
    /// Time has passed; deadlines up to `now` are due.
    Timeout(Instant),
    /// A complete HTTP request arrived on `conn`. Exactly one `HttpReply` or `WsAccept` answers it.
    ///
    /// Hand over the next request of a connection only after this one was answered (HTTP/1.1
    /// answers in order): a held poll is still a request in progress.
    Http {
        /// When it arrived.
        now: Instant,
        /// Which connection carried it.
        conn: ConnId,
        /// The address of the peer that sent it, when the runtime knows one (the relay's rate
        /// limit is per address; `None` shares one bucket).
        peer: Option<IpAddr>,
        /// The parsed head.
        head: RequestHead,
        /// The body.
        body: Body,
    },
    /// A websocket message arrived on a connection the engine accepted with `WsAccept`.
    WsMessage {
        /// When it arrived.
        now: Instant,
        /// The websocket connection.
        conn: ConnId,
        /// The message: text or binary.
        frame: Frame,
    },
    /// A websocket message exceeded the size limit the runtime enforces (`Config::max_payload`).
    WsTooLarge {
        /// When it happened.
        now: Instant,
        /// The websocket connection.
        conn: ConnId,
    },
    /// The connection closed (peer close, error, or the runtime gave up on it).
    ConnClosed {
        /// When it was noticed.
        now: Instant,
        /// The connection.
        conn: ConnId,
    },
    /// The runtime's outbound queue for `conn` crossed its byte bound (`congested`) or drained
    /// below it again.
    Congestion {
        /// When it was noticed.
        now: Instant,
        /// The connection.
        conn: ConnId,
        /// Whether the queue is now over its bound.
        congested: bool,
    },
    /// The runtime's outbound queue for `conn` passed its hard cap
    /// ([`Config::queue_hard_cap`](crate::Config::queue_hard_cap)) and the runtime aborted the
    /// connection: its session closes as a slow consumer at once (and may be recovered).
    QueueOverflow {
        /// When it happened.
        now: Instant,
        /// The connection.
        conn: ConnId,
    },
    /// The runtime measured something core cannot (it reads no clock): a request's latency,
    /// a store commit's. The relay keeps it for `/metrics`; the engine only moves its clock.
    Measured {
        /// When it was measured.
        now: Instant,
        /// What was measured.
        measurement: Measurement,
    },
    /// The outcome of an [`Output::Cluster`] command (cluster mode): the relay moves its
    /// cluster link; the engine only moves its clock.
    Cluster {
        /// When the outcome arrived.
        now: Instant,
        /// What happened.
        report: crate::cluster::Report,
    },
}

/// Something the caller must do, drained from `Engine::poll_output`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Output {
    /// Write this HTTP response on `conn`: the answer to one `Input::Http`.
    HttpReply {
        /// The connection the request came on.
        conn: ConnId,
        /// The response.
        response: Response,
    },
    /// Complete the websocket handshake on `conn` (answer 101); frames for it follow.
    WsAccept {
        /// The connection the upgrade request came on.
        conn: ConnId,
    },
    /// Send one websocket message on `conn`.
    WsSend {
        /// The websocket connection.
        conn: ConnId,
        /// The message; a broadcast hands every recipient the same `Bytes`.
        frame: Frame,
    },
    /// Send one websocket message on each of `conns`: a broadcast's websocket recipients,
    /// gathered so that the runtime frames the message once and no output is made per
    /// recipient. For each of `conns` it is what a `WsSend` in its place would be.
    WsBroadcast {
        /// The websocket connections, each once.
        conns: Vec<ConnId>,
        /// The message, the same for every one of them.
        frame: Frame,
    },
    /// Close the websocket `conn` with a close code and reason, after the frames before it.
    WsClose {
        /// The websocket connection.
        conn: ConnId,
        /// Websocket close code (1000 normal, 1002 protocol error, 1008 policy, 1009 too big).
        code: u16,
        /// Human-readable reason, sent in the close frame.
        reason: &'static str,
    },
    /// Keep this accepted event in the persistent store (in offset order). The relay has
    /// already answered its sender; the runtime batches these off the hot path.
    Persist(StoredEvent),
    /// A client asked the server to stop (`POST /api/shutdown`): shut down as on SIGTERM.
    StopRequested,
    /// Cluster mode: run this Redis command and feed its outcome back as
    /// [`Input::Cluster`] (see [`crate::cluster`]).
    Cluster(crate::cluster::Command),
    /// Cluster mode: apply this change to the store's outbox (what waits to be appended
    /// while Redis is unreachable), in order with the `Persist`s; give what it holds back
    /// with [`crate::Relay::restore_outbox`] at the next start.
    Outbox(crate::cluster::outbox::OutboxChange),
    /// Something the application may want to know or act on.
    Event(Event),
    /// Nothing more to do now; call `handle_input(Input::Timeout(at))` at `at`, or wait for
    /// input when `None`.
    Timeout(Option<Instant>),
}

impl Output {
    /// This output as outputs of one connection each: a `WsBroadcast` becomes the `WsSend`
    /// each of its connections would get, in the order of `conns`; any other output stays as
    /// it is. For callers that follow connections one at a time (simulators, test harnesses);
    /// a server routes a `WsBroadcast` whole, so that it frames the message once.
    pub fn per_connection(self) -> impl Iterator<Item = Output> {
        let (single, broadcast) = match self {
            Output::WsBroadcast { conns, frame } => (None, Some((conns, frame))),
            other => (Some(other), None),
        };
        let sends = broadcast.into_iter().flat_map(|(conns, frame)| {
            conns.into_iter().map(move |conn| Output::WsSend {
                conn,
                frame: frame.clone(),
            })
        });
        single.into_iter().chain(sends)
    }
}

/// Why a session or socket ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloseReason {
    /// The peer sent a close packet or closed the transport.
    TransportClose,
    /// The transport failed (an aborted poll, a broken connection, an overlapping poll).
    TransportError,
    /// No pong arrived within `ping_timeout` of a ping.
    PingTimeout,
    /// The peer sent something that does not decode.
    ParseError,
    /// The peer sent more than `max_payload`.
    PayloadTooLarge,
    /// No Socket.IO CONNECT arrived within `connect_timeout`.
    ConnectTimeout,
    /// The client could not keep up with what it was sent.
    SlowConsumer,
    /// The server closed it (a command).
    ServerClose,
    /// The server is shutting down; clients should reconnect to the next one.
    Shutdown,
    /// The client left the namespace (Socket.IO DISCONNECT).
    ClientDisconnect,
}

impl CloseReason {
    /// Whether a socket ended this way may be recovered by reconnecting: the transport was
    /// lost or the server closed it, not the client leaving or misbehaving.
    #[must_use]
    pub fn is_recoverable(self) -> bool {
        matches!(
            self,
            Self::TransportClose
                | Self::TransportError
                | Self::PingTimeout
                | Self::SlowConsumer
                | Self::ServerClose
        )
    }
}

impl CloseReason {
    /// The reason string Socket.IO and Engine.IO use for it.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TransportClose => "transport close",
            Self::TransportError => "transport error",
            Self::PingTimeout => "ping timeout",
            Self::ParseError => "parse error",
            Self::PayloadTooLarge => "payload too large",
            Self::ConnectTimeout => "connect timeout",
            Self::SlowConsumer => "slow consumer",
            Self::ServerClose => "forced close",
            Self::Shutdown => "server shutting down",
            Self::ClientDisconnect => "client namespace disconnect",
        }
    }
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which transport a session uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportKind {
    /// HTTP long-polling.
    Polling,
    /// Websocket.
    WebSocket,
}

impl TransportKind {
    /// The name Engine.IO uses in its `transport` query parameter.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Polling => "polling",
            Self::WebSocket => "websocket",
        }
    }
}

/// What happened at the Engine.IO or Socket.IO level.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Event {
    /// A new Engine.IO session was opened.
    SessionOpened {
        /// The session.
        session: SessionId,
        /// Its Engine.IO sid.
        sid: String,
        /// The transport it started on.
        transport: TransportKind,
    },
    /// A session finished its upgrade to websocket.
    SessionUpgraded {
        /// The session.
        session: SessionId,
    },
    /// A session ended and its resources were freed.
    SessionClosed {
        /// The session.
        session: SessionId,
        /// Why.
        reason: CloseReason,
    },
    /// A message on a raw Engine.IO session (no Socket.IO layer).
    RawMessage {
        /// The session.
        session: SessionId,
        /// The message.
        frame: Frame,
    },
    /// A client joined a namespace.
    SocketConnected {
        /// The socket.
        socket: SocketId,
        /// The session it belongs to.
        session: SessionId,
        /// The namespace.
        nsp: String,
        /// The CONNECT packet's auth payload (JSON text, `{}` when none was sent).
        auth: Bytes,
        /// The socket was restored by connection state recovery: same id, same rooms. The
        /// application sends what it missed (the auth holds the client's last `offset`).
        recovered: bool,
    },
    /// A CONNECT names a pid that is not parked here, and remote recovery is on
    /// (`Engine::set_remote_recovery`): the application looks for it elsewhere and answers
    /// with `Engine::resume_connect`. Until then the CONNECT waits.
    RecoveryLookup {
        /// The session.
        session: SessionId,
        /// The namespace.
        nsp: String,
        /// The private id the client asked to recover.
        pid: String,
    },
    /// A socket left its namespace.
    SocketDisconnected {
        /// The socket.
        socket: SocketId,
        /// Why.
        reason: CloseReason,
    },
    /// A client emitted an event.
    Message {
        /// The socket.
        socket: SocketId,
        /// The event name.
        name: String,
        /// The arguments as a JSON array text (binary arguments are placeholders).
        args: Bytes,
        /// Binary attachments the placeholders refer to, in order.
        attachments: Vec<Bytes>,
        /// When the client asked for an ack: answer with `Engine::ack`.
        ack: Option<u64>,
    },
    /// A client acknowledged a server emit.
    AckReceived {
        /// The socket.
        socket: SocketId,
        /// The ack id `Engine::emit_to` returned.
        ack: u64,
        /// The ack's arguments as a JSON array text.
        args: Bytes,
        /// Binary attachments.
        attachments: Vec<Bytes>,
    },
    /// A server emit was not acknowledged in time (or the socket went away first).
    AckTimedOut {
        /// The socket.
        socket: SocketId,
        /// The ack id.
        ack: u64,
    },
}

/// The caller used the API wrongly; the message says how to fix the call.
///
/// Peer garbage is never an `ApiMisuse`: it becomes an output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiMisuse(pub String);

impl fmt::Display for ApiMisuse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ApiMisuse {}
