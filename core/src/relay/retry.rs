//! Reliable delivery: deliveries sent with an ack request, kept until the client acks one of
//! their attempts, re-sent on a doubling backoff, and abandoned after a time limit.
//!
//! Why a queue of its own, with its own deadlines: a client that opted into reliable mode
//! (auth `{"reliable":true}`) must not silently miss an event because one frame went into a
//! dead transport, yet a client that never acks must not hold memory forever. So every
//! reliable delivery is tracked here until it ends exactly once — succeeded (acked) or
//! abandoned (out of time, over the per-client cap, or its socket left) — and the queue, not
//! the engine's ack table, decides when to re-send: the engine's ack deadline for each attempt
//! is the delivery's give-up instant, so a late ack to an earlier attempt still counts.
//!
//! The schedule, from the first send at `t`: retry 1 at `t + initial`, each next retry after
//! double the previous gap (capped at `max_backoff`), at most `retries` of them, none at or
//! after `t + give_up_after`, which is when an unacked delivery is abandoned. With the
//! defaults: sends at 0 s, 1 s, 3 s, 7 s; abandoned at 30 s. A retry carries the same event
//! (same `id`, same offset), so clients de-duplicate by `id`.
//!
//! The queue is pure: the relay feeds it sends, acks and time, and asks it which deliveries
//! are due again ([`RetryQueue::poll_retry`]). Deadlines live in a [`TimerTable`], so a
//! tick touches only what is due (DESIGN §2 rule 3).

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::{Duration, Instant};

use crate::io::SocketId;
use crate::time::TimerTable;

/// How reliable deliveries are re-sent and when they are given up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Re-sends after the first send, at most.
    pub retries: u32,
    /// The gap before the first retry; each later gap doubles.
    pub initial_backoff: Duration,
    /// The largest gap between two sends.
    pub max_backoff: Duration,
    /// A delivery still unacked this long after its first send is abandoned.
    pub give_up_after: Duration,
    /// Most deliveries awaiting an ack per client; past it the oldest is abandoned.
    pub max_queued: usize,
}

impl Default for RetryPolicy {
    /// The original design's (seed 003): 3 retries, 1 s, 2 s, 4 s (capped at 8 s), 30 s, 1000.
    fn default() -> Self {
        Self {
            retries: 3,
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(8),
            give_up_after: Duration::from_secs(30),
            max_queued: 1000,
        }
    }
}

impl RetryPolicy {
    /// The gap before retry `n` (1-based): `initial_backoff · 2^(n-1)`, at most `max_backoff`.
    #[must_use]
    pub fn backoff(&self, n: u32) -> Duration {
        let doublings = n.saturating_sub(1).min(31);
        self.initial_backoff
            .saturating_mul(1 << doublings)
            .min(self.max_backoff)
    }
}

/// What became of reliable deliveries so far; `/metrics` reports them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RetryStats {
    /// Deliveries sent with an ack request and tracked.
    pub queued: u64,
    /// Re-sends.
    pub retried: u64,
    /// Deliveries the client acked (any attempt).
    pub succeeded: u64,
    /// Deliveries given up: out of time, over the cap, or their socket left.
    pub abandoned: u64,
}

/// A delivery due to be sent again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retry<T> {
    /// Which delivery; pass it to [`RetryQueue::resent`] with the new ack id.
    pub key: u64,
    /// The socket it goes to.
    pub socket: SocketId,
    /// What to send (the same as the first time).
    pub payload: T,
}

/// The deliveries awaiting an ack, for every reliable socket.
#[derive(Debug, Clone)]
pub struct RetryQueue<T> {
    policy: RetryPolicy,
    next_key: u64,
    entries: BTreeMap<u64, Entry<T>>,
    /// Which delivery an (socket, ack id) pair belongs to.
    by_ack: BTreeMap<(SocketId, u64), u64>,
    /// Each socket's deliveries, oldest first (keys grow with time).
    by_socket: BTreeSet<(SocketId, u64)>,
    per_socket: BTreeMap<SocketId, usize>,
    timers: TimerTable<u64>,
    /// Deliveries whose retry is due, in the order they became due.
    due: VecDeque<u64>,
    stats: RetryStats,
}

#[derive(Debug, Clone)]
struct Entry<T> {
    socket: SocketId,
    payload: T,
    first_sent: Instant,
    last_sent: Instant,
    retries_sent: u32,
    /// The ack ids of every attempt so far.
    acks: Vec<u64>,
}

impl<T: Clone> RetryQueue<T> {
    /// An empty queue following `policy`.
    #[must_use]
    pub fn new(policy: RetryPolicy) -> Self {
        Self {
            policy,
            next_key: 0,
            entries: BTreeMap::new(),
            by_ack: BTreeMap::new(),
            by_socket: BTreeSet::new(),
            per_socket: BTreeMap::new(),
            timers: TimerTable::default(),
            due: VecDeque::new(),
            stats: RetryStats::default(),
        }
    }

    /// The policy.
    #[must_use]
    pub fn policy(&self) -> &RetryPolicy {
        &self.policy
    }

    /// How long the engine should wait for the ack of a delivery first sent now: until the
    /// delivery's give-up instant (earlier attempts stay answerable until then).
    #[must_use]
    pub fn ack_timeout(&self) -> Duration {
        self.policy.give_up_after
    }

    /// How long the engine should wait for the ack of a re-send of delivery `key` at `now`.
    #[must_use]
    pub fn resend_ack_timeout(&self, key: u64, now: Instant) -> Duration {
        self.entries.get(&key).map_or(Duration::ZERO, |entry| {
            (entry.first_sent + self.policy.give_up_after).saturating_duration_since(now)
        })
    }

