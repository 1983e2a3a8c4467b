//! The persistent event history: what the relay accepted survives a restart (docs/store.md).
//!
//! Why it lives here: it does IO (a file, a thread) and both binaries need it (DESIGN §1).
//!
//! The relay hands every accepted event to [`Store::append`], which only queues it; a writer
//! thread commits the queue to a SQLite file in batches, at most
//! [`StoreConfig::commit_window`] after the oldest queued event arrived, or at once when
//! [`BATCH_MAX`] are queued. So:
//!
//! - graceful shutdown ([`Store::close`]): everything appended is committed before it returns
//!   (bounded by [`StoreConfig::close_timeout`] if the disk is failing);
//! - `kill -9` or a power cut: what was appended within the last commit window (plus the
//!   duration of one commit) may be missing; the file is never torn (SQLite transactions), and
//!   what survives is always a prefix of what was appended.
//!
//! At [`open`] the store prunes by retention and hands back the newest events and the last
//! offset, so the relay can rebuild its in-memory history and dedup window and keep offsets
//! increasing.
//!
//! Failures never panic and never block the caller: a failing commit is reported through
//! [`Store::status`] and the `on_commit` callback, logged, and retried with backoff; the queue
//! is bounded by [`StoreConfig::max_pending_bytes`], beyond which the oldest queued events are
//! dropped and counted.

mod lock;
mod sqlite;
mod writer;

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use iorelay_core::cluster::outbox::{KeptEntry, OutboxChange};
use iorelay_core::relay::event::StoredEvent;

use self::lock::{DirLock, LockError};
use self::sqlite::History;
use self::writer::{Policy, Sink, Writer};

/// The history file's name inside the data directory (SQLite adds `-wal` and `-shm` beside it).
pub const FILE_NAME: &str = "history.sqlite3";

/// A batch this large is committed without waiting for the rest of the window: it bounds one
/// transaction's size and the writer's copy of it.
pub const BATCH_MAX: usize = 1000;

/// Where the history lives and how it is kept.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// The data directory; created with its parents if missing.
    pub dir: PathBuf,
    /// How long an appended event may wait before its commit starts: what `kill -9` may lose.
    pub commit_window: Duration,
    /// Keep at most this many events (pruned at open and every [`Self::prune_every`]).
    pub retention_count: usize,
    /// Keep events for at most this long after they were received.
    pub retention_age: Duration,
    /// How many of the newest events [`open`] loads.
    pub load_limit: usize,
    /// The queue's bound: beyond it the oldest queued events are dropped (only when the disk
    /// fails or cannot keep up for a long time).
    pub max_pending_bytes: usize,
    /// How often retention runs while the server is up.
    pub prune_every: Duration,
    /// How long [`Store::close`] keeps retrying a failing disk before giving up.
    pub close_timeout: Duration,
}

impl StoreConfig {
    /// The defaults for `dir`: a 100 ms window, 100 000 events, 7 days, load 100 000,
    /// 64 MiB queued, prune every minute, 5 s to close.
    #[must_use]
    pub fn new(dir: PathBuf) -> Self {
        Self {
            dir,
            commit_window: Duration::from_millis(100),
            retention_count: 100_000,
            retention_age: Duration::from_secs(7 * 24 * 3600),
            load_limit: 100_000,
            max_pending_bytes: 64 << 20,
            prune_every: Duration::from_secs(60),
            close_timeout: Duration::from_secs(5),
        }
    }

    /// The history file's path.
    #[must_use]
    pub fn file(&self) -> PathBuf {
        self.dir.join(FILE_NAME)
    }
}

/// The platform's per-user data directory for iorelay, the default `--data-dir`:
/// `$XDG_DATA_HOME/iorelay` or `~/.local/share/iorelay` on Linux and other Unixes,
/// `~/Library/Application Support/iorelay` on macOS, `%LOCALAPPDATA%\iorelay` on Windows.
/// `None` when the environment names no home.
#[must_use]
pub fn default_data_dir() -> Option<PathBuf> {
    let var = |name: &str| {
        std::env::var_os(name)
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
    };
    let base = if cfg!(windows) {
        var("LOCALAPPDATA").or_else(|| var("APPDATA"))
    } else if cfg!(target_os = "macos") {
        var("HOME").map(|h| h.join("Library").join("Application Support"))
    } else {
        var("XDG_DATA_HOME").or_else(|| var("HOME").map(|h| h.join(".local").join("share")))
    };
    base.map(|b| b.join("iorelay"))
}

/// What one commit attempt did, for the `on_commit` callback (metrics, logs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitReport {
    /// Events in the batch.
    pub events: usize,
    /// How long the commit took.
    pub latency: Duration,
    /// Why it failed; the batch stays queued and is retried.
    pub error: Option<String>,
}

/// The store's health, for `/health`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreStatus {
    /// The history file.
    pub path: PathBuf,
    /// The last commit's error, if it failed (cleared by the next success), or why the writer
    /// stopped.
    pub error: Option<String>,
    /// Events appended but not yet committed.
    pub pending: usize,
    /// Events committed since open.
    pub committed: u64,
    /// Events dropped from the queue because it was over its byte bound.
    pub dropped: u64,
}

impl StoreStatus {
    /// Whether the last commit succeeded and the writer runs.
    #[must_use]
    pub fn ok(&self) -> bool {
        self.error.is_none()
    }
}

