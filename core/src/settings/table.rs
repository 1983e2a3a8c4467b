//! The one table of settings: each key's environment variables, flag, kind, description, and
//! how it reads and writes the effective [`Settings`].
//!
//! Why a table of functions: the environment, the config file, the flags, `config show`,
//! `--help` and docs/operations.md all walk this list, so a setting added here exists in every
//! layer at once, and its default is whatever `Config::default()` (or `conformance()`) says —
//! written nowhere else.

use std::time::Duration;

use super::value::{Kind, Value};
use super::Settings;
use crate::http::CorsPolicy;
use crate::lifecycle::LogFormat;
use crate::relay::config::Profile;

/// One setting.
#[derive(Debug, Clone, Copy)]
pub struct Setting {
    /// The key in the config file and in `config show`.
    pub key: &'static str,
    /// Environment variables that set it: `IORELAY_<KEY>` first, then aliases it yields to.
    pub env: &'static [&'static str],
    /// The long flag, without `--`.
    pub flag: &'static str,
    /// The value's shape.
    pub kind: Kind,
    /// What it does, for `--help`, `config show` and the docs.
    pub about: &'static str,
    /// Said instead of the computed default where that depends on the machine.
    pub default_note: Option<&'static str>,
    /// The effective value; `None` when unset (a secret nobody gave).
    pub(super) get: fn(&Settings) -> Option<Value>,
    /// Stores a value of `kind`.
    pub(super) set: fn(&mut Settings, &Value),
}

impl Setting {
    /// The primary environment variable, `IORELAY_<KEY>`.
    #[must_use]
    pub fn env_var(&self) -> &'static str {
        self.env[0]
    }

    /// The setting named `key`.
    #[must_use]
    pub fn named(key: &str) -> Option<&'static Setting> {
        SETTINGS.iter().find(|setting| setting.key == key)
    }
}

fn ms(duration: Duration) -> Option<Value> {
    Some(Value::Int(
        u64::try_from(duration.as_millis()).unwrap_or(u64::MAX),
    ))
}

fn count(n: usize) -> Option<Value> {
    Some(Value::Int(u64::try_from(n).unwrap_or(u64::MAX)))
}

fn text(text: &str) -> Option<Value> {
    Some(Value::Text(text.to_owned()))
}

const DAY: u64 = 24 * 3600;

