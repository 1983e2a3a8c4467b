//! The heartbeat from the client's side: in Engine.IO v4 the server pings and the client
//! answers, so the client's part is a deadline. No ping within `pingInterval + pingTimeout`
//! of the last one (or of the open packet) means the session is gone, however quiet the
//! connection looks.
//!
//! Why a machine of its own: it is the one deadline an open session always has (DESIGN §2
//! rule 4), the client-side mirror of the engine's `Heartbeat`.

use std::time::{Duration, Instant};

/// When the server must have pinged by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PingWatch {
    window: Duration,
    deadline: Instant,
    last_ping: Option<Instant>,
}

impl PingWatch {
    /// A watch for a session opened at `now` with the server's `ping_interval` and
    /// `ping_timeout`.
    #[must_use]
    pub fn new(now: Instant, ping_interval: Duration, ping_timeout: Duration) -> Self {
        let window = ping_interval.saturating_add(ping_timeout);
        Self {
            window,
            deadline: now.checked_add(window).unwrap_or(now),
            last_ping: None,
        }
    }

    /// A ping arrived at `now`: the next is due within the window from now.
    pub fn on_ping(&mut self, now: Instant) {
        self.last_ping = Some(now);
        self.deadline = now.checked_add(self.window).unwrap_or(now);
    }

    /// When the last ping arrived.
    #[must_use]
    pub fn last_ping(&self) -> Option<Instant> {
        self.last_ping
    }

    /// The instant the session is lost without a ping.
    #[must_use]
    pub fn poll_timeout(&self) -> Instant {
        self.deadline
    }

    /// Whether the server missed its ping by `now`.
    #[must_use]
    pub fn is_missed(&self, now: Instant) -> bool {
        self.deadline <= now
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::test_clock::t0;

    const SECS_25: Duration = Duration::from_secs(25);
    const SECS_20: Duration = Duration::from_secs(20);

    #[test]
    fn the_first_ping_is_due_within_interval_plus_timeout_of_the_open() {
        let t = t0();
        let watch = PingWatch::new(t, SECS_25, SECS_20);
        assert_eq!(watch.poll_timeout(), t + Duration::from_secs(45));
        assert!(!watch.is_missed(t + Duration::from_millis(44_999)));
        assert!(watch.is_missed(t + Duration::from_secs(45)));
    }

    #[test]
    fn each_ping_moves_the_deadline_one_window_past_it() {
        let t = t0();
        let mut watch = PingWatch::new(t, SECS_25, SECS_20);
        watch.on_ping(t + SECS_25);
        assert_eq!(watch.poll_timeout(), t + Duration::from_secs(70));
        assert_eq!(watch.last_ping(), Some(t + SECS_25));
        assert!(!watch.is_missed(t + Duration::from_secs(45)));
    }
}