/// Why [`open`] failed; the text says what to do.
#[derive(Debug)]
pub enum StoreError {
    /// The data directory could not be created.
    Dir { dir: PathBuf, error: std::io::Error },
    /// Another process has this data directory open.
    Locked { lock: PathBuf },
    /// The lock file could not be created or locked.
    Lock {
        lock: PathBuf,
        error: std::io::Error,
    },
    /// The history file could not be opened, read or pruned.
    File { path: PathBuf, message: String },
    /// The writer thread could not be started.
    Thread(std::io::Error),
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Dir { dir, error } => write!(
                f,
                "cannot create the data directory {}: {error} (pass --data-dir with a writable \
                 directory)",
                dir.display()
            ),
            Self::Locked { lock } => write!(
                f,
                "the data directory is in use: {} is locked by another process (is another \
                 iorelay running with the same --data-dir?)",
                lock.display()
            ),
            Self::Lock { lock, error } => {
                write!(f, "cannot lock {}: {error}", lock.display())
            }
            Self::File { path, message } => write!(
                f,
                "cannot open the history file {}: {message} (if it is damaged, move it away \
                 and iorelay starts with an empty history)",
                path.display()
            ),
            Self::Thread(error) => write!(f, "cannot start the history writer thread: {error}"),
        }
    }
}

impl std::error::Error for StoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Dir { error, .. } | Self::Lock { error, .. } | Self::Thread(error) => Some(error),
            Self::Locked { .. } | Self::File { .. } => None,
        }
    }
}

/// What [`open`] found, and the store to append to.
pub struct Opened {
    /// The newest [`StoreConfig::load_limit`] events within the retention age, ascending
    /// offset.
    pub events: Vec<StoredEvent>,
    /// The highest offset ever committed (kept even when retention removed that event); the
    /// relay's next offset must be above it.
    pub last_offset: Option<u64>,
    /// Cluster mode: the entries a previous run still had to append, oldest first.
    pub outbox: Vec<KeptEntry>,
    /// The open store.
    pub store: Store,
}

/// An open history: a writer thread and the directory lock.
pub struct Store {
    // Declared before the lock: dropping flushes the writer, then releases the directory.
    writer: Writer,
    path: PathBuf,
    _lock: DirLock,
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Opens (creating if needed) the history in `config.dir`, applies retention, loads the newest
/// events, and starts the writer thread. `on_commit` runs on the writer thread after every
/// commit attempt; keep it short.
///
/// # Errors
/// The directory cannot be created, another process has it open, or the file is not a
/// readable history; [`StoreError`]'s text says which and what to do.
pub fn open(
    config: StoreConfig,
    on_commit: Box<dyn Fn(CommitReport) + Send>,
) -> Result<Opened, StoreError> {
    std::fs::create_dir_all(&config.dir).map_err(|error| StoreError::Dir {
        dir: config.dir.clone(),
        error,
    })?;
    let lock = DirLock::acquire(&config.dir).map_err(|e| match e {
        LockError::Held(lock) => StoreError::Locked { lock },
        LockError::Io(lock, error) => StoreError::Lock { lock, error },
    })?;
    let path = config.file();
    let file_error = |message: String| StoreError::File {
        path: path.clone(),
        message,
    };
    let mut history = History::open(&path).map_err(file_error)?;
    let cutoff = unix_ms()
        .saturating_sub(u64::try_from(config.retention_age.as_millis()).unwrap_or(u64::MAX));
    history
        .prune(config.retention_count, cutoff)
        .map_err(file_error)?;
    let (events, last_offset) = history
        .load(config.load_limit, cutoff)
        .map_err(file_error)?;
    let outbox = history.load_outbox().map_err(file_error)?;
    let policy = Policy {
        commit_window: config.commit_window,
        batch_max: BATCH_MAX,
        max_pending_bytes: config.max_pending_bytes,
        retention_count: config.retention_count,
        retention_age: config.retention_age,
        prune_every: config.prune_every,
        close_timeout: config.close_timeout,
    };
    let writer = Writer::spawn(history, policy, on_commit).map_err(StoreError::Thread)?;
    Ok(Opened {
        events,
        last_offset,
        outbox,
        store: Store {
            writer,
            path,
            _lock: lock,
        },
    })
}

impl Store {
    /// Queues an accepted event for the next commit (offsets must increase from one call to
    /// the next). Never waits for the disk: it takes a lock for a push. If more than
    /// [`StoreConfig::max_pending_bytes`] are queued — the disk has failed, or is slower than
    /// ingest for a long time — the oldest queued events are dropped and counted in
    /// [`StoreStatus::dropped`].
    pub fn append(&self, event: StoredEvent) {
        self.writer.append(event);
    }

    /// Queues a change to the cluster outbox; it is committed at once (not after the commit
    /// window) with whatever events are queued, in one transaction.
    pub fn change_outbox(&self, change: OutboxChange) {
        self.writer.change_outbox(change);
    }

    /// The store's health and counters.
    #[must_use]
    pub fn status(&self) -> StoreStatus {
        let c = self.writer.counters();
        let error = if c.running {
            c.last_error
        } else {
            Some(c.last_error.map_or_else(
                || "the history writer stopped".to_owned(),
                |e| format!("the history writer stopped: {e}"),
            ))
        };
        StoreStatus {
            path: self.path.clone(),
            error,
            pending: c.pending,
            committed: c.committed,
            dropped: c.dropped,
        }
    }

    /// The history file.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Commits everything appended, stops the writer and releases the directory (graceful
    /// shutdown). If the disk keeps failing it gives up after the close timeout and logs how
    /// many events were not written. Dropping a `Store` does the same.
    pub fn close(mut self) {
        self.writer.close();
    }
}

#[cfg(test)]
#[path = "tests.rs"]
pub(crate) mod tests;
