//! Autostart from hooks: when `emit` (with the `autostart` setting on) finds no relay, it
//! launches `iorelay start` in the background, at most once per 30 s across all hook
//! processes.
//!
//! Why under the breaker's lock: the hooks of one session run at once and all find the relay
//! down together; the time of the last launch (`autostart.last` in the state directory) is
//! read, checked by core's [`autostart_due`] and written under the same `flock` the breaker
//! uses, so exactly one of them launches. The launch never waits: `start` runs on in its own
//! process group while the hook exits, and the relay drains the spool when it is up.

use std::io;
use std::path::{Path, PathBuf};

use iorelay_core::lifecycle::autostart_due;
use iorelay_core::relay::breaker::BreakerPolicy;

use super::breaker_file::{write_atomically, BreakerFile};

/// The record of the last launch in the state directory.
pub const RECORD: &str = "autostart.last";

/// Whether this hook, at `now_ms`, is the one to launch a relay; when it is, the launch is
/// recorded before the lock is released.
///
/// # Errors
/// The lock or the record cannot be used (then nobody launches).
pub fn claim_launch(state_dir: &Path, now_ms: u64) -> io::Result<bool> {
    let record = record_path(state_dir);
    BreakerFile::new(state_dir, BreakerPolicy::default()).exclusive(|| {
        let last = std::fs::read_to_string(&record)
            .ok()
            .and_then(|text| text.trim().parse().ok());
        if !autostart_due(last, now_ms) {
            return Ok(false);
        }
        write_atomically(&record, format!("{now_ms}\n").as_bytes())?;
        Ok(true)
    })?
}

fn record_path(state_dir: &Path) -> PathBuf {
    state_dir.join(RECORD)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_of_many_concurrent_hooks_claims_the_launch_and_the_next_after_30_s() {
        let dir = std::env::temp_dir().join(format!("iorelay-autostart-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let claimed: usize = std::thread::scope(|scope| {
            let threads: Vec<_> = (0..8)
                .map(|_| scope.spawn(|| claim_launch(&dir, 1_000).unwrap()))
                .collect();
            threads
                .into_iter()
                .map(|t| usize::from(t.join().unwrap()))
                .sum()
        });
        assert_eq!(claimed, 1);
        assert!(!claim_launch(&dir, 30_999).unwrap());
        assert!(claim_launch(&dir, 31_000).unwrap());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
