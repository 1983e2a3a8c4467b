//! Measurements only a runtime can take (how long a request or a store commit took), handed
//! back to core as [`Input::Measured`](crate::Input::Measured), and the route label each
//! request is measured under.
//!
//! Why the runtime measures but core labels: core never reads a clock, so durations must come
//! from outside; but deciding which route a request belongs to is protocol logic (a polling
//! GET may be held for up to a ping interval, a POST to the same path is answered at once),
//! and runtimes never decide protocol logic. So the runtime asks core for the label when it
//! has read the request head ([`Config::route_label`]), keeps it with the request, and reports
//! it back with the latency once the reply is written. This needs no new field on every
//! `Output::HttpReply` the engine produces, only one call where the runtime already asks
//! [`Config::body_limit`].

use std::time::Duration;

use super::admission::Refusal;
use crate::config::{Config, EngineIoRoute};
use crate::http::{Method, RequestHead};

/// Something a runtime measured, for `/metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Measurement {
    /// One HTTP request, from its head being fully read to its reply (or the websocket 101)
    /// being written. Held polls are labelled [`RouteLabel::EngineIoPoll`] because their
    /// latency is mostly the hold.
    Request {
        /// What [`Config::route_label`] said when the head was read.
        route: RouteLabel,
        /// The status written (101 for a websocket upgrade).
        status: u16,
        /// Head read → reply written.
        latency: Duration,
    },
    /// The runtime refused a connection at accept ([`Admission::admit`](super::admission::Admission::admit)).
    ConnectionRefused {
        /// The cap it would have exceeded.
        reason: Refusal,
    },
    /// One commit of the persistent store.
    StoreCommit {
        /// Events the commit wrote.
        events: usize,
        /// How long the commit took.
        latency: Duration,
        /// Whether it succeeded.
        ok: bool,
    },
    /// What the hook processes (`iorelay emit`) left in the state directory: their shared
    /// circuit breaker and the bytes waiting in their spool. The runtime reads it now and
    /// then; hooks are separate processes, so this is the only way the relay sees them.
    HookClient {
        /// The breaker as the hooks persisted it.
        breaker: HookBreaker,
        /// Bytes in the spool (events not yet delivered).
        spooled_bytes: u64,
    },
}

/// The hooks' breaker, as `/metrics` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HookBreaker {
    /// Hooks call the relay; `failures` in a row so far.
    Closed {
        /// Consecutive failures.
        failures: u32,
    },
    /// Hooks skip the network and spool.
    Open,
    /// One hook is probing the relay.
    HalfOpen,
}

/// Which route a request is measured under: a small fixed set, so the label's cardinality
/// stays bounded whatever paths clients send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum RouteLabel {
    /// `/health`.
    Health,
    /// `/metrics`.
    Metrics,
    /// `/connections`.
    Connections,
    /// `/api/events`.
    Events,
    /// `/api/hooks`.
    Hooks,
    /// `/api/history`.
    History,
    /// `/api/shutdown`.
    Shutdown,
    /// The Socket.IO endpoint: handshakes, polling POSTs, websocket upgrades.
    SocketIo,
    /// The raw Engine.IO endpoint (conformance mode): handshakes, POSTs, upgrades.
    EngineIo,
    /// A polling GET of an open session (either endpoint): answered when there is something
    /// to send, so its latency is mostly how long it was held.
    EngineIoPoll,
    /// A CORS preflight (`OPTIONS`, any path).
    Preflight,
    /// Anything else (404s, bad requests).
    Other,
}

impl RouteLabel {
    /// The label value in `/metrics`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Health => "/health",
            Self::Metrics => "/metrics",
            Self::Connections => "/connections",
            Self::Events => "/api/events",
            Self::Hooks => "/api/hooks",
            Self::History => "/api/history",
            Self::Shutdown => "/api/shutdown",
            Self::SocketIo => "/socket.io",
            Self::EngineIo => "/engine.io",
            Self::EngineIoPoll => "engineio_poll",
            Self::Preflight => "preflight",
            Self::Other => "other",
        }
    }

    /// The label of the relay route at exactly `path`, if it is one.
    fn of_path(path: &str) -> Option<Self> {
        Some(match path {
            "/health" => Self::Health,
            "/metrics" => Self::Metrics,
            "/connections" => Self::Connections,
            "/api/events" => Self::Events,
            "/api/hooks" => Self::Hooks,
            "/api/history" => Self::History,
            "/api/shutdown" => Self::Shutdown,
            _ => return None,
        })
    }
}

impl Config {
    /// The route a request with this head is measured under; runtimes call it when they have
    /// read the head and report it back in [`Measurement::Request`].
    #[must_use]
    pub fn route_label(&self, head: &RequestHead) -> RouteLabel {
        if head.method == Method::Options {
            return RouteLabel::Preflight;
        }
        match self.engineio_route(&head.path) {
            Some(_)
                if head.method == Method::Get
                    && head.query.get("transport") == Some("polling")
                    && head.query.get("sid").is_some() =>
            {
                RouteLabel::EngineIoPoll
            }
            Some(EngineIoRoute::SocketIo) => RouteLabel::SocketIo,
            Some(EngineIoRoute::Raw) => RouteLabel::EngineIo,
            None => RouteLabel::of_path(&head.path).unwrap_or(RouteLabel::Other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::{parse_request_head, HeadLimits};

    fn label(config: &Config, request_line: &str) -> RouteLabel {
        let raw = format!("{request_line} HTTP/1.1\r\nHost: x\r\n\r\n");
        let (head, _) = parse_request_head(raw.as_bytes(), &HeadLimits::default())
            .expect("valid")
            .expect("complete");
        config.route_label(&head)
    }

    #[test]
    fn polls_of_open_sessions_are_labelled_apart_from_other_engineio_requests() {
        let config = Config::default();
        let poll = "GET /socket.io/?EIO=4&transport=polling&sid=abc";
        assert_eq!(label(&config, poll), RouteLabel::EngineIoPoll);
        let handshake = "GET /socket.io/?EIO=4&transport=polling";
        assert_eq!(label(&config, handshake), RouteLabel::SocketIo);
        let post = "POST /socket.io/?EIO=4&transport=polling&sid=abc";
        assert_eq!(label(&config, post), RouteLabel::SocketIo);
        let upgrade = "GET /socket.io/?EIO=4&transport=websocket&sid=abc";
        assert_eq!(label(&config, upgrade), RouteLabel::SocketIo);
    }

    #[test]
    fn relay_routes_have_their_path_and_everything_else_is_other() {
        let config = Config::default();
        assert_eq!(label(&config, "POST /api/events"), RouteLabel::Events);
        assert_eq!(label(&config, "GET /metrics"), RouteLabel::Metrics);
        assert_eq!(label(&config, "GET /connections"), RouteLabel::Connections);
        assert_eq!(label(&config, "GET /nope/../etc"), RouteLabel::Other);
        assert_eq!(label(&config, "OPTIONS /api/events"), RouteLabel::Preflight);
        assert_eq!(RouteLabel::EngineIoPoll.as_str(), "engineio_poll");
    }

    #[test]
    fn the_raw_engineio_endpoint_has_its_own_label() {
        let config = Config::conformance();
        let raw = "GET /engine.io/?EIO=4&transport=polling";
        assert_eq!(label(&config, raw), RouteLabel::EngineIo);
    }
}
