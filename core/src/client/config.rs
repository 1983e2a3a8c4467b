//! How a [`Client`](super::Client) connects: path, transports, deadlines, limits and the
//! reconnection policy.

use std::time::Duration;

use super::backoff::Backoff;

/// Which transports the client uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transports {
    /// Open over websocket directly.
    WebSocket,
    /// Long-polling only, never upgrade.
    Polling,
    /// Open over polling, then upgrade to websocket when the server offers it (what
    /// socket.io-client does by default).
    PollingThenUpgrade,
}

/// The client's configuration; `Default` gives socket.io-client's defaults where it has them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientConfig {
    /// The Engine.IO endpoint path, ending in `/` (`/socket.io/`).
    pub path: String,
    /// Which transports to use.
    pub transports: Transports,
    /// How long opening a session may take, from the first request to the open packet
    /// (socket.io-client's `timeout`, 20 s).
    pub open_timeout: Duration,
    /// How long a namespace CONNECT may wait for its answer before the session is given up.
    pub connect_timeout: Duration,
    /// How long a probe may take from opening its websocket to the switch.
    pub upgrade_timeout: Duration,
    /// How long a POST of the polling transport may wait for its `ok`.
    pub request_timeout: Duration,
    /// How long the attachments of a binary packet may take to arrive.
    pub attachment_timeout: Duration,
    /// The most bytes one polling body or the attachments of one packet may hold.
    pub max_payload: usize,
    /// The most frames one polling body may hold.
    pub max_packets_per_poll: usize,
    /// The most attachments one binary packet may announce.
    pub max_attachments: usize,
    /// Reconnection after a lost session; `None` never reconnects.
    pub reconnect: Option<Backoff>,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            path: "/socket.io/".to_owned(),
            transports: Transports::WebSocket,
            open_timeout: Duration::from_secs(20),
            connect_timeout: Duration::from_secs(20),
            upgrade_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(20),
            attachment_timeout: Duration::from_secs(30),
            max_payload: 16 * 1024 * 1024,
            max_packets_per_poll: 10_000,
            max_attachments: 16,
            reconnect: Some(Backoff::default()),
        }
    }
}
