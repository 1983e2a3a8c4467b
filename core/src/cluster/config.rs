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
    /// How long an appended event id stays claimed in Redis: within it, the same id posted
    /// to another node (or appended again) does not enter the stream a second time.
    pub dedup_ttl: Duration,
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
            dedup_ttl: Duration::from_secs(3600),
        }
    }
}

impl ClusterConfig {
    /// Whether cluster mode is on.
    #[must_use]
    pub fn enabled(&self) -> bool {
        self.redis_url.is_some()
    }

    /// The key under which `event_id` is claimed: beside the stream, so that one
    /// `redis_stream` setting separates clusters sharing a Redis.
    #[must_use]
    pub fn claim_key(&self, event_id: &str) -> String {
        format!("{}:event:{event_id}", self.stream)
    }
}
