//! `/metrics`: the relay's counters, the engine's live sessions and sockets, and what the
//! runtime measured (request and store commit latencies), as Prometheus text.
//!
//! Why computed on demand: counters are plain fields the relay bumps anyway ([`RelayStats`]),
//! gauges are read from the state they describe, and only latencies — which core cannot
//! measure — are kept here, as fixed-bucket histograms fed by
//! [`Input::Measured`](crate::Input::Measured). Adding a series is one line in
//! [`Relay::metrics_text`] (plus the field it reads).

use std::collections::BTreeMap;

use super::exposition::{Exposition, Kind};
use super::histogram::Histogram;
use super::measure::{HookBreaker, Measurement, RouteLabel};
use super::Relay;

/// What runtimes measured, kept for `/metrics`.
#[derive(Debug, Default)]
pub(super) struct Measured {
    routes: BTreeMap<RouteLabel, RouteStats>,
    store_commit: Histogram,
    store_committed_events: u64,
    store_commit_failures: u64,
    /// The hooks' breaker and spool, when the runtime has looked.
    hook_client: Option<(HookBreaker, u64)>,
}

/// Requests of one route: their latency and how many got each class of status.
#[derive(Debug, Default)]
struct RouteStats {
    latency: Histogram,
    /// Replies with status 1xx, 2xx, 3xx, 4xx, 5xx.
    by_class: [u64; 5],
}

const STATUS_CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];

impl Measured {
    /// Keeps one measurement.
    pub(super) fn record(&mut self, measurement: Measurement) {
        match measurement {
            Measurement::Request {
                route,
                status,
                latency,
            } => {
                let stats = self.routes.entry(route).or_default();
                stats.latency.observe(latency);
                let class = usize::from(status / 100).clamp(1, 5) - 1;
                stats.by_class[class] += 1;
            }
            Measurement::HookClient {
                breaker,
                spooled_bytes,
            } => self.hook_client = Some((breaker, spooled_bytes)),
            // Counted by the relay's guard before it gets here.
            Measurement::ConnectionRefused { .. } => {}
            Measurement::StoreCommit {
                events,
                latency,
                ok,
            } => {
                self.store_commit.observe(latency);
                if ok {
                    self.store_committed_events += events as u64;
                } else {
                    self.store_commit_failures += 1;
                }
            }
        }
    }
}

impl Relay {
    /// The `/metrics` page.
    pub(super) fn metrics_text(&self) -> String {
        let mut page = Exposition::new();
        let version = env!("CARGO_PKG_VERSION");
        page.family(
            "iorelay_build_info",
            Kind::Gauge,
            "Always 1; the version label.",
        )
        .sample(&[("version", version)], 1.0);
        let uptime = self.engine.health().uptime_s as f64;
        page.gauge("iorelay_uptime_seconds", "Seconds since start.", uptime);
        self.connection_series(&mut page);
        self.event_series(&mut page);
        self.opt_in_series(&mut page);
        self.store_series(&mut page);
        self.cluster_series(&mut page);
        self.http_series(&mut page);
        self.guard_series(&mut page);
        page.finish()
    }

    fn connection_series(&self, page: &mut Exposition) {
        let sessions = self.engine.sessions_by_transport();
        page.family(
            "iorelay_sessions",
            Kind::Gauge,
            "Engine.IO sessions by transport.",
        )
        .sample(&[("transport", "polling")], sessions.polling as f64)
        .sample(&[("transport", "websocket")], sessions.websocket as f64);
        // The relay's namespaces are listed even when empty, so a scrape sees them at 0.
        let mut sockets: BTreeMap<&str, usize> = BTreeMap::new();
        sockets.insert("/", 0);
        sockets.extend(self.router.namespaces().map(|nsp| (nsp, 0)));
        sockets.extend(self.engine.sockets_by_namespace());
        let mut family = page.family(
            "iorelay_sockets",
            Kind::Gauge,
            "Socket.IO sockets by namespace.",
        );
        for (nsp, count) in sockets {
            family.sample(&[("namespace", nsp)], count as f64);
        }
    }

    fn event_series(&self, page: &mut Exposition) {
        let s = &self.stats;
        page.counter(
            "iorelay_events_received_total",
            "Events accepted by ingest.",
            s.events_in,
        );
        page.counter(
            "iorelay_events_delivered_total",
            "Deliveries of events to sockets (one event to ten sockets counts ten).",
            s.events_out,
        );
        page.counter(
            "iorelay_events_deduplicated_total",
            "Events dropped because their id was in the duplicate window.",
            s.events_deduplicated,
        );
        page.family(
            "iorelay_events_dropped_total",
            Kind::Counter,
            "Events not delivered: a typed namespace with no clients, or a client not keeping up \
             (volatile events while it is congested, anything past its queue's hard cap).",
        )
        .sample(&[("reason", "no_clients")], s.events_dropped as f64)
        .sample(&[("reason", "slow_client")], s.deliveries_dropped as f64);
        page.counter(
            "iorelay_slow_client_disconnects_total",
            "Clients disconnected as slow consumers (congested past the grace period, or \
             their queue past its hard cap).",
            s.slow_client_disconnects,
        );
        page.counter(
            "iorelay_ingest_rejected_total",
            "Ingest requests refused (malformed, too large).",
            s.requests_rejected,
        );
        page.gauge(
            "iorelay_history_events",
            "Events in the in-memory history.",
            self.history.len() as f64,
        );
        page.gauge(
            "iorelay_history_bytes",
            "Bytes of event JSON in the in-memory history.",
            self.history.bytes() as f64,
        );
    }

