//! Core's circuit breaker, persisted in `breaker.json` so it spans emit processes.
//!
//! Why a file: every emit is a new process, so a breaker in memory would forget every
//! failure. Each step is a read-modify-write under an exclusive `flock` on `breaker.lock`
//! (held for a few system calls, never across the network call), so 50 concurrent emits
//! count 50 failures and exactly one of them gets the half-open probe. The state is written to
//! a temporary file and renamed over `breaker.json`, so a reader never sees half a file and a
//! crash leaves the old state; it is written only when it changed, so the healthy path
//! (closed, no failures) reads one small file and writes nothing.

use std::io;
use std::path::{Path, PathBuf};

use iorelay_core::relay::breaker::{Breaker, BreakerPolicy, BreakerState, Decision, UnixMillis};

use super::lock::{FileLock, Mode};

/// The persisted breaker in a state directory.
#[derive(Debug, Clone)]
pub struct BreakerFile {
    state: PathBuf,
    lock: PathBuf,
    policy: BreakerPolicy,
}

impl BreakerFile {
    /// The breaker whose files live in `state_dir`.
    #[must_use]
    pub fn new(state_dir: &Path, policy: BreakerPolicy) -> Self {
        Self {
            state: state_dir.join("breaker.json"),
            lock: state_dir.join("breaker.lock"),
            policy,
        }
    }

    /// Asks the breaker whether to call the relay now (a `Probe` is handed to one process).
    ///
    /// # Errors
    /// The lock or the state file cannot be used; callers then call anyway.
    pub fn allow(&self, now_ms: u64) -> io::Result<Decision> {
        self.update(|breaker| breaker.allow(UnixMillis(now_ms)))
    }

    /// Records the outcome of a call made at `now_ms`.
    ///
    /// # Errors
    /// The lock or the state file cannot be used.
    pub fn record(&self, now_ms: u64, succeeded: bool) -> io::Result<()> {
        self.update(|breaker| {
            if succeeded {
                breaker.on_success(UnixMillis(now_ms));
            } else {
                breaker.on_failure(UnixMillis(now_ms));
            }
        })
    }

    /// Runs `step` under the breaker's lock, for other decisions all hook processes must
    /// take one at a time (the autostart rate limit).
    ///
    /// # Errors
    /// The lock cannot be taken.
    pub fn exclusive<R>(&self, step: impl FnOnce() -> R) -> io::Result<R> {
        let _held = FileLock::acquire(&self.lock, Mode::Exclusive)?;
        Ok(step())
    }

    /// The persisted state (closed when there is none or it is unreadable).
    #[must_use]
    pub fn state(&self) -> BreakerState<UnixMillis> {
        read_state(&self.state)
    }

    fn update<R>(&self, step: impl FnOnce(&mut Breaker<UnixMillis>) -> R) -> io::Result<R> {
        let _held = FileLock::acquire(&self.lock, Mode::Exclusive)?;
        let before = read_state(&self.state);
        let mut breaker = Breaker::from_state(self.policy, before);
        let result = step(&mut breaker);
        if breaker.state() != before {
            write_atomically(&self.state, &serde_json::to_vec(&breaker.state())?)?;
        }
        Ok(result)
    }
}

fn read_state(path: &Path) -> BreakerState<UnixMillis> {
    std::fs::read(path)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default()
}

/// Writes `bytes` to a temporary file beside `path` and renames it over `path`.
///
/// # Errors
/// The temporary file cannot be written or renamed.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".{}.tmp", std::process::id()));
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("iorelay-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn the_state_survives_between_instances_like_between_processes() {
        let dir = temp_dir("breaker");
        for t in 0..5 {
            let file = BreakerFile::new(&dir, BreakerPolicy::default());
            assert_eq!(file.allow(t).unwrap(), Decision::Call);
            file.record(t, false).unwrap();
        }
        let file = BreakerFile::new(&dir, BreakerPolicy::default());
        assert_eq!(
            file.state(),
            BreakerState::Open {
                since: UnixMillis(4)
            }
        );
        assert_eq!(file.allow(29_999).unwrap(), Decision::Skip);
        assert_eq!(file.allow(30_004).unwrap(), Decision::Probe);
        assert_eq!(file.allow(30_005).unwrap(), Decision::Skip);
        file.record(30_010, true).unwrap();
        assert_eq!(file.allow(30_011).unwrap(), Decision::Call);
        assert_eq!(
            std::fs::read_to_string(dir.join("breaker.json")).unwrap(),
            r#"{"state":"closed","failures":0}"#
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_corrupt_state_file_reads_as_closed() {
        let dir = temp_dir("breaker-corrupt");
        std::fs::write(dir.join("breaker.json"), b"{garbage").unwrap();
        let file = BreakerFile::new(&dir, BreakerPolicy::default());
        assert_eq!(file.allow(0).unwrap(), Decision::Call);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn concurrent_failures_are_all_counted() {
        let dir = temp_dir("breaker-threads");
        let policy = BreakerPolicy {
            failure_threshold: 1000,
            ..BreakerPolicy::default()
        };
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let dir = dir.clone();
                std::thread::spawn(move || {
                    for t in 0..25 {
                        BreakerFile::new(&dir, policy).record(t, false).unwrap();
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        assert_eq!(
            BreakerFile::new(&dir, policy).state(),
            BreakerState::Closed { failures: 200 }
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
