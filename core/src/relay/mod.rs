//! The relay: the product on top of the protocol engine. Hook processes POST events; the
//! relay normalises, de-duplicates, numbers, routes, remembers and delivers them.
//!
//! Why a layer around [`Engine`] rather than inside it: the engine is a general Engine.IO /
//! Socket.IO server that applications embed; the relay is one such application. It takes
//! the inputs first (its HTTP routes), hands the rest to the engine, and reads the engine's
//! events (connects, `subscribe`, `history`) on their way out. Runtimes drive a `Relay`
//! exactly as they would an `Engine`: one input, then drain `poll_output` to `Timeout`.
//! In conformance mode the relay stands aside and the engine alone answers.

pub mod admission;
pub mod batch;
pub mod breaker;
pub mod clock;
mod cluster;
pub mod config;
mod connections;
pub mod dedup;
mod deliver;
pub mod event;
pub mod exposition;
mod guard;
pub mod histogram;
pub mod history;
mod http;
pub mod ingest;
pub mod measure;
mod metrics;
mod opt_in;
pub mod protection;
pub mod ratelimit;
pub mod retry;
pub mod route;
pub mod subscription;

use std::borrow::Cow;
use std::collections::{BTreeMap, VecDeque};
use std::time::Instant;

use crate::config::{Config, Mode, NamespacePolicy};
use crate::engine::{Emit, Engine};
use crate::io::{ApiMisuse, Input, Output, SocketId};
use crate::rng::Rng;
use crate::socketio::recovery::RecoveryTable;
use crate::time::earliest;
use batch::Batcher;
use clock::WallClock;
use config::RelayConfig;
use dedup::DedupWindow;
use event::{RelayEvent, StoredEvent};
use guard::GuardStats;
use history::HistoryRing;
pub use http::StoreHealth;
use metrics::Measured;
use ratelimit::RateLimiter;
use retry::RetryQueue;
use route::TypedRouter;
use subscription::Subscription;

/// The event relay: an [`Engine`] plus ingest, history, subscriptions and routing.
#[derive(Debug)]
pub struct Relay {
    engine: Engine,
    /// `false` in conformance mode: everything goes to the engine untouched.
    enabled: bool,
    config: RelayConfig,
    clock: WallClock,
    rng: Rng,
    now: Instant,
    next_offset: u64,
    history: HistoryRing,
    dedup: DedupWindow,
    router: TypedRouter,
    subscribers: BTreeMap<SocketId, Subscriber>,
    /// Subscribers of sockets that lost their transport, by pid, for recovery.
    parked: Option<RecoveryTable<Subscriber>>,
    stats: RelayStats,
    store: Option<StoreHealth>,
    /// Latencies the runtime measured, for `/metrics`.
    measured: Measured,
    /// Deliveries to reliable sockets awaiting their ack.
    retries: RetryQueue<Emit>,
    /// Events held for sockets that asked for batches.
    batcher: Batcher<SocketId, std::sync::Arc<RelayEvent>>,
    /// Per-address ingest buckets.
    limiter: RateLimiter,
    /// What the origin, token, rate and connection checks refused.
    guard: GuardStats,
    /// The dashboard's settings (`/assets/config.json`), made once from the configuration.
    dashboard_config: bytes::Bytes,
    /// Cluster mode's link and bookkeeping; `None` for a single relay.
    cluster: Option<cluster::ClusterNode>,
    out: VecDeque<Output>,
}

/// A connected socket the relay delivers to.
#[derive(Debug)]
struct Subscriber {
    /// See [`crate::socketio::namespace::kept`].
    nsp: Cow<'static, str>,
    subscription: Subscription,
    /// Live events carry their offset as a last argument (connection state recovery).
    offsets: bool,
    /// The private id that recovers it, if recovery is on.
    pid: Option<String>,
    /// Live events carry an ack request and are retried until acked.
    reliable: bool,
    /// Live events go out in `event_batch` batches.
    batch: bool,
}

/// When an input happened.
fn input_now(input: &Input) -> Instant {
    match input {
        Input::Timeout(now)
        | Input::Http { now, .. }
        | Input::WsMessage { now, .. }
        | Input::WsTooLarge { now, .. }
        | Input::ConnClosed { now, .. }
        | Input::Congestion { now, .. }
        | Input::QueueOverflow { now, .. }
        | Input::Measured { now, .. }
        | Input::Cluster { now, .. } => *now,
    }
}

