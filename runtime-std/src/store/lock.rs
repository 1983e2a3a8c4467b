//! One process per data directory: an advisory lock on `<dir>/history.lock`, held for as long
//! as the store is open.
//!
//! Why a lock of our own: SQLite in WAL mode lets two processes write the same file, and two
//! servers would then interleave their offsets in one history. SQLite's exclusive locking mode
//! would prevent that too, but it would also lock out readers such as the `sqlite3` shell used
//! for an online backup. The OS drops the lock when the process dies, `kill -9` included, so a
//! crash never leaves a stale lock behind.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

/// The held lock; released when dropped (or when the process ends).
#[derive(Debug)]
pub(super) struct DirLock {
    _file: File,
}

/// Why the lock was not taken.
#[derive(Debug)]
pub(super) enum LockError {
    /// Another process (or another `Store` in this one) holds it.
    Held(PathBuf),
    /// The lock file could not be created or locked.
    Io(PathBuf, std::io::Error),
}

impl DirLock {
    pub fn acquire(dir: &Path) -> Result<Self, LockError> {
        let path = dir.join("history.lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| LockError::Io(path.clone(), e))?;
        // `File::try_lock` is newer than the workspace's declared rust-version (1.80), but the
        // dependencies already need more (rusqlite 0.41 needs 1.89), so nothing is lost.
        #[allow(clippy::incompatible_msrv)]
        let locked = file.try_lock();
        match locked {
            Ok(()) => Ok(Self { _file: file }),
            Err(TryLockError::WouldBlock) => Err(LockError::Held(path)),
            Err(TryLockError::Error(e)) => Err(LockError::Io(path, e)),
        }
    }
}
