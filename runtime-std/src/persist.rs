//! Start-up and shutdown of what outlives the process: the history store, the hook spool and
//! the hook breaker — the same for both runtimes.
//!
//! Why one place: both runtimes must restore the relay from the store, ingest what hooks
//! spooled while no relay ran, tell waiting hooks the relay is back, hand every accepted
//! event to the store, and flush it on the way out, in that order. Written once, the two
//! runtimes cannot drift.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use iorelay_core::cluster::outbox::OutboxChange;
use iorelay_core::relay::breaker::{BreakerPolicy, BreakerState, UnixMillis};
use iorelay_core::relay::event::StoredEvent;
use iorelay_core::relay::ingest::Endpoint;
use iorelay_core::relay::measure::{HookBreaker, Measurement};
use iorelay_core::relay::StoreHealth;
use iorelay_core::settings::Settings;
use iorelay_core::{Output, Relay};

use crate::emit;
use crate::emit::breaker_file::BreakerFile;
use crate::emit::spool::Spool;
use crate::emit::EmitOptions;
use crate::log;
use crate::store::{self, CommitReport, Store, StoreConfig};

/// How often the hooks' breaker and spool are looked at for `/metrics`.
pub const HOOK_WATCH_EVERY: Duration = Duration::from_secs(2);

/// How long one delivery of spooled events to this relay may take.
const SELF_DELIVERY: Duration = Duration::from_secs(1);

/// Where measurements go: the driver's inbox, without blocking.
pub type Reporter = Arc<dyn Fn(Measurement) + Send + Sync>;

/// The open store of a running relay.
pub struct Persistence {
    store: Store,
    /// Cleared when the relay stops, which ends the hook watcher.
    watching: Arc<AtomicBool>,
}

impl std::fmt::Debug for Persistence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Persistence")
            .field("path", &self.store.path())
            .finish()
    }
}

impl Persistence {
    /// Opens the store under `settings.data_dir`, restores `relay` from it, ingests the hook
    /// spool under `settings.state_dir`, closes the hooks' breaker, and starts watching the
    /// hooks' breaker and spool. `report` gets a measurement after every store commit and
    /// every [`HOOK_WATCH_EVERY`] from the watcher; it runs on their threads and must not
    /// block (`try_send` it to the driver; a lost report only delays a metric), since the
    /// driver closes the store while no longer reading its inbox. `None` in
    /// conformance mode, which keeps nothing.
    ///
    /// # Errors
    /// The store cannot be opened (another relay holds the data dir, no permission, a
    /// corrupt file); the message says which and what to do.
    pub fn start(
        settings: &Settings,
        relay: &mut Relay,
        report: Reporter,
    ) -> Result<Option<Self>, String> {
        if settings.conformance {
            return Ok(None);
        }
        let relay_config = &settings.config.relay;
        let mut config = StoreConfig::new(settings.data_dir.clone().into());
        config.commit_window = settings.commit_window;
        config.retention_count = relay_config.retention_count;
        config.retention_age = relay_config.retention_age;
        config.load_limit = relay_config.history_capacity;
        let on_commit = Arc::clone(&report);
        let opened = store::open(
            config,
            Box::new(move |commit: CommitReport| on_commit(commit_measurement(&commit))),
        )
        .map_err(|err| err.to_string())?;
        let restored = opened.events.len();
        for problem in relay.restore(opened.events, opened.last_offset) {
            log!(Warn, "history: skipped a stored event: {problem}");
        }
        let persistence = Self {
            store: opened.store,
            watching: watch_hooks(
                PathBuf::from(&settings.state_dir),
                self_delivery(settings, relay.engine().config().server.port),
                report,
            ),
        };
        log!(
            Info,
            "history: {restored} events restored from {}",
            persistence.store.path().display()
        );
        if !opened.outbox.is_empty() {
            log!(
                Info,
                "cluster: {} events from the last run still to append to the stream",
                opened.outbox.len()
            );
            relay.restore_outbox(opened.outbox);
        }
        persistence.drain_spool(relay, Path::new(&settings.state_dir));
        if let Err(err) = emit::relay_started(Path::new(&settings.state_dir)) {
            log!(
                Warn,
                "cannot reset the hooks' breaker in {}: {err}",
                settings.state_dir
            );
        }
        relay.set_store_health(persistence.health());
        Ok(Some(persistence))
    }

    /// Hands an accepted event to the store (never waits on the disk).
    pub fn persist(&self, event: StoredEvent) {
        self.store.append(event);
    }

    /// Hands a cluster outbox change to the store (never waits on the disk).
    pub fn change_outbox(&self, change: OutboxChange) {
        self.store.change_outbox(change);
    }