/// Counters the relay keeps; `/health` and `/metrics` report them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct RelayStats {
    /// Events accepted (numbered and delivered).
    pub events_in: u64,
    /// Events dropped because their id was in the duplicate window.
    pub events_deduplicated: u64,
    /// Deliveries of events to sockets (one event to ten sockets counts ten).
    pub events_out: u64,
    /// Events a typed namespace dropped because it had no clients.
    pub events_dropped: u64,
    /// Deliveries not made because the client was not keeping up: volatile events for a
    /// congested client, or any event that would pass its queue's hard cap (it is being
    /// disconnected as a slow consumer).
    pub deliveries_dropped: u64,
    /// Ingest requests refused (malformed, too large).
    pub requests_rejected: u64,
    /// Clients disconnected as slow consumers: congested past their grace period, or their
    /// queue past its hard cap.
    pub slow_client_disconnects: u64,
}

impl Relay {
    /// A relay with no events, started at `now` (`config.server.started_unix_ms` is the wall
    /// time then), whose ids come from `seed`.
    #[must_use]
    pub fn new(mut config: Config, now: Instant, seed: [u8; 32]) -> Self {
        let enabled = config.mode != Mode::Conformance;
        let relay = config.relay.clone();
        let router = TypedRouter::new(&relay.routes, &relay.namespaces);
        if enabled {
            let mut namespaces = vec!["/".to_owned()];
            namespaces.extend(router.namespaces().map(str::to_owned));
            config.namespaces = NamespacePolicy::Only(namespaces);
            config.connect_token.clone_from(&relay.protection.token);
        }
        let window = config.recovery_window.filter(|_| enabled);
        let mut relay_seed = seed;
        relay_seed[0] ^= 0xa5;
        let mut rng = Rng::new(relay_seed);
        let cluster = (enabled && relay.cluster.enabled())
            .then(|| cluster::ClusterNode::new(relay.cluster.clone(), now, &mut rng));
        let started_unix_ms = config.server.started_unix_ms;
        let mut engine = Engine::new(config, now, seed);
        // A client may reconnect to another node of the cluster: it looks for the session
        // there (relay::cluster).
        engine.set_remote_recovery(cluster.is_some() && window.is_some());
        Self {
            clock: WallClock::new(now, started_unix_ms),
            engine,
            enabled,
            rng,
            now,
            next_offset: 1,
            history: HistoryRing::new(relay.history_capacity, relay.history_max_bytes),
            dedup: DedupWindow::new(relay.dedup_window),
            router,
            subscribers: BTreeMap::new(),
            parked: window.map(RecoveryTable::new),
            stats: RelayStats::default(),
            store: None,
            measured: Measured::default(),
            retries: RetryQueue::new(relay.retry),
            batcher: Batcher::new(relay.batch),
            limiter: RateLimiter::new(relay.protection.rate_limit),
            guard: GuardStats::default(),
            dashboard_config: crate::dashboard::config_json(relay.dashboard_events),
            cluster,
            out: VecDeque::new(),
            config: relay,
        }
    }

    /// Loads what the store kept, oldest first, before serving: the history, the duplicate
    /// window, and the offset to continue from (after `last_offset` when the store knows a
    /// later one than the events show). Returns why any event was skipped (its JSON is not
    /// an object): one damaged row never keeps the relay from starting with the rest.
    #[must_use]
    pub fn restore(&mut self, events: Vec<StoredEvent>, last_offset: Option<u64>) -> Vec<String> {
        let mut skipped = Vec::new();
        for stored in events {
            let offset = stored.offset;
            self.next_offset = self.next_offset.max(offset + 1);
            match RelayEvent::from_stored(stored) {
                Ok(event) => {
                    self.dedup.insert(&event.id);
                    self.history.push(std::sync::Arc::new(event));
                }
                Err(problem) => skipped.push(problem),
            }
        }
        if let Some(last) = last_offset {
            self.next_offset = self.next_offset.max(last + 1);
        }
        self.resume_cluster(self.next_offset.saturating_sub(1));
        skipped
    }

