//! Connection state recovery (Socket.IO 4.6+): what a socket that lost its transport leaves
//! behind so that reconnecting with its private id (`pid`) restores it.
//!
//! Why a table with its own deadlines: a client may come back within the recovery window,
//! or never. Each parked socket must be freed at its deadline (DESIGN §2 rule 4) without
//! scanning the table on every tick; since every entry lives for the same window, parking
//! order is expiry order and a queue gives the next deadline in O(1).

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::time::{Duration, Instant};

/// A socket that lost its transport, kept for recovery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parked {
    /// The socket's public id, given back on recovery.
    pub sid: String,
    /// Its namespace; a pid only recovers the namespace it was issued for.
    pub nsp: String,
    /// The rooms it was in (its own `sid` room included).
    pub rooms: BTreeSet<String>,
}

/// Parked values by private id, each until its window ends: the engine parks sockets
/// ([`Parked`]), an application parks its own per-socket state under the same pid.
#[derive(Debug)]
pub struct RecoveryTable<T = Parked> {
    window: Duration,
    parked: HashMap<String, (T, Instant)>,
    expiry: VecDeque<(Instant, String)>,
}

impl<T> RecoveryTable<T> {
    /// A table keeping parked sockets for `window` (Socket.IO's `maxDisconnectionDuration`).
    #[must_use]
    pub fn new(window: Duration) -> Self {
        Self {
            window,
            parked: HashMap::new(),
            expiry: VecDeque::new(),
        }
    }

    /// Keeps `parked` under `pid` until `now + window`.
    pub fn park(&mut self, now: Instant, pid: String, parked: T) {
        let until = now + self.window;
        self.expiry.push_back((until, pid.clone()));
        self.parked.insert(pid, (parked, until));
    }

    /// Takes what is parked under `pid` if its window has not ended at `now` and `fits`
    /// accepts it. A pid is good for one recovery.
    pub fn take_if(&mut self, now: Instant, pid: &str, fits: impl Fn(&T) -> bool) -> Option<T> {
        let (parked, until) = self.parked.get(pid)?;
        if *until <= now || !fits(parked) {
            return None;
        }
        self.parked.remove(pid).map(|(parked, _)| parked)
    }

    /// What is parked under `pid`, if its window has not ended at `now`.
    #[must_use]
    pub fn get(&self, now: Instant, pid: &str) -> Option<&T> {
        self.parked
            .get(pid)
            .filter(|(_, until)| *until > now)
            .map(|(parked, _)| parked)
    }

    /// Frees every socket whose window ended by `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some((until, pid)) = self.expiry.front() {
            if *until > now {
                break;
            }
            // A pid taken and parked again has a later entry; only free the current one.
            if self.parked.get(pid).is_some_and(|(_, at)| *at == *until) {
                self.parked.remove(pid);
            }
            self.expiry.pop_front();
        }
    }

    /// When the next parked socket must be freed.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.expiry.front().map(|(until, _)| *until)
    }

    /// Sockets parked now.
    #[must_use]
    pub fn len(&self) -> usize {
        self.parked.len()
    }

    /// Whether nothing is parked.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.parked.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::test_clock::t0;

    impl RecoveryTable {
        fn take(&mut self, now: Instant, pid: &str, nsp: &str) -> Option<Parked> {
            self.take_if(now, pid, |p| p.nsp == nsp)
        }
    }

    fn parked(nsp: &str) -> Parked {
        Parked {
            sid: "s1".to_owned(),
            nsp: nsp.to_owned(),
            rooms: BTreeSet::from(["s1".to_owned(), "session:a".to_owned()]),
        }
    }

    #[test]
    fn a_parked_socket_is_recovered_once_within_the_window() {
        let t0 = t0();
        let mut table = RecoveryTable::new(Duration::from_secs(120));
        table.park(t0, "p1".to_owned(), parked("/"));
        assert_eq!(table.poll_timeout(), Some(t0 + Duration::from_secs(120)));
        let at = t0 + Duration::from_secs(119);
        assert_eq!(table.take(at, "p1", "/"), Some(parked("/")));
        assert_eq!(table.take(at, "p1", "/"), None, "good for one recovery");
    }

    #[test]
    fn the_window_ends_at_its_deadline_and_frees_the_entry() {
        let t0 = t0();
        let mut table = RecoveryTable::new(Duration::from_secs(120));
        table.park(t0, "p1".to_owned(), parked("/"));
        let end = t0 + Duration::from_secs(120);
        assert_eq!(table.take(end, "p1", "/"), None);
        table.handle_timeout(end);
        assert!(table.is_empty());
        assert_eq!(table.poll_timeout(), None);
    }

    #[test]
    fn a_pid_only_recovers_its_own_namespace() {
        let t0 = t0();
        let mut table = RecoveryTable::new(Duration::from_secs(120));
        table.park(t0, "p1".to_owned(), parked("/tools"));
        assert_eq!(table.take(t0, "p1", "/"), None);
        assert_eq!(table.take(t0, "unknown", "/tools"), None);
        assert!(table.take(t0, "p1", "/tools").is_some());
    }

    #[test]
    fn a_socket_parked_again_is_kept_for_its_new_window() {
        let t0 = t0();
        let mut table = RecoveryTable::new(Duration::from_secs(10));
        table.park(t0, "p1".to_owned(), parked("/"));
        assert!(table.take(t0 + Duration::from_secs(5), "p1", "/").is_some());
        table.park(t0 + Duration::from_secs(6), "p1".to_owned(), parked("/"));
        table.handle_timeout(t0 + Duration::from_secs(10));
        assert_eq!(
            table.len(),
            1,
            "the first window's end does not free the second"
        );
        table.handle_timeout(t0 + Duration::from_secs(16));
        assert!(table.is_empty());
    }
}