/// Every setting, in the order `config show` and the docs list them.
pub static SETTINGS: &[Setting] = &[
    Setting {
        key: "host",
        env: &["IORELAY_HOST", "CLAUDE_MPM_SERVER_HOST"],
        flag: "host",
        kind: Kind::Host,
        about: "Address to listen on; status and stop look for the relay there",
        default_note: None,
        get: |s| text(&s.host),
        set: |s, v| s.host = v.text().to_owned(),
    },
    Setting {
        key: "port",
        env: &["IORELAY_PORT", "CLAUDE_MPM_SERVER_PORT"],
        flag: "port",
        kind: Kind::Port,
        about: "Port to listen on (0 picks a free one); status and stop look for the relay there",
        default_note: None,
        get: |s| Some(Value::Int(u64::from(s.port))),
        set: |s, v| s.port = u16::try_from(v.int()).unwrap_or(u16::MAX),
    },
    Setting {
        key: "data_dir",
        env: &["IORELAY_DATA_DIR"],
        flag: "data-dir",
        kind: Kind::Path,
        about: "Directory of the persistent event history",
        default_note: Some("$XDG_DATA_HOME/iorelay, else ~/.local/share/iorelay"),
        get: |s| text(&s.data_dir),
        set: |s, v| s.data_dir = v.text().to_owned(),
    },
    Setting {
        key: "state_dir",
        env: &["IORELAY_STATE_DIR"],
        flag: "state-dir",
        kind: Kind::Path,
        about: "Directory of runtime state the relay keeps between runs",
        default_note: Some("$XDG_STATE_HOME/iorelay, else ~/.local/state/iorelay"),
        get: |s| text(&s.state_dir),
        set: |s, v| s.state_dir = v.text().to_owned(),
    },
    Setting {
        key: "log",
        env: &["IORELAY_LOG"],
        flag: "log",
        kind: Kind::LogLevel,
        about: "Log level: error, warn, info or debug",
        default_note: None,
        get: |s| text(&s.log),
        set: |s, v| s.log = v.text().to_owned(),
    },
    Setting {
        key: "log_format",
        env: &["IORELAY_LOG_FORMAT"],
        flag: "log-format",
        kind: Kind::LogFormat,
        about: "Log line format: text (an RFC 3339 UTC time, the level, the message) or json \
                (one object per line with ts, level and msg, for log shippers)",
        default_note: None,
        get: |s| text(s.log_format.name()),
        set: |s, v| s.log_format = LogFormat::parse(v.text()).unwrap_or_default(),
    },
    Setting {
        key: "profile",
        env: &["IORELAY_PROFILE"],
        flag: "profile",
        kind: Kind::Profile,
        about: "Event names on `/`: default (claude_event) or claude-mpm (its dashboard's names)",
        default_note: None,
        get: |s| text(s.config.relay.profile.name()),
        set: |s, v| {
            if let Ok(profile) = Profile::parse(v.text()) {
                s.config.relay.profile = profile;
            }
        },
    },
    Setting {
        key: "token",
        env: &["IORELAY_TOKEN"],
        flag: "token",
        kind: Kind::Secret,
        about: "Bearer token every HTTP route but /health requires (`Authorization: Bearer`), \
                and Socket.IO clients send as `auth.token` (prefer the environment: flags show \
                in `ps`)",
        default_note: Some("not set"),
        get: |s| s.token.as_deref().and_then(text),
        set: |s, v| {
            s.token = Some(v.text().to_owned());
            s.config.relay.protection.token = s.token.clone();
        },
    },
    Setting {
        key: "redis_url",
        env: &["IORELAY_REDIS_URL"],
        flag: "redis-url",
        kind: Kind::Secret,
        about: "Cluster mode: the Redis (or Valkey) server whose stream this relay shares with \
                other relays and Node.js servers using @socket.io/redis-streams-adapter, as \
                redis://[:password@]host:port[/db] (unset: a single relay; shown masked, as \
                it may hold a password)",
        default_note: Some("not set"),
        get: |s| s.config.relay.cluster.redis_url.as_deref().and_then(text),
        set: |s, v| s.config.relay.cluster.redis_url = Some(v.text().to_owned()),
    },
    Setting {
        key: "redis_stream",
        env: &["IORELAY_REDIS_STREAM"],
        flag: "redis-stream",
        kind: Kind::Key,
        about: "Cluster mode: the stream's key (the Node adapter's streamName)",
        default_note: None,
        get: |s| text(&s.config.relay.cluster.stream),
        set: |s, v| s.config.relay.cluster.stream = v.text().to_owned(),
    },
    Setting {
        key: "redis_maxlen",
        env: &["IORELAY_REDIS_MAXLEN"],
        flag: "redis-maxlen",
        kind: Kind::Count,
        about: "Cluster mode: about how many entries the stream keeps (XADD … MAXLEN ~; maxLen)",
        default_note: None,
        get: |s| Some(Value::Int(s.config.relay.cluster.maxlen)),
        set: |s, v| s.config.relay.cluster.maxlen = v.int(),
    },
    Setting {
        key: "redis_read_count",
        env: &["IORELAY_REDIS_READ_COUNT"],
        flag: "redis-read-count",
        kind: Kind::Count,
        about: "Cluster mode: entries fetched per read (readCount)",
        default_note: None,
        get: |s| count(s.config.relay.cluster.read_count),
        set: |s, v| s.config.relay.cluster.read_count = v.size().max(1),
    },
    Setting {
        key: "redis_block_time_ms",
        env: &["IORELAY_REDIS_BLOCK_TIME_MS"],
        flag: "redis-block-time",
        kind: Kind::Millis,
        about: "Cluster mode: how long one read waits for new entries, in milliseconds \
                (blockTimeInMs); a read silent 3 s past it counts Redis as unreachable",
        default_note: None,
        get: |s| ms(s.config.relay.cluster.block_time),
        set: |s, v| s.config.relay.cluster.block_time = Duration::from_millis(v.int().max(1)),
    },
    Setting {
        key: "redis_session_key_prefix",
        env: &["IORELAY_REDIS_SESSION_KEY_PREFIX"],
        flag: "redis-session-key-prefix",
        kind: Kind::Key,
        about: "Cluster mode: prefix of the keys that keep disconnected sessions for recovery \
                on any node (sessionKeyPrefix)",
        default_note: None,
        get: |s| text(&s.config.relay.cluster.session_key_prefix),
        set: |s, v| s.config.relay.cluster.session_key_prefix = v.text().to_owned(),
    },
    Setting {
        key: "redis_buffer_max",
        env: &["IORELAY_REDIS_BUFFER_MAX"],
        flag: "redis-buffer-max",
        kind: Kind::Count,
        about: "Cluster mode: most events kept to append while Redis is unreachable (they \
                reach this relay's clients at once; past the bound the oldest are not \
                appended, and counted)",
        default_note: None,
        get: |s| count(s.config.relay.cluster.buffer_max),
        set: |s, v| s.config.relay.cluster.buffer_max = v.size(),
    },
    Setting {
        key: "redis_dedup_ttl_ms",
        env: &["IORELAY_REDIS_DEDUP_TTL_MS"],
        flag: "redis-dedup-ttl",
        kind: Kind::Millis,
        about: "Cluster mode: how long an appended event id stays claimed in Redis, in \
                milliseconds: within it the same id posted to another relay, or appended \
                again after a lost answer, enters the stream once",
        default_note: None,
        get: |s| ms(s.config.relay.cluster.dedup_ttl),
        set: |s, v| s.config.relay.cluster.dedup_ttl = Duration::from_millis(v.int().max(1)),
    },
    Setting {
        key: "max_connections",
        env: &["IORELAY_MAX_CONNECTIONS"],
        flag: "max-connections",
        kind: Kind::Count,
        about: "Most connections open at once; more are answered 503 and closed",
        default_note: None,
        get: |s| count(s.config.relay.protection.max_connections),
        set: |s, v| s.config.relay.protection.max_connections = v.size(),
    },
    Setting {
        key: "max_connections_per_ip",
        env: &["IORELAY_MAX_CONNECTIONS_PER_IP"],
        flag: "max-connections-per-ip",
        kind: Kind::Count,
        about: "Most connections open at once from one address (0: no cap)",
        default_note: None,
        get: |s| count(s.config.relay.protection.max_connections_per_ip),
        set: |s, v| s.config.relay.protection.max_connections_per_ip = v.size(),
    },
    Setting {
        key: "cap_loopback",
        env: &["IORELAY_CAP_LOOPBACK"],
        flag: "cap-loopback",
        kind: Kind::Bool,
        about: "Hold loopback peers to max_connections_per_ip and the ingest rate limit too (by \
                default they are exempt: every local client shares 127.0.0.1)",
        default_note: None,
        get: |s| Some(Value::Bool(s.config.relay.protection.cap_loopback)),
        set: |s, v| s.config.relay.protection.cap_loopback = v.flag(),
    },
    Setting {
        key: "rate_limit_burst",
        env: &["IORELAY_RATE_LIMIT_BURST"],
        flag: "rate-limit-burst",
        kind: Kind::Count,
        about: "Events one address may post at once before ingest answers 429 (0: no limit)",
        default_note: None,
        get: |s| Some(Value::Int(s.config.relay.protection.rate_limit.burst)),
        set: |s, v| s.config.relay.protection.rate_limit.burst = v.int(),
    },
    Setting {
        key: "rate_limit_per_sec",
        env: &["IORELAY_RATE_LIMIT_PER_SEC"],
        flag: "rate-limit-per-sec",
        kind: Kind::Count,
        about: "Events per second an address's allowance refills with (0: no limit)",
        default_note: None,
        get: |s| Some(Value::Int(s.config.relay.protection.rate_limit.per_second)),
        set: |s, v| s.config.relay.protection.rate_limit.per_second = v.int(),
    },
    Setting {
        key: "conformance",
        env: &["IORELAY_CONFORMANCE"],
        flag: "conformance",
        kind: Kind::Bool,
        about: "Behave as the public Engine.IO v4 / Socket.IO v5 test suites expect (raw \
                Engine.IO echo at /engine.io/, test namespaces, short timers)",
        default_note: None,
        get: |s| Some(Value::Bool(s.conformance)),
        set: |s, v| s.conformance = v.flag(),
    },
    Setting {
        key: "ping_interval_ms",
        env: &["IORELAY_PING_INTERVAL_MS"],
        flag: "ping-interval",
        kind: Kind::Millis,
        about: "Engine.IO ping interval in milliseconds",
        default_note: None,
        get: |s| ms(s.config.ping_interval),
        set: |s, v| s.config.ping_interval = Duration::from_millis(v.int()),
    },
    Setting {
        key: "ping_timeout_ms",
        env: &["IORELAY_PING_TIMEOUT_MS"],
        flag: "ping-timeout",
        kind: Kind::Millis,
        about: "Engine.IO pong timeout in milliseconds",
        default_note: None,
        get: |s| ms(s.config.ping_timeout),
        set: |s, v| s.config.ping_timeout = Duration::from_millis(v.int()),
    },
    Setting {
        key: "recovery_window_ms",
        env: &["IORELAY_RECOVERY_WINDOW_MS"],
        flag: "recovery-window",
        kind: Kind::Millis,
        about: "How long a client that lost its connection can recover its session and missed events (0 turns connection state recovery off)",
        default_note: None,
        get: |s| ms(s.config.recovery_window.unwrap_or_default()),
        set: |s, v| {
            s.config.recovery_window = Some(Duration::from_millis(v.int())).filter(|d| !d.is_zero());
        },
    },
    Setting {
        key: "max_payload",
        env: &["IORELAY_MAX_PAYLOAD"],
        flag: "max-payload",
        kind: Kind::Bytes,
        about: "Largest Engine.IO message or POST body in bytes",
        default_note: None,
        get: |s| count(s.config.max_payload),
        set: |s, v| s.config.max_payload = v.size(),
    },
    Setting {
        key: "max_event_bytes",
        env: &["IORELAY_MAX_EVENT_BYTES"],
        flag: "max-event-bytes",
        kind: Kind::Bytes,
        about: "Largest accepted event, in bytes of JSON",
        default_note: None,
        get: |s| count(s.config.relay.max_event_bytes),
        set: |s, v| s.config.relay.max_event_bytes = v.size(),
    },
    Setting {
        key: "history_capacity",
        env: &["IORELAY_HISTORY_CAPACITY"],
        flag: "history-capacity",
        kind: Kind::Count,
        about: "Events the in-memory history keeps",
        default_note: None,
        get: |s| count(s.config.relay.history_capacity),
        set: |s, v| s.config.relay.history_capacity = v.size(),
    },
    Setting {
        key: "history_max_bytes",
        env: &["IORELAY_HISTORY_MAX_BYTES"],
        flag: "history-max-bytes",
        kind: Kind::Bytes,
        about: "Bytes of event JSON the in-memory history keeps (the oldest leave first)",
        default_note: None,
        get: |s| count(s.config.relay.history_max_bytes),
        set: |s, v| s.config.relay.history_max_bytes = v.size(),
    },
    Setting {
        key: "history_limit",
        env: &["IORELAY_HISTORY_LIMIT"],
        flag: "history-limit",
        kind: Kind::Count,
        about: "Events a new client is sent when its auth names no limit",
        default_note: None,
        get: |s| count(s.config.relay.history_default_limit),
        set: |s, v| s.config.relay.history_default_limit = v.size(),
    },
    Setting {
        key: "history_max_limit",
        env: &["IORELAY_HISTORY_MAX_LIMIT"],
        flag: "history-max-limit",
        kind: Kind::Count,
        about: "Largest history limit a client or /api/history may ask for",
        default_note: None,
        get: |s| count(s.config.relay.history_max_limit),
        set: |s, v| s.config.relay.history_max_limit = v.size(),
    },
    Setting {
        key: "dashboard_events",
        env: &["IORELAY_DASHBOARD_EVENTS"],
        flag: "dashboard-events",
        kind: Kind::Count,
        about: "Events the dashboard keeps and loads from history (newest first)",
        default_note: None,
        get: |s| count(s.config.relay.dashboard_events),
        set: |s, v| s.config.relay.dashboard_events = v.size(),
    },
    Setting {
        key: "dedup_window",
        env: &["IORELAY_DEDUP_WINDOW"],
        flag: "dedup-window",
        kind: Kind::Count,
        about: "Recent event ids remembered to drop duplicates",
        default_note: None,
        get: |s| count(s.config.relay.dedup_window),
        set: |s, v| s.config.relay.dedup_window = v.size(),
    },
    Setting {
        key: "retention_count",
        env: &["IORELAY_RETENTION_COUNT"],
        flag: "retention-count",
        kind: Kind::Count,
        about: "Events the persistent store keeps",
        default_note: None,
        get: |s| count(s.config.relay.retention_count),
        set: |s, v| s.config.relay.retention_count = v.size(),
    },
    Setting {
        key: "retention_days",
        env: &["IORELAY_RETENTION_DAYS"],
        flag: "retention-days",
        kind: Kind::Days,
        about: "Days an event stays in the history and the store",
        default_note: None,
        get: |s| Some(Value::Int(s.config.relay.retention_age.as_secs() / DAY)),
        set: |s, v| {
            s.config.relay.retention_age = Duration::from_secs(v.int().saturating_mul(DAY));
        },
    },
    Setting {
        key: "retry_count",
        env: &["IORELAY_RETRY_COUNT"],
        flag: "retry-count",
        kind: Kind::Count,
        about: "Re-sends of an unacked event to a client in reliable mode",
        default_note: None,
        get: |s| Some(Value::Int(u64::from(s.config.relay.retry.retries))),
        set: |s, v| s.config.relay.retry.retries = u32::try_from(v.int()).unwrap_or(u32::MAX),
    },
    Setting {
        key: "retry_initial_ms",
        env: &["IORELAY_RETRY_INITIAL_MS"],
        flag: "retry-initial",
        kind: Kind::Millis,
        about: "Wait before the first re-send in reliable mode, in milliseconds; each next wait doubles",
        default_note: None,
        get: |s| ms(s.config.relay.retry.initial_backoff),
        set: |s, v| s.config.relay.retry.initial_backoff = Duration::from_millis(v.int()),
    },
    Setting {
        key: "retry_max_backoff_ms",
        env: &["IORELAY_RETRY_MAX_BACKOFF_MS"],
        flag: "retry-max-backoff",
        kind: Kind::Millis,
        about: "Longest wait between two re-sends in reliable mode, in milliseconds",
        default_note: None,
        get: |s| ms(s.config.relay.retry.max_backoff),
        set: |s, v| s.config.relay.retry.max_backoff = Duration::from_millis(v.int()),
    },
    Setting {
        key: "retry_give_up_ms",
        env: &["IORELAY_RETRY_GIVE_UP_MS"],
        flag: "retry-give-up",
        kind: Kind::Millis,
        about: "How long after its first send an unacked event is abandoned in reliable mode, in milliseconds",
        default_note: None,
        get: |s| ms(s.config.relay.retry.give_up_after),
        set: |s, v| s.config.relay.retry.give_up_after = Duration::from_millis(v.int()),
    },
    Setting {
        key: "retry_max_queued",
        env: &["IORELAY_RETRY_MAX_QUEUED"],
        flag: "retry-max-queued",
        kind: Kind::Count,
        about: "Unacked events kept per client in reliable mode; past it the oldest is abandoned",
        default_note: None,
        get: |s| count(s.config.relay.retry.max_queued),
        set: |s, v| s.config.relay.retry.max_queued = v.size(),
    },
    Setting {
        key: "batch_linger_ms",
        env: &["IORELAY_BATCH_LINGER_MS"],
        flag: "batch-linger",
        kind: Kind::Millis,
        about: "How long events are held for a client that asked for batches, in milliseconds",
        default_note: None,
        get: |s| ms(s.config.relay.batch.linger),
        set: |s, v| s.config.relay.batch.linger = Duration::from_millis(v.int()),
    },
    Setting {
        key: "batch_max_events",
        env: &["IORELAY_BATCH_MAX_EVENTS"],
        flag: "batch-max-events",
        kind: Kind::Count,
        about: "Most events in one batch; a full batch is sent at once",
        default_note: None,
        get: |s| count(s.config.relay.batch.max_events),
        set: |s, v| s.config.relay.batch.max_events = v.size(),
    },
    Setting {
        key: "commit_window_ms",
        env: &["IORELAY_COMMIT_WINDOW_MS"],
        flag: "commit-window",
        kind: Kind::Millis,
        about: "How long the store gathers events before writing them to disk, in milliseconds",
        default_note: None,
        get: |s| ms(s.commit_window),
        set: |s, v| s.commit_window = Duration::from_millis(v.int()),
    },
    Setting {
        key: "emit_deadline_ms",
        env: &["IORELAY_EMIT_DEADLINE_MS"],
        flag: "emit-deadline",
        kind: Kind::Millis,
        about: "How long one `iorelay emit` may take in all before it spools the event and exits, in milliseconds",
        default_note: None,
        get: |s| ms(s.emit_deadline),
        set: |s, v| s.emit_deadline = Duration::from_millis(v.int()),
    },
    Setting {
        key: "autostart",
        env: &["IORELAY_AUTOSTART"],
        flag: "autostart",
        kind: Kind::Bool,
        about: "When `iorelay emit` finds no relay, launch `iorelay start` in the background \
                (at most once per 30 s across all hooks); `iorelay hooks install` turns it on \
                in the hooks it writes",
        default_note: None,
        get: |s| Some(Value::Bool(s.autostart)),
        set: |s, v| s.autostart = v.flag(),
    },
    Setting {
        key: "max_client_queue_bytes",
        env: &["IORELAY_MAX_CLIENT_QUEUE_BYTES"],
        flag: "max-client-queue-bytes",
        kind: Kind::Bytes,
        about: "Bytes queued for one client beyond which it is a slow consumer: volatile \
                events are dropped for it and its grace period starts (four times this \
                disconnects it at once)",
        default_note: None,
        get: |s| count(s.config.max_queued_bytes),
        set: |s, v| s.config.max_queued_bytes = v.size().max(1),
    },
    Setting {
        key: "slow_client_grace_ms",
        env: &["IORELAY_SLOW_CLIENT_GRACE_MS"],
        flag: "slow-client-grace",
        kind: Kind::Millis,
        about: "How long a client may stay over its queue bound before it is disconnected as \
                a slow consumer, in milliseconds",
        default_note: None,
        get: |s| ms(s.config.slow_consumer_timeout),
        set: |s, v| s.config.slow_consumer_timeout = Duration::from_millis(v.int()),
    },
    Setting {
        key: "volatile_types",
        env: &["IORELAY_VOLATILE_TYPES"],
        flag: "volatile-types",
        kind: Kind::Names,
        about: "Event types or subtypes dropped (and counted) rather than queued for a client \
                over its queue bound, e.g. post_tool_use (comma-separated in the environment \
                and flag; empty: none)",
        default_note: None,
        get: |s| Some(Value::List(s.config.relay.volatile_types.clone())),
        set: |s, v| s.config.relay.volatile_types = v.list().to_vec(),
    },
    Setting {
        key: "cors_origins",
        env: &["IORELAY_CORS_ORIGINS"],
        flag: "cors-origins",
        kind: Kind::Origins,
        about: "Browser origins allowed to call the relay, besides its own (comma-separated in \
                the environment and flag; \"*\" allows any; \"http://localhost:*\" any port)",
        default_note: None,
        get: |s| {
            Some(Value::List(match &s.config.cors {
                CorsPolicy::AllowAll => vec!["*".to_owned()],
                CorsPolicy::AllowList(list) => list.clone(),
            }))
        },
        set: |s, v| {
            s.config.cors = if v.list().iter().any(|origin| origin == "*") {
                CorsPolicy::AllowAll
            } else {
                CorsPolicy::AllowList(v.list().to_vec())
            };
        },
    },
    Setting {
        key: "header_timeout_ms",
        env: &["IORELAY_HEADER_TIMEOUT_MS"],
        flag: "header-timeout",
        kind: Kind::Millis,
        about: "How long a request head may take to arrive, in milliseconds",
        default_note: None,
        get: |s| ms(s.header_timeout),
        set: |s, v| s.header_timeout = Duration::from_millis(v.int()),
    },
    Setting {
        key: "idle_timeout_ms",
        env: &["IORELAY_IDLE_TIMEOUT_MS"],
        flag: "idle-timeout",
        kind: Kind::Millis,
        about: "How long a keep-alive connection may wait for its next request, in milliseconds",
        default_note: None,
        get: |s| ms(s.idle_timeout),
        set: |s, v| s.idle_timeout = Duration::from_millis(v.int()),
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_primary_variable_is_iorelay_and_the_upper_case_key() {
        for setting in SETTINGS {
            assert_eq!(
                setting.env_var(),
                format!("IORELAY_{}", setting.key.to_ascii_uppercase()),
                "{}",
                setting.key
            );
        }
    }

    #[test]
    fn keys_and_flags_are_unique() {
        for (i, a) in SETTINGS.iter().enumerate() {
            for b in &SETTINGS[i + 1..] {
                assert_ne!(a.key, b.key);
                assert_ne!(a.flag, b.flag);
            }
        }
    }

    #[test]
    fn every_value_survives_rendering_and_parsing_back() {
        let defaults = Settings::defaults(false, &[]);
        for setting in SETTINGS.iter().filter(|s| s.kind != Kind::Secret) {
            let value = (setting.get)(&defaults).expect("every non-secret has a default");
            let rendered = setting.kind.render(&value);
            let parsed = toml::de::DeValue::parse(&rendered).unwrap();
            let back = setting.kind.parse_toml(parsed.get_ref()).unwrap();
            let mut settings = Settings::defaults(false, &[]);
            (setting.set)(&mut settings, &back);
            assert_eq!((setting.get)(&settings), Some(value), "{}", setting.key);
        }
    }
}
