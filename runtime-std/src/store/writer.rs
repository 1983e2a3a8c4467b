//! The writer thread: takes appended events off the hot path, commits them in batches, retries
//! failed batches, prunes periodically, and keeps the queue bounded in bytes.
//!
//! Why a `Mutex<VecDeque>` + `Condvar` rather than a channel: the writer needs to look at the
//! whole queue (how much is pending, the oldest pending event), to keep failed batches in place
//! until they commit, and to drop the *oldest* events when memory is exhausted — none of which a
//! channel offers. `append` holds the lock for a push and never waits for the disk.
//!
//! Why events stay in the queue until their commit succeeded (the writer commits clones): a
//! failed commit then needs no put-back, the memory bound covers everything not yet on disk,
//! and `pending` in the status is exactly "appended but not yet durable".

use std::collections::VecDeque;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use iorelay_core::cluster::outbox::OutboxChange;
use iorelay_core::relay::event::StoredEvent;

use super::CommitReport;

/// Where committed events go; the SQLite file in production, fakes in tests.
pub(super) trait Sink: Send + 'static {
    /// Writes `batch` (ascending offsets) and applies `outbox` (in order) in one durable
    /// transaction: all or nothing.
    fn commit(&mut self, batch: &[StoredEvent], outbox: &[OutboxChange]) -> Result<(), String>;
    /// Deletes all but the newest `keep` events, and the oldest events received before
    /// `cutoff_ms`; returns how many went.
    fn prune(&mut self, keep: usize, cutoff_ms: u64) -> Result<usize, String>;
}

/// How the writer batches, retries and bounds memory.
#[derive(Debug, Clone)]
pub(super) struct Policy {
    pub commit_window: Duration,
    pub batch_max: usize,
    pub max_pending_bytes: usize,
    pub retention_count: usize,
    pub retention_age: Duration,
    pub prune_every: Duration,
    pub close_timeout: Duration,
}

/// The first retry after a failed commit waits this long; each further failure doubles it up
/// to [`RETRY_MAX`]. Short enough that a transient error costs little, long enough that a full
/// disk is not hammered.
const RETRY_MIN: Duration = Duration::from_millis(100);
const RETRY_MAX: Duration = Duration::from_secs(5);

/// Bytes an event holds in the queue: its buffers plus the struct.
fn cost(event: &StoredEvent) -> usize {
    event.json.len() + event.id.len() + std::mem::size_of::<StoredEvent>()
}

#[derive(Default)]
struct State {
    pending: VecDeque<StoredEvent>,
    /// Outbox changes not yet committed, in order. Not bounded here: the cluster bounds
    /// what it keeps, and they are few (only during an outage).
    outbox: VecDeque<OutboxChange>,
    pending_bytes: usize,
    committed: u64,
    dropped: u64,
    /// The last offset of the batch being committed, while a commit runs.
    in_flight_upto: Option<u64>,
    /// Events dropped from the queue that are in the running commit: they count as dropped
    /// only if that commit fails.
    dropped_in_flight: u64,
    last_error: Option<String>,
    /// Set by `close`: flush, then stop; give up on failing commits after this instant.
    closing: Option<Instant>,
}