    /// What `/health` says about the store.
    #[must_use]
    pub fn health(&self) -> StoreHealth {
        let status = self.store.status();
        StoreHealth {
            path: status.path.display().to_string(),
            status: status.error.clone().unwrap_or_else(|| "ok".to_owned()),
            pending: status.pending as u64,
            committed: status.committed,
        }
    }

    /// Commits everything handed over and stops the writer (graceful shutdown).
    pub fn close(self) {
        self.watching.store(false, Ordering::Relaxed);
        self.store.close();
    }

    /// Ingests what `iorelay emit` spooled while no relay was reachable, before any client
    /// connects; ids make a drain that already reached a relay harmless.
    fn drain_spool(&self, relay: &mut Relay, state_dir: &Path) {
        if !state_dir.exists() {
            return;
        }
        let ingest = |events: &[Vec<u8>]| {
            let mut body = Vec::from(&b"["[..]);
            for (i, event) in events.iter().enumerate() {
                if i > 0 {
                    body.push(b',');
                }
                body.extend_from_slice(event);
            }
            body.push(b']');
            let result = relay.ingest_body(Instant::now(), Endpoint::Hooks, &body);
            self.take_outputs(relay);
            result.map(|_| ())
        };
        match emit::spool::drain_into(state_dir, ingest) {
            Ok(0) => {}
            Ok(n) => log!(Info, "ingested {n} events spooled by hooks"),
            Err(err) => log!(
                Warn,
                "cannot drain the hook spool in {}: {err}",
                state_dir.display()
            ),
        }
    }

    /// Executes what the relay produced before serving: events go to the store; nothing
    /// else can exist yet (no connections).
    fn take_outputs(&self, relay: &mut Relay) {
        loop {
            match relay.poll_output() {
                Output::Timeout(_) => return,
                Output::Persist(event) => self.persist(event),
                Output::Outbox(change) => self.change_outbox(change),
                _ => {}
            }
        }
    }
}

/// Starts a thread that reports the hooks' breaker and spool size every
/// [`HOOK_WATCH_EVERY`] until the returned flag is cleared, and delivers to this relay (with
/// `deliver`'s address and token) what hooks spooled while it was up: events a hook spooled
/// after the drain at start, because it found the port closed a moment before this relay
/// listened (autostart makes that common), would otherwise wait for the next hook. The
/// hooks are other processes; their state files are all the relay can see of them.
fn watch_hooks(state_dir: PathBuf, deliver: EmitOptions, report: Reporter) -> Arc<AtomicBool> {
    let watching = Arc::new(AtomicBool::new(true));
    let running = Arc::clone(&watching);
    let look = move || {
        let breaker = BreakerFile::new(&state_dir, BreakerPolicy::default());
        let spool = Spool::new(&state_dir);
        while running.load(Ordering::Relaxed) {
            report(hook_measurement(breaker.state(), spool.pending_bytes()));
            std::thread::sleep(HOOK_WATCH_EVERY);
            if running.load(Ordering::Relaxed) && spool.pending() {
                let sent = emit::run::deliver_spooled(&deliver, Instant::now() + SELF_DELIVERY);
                if sent > 0 {
                    log!(
                        Info,
                        "delivered {sent} events hooks spooled while the relay was up"
                    );
                }
            }
        }
    };
    if let Err(err) = std::thread::Builder::new()
        .name("hook-watch".to_owned())
        .stack_size(256 * 1024)
        .spawn(look)
    {
        log!(Warn, "cannot watch the hooks' state: {err}");
    }
    watching
}

/// How the hook watcher reaches this relay: loopback for a wildcard host, the bound port,
/// the token.
fn self_delivery(settings: &Settings, port: u16) -> EmitOptions {
    let mut options = EmitOptions::from_settings(settings, false, None);
    options.port = port;
    if options.host == "0.0.0.0" {
        options.host = "127.0.0.1".to_owned();
    } else if options.host == "::" || options.host == "[::]" {
        options.host = "::1".to_owned();
    }
    options
}

/// The measurement the hooks' persisted breaker and spool size become.
#[must_use]
pub fn hook_measurement(state: BreakerState<UnixMillis>, spooled_bytes: u64) -> Measurement {
    let breaker = match state {
        BreakerState::Closed { failures } => HookBreaker::Closed { failures },
        BreakerState::Open { .. } => HookBreaker::Open,
        BreakerState::HalfOpen { .. } => HookBreaker::HalfOpen,
    };
    Measurement::HookClient {
        breaker,
        spooled_bytes,
    }
}

/// The measurement a store commit report becomes.
#[must_use]
pub fn commit_measurement(report: &CommitReport) -> Measurement {
    Measurement::StoreCommit {
        events: report.events,
        latency: report.latency,
        ok: report.error.is_none(),
    }
}
