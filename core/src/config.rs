//! Engine configuration: protocol timings, limits, the namespace policy and the mode.
//!
//! Why one struct: both runtimes and every test build the engine from the same values; the
//! defaults here are the product's defaults (PRODUCT.md §Socket.IO surface).

use std::time::Duration;

use crate::http::{bearer_token, token_matches, CorsPolicy, RequestHead};
use crate::relay::config::RelayConfig;

/// Everything the engine needs to know that is not an input.
#[derive(Debug, Clone)]
pub struct Config {
    /// Interval between server pings (Engine.IO `pingInterval`).
    pub ping_interval: Duration,
    /// How long after a ping the pong may take (Engine.IO `pingTimeout`); no extra grace.
    pub ping_timeout: Duration,
    /// Largest message or POST body a peer may send, in bytes (Engine.IO `maxPayload`).
    pub max_payload: usize,
    /// How long a polling→websocket upgrade may take from the websocket's opening to `5`.
    pub upgrade_timeout: Duration,
    /// How long a new Engine.IO session may go without a Socket.IO CONNECT before it is closed.
    pub connect_timeout: Duration,
    /// How long a socket that lost its transport may be recovered by reconnecting with its
    /// private id (Socket.IO's `maxDisconnectionDuration`); `None` turns recovery off.
    pub recovery_window: Option<Duration>,
    /// How long a server→client ack is awaited before it is reported as timed out.
    pub ack_timeout: Duration,
    /// How long the attachments of a binary packet may take to arrive after its header.
    pub attachment_timeout: Duration,
    /// Largest number of binary attachments in one Socket.IO packet.
    pub max_attachments: usize,
    /// Bytes queued for one client (its poll queue in the engine, its websocket queue in the
    /// runtime) beyond which it is congested: volatile events are dropped for it and its grace
    /// period starts. [`Config::queue_hard_cap`] is the most it ever holds.
    pub max_queued_bytes: usize,
    /// How long a client may stay congested (its grace period) before it is disconnected as
    /// a slow consumer.
    pub slow_consumer_timeout: Duration,
    /// Most Engine.IO packets in one polling response; the rest wait for the next poll.
    /// python-engineio's client refuses a payload of more than 16 packets (and drops the
    /// session), so the relay's default is 16.
    pub max_packets_per_poll: usize,
    /// Path Engine.IO carrying Socket.IO is served at (with trailing slash).
    pub socketio_path: String,
    /// Path a raw Engine.IO endpoint (no Socket.IO layer) is served at, if any.
    pub engineio_path: Option<String>,
    /// Which Socket.IO namespaces clients may connect to.
    pub namespaces: NamespacePolicy,
    /// Which browser origins may call the server; Engine.IO requests (websocket openings
    /// included) from any other `Origin` are refused with 403.
    pub cors: CorsPolicy,
    /// When set, a Socket.IO CONNECT must carry `auth` `{"token": <this>}`; any other is
    /// answered CONNECT_ERROR `{"message":"unauthorized"}`. The relay sets it from its token.
    pub connect_token: Option<String>,
    /// Largest body of a request outside Engine.IO, in bytes.
    pub max_body: usize,
    /// What the engine does with sockets' events itself.
    pub mode: Mode,
    /// Facts about the process the runtime fills in, reported by `/health`.
    pub server: ServerInfo,
    /// What the relay does with events (unused in conformance mode).
    pub relay: RelayConfig,
}

/// Which Engine.IO endpoint a request is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineIoRoute {
    /// Engine.IO carrying Socket.IO.
    SocketIo,
    /// Raw Engine.IO, no Socket.IO layer.
    Raw,
}

/// Which Socket.IO namespaces a client may join.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NamespacePolicy {
    /// Any namespace is accepted.
    Any,
    /// Only these namespaces (each starting with `/`) are accepted.
    Only(Vec<String>),
}

impl NamespacePolicy {
    /// Whether a client may connect to `nsp`.
    #[must_use]
    pub fn allows(&self, nsp: &str) -> bool {
        match self {
            Self::Any => true,
            Self::Only(list) => list.iter().any(|n| n == nsp),
        }
    }
}

/// What the engine does with Socket.IO and raw Engine.IO traffic on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Mode {
    /// Nothing: every event is handed to the caller as `Output::Event`.
    Embedded,
    /// The behaviour the public Engine.IO v4 and Socket.IO v5 test suites expect.
    Conformance,
}