    /// Tracks a delivery to `socket` first sent at `now` with ack id `ack`. When the socket
    /// already has `max_queued` deliveries awaiting acks, its oldest is abandoned.
    pub fn track(&mut self, now: Instant, socket: SocketId, ack: u64, payload: T) {
        let key = self.next_key;
        self.next_key += 1;
        self.entries.insert(
            key,
            Entry {
                socket,
                payload,
                first_sent: now,
                last_sent: now,
                retries_sent: 0,
                acks: vec![ack],
            },
        );
        self.by_ack.insert((socket, ack), key);
        self.by_socket.insert((socket, key));
        *self.per_socket.entry(socket).or_default() += 1;
        self.stats.queued += 1;
        self.schedule(key);
        while self.per_socket.get(&socket).copied().unwrap_or(0) > self.policy.max_queued {
            let oldest = self
                .by_socket
                .range((socket, 0)..=(socket, u64::MAX))
                .next()
                .map(|&(_, key)| key);
            match oldest {
                Some(oldest) => self.finish(oldest, false),
                None => break,
            }
        }
    }

    /// The client acked `ack` on `socket`. Returns whether that ended a tracked delivery
    /// (false for acks the queue did not ask for, or for a delivery that already ended).
    pub fn acked(&mut self, socket: SocketId, ack: u64) -> bool {
        match self.by_ack.get(&(socket, ack)).copied() {
            Some(key) => {
                self.finish(key, true);
                true
            }
            None => false,
        }
    }

    /// Records that retry `key` went out at `now` with the new ack id `ack`.
    pub fn resent(&mut self, key: u64, now: Instant, ack: u64) {
        let Some(entry) = self.entries.get_mut(&key) else {
            return;
        };
        entry.retries_sent += 1;
        entry.last_sent = now;
        entry.acks.push(ack);
        let socket = entry.socket;
        self.by_ack.insert((socket, ack), key);
        self.stats.retried += 1;
        self.schedule(key);
    }

    /// The socket left: every delivery awaiting its ack is abandoned. Returns how many.
    pub fn forget_socket(&mut self, socket: SocketId) -> usize {
        let keys: Vec<u64> = self
            .by_socket
            .range((socket, 0)..=(socket, u64::MAX))
            .map(|&(_, key)| key)
            .collect();
        for &key in &keys {
            self.finish(key, false);
        }
        keys.len()
    }

    /// Moves time to `now`: deliveries past their give-up instant are abandoned, those whose
    /// next retry is due wait in [`RetryQueue::poll_retry`].
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(key) = self.timers.pop_due(now) {
            let Some(entry) = self.entries.get(&key) else {
                continue;
            };
            let give_up = entry.first_sent + self.policy.give_up_after;
            match self.next_retry_at(entry) {
                Some(at) if at <= now && now < give_up => {
                    // Until `resent` moves it, the give-up instant stays its deadline: a
                    // retry the caller could not send still ends.
                    self.timers.set(key, Some(give_up));
                    self.due.push_back(key);
                }
                _ => self.finish(key, false),
            }
        }
    }

    /// The next delivery to send again (after [`RetryQueue::handle_timeout`]); send it and
    /// report the new ack id with [`RetryQueue::resent`].
    #[must_use]
    pub fn poll_retry(&mut self) -> Option<Retry<T>> {
        while let Some(key) = self.due.pop_front() {
            if let Some(entry) = self.entries.get(&key) {
                return Some(Retry {
                    key,
                    socket: entry.socket,
                    payload: entry.payload.clone(),
                });
            }
        }
        None
    }

    /// The earliest instant a retry or an abandonment is due.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next_deadline()
    }

    /// The counters so far.
    #[must_use]
    pub fn stats(&self) -> RetryStats {
        self.stats
    }

    /// Deliveries awaiting an ack now, over every socket.
    #[must_use]
    pub fn outstanding(&self) -> usize {
        self.entries.len()
    }

    /// When `entry` is due again: its next retry, if it has one before it is given up.
    fn next_retry_at(&self, entry: &Entry<T>) -> Option<Instant> {
        let give_up = entry.first_sent + self.policy.give_up_after;
        let n = entry.retries_sent + 1;
        let at = entry.last_sent + self.policy.backoff(n);
        (n <= self.policy.retries && at < give_up).then_some(at)
    }

    /// Sets the deadline of `key`: its next retry, else its give-up instant.
    fn schedule(&mut self, key: u64) {
        let Some(entry) = self.entries.get(&key) else {
            return;
        };
        let give_up = entry.first_sent + self.policy.give_up_after;
        let at = self.next_retry_at(entry).unwrap_or(give_up);
        self.timers.set(key, Some(at));
    }

    /// Ends delivery `key`, counting it as succeeded or abandoned.
    fn finish(&mut self, key: u64, succeeded: bool) {
        let Some(entry) = self.entries.remove(&key) else {
            return;
        };
        for ack in &entry.acks {
            self.by_ack.remove(&(entry.socket, *ack));
        }
        self.by_socket.remove(&(entry.socket, key));
        if let Some(count) = self.per_socket.get_mut(&entry.socket) {
            *count -= 1;
            if *count == 0 {
                self.per_socket.remove(&entry.socket);
            }
        }
        self.timers.set(key, None);
        if succeeded {
            self.stats.succeeded += 1;
        } else {
            self.stats.abandoned += 1;
        }
    }
}

#[cfg(test)]
#[path = "retry_tests.rs"]
mod tests;
