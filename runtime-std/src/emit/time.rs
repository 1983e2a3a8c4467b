//! Wall-clock time: Unix milliseconds, read once per use. Formatting is core's
//! ([`iorelay_core::relay::clock::iso8601`]), so hooks' `client_ts` and the relay's
//! `received_at` are written the same way.

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch (0 if the clock is before it).
#[must_use]
pub fn unix_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
