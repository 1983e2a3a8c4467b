//! The Engine.IO v4 heartbeat: the server pings every `ping_interval` and expects a pong within
//! `ping_timeout` of each ping.
//!
//! Why a machine of its own: it is the one deadline every session always has, so a session that
//! stops answering is found and freed without any scan (DESIGN §2 rules 3 and 4).

use std::time::{Duration, Instant};

/// Where a session's heartbeat stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Heartbeat {
    interval: Duration,
    timeout: Duration,
    state: HeartbeatState,
    /// When the client last answered, for operators (`/connections`): a stale value on a
    /// live session means its pong deadline is near.
    last_pong: Option<Instant>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HeartbeatState {
    /// The next ping goes out at this instant.
    PingDue(Instant),
    /// A ping went out; the session dies if no pong arrives by this instant.
    PongDeadline(Instant),
}

/// What a due heartbeat deadline asks of the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeartbeatDue {
    /// Send a ping now.
    SendPing,
    /// The pong did not come: close the session with "ping timeout".
    PongMissed,
}

impl Heartbeat {
    /// A heartbeat for a session opened at `now`: the first ping is due one interval later.
    #[must_use]
    pub fn new(now: Instant, interval: Duration, timeout: Duration) -> Self {
        Self {
            interval,
            timeout,
            state: HeartbeatState::PingDue(now + interval),
            last_pong: None,
        }
    }

    /// A pong arrived: the next ping is due one interval from now. A pong nobody asked for
    /// changes no deadline, though it is remembered as the last sign of life.
    pub fn on_pong(&mut self, now: Instant) {
        self.last_pong = Some(now);
        if matches!(self.state, HeartbeatState::PongDeadline(_)) {
            self.state = HeartbeatState::PingDue(now + self.interval);
        }
    }

    /// When the last pong arrived (`None` before the first).
    #[must_use]
    pub fn last_pong(&self) -> Option<Instant> {
        self.last_pong
    }

    /// The next instant this heartbeat needs attention.
    #[must_use]
    pub fn poll_timeout(&self) -> Instant {
        match self.state {
            HeartbeatState::PingDue(at) | HeartbeatState::PongDeadline(at) => at,
        }
    }

    /// What is due at `now`, if anything. After `SendPing` the pong deadline is `timeout` after the
    /// instant the ping was due.
    pub fn handle_timeout(&mut self, now: Instant) -> Option<HeartbeatDue> {
        match self.state {
            HeartbeatState::PingDue(at) if at <= now => {
                // The deadline runs from when the ping was due, not from when the timer fired:
                // a late wake-up must not stretch the timeout the client was promised.
                self.state = HeartbeatState::PongDeadline(at + self.timeout);
                Some(HeartbeatDue::SendPing)
            }
            HeartbeatState::PongDeadline(at) if at <= now => Some(HeartbeatDue::PongMissed),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::test_clock::t0;

    const SECS_25: Duration = Duration::from_secs(25);
    const SECS_20: Duration = Duration::from_secs(20);

    #[test]
    fn first_ping_is_due_one_interval_after_open() {
        let t = t0();
        let mut hb = Heartbeat::new(t, SECS_25, SECS_20);
        assert_eq!(hb.poll_timeout(), t + SECS_25);
        assert_eq!(hb.handle_timeout(t + Duration::from_millis(24_999)), None);
        assert_eq!(hb.handle_timeout(t + SECS_25), Some(HeartbeatDue::SendPing));
        assert_eq!(hb.poll_timeout(), t + SECS_25 + SECS_20);
    }

    #[test]
    fn missing_pong_is_due_exactly_ping_timeout_after_the_ping() {
        let t = t0();
        let mut hb = Heartbeat::new(t, SECS_25, SECS_20);
        hb.handle_timeout(t + SECS_25);
        let deadline = t + SECS_25 + SECS_20;
        assert_eq!(hb.handle_timeout(deadline - Duration::from_nanos(1)), None);
        assert_eq!(hb.handle_timeout(deadline), Some(HeartbeatDue::PongMissed));
    }

    #[test]
    fn a_late_wake_up_does_not_stretch_the_pong_deadline() {
        let t = t0();
        let mut hb = Heartbeat::new(t, SECS_25, SECS_20);
        assert_eq!(
            hb.handle_timeout(t + Duration::from_secs(30)),
            Some(HeartbeatDue::SendPing)
        );
        assert_eq!(hb.poll_timeout(), t + SECS_25 + SECS_20);
    }

    #[test]
    fn pong_schedules_the_next_ping_one_interval_later() {
        let t = t0();
        let mut hb = Heartbeat::new(t, SECS_25, SECS_20);
        hb.handle_timeout(t + SECS_25);
        hb.on_pong(t + Duration::from_secs(26));
        assert_eq!(hb.poll_timeout(), t + Duration::from_secs(51));
    }

    #[test]
    fn the_last_pong_is_remembered() {
        let t = t0();
        let mut hb = Heartbeat::new(t, SECS_25, SECS_20);
        assert_eq!(hb.last_pong(), None);
        hb.handle_timeout(t + SECS_25);
        hb.on_pong(t + Duration::from_secs(26));
        assert_eq!(hb.last_pong(), Some(t + Duration::from_secs(26)));
    }

    #[test]
    fn unsolicited_pong_does_not_delay_the_ping() {
        let t = t0();
        let mut hb = Heartbeat::new(t, SECS_25, SECS_20);
        hb.on_pong(t + Duration::from_secs(10));
        assert_eq!(hb.poll_timeout(), t + SECS_25);
    }
}