struct Shared {
    state: Mutex<State>,
    wake: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere while holding the lock leaves a consistent queue (every mutation is
        // a push or pop plus counters); keep going rather than take the server down.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The queue and the writer thread.
pub(super) struct Writer {
    shared: Arc<Shared>,
    batch_max: usize,
    max_pending_bytes: usize,
    close_timeout: Duration,
    thread: Option<JoinHandle<()>>,
    done: mpsc::Receiver<()>,
}

/// What the writer reports for `/health`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Counters {
    pub pending: usize,
    pub pending_bytes: usize,
    pub committed: u64,
    pub dropped: u64,
    pub last_error: Option<String>,
    pub running: bool,
}

impl Writer {
    /// Starts the writer thread.
    pub fn spawn<S: Sink>(
        sink: S,
        policy: Policy,
        on_commit: Box<dyn Fn(CommitReport) + Send>,
    ) -> std::io::Result<Self> {
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            wake: Condvar::new(),
        });
        let (done_tx, done) = mpsc::channel::<()>();
        let batch_max = policy.batch_max.max(1);
        let max_pending_bytes = policy.max_pending_bytes;
        let close_timeout = policy.close_timeout;
        let thread_shared = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("store-writer".into())
            .spawn(move || {
                // `done_tx` is dropped when this returns (or unwinds): `close` waits for that.
                let _done = done_tx;
                run(&thread_shared, sink, &policy, &*on_commit);
            })?;
        Ok(Self {
            shared,
            batch_max,
            max_pending_bytes,
            close_timeout,
            thread: Some(thread),
            done,
        })
    }

    /// Queues one event. Never waits for the disk; if the queue is over its byte bound the
    /// oldest pending events are dropped (and counted).
    pub fn append(&self, event: StoredEvent) {
        let mut state = self.shared.lock();
        state.pending_bytes += cost(&event);
        state.pending.push_back(event);
        while state.pending_bytes > self.max_pending_bytes && state.pending.len() > 1 {
            if let Some(old) = state.pending.pop_front() {
                state.pending_bytes -= cost(&old);
                if state.in_flight_upto.is_some_and(|upto| old.offset <= upto) {
                    state.dropped_in_flight += 1;
                } else {
                    state.dropped += 1;
                }
            }
        }
        let len = state.pending.len();
        drop(state);
        // Wake the writer only when it has something new to decide: the first pending event
        // starts the commit window; a full batch is committed at once.
        if len == 1 || len == self.batch_max {
            self.shared.wake.notify_one();
        }
    }

    /// Queues an outbox change and wakes the writer: it commits at once, with the events
    /// queued so far (changes come only during a cluster outage, so this costs little).
    pub fn change_outbox(&self, change: OutboxChange) {
        self.shared.lock().outbox.push_back(change);
        self.shared.wake.notify_one();
    }

    pub fn counters(&self) -> Counters {
        let running = self.thread.as_ref().is_some_and(|t| !t.is_finished());
        let state = self.shared.lock();
        Counters {
            pending: state.pending.len(),
            pending_bytes: state.pending_bytes,
            committed: state.committed,
            dropped: state.dropped,
            last_error: state.last_error.clone(),
            running,
        }
    }

    /// Flushes what is pending, then stops the thread; waits at most the close timeout (plus a
    /// little for the last commit in flight), then logs and returns without it.
    pub fn close(&mut self) {
        let Some(thread) = self.thread.take() else {
            return;
        };
        let deadline = Instant::now() + self.close_timeout;
        self.shared.lock().closing = Some(deadline);
        self.shared.wake.notify_one();
        let grace = self.close_timeout + Duration::from_secs(1);
        match self.done.recv_timeout(grace) {
            Ok(()) | Err(RecvTimeoutError::Disconnected) => {
                let _ = thread.join();
            }
            Err(RecvTimeoutError::Timeout) => {
                let pending = self.shared.lock().pending.len();
                crate::log!(
                    Warn,
                    "history store: the writer did not finish within {grace:?}; \
                     {pending} events may not be on disk"
                );
            }
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.close();
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// What the writer does next.
enum Step {
    Commit(Vec<StoredEvent>, Vec<OutboxChange>),
    Prune,
    Stop,
}

/// The writer's own bookkeeping, outside the lock.
struct Clock {
    /// When the oldest pending event was first seen: its commit is due a window later.
    first_seen: Option<Instant>,
    /// After a failure: when to try again.
    retry_at: Option<Instant>,
    failures: u32,
    next_prune: Instant,
    dropped_logged: u64,
    /// When drops were last logged: a failing disk drops events continuously, and one
    /// line every [`DROP_LOG_EVERY`] says so without flooding the log.
    dropped_logged_at: Option<Instant>,
}

/// How often dropped events are reported while they keep being dropped.
const DROP_LOG_EVERY: Duration = Duration::from_secs(10);

fn run<S: Sink>(shared: &Shared, mut sink: S, policy: &Policy, on_commit: &dyn Fn(CommitReport)) {
    let batch_max = policy.batch_max.max(1);
    let mut clock = Clock {
        first_seen: None,
        retry_at: None,
        failures: 0,
        next_prune: Instant::now() + policy.prune_every,
        dropped_logged: 0,
        dropped_logged_at: None,
    };
    loop {
        let step = next_step(shared, &mut clock, policy, batch_max);
        match step {
            Step::Stop => return,
            Step::Prune => {
                let cutoff = now_ms().saturating_sub(
                    u64::try_from(policy.retention_age.as_millis()).unwrap_or(u64::MAX),
                );
                match sink.prune(policy.retention_count, cutoff) {
                    Ok(0) => {}
                    Ok(gone) => {
                        crate::log!(Debug, "history store: retention removed {gone} events")
                    }
                    Err(err) => crate::log!(Warn, "history store: pruning failed: {err}"),
                }
                clock.next_prune = Instant::now() + policy.prune_every;
            }
            Step::Commit(batch, outbox) => {
                let taken_at = Instant::now();
                let result = sink.commit(&batch, &outbox);
                let latency = taken_at.elapsed();
                let report = settle(shared, &mut clock, &batch, outbox.len(), result, taken_at);
                let report = CommitReport {
                    events: batch.len(),
                    latency,
                    error: report,
                };
                on_commit(report);
            }
        }
    }
}

/// Waits until something is due and says what.
fn next_step(shared: &Shared, clock: &mut Clock, policy: &Policy, batch_max: usize) -> Step {
    let mut state = shared.lock();
    loop {
        let now = Instant::now();
        let log_due = clock
            .dropped_logged_at
            .is_none_or(|at| now >= at + DROP_LOG_EVERY);
        if state.dropped > clock.dropped_logged && log_due {
            crate::log!(
                Warn,
                "history store: {} events dropped from the write queue (over {} bytes pending: \
                 the disk is failing or too slow); {} dropped in total",
                state.dropped - clock.dropped_logged,
                policy.max_pending_bytes,
                state.dropped
            );
            clock.dropped_logged = state.dropped;
            clock.dropped_logged_at = Some(now);
        }
        // Prune when due, between commits too: under steady load the queue may never be
        // empty. Not while commits fail (the prune would fail too) or while closing.
        if now >= clock.next_prune && clock.retry_at.is_none() && state.closing.is_none() {
            return Step::Prune;
        }
        if state.pending.is_empty() && state.outbox.is_empty() {
            clock.first_seen = None;
            clock.retry_at = None;
            if state.closing.is_some() {
                return Step::Stop;
            }
            let wait = clock.next_prune - now;
            state = shared
                .wake
                .wait_timeout(state, wait)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
            continue;
        }
        let first_seen = *clock.first_seen.get_or_insert(now);
        let due = match (clock.retry_at, state.closing) {
            (Some(_), Some(deadline)) if now >= deadline => {
                // Closing and the disk keeps failing: give up, bounded.
                crate::log!(
                    Warn,
                    "history store: closing with {} events not on disk: {}",
                    state.pending.len(),
                    state.last_error.as_deref().unwrap_or("commit failed")
                );
                return Step::Stop;
            }
            (Some(retry), Some(deadline)) => retry.min(deadline),
            (Some(retry), None) => retry,
            (None, Some(_)) => now,
            (None, None) if state.pending.len() >= batch_max => now,
            // What waits for Redis is kept at once: an outage is when a kill is likeliest.
            (None, None) if !state.outbox.is_empty() => now,
            (None, None) => first_seen + policy.commit_window,
        };
        if now >= due {
            let batch: Vec<StoredEvent> = state.pending.iter().take(batch_max).cloned().collect();
            let outbox: Vec<OutboxChange> = state.outbox.iter().cloned().collect();
            state.in_flight_upto = batch.last().map(|e| e.offset);
            return Step::Commit(batch, outbox);
        }
        state = shared
            .wake
            .wait_timeout(state, due - now)
            .unwrap_or_else(PoisonError::into_inner)
            .0;
    }
}

/// Records a commit's outcome: removes the committed events from the queue, or schedules a
/// retry. Returns the error text, if any.
fn settle(
    shared: &Shared,
    clock: &mut Clock,
    batch: &[StoredEvent],
    outbox_changes: usize,
    result: Result<(), String>,
    taken_at: Instant,
) -> Option<String> {
    let mut state = shared.lock();
    state.in_flight_upto = None;
    let dropped_in_flight = std::mem::take(&mut state.dropped_in_flight);
    match result {
        Ok(()) => {
            let last = batch.last().map_or(0, |e| e.offset);
            // Events dropped for memory while the commit ran are already gone from the front;
            // whatever is still there up to `last` was in the batch.
            while state.pending.front().is_some_and(|e| e.offset <= last) {
                if let Some(done) = state.pending.pop_front() {
                    state.pending_bytes -= cost(&done);
                }
            }
            state.outbox.drain(..outbox_changes);
            // Includes events dropped from the queue while this commit ran: they are written.
            state.committed += batch.len() as u64;
            if clock.failures > 0 {
                crate::log!(
                    Info,
                    "history store: writing again after {} failed commits",
                    clock.failures
                );
            }
            state.last_error = None;
            clock.failures = 0;
            clock.retry_at = None;
            // What is left arrived after the batch was taken: its window starts then.
            clock.first_seen =
                (!state.pending.is_empty() || !state.outbox.is_empty()).then_some(taken_at);
            None
        }
        Err(err) => {
            state.dropped += dropped_in_flight;
            clock.failures += 1;
            let backoff = RETRY_MIN
                .saturating_mul(1 << clock.failures.min(16).saturating_sub(1))
                .min(RETRY_MAX);
            clock.retry_at = Some(Instant::now() + backoff);
            if clock.failures == 1 || clock.failures.is_power_of_two() {
                crate::log!(
                    Warn,
                    "history store: commit of {} events failed ({} times in a row), \
                     retrying in {backoff:?}: {err}",
                    batch.len(),
                    clock.failures
                );
            }
            state.last_error = Some(err.clone());
            Some(err)
        }
    }
}

#[cfg(test)]
#[path = "writer_tests.rs"]
mod tests;
