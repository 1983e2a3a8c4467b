//! Time helpers: the soonest-deadline table the engine folds every sub-machine's deadline into.
//!
//! Why: the engine must find the next thing due without scanning every session on a tick
//! (DESIGN §2 rule 3). Each key holds at most one deadline; setting it again moves it.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

/// A set of keyed deadlines ordered by time; each key has at most one deadline.
#[derive(Debug, Clone)]
pub struct TimerTable<K: Ord + Copy> {
    by_time: BTreeSet<(Instant, K)>,
    by_key: BTreeMap<K, Instant>,
}

impl<K: Ord + Copy> Default for TimerTable<K> {
    fn default() -> Self {
        Self {
            by_time: BTreeSet::new(),
            by_key: BTreeMap::new(),
        }
    }
}

impl<K: Ord + Copy> TimerTable<K> {
    /// Sets (or moves, or with `None` removes) the deadline of `key`.
    pub fn set(&mut self, key: K, deadline: Option<Instant>) {
        if let Some(old) = self.by_key.remove(&key) {
            self.by_time.remove(&(old, key));
        }
        if let Some(at) = deadline {
            self.by_key.insert(key, at);
            self.by_time.insert((at, key));
        }
    }

    /// The earliest deadline in the table.
    #[must_use]
    pub fn next_deadline(&self) -> Option<Instant> {
        self.by_time.first().map(|(at, _)| *at)
    }

    /// Removes and returns the key with the earliest deadline if it is due at `now`.
    pub fn pop_due(&mut self, now: Instant) -> Option<K> {
        let &(at, key) = self.by_time.first()?;
        if at > now {
            return None;
        }
        self.by_time.remove(&(at, key));
        self.by_key.remove(&key);
        Some(key)
    }

    /// The deadline of `key`, if it has one.
    #[must_use]
    pub fn deadline(&self, key: K) -> Option<Instant> {
        self.by_key.get(&key).copied()
    }

    /// Number of keys with a deadline.
    #[must_use]
    pub fn len(&self) -> usize {
        self.by_key.len()
    }

    /// Whether no key has a deadline.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }
}

/// The earlier of two optional deadlines.
#[must_use]
pub fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, None) => x,
        (None, y) => y,
    }
}

#[cfg(test)]
pub(crate) mod test_clock {
    use std::time::Instant;

    /// One arbitrary origin for virtual-time tests; tests only ever add durations to it.
    #[allow(clippy::disallowed_methods)]
    pub fn t0() -> Instant {
        Instant::now()
    }
}

#[cfg(test)]
mod tests {
    use super::test_clock::t0;
    use super::*;
    use std::time::Duration;

    #[test]
    fn pops_keys_in_deadline_order_only_when_due() {
        let t = t0();
        let mut table = TimerTable::default();
        table.set(2u32, Some(t + Duration::from_secs(5)));
        table.set(1u32, Some(t + Duration::from_secs(3)));
        assert_eq!(table.next_deadline(), Some(t + Duration::from_secs(3)));
        assert_eq!(table.pop_due(t + Duration::from_secs(2)), None);
        assert_eq!(table.pop_due(t + Duration::from_secs(5)), Some(1));
        assert_eq!(table.pop_due(t + Duration::from_secs(5)), Some(2));
        assert!(table.is_empty());
    }

    #[test]
    fn setting_a_key_again_moves_its_deadline() {
        let t = t0();
        let mut table = TimerTable::default();
        table.set(7u32, Some(t + Duration::from_secs(1)));
        table.set(7u32, Some(t + Duration::from_secs(9)));
        assert_eq!(table.len(), 1);
        assert_eq!(table.pop_due(t + Duration::from_secs(2)), None);
        table.set(7u32, None);
        assert!(table.is_empty());
        assert_eq!(table.next_deadline(), None);
    }

    #[test]
    fn earliest_ignores_missing_deadlines() {
        let t = t0();
        let later = t + Duration::from_millis(1);
        assert_eq!(earliest(Some(later), None), Some(later));
        assert_eq!(earliest(None, Some(t)), Some(t));
        assert_eq!(earliest(Some(later), Some(t)), Some(t));
        assert_eq!(earliest(None, None), None);
    }
}