    fn cluster_series(&self, page: &mut Exposition) {
        let Some(node) = &self.cluster else { return };
        let link = node.link();
        let stats = link.stats();
        page.gauge(
            "iorelay_cluster_connected",
            "1 while the Redis stream is reachable (cluster mode), else 0.",
            if link.is_up() { 1.0 } else { 0.0 },
        );
        page.gauge(
            "iorelay_cluster_lag_seconds",
            "How far reading is behind the newest entry known in the stream.",
            link.lag_ms() as f64 / 1000.0,
        );
        page.gauge(
            "iorelay_cluster_buffered_appends",
            "Events waiting to be appended to the stream (the outage buffer).",
            link.buffered() as f64,
        );
        page.gauge(
            "iorelay_cluster_awaiting_events",
            "Events ingested here, appended, and not yet read back.",
            node.awaiting() as f64,
        );
        page.counter(
            "iorelay_cluster_entries_read_total",
            "Stream entries read.",
            stats.entries_read,
        );
        page.counter(
            "iorelay_cluster_entries_written_total",
            "Stream entries appended.",
            stats.entries_written,
        );
        page.counter(
            "iorelay_cluster_entries_skipped_total",
            "Stream entries read that are not relay events (other message types, malformed).",
            stats.entries_skipped,
        );
        page.counter(
            "iorelay_cluster_entries_claimed_elsewhere_total",
            "Appends not made because their event id was in the stream already.",
            stats.entries_claimed_elsewhere,
        );
        page.counter(
            "iorelay_cluster_buffer_dropped_total",
            "Events not appended because the outage buffer was full.",
            stats.buffer_dropped,
        );
        page.counter(
            "iorelay_cluster_disconnects_total",
            "Times the link to Redis was lost or a connect failed.",
            stats.disconnects,
        );
    }

    fn store_series(&self, page: &mut Exposition) {
        if let Some(store) = &self.store {
            page.gauge(
                "iorelay_store_pending_events",
                "Events handed to the store and not yet committed.",
                store.pending as f64,
            );
        }
        let m = &self.measured;
        page.family(
            "iorelay_store_commit_seconds",
            Kind::Histogram,
            "Time one store commit took.",
        )
        .histogram(&[], &m.store_commit);
        page.counter(
            "iorelay_store_committed_events_total",
            "Events the store committed.",
            m.store_committed_events,
        );
        page.counter(
            "iorelay_store_commit_failures_total",
            "Store commits that failed.",
            m.store_commit_failures,
        );
        if let Some((breaker, spooled)) = m.hook_client {
            let mut family = page.family(
                "iorelay_hook_breaker_state",
                Kind::Gauge,
                "The hooks' circuit breaker: 1 for the state it is in.",
            );
            for state in ["closed", "open", "half_open"] {
                let now = match breaker {
                    HookBreaker::Closed { .. } => "closed",
                    HookBreaker::Open => "open",
                    HookBreaker::HalfOpen => "half_open",
                };
                family.sample(&[("state", state)], f64::from(u8::from(now == state)));
            }
            let failures = match breaker {
                HookBreaker::Closed { failures } => failures,
                HookBreaker::Open | HookBreaker::HalfOpen => 0,
            };
            page.gauge(
                "iorelay_hook_breaker_failures",
                "Consecutive failed hook deliveries counted by the closed breaker.",
                f64::from(failures),
            );
            page.gauge(
                "iorelay_hook_spool_bytes",
                "Bytes of hook events spooled and not yet delivered.",
                spooled as f64,
            );
        }
    }

    fn http_series(&self, page: &mut Exposition) {
        let routes = &self.measured.routes;
        let mut family = page.family(
            "iorelay_http_requests_total",
            Kind::Counter,
            "HTTP requests answered, by route and status class.",
        );
        for (route, stats) in routes {
            for (class, count) in STATUS_CLASSES.iter().zip(stats.by_class) {
                if count > 0 {
                    let labels = [("route", route.as_str()), ("status_class", *class)];
                    family.sample(&labels, count as f64);
                }
            }
        }
        let mut family = page.family(
            "iorelay_http_request_seconds",
            Kind::Histogram,
            "Time from a request's head being read to its reply being written; \
             engineio_poll includes the time a poll was held.",
        );
        for (route, stats) in routes {
            family.histogram(&[("route", route.as_str())], &stats.latency);
        }
    }
}
