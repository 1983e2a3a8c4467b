//! Cluster mode's settings: where the stream is and how it is read and written, named as the
//! Node adapter (`@socket.io/redis-streams-adapter`) names them.

use std::time::Duration;

/// How a relay joins a cluster; `redis_url: None` is a single node, as without it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterConfig {
    /// `redis://host:port/db` (or `rediss://`, `redis+unix://`); `None`: no cluster.
    pub redis_url: Option<String>,
    /// The stream's key (the Node adapter's `streamName`, default `socket.io`).
    pub stream: String,
    /// Approximate length the stream is trimmed to on each append (`XADD … MAXLEN ~`).
    pub maxlen: u64,
    /// Entries fetched per read (`readCount`).
    pub read_count: usize,
    /// How long one read waits for new entries (`blockTimeInMs`); a read that has not
    /// answered a few seconds after this counts the connection as lost.
    pub block_time: Duration,
    /// Prefix of the keys parked sessions are kept under (`sessionKeyPrefix`).
    pub session_key_prefix: String,
    /// Most events kept to append while Redis is unreachable; past it the oldest go
    /// (they were delivered to this node's clients, and are counted).
    pub buffer_max: usize,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        Self {
            redis_url: None,
            stream: "socket.io".to_owned(),
            maxlen: 10_000,
            read_count: 100,
            block_time: Duration::from_millis(5_000),
            session_key_prefix: "sio:session:".to_owned(),
            buffer_max: 100_000,
        }
    }
}

impl ClusterConfig {
    /// Whether cluster mode is on.
    #[must_use]
    pub fn enabled(&self) -> bool {
        self.redis_url.is_some()
    }
}
