//! The delay before each reconnection attempt: exponential, capped, with jitter.
//!
//! Why pure: the delay depends only on the attempt number and a random draw the caller
//! supplies (the client's seeded generator), so tests name exact instants and two clients
//! with one seed wait alike. The shape is socket.io-client's: `min · factor^(attempt-1)`,
//! moved by up to `jitter` of itself either way, never above `max`.

use std::time::Duration;

/// A reconnection policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The delay before the first attempt (socket.io-client: 1 s).
    pub min: Duration,
    /// The longest delay (socket.io-client: 5 s).
    pub max: Duration,
    /// How much each delay grows over the previous one.
    pub factor: u32,
    /// How far a delay may move from its nominal value, in thousandths (500: ±50 %).
    pub jitter_per_mille: u32,
    /// How many attempts in a row before giving up; `None` never gives up.
    pub max_attempts: Option<u32>,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            min: Duration::from_secs(1),
            max: Duration::from_secs(5),
            factor: 2,
            jitter_per_mille: 500,
            max_attempts: None,
        }
    }
}

impl Backoff {
    /// The delay before attempt `attempt` (1 for the first retry), given a uniformly random
    /// `draw`; `None` when the policy gives up before that attempt.
    #[must_use]
    pub fn delay(&self, attempt: u32, draw: u64) -> Option<Duration> {
        if attempt == 0 || self.max_attempts.is_some_and(|max| attempt > max) {
            return None;
        }
        let growth = u64::from(self.factor.max(1)).saturating_pow(attempt - 1);
        let nominal = u64::try_from(self.min.as_millis())
            .unwrap_or(u64::MAX)
            .saturating_mul(growth);
        let span = nominal.saturating_mul(u64::from(self.jitter_per_mille.min(1000))) / 1000;
        // One draw gives both the direction (its low bit) and the size of the move.
        let moved = if span == 0 {
            nominal
        } else if draw & 1 == 0 {
            nominal.saturating_sub((draw >> 1) % (span + 1))
        } else {
            nominal.saturating_add((draw >> 1) % (span + 1))
        };
        Some(Duration::from_millis(moved).min(self.max))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn without_jitter_delays_double_up_to_the_cap() {
        let policy = Backoff {
            jitter_per_mille: 0,
            ..Backoff::default()
        };
        let delays: Vec<_> = (1..=5).map(|n| policy.delay(n, 12345).unwrap()).collect();
        assert_eq!(delays, [ms(1000), ms(2000), ms(4000), ms(5000), ms(5000)]);
    }

    #[test]
    fn jitter_moves_a_delay_at_most_its_share_either_way() {
        let policy = Backoff::default();
        for draw in [0, 1, 2, 3, 999, 1000, 1001, u64::MAX - 1, u64::MAX] {
            let first = policy.delay(1, draw).unwrap();
            assert!(first >= ms(500) && first <= ms(1500), "{draw}: {first:?}");
        }
        assert_eq!(policy.delay(1, 2 * 500), Some(ms(500)));
        assert_eq!(policy.delay(1, 2 * 500 + 1), Some(ms(1500)));
        assert_eq!(policy.delay(1, 0), Some(ms(1000)));
    }

    #[test]
    fn a_jittered_delay_never_passes_the_cap() {
        let policy = Backoff::default();
        assert_eq!(policy.delay(3, 2 * 2000 + 1), Some(ms(5000)));
        assert_eq!(policy.delay(60, u64::MAX), Some(ms(5000)));
    }

    #[test]
    fn the_policy_gives_up_after_its_last_attempt() {
        let policy = Backoff {
            max_attempts: Some(2),
            ..Backoff::default()
        };
        assert!(policy.delay(2, 0).is_some());
        assert_eq!(policy.delay(3, 0), None);
        assert_eq!(policy.delay(0, 0), None);
    }
}