    /// Feeds one input. Drain `poll_output` until `Output::Timeout` afterwards.
    ///
    /// # Errors
    /// Only for misuse of the API by the caller; anything a peer sends becomes output.
    pub fn handle_input(&mut self, input: Input) -> Result<(), ApiMisuse> {
        if !self.enabled {
            return self.engine.handle_input(input);
        }
        // Every input moves the relay's clock, so what the engine reports next (a connect
        // wanting its history, a `history` request) sees the history as of this input.
        self.advance(input_now(&input));
        match input {
            Input::Http {
                now,
                conn,
                peer,
                head,
                body,
            } if http::is_relay_route(&head) => {
                // The engine's clock moves too, so `/health`, `/metrics` and `/connections`
                // describe the sessions as they are at `now`.
                self.engine.handle_input(Input::Timeout(now))?;
                self.on_http(conn, peer, &head, body);
                Ok(())
            }
            Input::Measured {
                now,
                measurement: measure::Measurement::ConnectionRefused { reason },
            } => {
                self.guard.connection_refused(reason);
                self.engine.handle_input(Input::Timeout(now))
            }
            Input::Measured { now, measurement } => {
                self.measured.record(measurement);
                self.engine.handle_input(Input::Timeout(now))
            }
            Input::Cluster { now, report } => {
                self.on_cluster_report(report);
                self.engine.handle_input(Input::Timeout(now))
            }
            input => self.engine.handle_input(input),
        }
    }

    /// The next thing to do; `Output::Timeout` means nothing more until that instant or the
    /// next input.
    #[must_use]
    pub fn poll_output(&mut self) -> Output {
        if let Some(output) = self.out.pop_front() {
            return output;
        }
        if let Some(output) = self.cluster_output() {
            return output;
        }
        match self.engine.poll_output() {
            Output::Event(event) => {
                if self.enabled {
                    self.on_engine_event(&event);
                }
                Output::Event(event)
            }
            Output::Timeout(at) => match self.out.pop_front().or_else(|| self.cluster_output()) {
                Some(output) => output,
                None => Output::Timeout(earliest(at, self.poll_timeout())),
            },
            output => output,
        }
    }

    /// Closes every session (server shutdown); see [`Engine::shutdown`].
    pub fn shutdown(&mut self, now: Instant) {
        self.engine.shutdown(now);
    }

    /// The protocol engine underneath, for the commands it offers.
    #[must_use]
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The protocol engine underneath, mutably: emits, rooms, disconnects.
    pub fn engine_mut(&mut self) -> &mut Engine {
        &mut self.engine
    }

    /// The counters so far.
    #[must_use]
    pub fn stats(&self) -> RelayStats {
        self.stats
    }

    /// Events in the in-memory history now.
    #[must_use]
    pub fn history_len(&self) -> usize {
        self.history.len()
    }

    /// The offset the next accepted event gets.
    #[must_use]
    pub fn next_offset(&self) -> u64 {
        self.next_offset
    }

    /// The largest body the runtime should read for a request to `path`.
    #[must_use]
    pub fn body_limit(&self, head: &crate::http::RequestHead) -> usize {
        self.engine.body_limit(head)
    }

    /// The earliest deadline of the relay and the engine.
    #[must_use]
    pub fn next_deadline(&self) -> Option<Instant> {
        earliest(self.engine.next_deadline(), self.poll_timeout())
    }

    /// Moves the relay's clock (never backwards), expires history past its age, and sends
    /// the retries and batches now due.
    fn advance(&mut self, now: Instant) {
        self.now = self.now.max(now);
        if let Some(parked) = self.parked.as_mut() {
            parked.handle_timeout(self.now);
        }
        self.opt_in_timeout();
        self.cluster_timeout();
        let age_ms = u64::try_from(self.config.retention_age.as_millis()).unwrap_or(u64::MAX);
        let cutoff = self.clock.unix_ms(self.now).saturating_sub(age_ms);
        self.history.expire_before(cutoff);
    }

    /// The relay's own earliest deadline: the oldest event in history becoming too old, a
    /// parked socket's recovery window ending, a retry or a batch falling due.
    fn poll_timeout(&self) -> Option<Instant> {
        if !self.enabled {
            return None;
        }
        let age_ms = u64::try_from(self.config.retention_age.as_millis()).unwrap_or(u64::MAX);
        let expiry = self
            .history
            .oldest_ms()
            .and_then(|oldest| self.clock.instant_at(oldest.saturating_add(age_ms)));
        let parked = self.parked.as_ref().and_then(RecoveryTable::poll_timeout);
        let opt_in = earliest(self.retries.poll_timeout(), self.batcher.poll_timeout());
        let cluster = self.cluster.as_ref().and_then(|c| c.link().poll_timeout());
        earliest(earliest(expiry, parked), earliest(opt_in, cluster))
    }
}
pub mod fit;
