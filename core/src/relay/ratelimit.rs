//! The ingest rate limit: a token bucket of events per peer address, on the caller's clock.
//!
//! Why this representation: a bucket is kept as the instant it will be full again (the
//! "theoretical arrival time" of GCRA), not as a count refilled on every call. Taking `n`
//! events moves that instant `n` refill intervals later; a request is refused when it would
//! move it more than a full bucket past `now`. Everything is `Instant` arithmetic, so refills
//! are exact whatever the spacing of calls (a count refilled in whole tokens loses the
//! fractions of frequent small calls), the answer to "when may I retry" falls out, and a
//! bucket that is full again is indistinguishable from no bucket and can be forgotten.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use super::protection::RateLimit;

/// Buckets kept before full ones are forgotten.
const PRUNE_AT: usize = 4096;

/// Distinct addresses tracked at most; beyond it new addresses share one bucket, so a flood
/// of spoofed-looking peers cannot grow memory.
const MAX_BUCKETS: usize = 65_536;

/// Per-peer token buckets under one [`RateLimit`].
#[derive(Debug)]
pub struct RateLimiter {
    limit: RateLimit,
    /// Per peer (`None`: unknown peer, or the shared overflow bucket): when its bucket is full.
    full_at: BTreeMap<Option<IpAddr>, Instant>,
}

impl RateLimiter {
    /// A limiter with no buckets yet; a limit that is off never limits.
    #[must_use]
    pub fn new(limit: RateLimit) -> Self {
        Self {
            limit,
            full_at: BTreeMap::new(),
        }
    }

    /// Takes `events` from `peer`'s bucket at `now`.
    ///
    /// # Errors
    /// The bucket does not hold that many: nothing is taken, and the error says how long until
    /// it does.
    pub fn take(
        &mut self,
        now: Instant,
        peer: Option<IpAddr>,
        events: u64,
    ) -> Result<(), Duration> {
        let limit = self.limit;
        if !limit.is_on() {
            return Ok(());
        }
        let key = self.key(now, peer);
        let cost = limit.interval(events.clamp(1, limit.burst));
        let tolerance = limit.interval(limit.burst);
        let full_at = self.full_at.get(&key).map_or(now, |at| (*at).max(now));
        let next = full_at + cost;
        let over = next.saturating_duration_since(now + tolerance);
        if over > Duration::ZERO {
            return Err(over);
        }
        self.full_at.insert(key, next);
        Ok(())
    }

    /// Peers with a bucket that is not full.
    #[must_use]
    pub fn tracked(&self) -> usize {
        self.full_at.len()
    }

    /// The bucket `peer` uses: its own, or the shared one once too many are tracked.
    fn key(&mut self, now: Instant, peer: Option<IpAddr>) -> Option<IpAddr> {
        if self.full_at.contains_key(&peer) || self.full_at.len() < PRUNE_AT {
            return peer;
        }
        self.full_at.retain(|_, full_at| *full_at > now);
        if self.full_at.len() < MAX_BUCKETS {
            peer
        } else {
            None
        }
    }
}

/// The `Retry-After` value for a wait: whole seconds, rounded up, at least 1.
#[must_use]
pub fn retry_after_secs(wait: Duration) -> u64 {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    secs.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    const A: Option<IpAddr> = Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)));
    const B: Option<IpAddr> = Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)));

    fn limiter(burst: u64, per_second: u64) -> RateLimiter {
        RateLimiter::new(RateLimit { burst, per_second })
    }

    #[test]
    fn a_full_bucket_passes_its_burst_then_refuses_with_the_wait() {
        let t0 = crate::time::test_clock::t0();
        let mut limiter = limiter(10, 2);
        assert_eq!(limiter.take(t0, A, 10), Ok(()));
        assert_eq!(limiter.take(t0, A, 1), Err(Duration::from_millis(500)));
        assert_eq!(limiter.take(t0, A, 3), Err(Duration::from_millis(1500)));
    }

    #[test]
    fn the_bucket_refills_at_the_rate_exactly_however_often_it_is_asked() {
        let t0 = crate::time::test_clock::t0();
        let mut limiter = limiter(10, 2);
        limiter.take(t0, A, 10).unwrap();
        // 499 calls a millisecond apart refill nothing whole: still refused.
        for ms in 1..500 {
            assert!(limiter.take(t0 + Duration::from_millis(ms), A, 1).is_err());
        }
        assert_eq!(limiter.take(t0 + Duration::from_millis(500), A, 1), Ok(()));
        assert_eq!(
            limiter.take(t0 + Duration::from_millis(500), A, 1),
            Err(Duration::from_millis(500))
        );
        // After five seconds the bucket is full again, and no fuller.
        let later = t0 + Duration::from_secs(60);
        assert_eq!(limiter.take(later, A, 10), Ok(()));
        assert!(limiter.take(later, A, 1).is_err());
    }

    #[test]
    fn peers_have_their_own_buckets() {
        let t0 = crate::time::test_clock::t0();
        let mut limiter = limiter(5, 1);
        limiter.take(t0, A, 5).unwrap();
        assert!(limiter.take(t0, A, 1).is_err());
        assert_eq!(limiter.take(t0, B, 5), Ok(()));
    }

    #[test]
    fn a_request_larger_than_the_bucket_costs_the_whole_bucket() {
        let t0 = crate::time::test_clock::t0();
        let mut limiter = limiter(10, 10);
        assert_eq!(limiter.take(t0, A, 50), Ok(()));
        assert_eq!(limiter.take(t0, A, 50), Err(Duration::from_secs(1)));
        assert_eq!(limiter.take(t0 + Duration::from_secs(1), A, 50), Ok(()));
    }

    #[test]
    fn the_default_passes_a_burst_of_ten_thousand_events_from_one_client() {
        let t0 = crate::time::test_clock::t0();
        let mut limiter =
            RateLimiter::new(super::super::protection::Protection::default().rate_limit);
        for i in 0..10_000 {
            assert_eq!(limiter.take(t0, A, 1), Ok(()), "event {i}");
        }
        let mut limiter =
            RateLimiter::new(super::super::protection::Protection::default().rate_limit);
        assert_eq!(limiter.take(t0, A, 10_000), Ok(()));
    }

    #[test]
    fn no_limit_never_refuses() {
        let t0 = crate::time::test_clock::t0();
        let mut limiter = RateLimiter::new(RateLimit {
            burst: 0,
            per_second: 5,
        });
        assert_eq!(limiter.take(t0, A, u64::MAX), Ok(()));
        assert_eq!(limiter.tracked(), 0);
    }

    #[test]
    fn full_buckets_are_forgotten_and_too_many_peers_share_one() {
        let t0 = crate::time::test_clock::t0();
        let mut limiter = limiter(2, 1);
        for i in 0..PRUNE_AT as u32 {
            let peer = Some(IpAddr::V4(Ipv4Addr::from(i)));
            limiter.take(t0, peer, 1).unwrap();
        }
        assert_eq!(limiter.tracked(), PRUNE_AT);
        // A second later every bucket is full again: the next new peer prunes them all.
        limiter.take(t0 + Duration::from_secs(1), A, 1).unwrap();
        assert_eq!(limiter.tracked(), 1);
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds_of_at_least_one() {
        assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1000)), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1001)), 2);
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
    }
}
