//! Linger batching: events for a client that opted in are held for a short window and sent
//! together as one `event_batch` event whose argument is an array of events.
//!
//! Why: a busy agent emits bursts (a tool call is a pre and a post event, sub-agents run in
//! parallel), and a dashboard that receives ten small events as one packet does one parse and
//! one render instead of ten. The original design (seed 002) held events up to 50 ms, at most
//! 10 per batch, grouped by namespace; this is that, per client and opt-in (auth
//! `{"batch":true}`), because a stock client expects one event per packet.
//!
//! A batch is keyed by what it goes to; the relay keys by socket, and a Socket.IO socket
//! belongs to exactly one namespace, so a batch never mixes namespaces. A key's batch opens
//! with its first item and goes out when it holds `max_events` items or `linger` after it
//! opened, whichever is first. The batcher is pure: the relay pushes items and time, and
//! takes finished batches from [`Batcher::poll_batch`]; deadlines live in a [`TimerTable`].

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use crate::time::TimerTable;

/// How long a batch may wait and how big it may grow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchPolicy {
    /// How long after its first item a batch goes out.
    pub linger: Duration,
    /// A batch goes out at once when it holds this many items.
    pub max_events: usize,
}

impl Default for BatchPolicy {
    /// The original design's: 50 ms, 10 events.
    fn default() -> Self {
        Self {
            linger: Duration::from_millis(50),
            max_events: 10,
        }
    }
}

/// Items held per key until their batch is full or its linger ends.
#[derive(Debug, Clone)]
pub struct Batcher<K: Ord + Copy, T> {
    policy: BatchPolicy,
    open: BTreeMap<K, Vec<T>>,
    timers: TimerTable<K>,
    ready: VecDeque<(K, Vec<T>)>,
    sent: u64,
}

impl<K: Ord + Copy, T> Batcher<K, T> {
    /// An empty batcher following `policy` (a `max_events` of 0 counts as 1).
    #[must_use]
    pub fn new(policy: BatchPolicy) -> Self {
        Self {
            policy,
            open: BTreeMap::new(),
            timers: TimerTable::default(),
            ready: VecDeque::new(),
            sent: 0,
        }
    }

    /// Adds `item` to `key`'s batch at `now`, opening one if needed; a batch that is now full
    /// is ready at once.
    pub fn push(&mut self, now: Instant, key: K, item: T) {
        let batch = self.open.entry(key).or_default();
        if batch.is_empty() {
            self.timers.set(key, Some(now + self.policy.linger));
        }
        batch.push(item);
        if batch.len() >= self.policy.max_events.max(1) {
            self.close(key);
        }
    }

    /// Moves time to `now`: batches whose linger has ended are ready.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(key) = self.timers.pop_due(now) {
            self.close(key);
        }
    }

    /// The next finished batch: its key and its items in the order they were pushed.
    #[must_use]
    pub fn poll_batch(&mut self) -> Option<(K, Vec<T>)> {
        let batch = self.ready.pop_front()?;
        self.sent += 1;
        Some(batch)
    }

    /// When the next open batch's linger ends.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next_deadline()
    }

    /// Drops `key`'s open batch and any of its finished ones not yet taken (what it goes to
    /// is gone). Returns how many items were dropped.
    pub fn forget(&mut self, key: K) -> usize {
        self.timers.set(key, None);
        let open = self.open.remove(&key).map_or(0, |items| items.len());
        let mut ready = 0;
        self.ready.retain(|(k, items)| {
            let keep = *k != key;
            if !keep {
                ready += items.len();
            }
            keep
        });
        open + ready
    }

    /// Batches taken so far.
    #[must_use]
    pub fn batches_sent(&self) -> u64 {
        self.sent
    }

    /// Items held in open batches now.
    #[must_use]
    pub fn held(&self) -> usize {
        self.open.values().map(Vec::len).sum()
    }

    fn close(&mut self, key: K) {
        self.timers.set(key, None);
        if let Some(items) = self.open.remove(&key) {
            if !items.is_empty() {
                self.ready.push_back((key, items));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::test_clock::t0;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn batches<K: Ord + Copy, T>(batcher: &mut Batcher<K, T>) -> Vec<(K, Vec<T>)> {
        std::iter::from_fn(|| batcher.poll_batch()).collect()
    }

    #[test]
    fn a_batch_goes_out_50_ms_after_its_first_event() {
        let t = t0();
        let mut batcher = Batcher::new(BatchPolicy::default());
        batcher.push(t, "/", 1);
        batcher.push(t + ms(20), "/", 2);
        assert_eq!(
            batcher.poll_timeout(),
            Some(t + ms(50)),
            "from the first event"
        );
        batcher.handle_timeout(t + ms(49));
        assert!(batches(&mut batcher).is_empty());
        batcher.handle_timeout(t + ms(50));
        assert_eq!(batches(&mut batcher), [("/", vec![1, 2])]);
        assert_eq!(batcher.poll_timeout(), None);
        assert_eq!(batcher.batches_sent(), 1);
    }

    #[test]
    fn a_full_batch_goes_out_at_once() {
        let t = t0();
        let mut batcher = Batcher::new(BatchPolicy::default());
        for n in 0..23 {
            batcher.push(t, "/", n);
        }
        let out = batches(&mut batcher);
        assert_eq!(out.len(), 2, "two of ten, at once");
        assert_eq!(out[0].1, (0..10).collect::<Vec<_>>());
        assert_eq!(out[1].1, (10..20).collect::<Vec<_>>());
        assert_eq!(batcher.held(), 3);
        assert_eq!(batcher.poll_timeout(), Some(t + ms(50)));
        batcher.handle_timeout(t + ms(50));
        assert_eq!(batches(&mut batcher), [("/", vec![20, 21, 22])]);
    }

    #[test]
    fn events_are_grouped_by_namespace() {
        let t = t0();
        let mut batcher = Batcher::new(BatchPolicy::default());
        batcher.push(t, "/tools", "tool_start");
        batcher.push(t + ms(10), "/", "claude_event");
        batcher.push(t + ms(20), "/tools", "tool_stop");
        batcher.handle_timeout(t + ms(50));
        assert_eq!(
            batches(&mut batcher),
            [("/tools", vec!["tool_start", "tool_stop"])]
        );
        assert_eq!(batcher.poll_timeout(), Some(t + ms(60)));
        batcher.handle_timeout(t + ms(60));
        assert_eq!(batches(&mut batcher), [("/", vec!["claude_event"])]);
    }

    #[test]
    fn the_next_batch_opens_with_the_next_event() {
        let t = t0();
        let mut batcher = Batcher::new(BatchPolicy::default());
        batcher.push(t, 1, 'a');
        batcher.handle_timeout(t + ms(50));
        assert_eq!(batches(&mut batcher).len(), 1);
        batcher.push(t + ms(200), 1, 'b');
        assert_eq!(batcher.poll_timeout(), Some(t + ms(250)));
    }

    #[test]
    fn forgetting_a_key_drops_what_it_held() {
        let t = t0();
        let policy = BatchPolicy {
            max_events: 2,
            ..BatchPolicy::default()
        };
        let mut batcher = Batcher::new(policy);
        batcher.push(t, 1, 'a');
        batcher.push(t, 1, 'b');
        batcher.push(t, 1, 'c');
        batcher.push(t, 2, 'x');
        assert_eq!(batcher.forget(1), 3);
        batcher.handle_timeout(t + ms(50));
        assert_eq!(batches(&mut batcher), [(2, vec!['x'])]);
    }
}