/// Process facts reported by `GET /health`; the runtime knows them, the core does not.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ServerInfo {
    /// Process id.
    pub pid: u32,
    /// Port the server listens on.
    pub port: u16,
    /// Unix time in milliseconds at the `Instant` the engine was created with: the origin
    /// of every wall-clock timestamp (core reads no clock).
    pub started_unix_ms: u64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            ping_interval: Duration::from_secs(25),
            ping_timeout: Duration::from_secs(20),
            max_payload: 1_000_000,
            upgrade_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(45),
            recovery_window: Some(Duration::from_secs(120)),
            ack_timeout: Duration::from_secs(10),
            attachment_timeout: Duration::from_secs(10),
            max_attachments: 16,
            max_queued_bytes: 1024 * 1024,
            slow_consumer_timeout: Duration::from_secs(10),
            max_packets_per_poll: 16,
            socketio_path: "/socket.io/".to_owned(),
            engineio_path: None,
            namespaces: NamespacePolicy::Any,
            cors: CorsPolicy::AllowList(vec![
                "http://localhost:*".to_owned(),
                "http://127.0.0.1:*".to_owned(),
            ]),
            connect_token: None,
            max_body: 1024 * 1024,
            mode: Mode::Embedded,
            server: ServerInfo::default(),
            relay: RelayConfig::default(),
        }
    }
}

/// How many times its congestion bound a client's queue may hold before the client is
/// disconnected at once, grace period or not.
///
/// Why a multiple and not a second setting: the bound is what an operator tunes; the cap only
/// keeps memory bounded while the grace period runs (a client that never reads costs at most
/// this much), and it must stay far enough above the bound that a client catching up after a
/// burst is not cut off.
pub const QUEUE_HARD_CAP_FACTOR: usize = 4;

impl Config {
    /// The most bytes one client's queue ever holds: [`QUEUE_HARD_CAP_FACTOR`] times
    /// `max_queued_bytes`. A poll queue refuses a send past it and the session closes as a
    /// slow consumer; a runtime aborts the websocket and reports [`Input::QueueOverflow`].
    ///
    /// [`Input::QueueOverflow`]: crate::Input::QueueOverflow
    #[must_use]
    pub fn queue_hard_cap(&self) -> usize {
        self.max_queued_bytes.saturating_mul(QUEUE_HARD_CAP_FACTOR)
    }

    /// Which Engine.IO endpoint `path` names, if any (with or without the trailing slash).
    #[must_use]
    pub fn engineio_route(&self, path: &str) -> Option<EngineIoRoute> {
        let matches = |mount: &str| path == mount || path == mount.trim_end_matches('/');
        if matches(&self.socketio_path) {
            Some(EngineIoRoute::SocketIo)
        } else if self.engineio_path.as_deref().is_some_and(matches) {
            Some(EngineIoRoute::Raw)
        } else {
            None
        }
    }

    /// The largest body a runtime should read for a request with `head` (`max_payload` for
    /// Engine.IO, `relay.max_request_bytes` for the ingest API, `max_body` elsewhere); beyond
    /// it the runtime passes `Body::TooLarge`. When the relay has a token, an API request
    /// without it may send no body at all: it will be refused with 401 anyway, and a client
    /// without the token must not make the relay buffer megabytes.
    ///
    /// Why on `Config`: runtimes read bodies on connection threads, away from the engine, and
    /// the answer depends on the configuration and the head alone.
    #[must_use]
    pub fn body_limit(&self, head: &RequestHead) -> usize {
        let path = head.path.as_str();
        if self.engineio_route(path).is_some() {
            self.max_payload
        } else if path.starts_with("/api/") {
            let token = self
                .relay
                .protection
                .token
                .as_deref()
                .filter(|t| !t.is_empty());
            let refused = self.mode != Mode::Conformance
                && token.is_some_and(|expected| {
                    !bearer_token(head).is_some_and(|given| token_matches(given, expected))
                });
            if refused {
                0
            } else {
                self.relay.max_request_bytes
            }
        } else {
            self.max_body
        }
    }

    /// The configuration the public protocol test suites expect (`serve --conformance`).
    #[must_use]
    pub fn conformance() -> Self {
        Self {
            ping_interval: Duration::from_millis(300),
            ping_timeout: Duration::from_millis(200),
            max_payload: 1_000_000,
            connect_timeout: Duration::from_millis(1000),
            recovery_window: None,
            engineio_path: Some("/engine.io/".to_owned()),
            namespaces: NamespacePolicy::Only(vec!["/".to_owned(), "/custom".to_owned()]),
            cors: CorsPolicy::AllowAll,
            mode: Mode::Conformance,
            // The reference server answers a poll with everything queued.
            max_packets_per_poll: usize::MAX,
            ..Self::default()
        }
    }
}
