//! Server→client acks awaited by one socket: ids, deadlines, and resolution exactly once.
//!
//! Why: an emit with an ack is protocol state that waits on the peer, so it has a deadline
//! (DESIGN §2 rule 4), and each ack ends exactly once: answered, timed out, or abandoned when
//! the socket goes away.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

/// The acks one socket is waiting for.
#[derive(Debug, Clone, Default)]
pub struct AckTable {
    next_id: u64,
    by_id: BTreeMap<u64, Instant>,
    by_deadline: BTreeSet<(Instant, u64)>,
}

impl AckTable {
    /// Registers a new awaited ack that times out `timeout` after `now`; returns its id.
    pub fn register(&mut self, now: Instant, timeout: Duration) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        let deadline = now + timeout;
        self.by_id.insert(id, deadline);
        self.by_deadline.insert((deadline, id));
        id
    }

    /// The client answered ack `id`: true the first time, false for an unknown or finished id.
    pub fn resolve(&mut self, id: u64) -> bool {
        match self.by_id.remove(&id) {
            Some(deadline) => {
                self.by_deadline.remove(&(deadline, id));
                true
            }
            None => false,
        }
    }

    /// The earliest ack deadline.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.by_deadline.first().map(|(at, _)| *at)
    }

    /// Removes and returns the id of an ack whose deadline has passed at `now`.
    pub fn pop_expired(&mut self, now: Instant) -> Option<u64> {
        let &(at, id) = self.by_deadline.first()?;
        if at > now {
            return None;
        }
        self.by_deadline.remove(&(at, id));
        self.by_id.remove(&id);
        Some(id)
    }

    /// Removes every awaited ack (the socket is gone) and returns their ids in id order.
    pub fn abandon_all(&mut self) -> Vec<u64> {
        self.by_deadline.clear();
        std::mem::take(&mut self.by_id).into_keys().collect()
    }

    /// Number of acks awaited.
    #[must_use]
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Whether no ack is awaited.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::test_clock::t0;

    #[test]
    fn ack_ids_count_up_from_zero() {
        let t = t0();
        let mut acks = AckTable::default();
        assert_eq!(acks.register(t, Duration::from_secs(5)), 0);
        assert_eq!(acks.register(t, Duration::from_secs(5)), 1);
        assert_eq!(acks.len(), 2);
    }

    #[test]
    fn an_ack_resolves_once() {
        let t = t0();
        let mut acks = AckTable::default();
        let id = acks.register(t, Duration::from_secs(5));
        assert!(acks.resolve(id));
        assert!(!acks.resolve(id));
        assert_eq!(acks.poll_timeout(), None);
        assert_eq!(acks.pop_expired(t + Duration::from_secs(60)), None);
    }

    #[test]
    fn an_unanswered_ack_expires_at_its_deadline_exactly() {
        let t = t0();
        let mut acks = AckTable::default();
        let id = acks.register(t, Duration::from_secs(5));
        assert_eq!(acks.poll_timeout(), Some(t + Duration::from_secs(5)));
        assert_eq!(acks.pop_expired(t + Duration::from_millis(4999)), None);
        assert_eq!(acks.pop_expired(t + Duration::from_secs(5)), Some(id));
        assert!(!acks.resolve(id));
    }

    #[test]
    fn abandoning_reports_every_pending_ack_once() {
        let t = t0();
        let mut acks = AckTable::default();
        let a = acks.register(t, Duration::from_secs(5));
        let b = acks.register(t, Duration::from_secs(1));
        acks.resolve(a);
        let c = acks.register(t, Duration::from_secs(9));
        assert_eq!(acks.abandon_all(), vec![b, c]);
        assert!(acks.is_empty());
        assert_eq!(acks.poll_timeout(), None);
    }
}
