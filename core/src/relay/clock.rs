//! Wall-clock time for event timestamps, without reading a clock.
//!
//! Why: core never reads the clock (DESIGN §2 rule 1); inputs bring `Instant`s. The runtime
//! says once, at start, which Unix time its start `Instant` was; every later wall time is that
//! plus the monotonic time since, so timestamps never go backwards when the system clock is
//! stepped.

use std::time::Instant;

/// Maps the engine's `Instant`s to Unix milliseconds.
#[derive(Debug, Clone, Copy)]
pub struct WallClock {
    started: Instant,
    started_unix_ms: u64,
}

impl WallClock {
    /// A clock whose `started` instant was `started_unix_ms` milliseconds after the epoch.
    #[must_use]
    pub fn new(started: Instant, started_unix_ms: u64) -> Self {
        Self {
            started,
            started_unix_ms,
        }
    }

    /// Unix milliseconds at `now`.
    #[must_use]
    pub fn unix_ms(&self, now: Instant) -> u64 {
        let since = now.saturating_duration_since(self.started).as_millis();
        self.started_unix_ms
            .saturating_add(u64::try_from(since).unwrap_or(u64::MAX))
    }

    /// The instant at Unix milliseconds `unix_ms` (the start instant for earlier times;
    /// `None` past what `Instant` can hold).
    #[must_use]
    pub fn instant_at(&self, unix_ms: u64) -> Option<Instant> {
        let after = unix_ms.saturating_sub(self.started_unix_ms);
        self.started
            .checked_add(std::time::Duration::from_millis(after))
    }
}

/// `2026-11-22T01:02:03.456Z` for Unix milliseconds `ms`.
#[must_use]
pub fn iso8601(ms: u64) -> String {
    let secs = ms / 1000;
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60,
        ms % 1000
    )
}

/// The proleptic Gregorian date `days` after 1970-01-01 (Howard Hinnant's civil-from-days,
/// restricted to dates after the epoch).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_epoch_and_known_dates_format_as_iso8601() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso8601(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(iso8601(1_795_309_323_456), "2026-11-22T01:02:03.456Z");
        assert_eq!(iso8601(4_102_444_799_999), "2099-12-31T23:59:59.999Z");
    }

    #[test]
    fn wall_time_advances_with_the_monotonic_clock() {
        let start = crate::time::test_clock::t0();
        let clock = WallClock::new(start, 1_000);
        assert_eq!(clock.unix_ms(start), 1_000);
        assert_eq!(clock.unix_ms(start + Duration::from_millis(2_500)), 3_500);
    }
}
