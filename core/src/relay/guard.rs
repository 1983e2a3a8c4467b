//! The relay's checks in front of its HTTP routes — the browser origin, the bearer token, the
//! ingest rate limit — and the counters of what they and the runtimes' connection caps refused.
//!
//! Why one place: each check is a few lines, but their order and scope are the security
//! policy (docs/operations.md, "Security and limits"): a disallowed `Origin` is refused (403)
//! before anything else, so a page in a browser can neither post events nor read anything;
//! then every route but `/health` (which single-instance detection and load balancers probe)
//! needs the token when one is set (401), since history and connections show session data and
//! ingest and shutdown change state; ingest is then rate-limited per peer address by events
//! (429 with `Retry-After`), after parsing, so an array of n events costs n.

use std::collections::BTreeMap;
use std::net::IpAddr;

use super::admission::{is_loopback, Refusal};
use super::exposition::{Exposition, Kind};
use super::ratelimit::retry_after_secs;
use super::Relay;
use crate::dashboard;
use crate::http::{bearer_token, error_response, token_matches, RequestHead, Response};

/// What the relay's checks and the runtimes' connection caps refused.
#[derive(Debug, Default)]
pub(super) struct GuardStats {
    /// Requests refused for a missing or wrong token.
    unauthorized: u64,
    /// Requests refused for a browser origin not on the allow-list.
    forbidden_origin: u64,
    /// Ingest requests refused by the rate limit.
    rate_limited: u64,
    /// Events in those requests.
    rate_limited_events: u64,
    /// Connections the runtime refused, by cap.
    refused: BTreeMap<Refusal, u64>,
}

impl GuardStats {
    /// The runtime refused a connection (reported as a measurement).
    pub(super) fn connection_refused(&mut self, reason: Refusal) {
        *self.refused.entry(reason).or_default() += 1;
    }
}

impl Relay {
    /// The refusal of a request to a relay route, if its origin or token is not acceptable.
    pub(super) fn check_request(&mut self, head: &RequestHead) -> Option<Response> {
        if let Some(origin) = head.header("origin") {
            if !self.engine.config().cors.allows(origin) {
                self.guard.forbidden_origin += 1;
                let detail = format!("origin {origin} is not allowed by the CORS policy");
                return Some(error_response(403, "origin not allowed", &detail));
            }
        }
        let expected = self.config.protection.token.as_deref()?;
        // The page must load to ask for the token; it holds no events (it fetches them over
        // Socket.IO, with the token in its CONNECT auth).
        if head.path == "/health" || dashboard::is_dashboard_path(&head.path) {
            return None;
        }
        if bearer_token(head).is_some_and(|token| token_matches(token, expected)) {
            return None;
        }
        self.guard.unauthorized += 1;
        let detail = if bearer_token(head).is_some() {
            "the bearer token is not the relay's (IORELAY_TOKEN)"
        } else {
            "this relay requires `Authorization: Bearer <token>` (IORELAY_TOKEN)"
        };
        Some(
            error_response(401, "unauthorized", detail)
                .header("WWW-Authenticate", "Bearer realm=\"iorelay\""),
        )
    }

    /// The refusal of an ingest of `events` events from `peer`, if its bucket is short.
    /// Loopback peers are exempt unless `cap_loopback` is set: they are this machine's own
    /// hooks and agents, the ones the relay exists for.
    pub(super) fn check_rate(&mut self, peer: Option<IpAddr>, events: usize) -> Option<Response> {
        let protection = &self.config.protection;
        if peer.is_some_and(is_loopback) && !protection.cap_loopback {
            return None;
        }
        let events = u64::try_from(events).unwrap_or(u64::MAX);
        let wait = self.limiter.take(self.now, peer, events).err()?;
        self.guard.rate_limited += 1;
        self.guard.rate_limited_events += events;
        let secs = retry_after_secs(wait);
        let detail = format!("too many events from this address; retry in {secs} s");
        Some(error_response(429, "rate limited", &detail).header("Retry-After", secs.to_string()))
    }

    /// The `/metrics` series of what was refused.
    pub(super) fn guard_series(&self, page: &mut Exposition) {
        let g = &self.guard;
        let engine = self.engine.refusals();
        let mut family = page.family(
            "iorelay_connections_refused_total",
            Kind::Counter,
            "Connections refused at accept, by the cap they would exceed.",
        );
        for reason in [Refusal::TooManyConnections, Refusal::TooManyFromAddress] {
            let count = g.refused.get(&reason).copied().unwrap_or(0);
            family.sample(&[("reason", reason.as_str())], count as f64);
        }
        page.counter(
            "iorelay_ingest_rate_limited_total",
            "Ingest requests refused with 429 by the per-address rate limit.",
            g.rate_limited,
        );
        page.counter(
            "iorelay_ingest_rate_limited_events_total",
            "Events in ingest requests refused by the rate limit.",
            g.rate_limited_events,
        );
        page.family(
            "iorelay_unauthorized_total",
            Kind::Counter,
            "Requests and Socket.IO CONNECTs refused for a missing or wrong token.",
        )
        .sample(&[("surface", "http")], g.unauthorized as f64)
        .sample(
            &[("surface", "socketio")],
            engine.unauthorized_connects as f64,
        );
        page.family(
            "iorelay_origin_refused_total",
            Kind::Counter,
            "Requests refused (403) because their Origin is not on the CORS allow-list.",
        )
        .sample(&[("surface", "http")], g.forbidden_origin as f64)
        .sample(&[("surface", "engineio")], engine.forbidden_origins as f64);
    }
}
