//! When a hook may launch a relay: at most once per [`AUTOSTART_INTERVAL_MS`] across all hook
//! processes.
//!
//! Why a rate limit: every hook of a busy session finds the relay down at the same moment;
//! one launch is enough, and a relay that cannot start (a bad setting, a busy port) must not
//! be relaunched by every tool call. The runtime keeps the time of the last launch in the
//! state directory and asks this under the breaker's lock.

/// Least time between two launches, in milliseconds.
pub const AUTOSTART_INTERVAL_MS: u64 = 30_000;

/// Whether a hook running at `now_ms` (Unix milliseconds) may launch a relay, given when the
/// last launch was (`None`: never, or the record is unreadable). A last launch more than the
/// interval in the future (the clock was set back) does not block launches.
#[must_use]
pub fn autostart_due(last_ms: Option<u64>, now_ms: u64) -> bool {
    last_ms.is_none_or(|last| now_ms.abs_diff(last) >= AUTOSTART_INTERVAL_MS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_launch_is_due() {
        assert!(autostart_due(None, 0));
    }

    #[test]
    fn a_second_launch_waits_thirty_seconds() {
        assert!(!autostart_due(Some(1_000), 1_000));
        assert!(!autostart_due(Some(1_000), 30_999));
        assert!(autostart_due(Some(1_000), 31_000));
    }

    #[test]
    fn a_launch_recorded_in_the_future_blocks_only_within_the_interval() {
        assert!(!autostart_due(Some(40_000), 20_000));
        assert!(autostart_due(Some(100_000), 20_000));
    }
}
