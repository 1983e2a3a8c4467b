//! Advisory whole-file locks (`flock`) on small lock files in the state directory.
//!
//! Why `flock` on a separate lock file: the kernel releases it when the process dies, so a
//! hook killed mid-operation never leaves a stale lock behind (a lock *file* created with
//! `O_EXCL` would), and the data files it guards can be renamed and replaced while the lock
//! file stays put. On platforms without `flock` the locks are no-ops and the module docs of
//! `spool` say what that costs.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::Path;

/// A held lock; released when dropped (or when the process dies).
#[derive(Debug)]
pub struct FileLock {
    _file: File,
}

/// Shared (many holders) or exclusive (one holder).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Many holders at once; excludes exclusive holders.
    Shared,
    /// One holder; excludes everyone.
    Exclusive,
}

impl FileLock {
    /// Waits for the lock on `path` (created if missing). Only used where every holder keeps
    /// it for a few system calls, so the wait is bounded in practice.
    ///
    /// # Errors
    /// The lock file cannot be opened or locked.
    pub fn acquire(path: &Path, mode: Mode) -> io::Result<Self> {
        let file = open(path)?;
        imp::lock(&file, mode, true)?;
        Ok(Self { _file: file })
    }

    /// Takes the lock on `path` if nobody holds it; `None` when somebody does.
    ///
    /// # Errors
    /// The lock file cannot be opened or locked for another reason.
    pub fn try_acquire(path: &Path, mode: Mode) -> io::Result<Option<Self>> {
        let file = open(path)?;
        match imp::lock(&file, mode, false) {
            Ok(()) => Ok(Some(Self { _file: file })),
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => Ok(None),
            Err(err) => Err(err),
        }
    }
}

fn open(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
}

#[cfg(unix)]
mod imp {
    use std::fs::File;
    use std::io;

    use rustix::fs::{flock, FlockOperation};

    use super::Mode;

    pub fn lock(file: &File, mode: Mode, wait: bool) -> io::Result<()> {
        let operation = match (mode, wait) {
            (Mode::Shared, true) => FlockOperation::LockShared,
            (Mode::Exclusive, true) => FlockOperation::LockExclusive,
            (Mode::Shared, false) => FlockOperation::NonBlockingLockShared,
            (Mode::Exclusive, false) => FlockOperation::NonBlockingLockExclusive,
        };
        loop {
            match flock(file, operation) {
                Err(rustix::io::Errno::INTR) => {}
                other => return other.map_err(io::Error::from),
            }
        }
    }
}

#[cfg(not(unix))]
mod imp {
    use std::fs::File;
    use std::io;

    use super::Mode;

    pub fn lock(_file: &File, _mode: Mode, _wait: bool) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn an_exclusive_lock_excludes_others_until_dropped() {
        let dir = std::env::temp_dir().join(format!("iorelay-lock-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("x.lock");
        let held = FileLock::acquire(&path, Mode::Exclusive).unwrap();
        assert!(FileLock::try_acquire(&path, Mode::Exclusive)
            .unwrap()
            .is_none());
        assert!(FileLock::try_acquire(&path, Mode::Shared)
            .unwrap()
            .is_none());
        drop(held);
        let shared = FileLock::try_acquire(&path, Mode::Shared).unwrap();
        assert!(shared.is_some());
        assert!(FileLock::try_acquire(&path, Mode::Shared)
            .unwrap()
            .is_some());
        assert!(FileLock::try_acquire(&path, Mode::Exclusive)
            .unwrap()
            .is_none());
        drop(shared);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
