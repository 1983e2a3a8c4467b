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
pub(crate) mod tests {
    use super::*;
    use bytes::Bytes;
    use std::io::BufRead;
    use std::process::{Command, Stdio};
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::Instant;

    /// A directory under the system temp dir, removed on drop.
    pub(crate) struct TempDir(PathBuf);

    impl TempDir {
        pub(crate) fn new(name: &str) -> Self {
            static NEXT: AtomicU64 = AtomicU64::new(0);
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            let path = std::env::temp_dir()
                .join(format!("iorelay-store-{name}-{}-{n}", std::process::id()));
            let _ = std::fs::remove_dir_all(&path);
            std::fs::create_dir_all(&path).unwrap();
            Self(path)
        }

        pub(crate) fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn event(offset: u64, received_at_ms: u64) -> StoredEvent {
        StoredEvent {
            offset,
            id: format!("evt-{offset:08}"),
            received_at_ms,
            json: Bytes::from(format!(
                r#"{{"id":"evt-{offset:08}","offset":"{offset}","data":"{}"}}"#,
                "x".repeat(500)
            )),
        }
    }

    fn offsets(events: &[StoredEvent]) -> Vec<u64> {
        events.iter().map(|e| e.offset).collect()
    }

    fn quiet() -> Box<dyn Fn(CommitReport) + Send> {
        Box::new(|_| {})
    }

    fn config(dir: &Path) -> StoreConfig {
        StoreConfig::new(dir.join("data"))
    }

    #[test]
    fn append_close_reopen_returns_everything_in_order() {
        let dir = TempDir::new("reopen");
        let now = unix_ms();
        let opened = open(config(dir.path()), quiet()).unwrap();
        assert!(opened.events.is_empty());
        assert_eq!(opened.last_offset, None);
        assert!(opened.store.path().ends_with(FILE_NAME));
        let appended: Vec<_> = (1..=2500).map(|o| event(o, now)).collect();
        for e in &appended {
            opened.store.append(e.clone());
        }
        opened.store.close();

        let opened = open(config(dir.path()), quiet()).unwrap();
        assert_eq!(opened.events, appended);
        assert_eq!(opened.last_offset, Some(2500));
        let status = opened.store.status();
        assert!(status.ok(), "{status:?}");
        assert_eq!((status.pending, status.committed), (0, 0));
        opened.store.append(event(2501, now));
        opened.store.close();
        let opened = open(config(dir.path()), quiet()).unwrap();
        assert_eq!(opened.last_offset, Some(2501));
        assert_eq!(opened.events.len(), 2501);
    }

    #[test]
    fn commits_are_reported_and_counted() {
        let dir = TempDir::new("report");
        let reports = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = std::sync::Arc::clone(&reports);
        let opened = open(
            config(dir.path()),
            Box::new(move |r| seen.lock().unwrap().push(r)),
        )
        .unwrap();
        for o in 1..=3 {
            opened.store.append(event(o, unix_ms()));
        }
        let end = Instant::now() + Duration::from_secs(10);
        while opened.store.status().committed < 3 {
            assert!(Instant::now() < end, "no commit within 10 s");
            std::thread::sleep(Duration::from_millis(10));
        }
        let status = opened.store.status();
        assert_eq!((status.pending, status.dropped, status.error), (0, 0, None));
        opened.store.close();
        let reports = reports.lock().unwrap();
        assert_eq!(reports.iter().map(|r| r.events).sum::<usize>(), 3);
        assert!(reports.iter().all(|r| r.error.is_none()));
    }

    #[test]
    fn load_limit_returns_only_the_newest() {
        let dir = TempDir::new("limit");
        let now = unix_ms();
        let opened = open(config(dir.path()), quiet()).unwrap();
        for o in 1..=50 {
            opened.store.append(event(o, now));
        }
        opened.store.close();
        let mut c = config(dir.path());
        c.load_limit = 7;
        let opened = open(c, quiet()).unwrap();
        assert_eq!(offsets(&opened.events), (44..=50).collect::<Vec<_>>());
        assert_eq!(opened.last_offset, Some(50));
    }

    #[test]
    fn retention_by_count_and_by_age() {
        let dir = TempDir::new("retention");
        let now = unix_ms();
        let day = 24 * 3600 * 1000;
        let opened = open(config(dir.path()), quiet()).unwrap();
        // 1..=10 are 8 days old, 11..=30 one day old, 31..=40 new.
        for o in 1..=40 {
            let age = match o {
                1..=10 => 8 * day,
                11..=30 => day,
                _ => 0,
            };
            opened.store.append(event(o, now - age));
        }
        opened.store.close();

        let opened = open(config(dir.path()), quiet()).unwrap();
        assert_eq!(
            offsets(&opened.events),
            (11..=40).collect::<Vec<_>>(),
            "7 days"
        );
        opened.store.close();

        let mut c = config(dir.path());
        c.retention_count = 25;
        let opened = open(c, quiet()).unwrap();
        assert_eq!(offsets(&opened.events), (16..=40).collect::<Vec<_>>());
        opened.store.close();

        let mut c = config(dir.path());
        c.retention_age = Duration::from_secs(3600);
        let opened = open(c, quiet()).unwrap();
        assert_eq!(offsets(&opened.events), (31..=40).collect::<Vec<_>>());
        opened.store.close();

        let mut c = config(dir.path());
        c.retention_age = Duration::ZERO;
        open(c, quiet()).unwrap().store.close();
        let opened = open(config(dir.path()), quiet()).unwrap();
        assert!(opened.events.is_empty());
        assert_eq!(opened.last_offset, Some(40), "the offset survives expiry");
    }

    #[test]
    fn retention_runs_while_open() {
        let dir = TempDir::new("periodic");
        let mut c = config(dir.path());
        c.retention_count = 5;
        c.prune_every = Duration::from_millis(30);
        c.commit_window = Duration::from_millis(5);
        let opened = open(c, quiet()).unwrap();
        for o in 1..=20 {
            opened.store.append(event(o, unix_ms()));
        }
        // Read the file next to the running store (WAL allows it) to see the prune happen.
        let conn = rusqlite::Connection::open(opened.store.path()).unwrap();
        let count = || -> i64 {
            conn.query_row("SELECT COUNT(*) FROM events", [], |r| r.get(0))
                .unwrap()
        };
        let end = Instant::now() + Duration::from_secs(10);
        while opened.store.status().committed < 20 || count() != 5 {
            assert!(
                Instant::now() < end,
                "no prune to 5 within 10 s: {}",
                count()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        opened.store.close();
    }

    #[test]
    fn a_second_open_of_the_same_dir_is_a_clear_error() {
        let dir = TempDir::new("locked");
        let first = open(config(dir.path()), quiet()).unwrap();
        let err = open(config(dir.path()), quiet()).err().unwrap();
        assert!(matches!(err, StoreError::Locked { .. }), "{err:?}");
        assert!(err.to_string().contains("another iorelay"), "{err}");
        first.store.close();
        open(config(dir.path()), quiet()).unwrap().store.close();
    }

    #[test]
    fn an_unusable_dir_is_a_clear_error() {
        let dir = TempDir::new("baddir");
        let file = dir.path().join("a-file");
        std::fs::write(&file, b"not a directory").unwrap();
        let err = open(StoreConfig::new(file.join("data")), quiet())
            .err()
            .unwrap();
        assert!(matches!(err, StoreError::Dir { .. }), "{err:?}");
        let text = err.to_string();
        assert!(text.contains("cannot create the data directory"), "{text}");
        assert!(text.contains("a-file"), "{text}");
    }

    #[test]
    fn a_corrupt_file_is_a_clear_error() {
        let dir = TempDir::new("corrupt");
        let c = config(dir.path());
        std::fs::create_dir_all(&c.dir).unwrap();
        std::fs::write(c.file(), "this is not a database\n".repeat(500)).unwrap();
        let err = open(c, quiet()).err().unwrap();
        assert!(matches!(err, StoreError::File { .. }), "{err:?}");
        let text = err.to_string();
        assert!(text.contains(FILE_NAME), "{text}");
        assert!(text.contains("not a database"), "{text}");
        assert!(text.contains("move it away"), "{text}");
    }

    #[test]
    fn a_flood_stays_bounded_and_completes() {
        let dir = TempDir::new("flood");
        let mut c = config(dir.path());
        c.max_pending_bytes = 8 << 20;
        let bound = c.max_pending_bytes;
        let opened = open(c, quiet()).unwrap();
        let now = unix_ms();
        let mut max_pending = 0;
        for o in 1..=100_000 {
            opened.store.append(event(o, now));
            if o % 1000 == 0 {
                max_pending = max_pending.max(opened.store.writer.counters().pending_bytes);
            }
        }
        assert!(max_pending <= bound, "{max_pending} > {bound}");
        let dropped = opened.store.status().dropped;
        opened.store.close();
        let opened = open(config(dir.path()), quiet()).unwrap();
        assert_eq!(opened.last_offset, Some(100_000));
        let kept = u64::try_from(opened.events.len()).unwrap();
        assert_eq!(kept + dropped, 100_000, "every event is stored or counted");
        assert!(
            opened.events.windows(2).all(|w| w[0].offset < w[1].offset),
            "ascending"
        );
    }

    /// Set in the child process of `kill_9_loses_at_most_the_commit_window`.
    const CHILD_ENV: &str = "IORELAY_STORE_TEST_ABORT_DIR";

    /// The child's half of `kill_9_loses_at_most_the_commit_window`: a no-op unless
    /// [`CHILD_ENV`] is set. Appends an event every 2 ms, prints the newest offset appended
    /// more than a commit window (plus scheduling slack) ago, and aborts mid-stream.
    #[test]
    fn abort_child() {
        let Some(dir) = std::env::var_os(CHILD_ENV) else {
            return;
        };
        let mut c = StoreConfig::new(PathBuf::from(dir));
        c.commit_window = Duration::from_millis(100);
        let slack = Duration::from_millis(150);
        let opened = open(c.clone(), quiet()).unwrap();
        let started = Instant::now();
        let mut appended = Vec::new();
        let mut offset = 0;
        while started.elapsed() < Duration::from_millis(800) {
            offset += 1;
            opened.store.append(event(offset, unix_ms()));
            appended.push((offset, Instant::now()));
            std::thread::sleep(Duration::from_millis(2));
        }
        let before = Instant::now() - c.commit_window - slack;
        let must = appended
            .iter()
            .filter(|(_, at)| *at <= before)
            .map(|(o, _)| *o)
            .max()
            .unwrap_or(0);
        println!("\nMUST_HAVE {must} APPENDED {offset}");
        std::io::Write::flush(&mut std::io::stdout()).unwrap();
        std::process::abort();
    }

    #[test]
    fn kill_9_loses_at_most_the_commit_window() {
        let dir = TempDir::new("abort");
        let data = dir.path().join("data");
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["store::tests::abort_child", "--exact", "--nocapture"])
            .arg("--test-threads=1")
            .env(CHILD_ENV, &data)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // libtest prints the test's name on the same line, before what the child prints.
        let stdout = child.stdout.take().unwrap();
        let line = std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .find_map(|l| l.find("MUST_HAVE").map(|at| l[at..].to_owned()))
            .expect("the child reports what it appended");
        let status = child.wait().unwrap();
        assert!(!status.success(), "the child aborts");
        let words: Vec<&str> = line.split_whitespace().collect();
        let must: u64 = words[1].parse().unwrap();
        let appended: u64 = words[3].parse().unwrap();
        assert!(must > 100, "the child appended for long enough: {line}");

        let opened = open(StoreConfig::new(data), quiet()).unwrap();
        let got = offsets(&opened.events);
        let last = opened.last_offset.unwrap();
        assert!(
            last >= must,
            "lost {} events past the window ({line})",
            must - last
        );
        assert!(last <= appended);
        assert_eq!(got, (1..=last).collect::<Vec<_>>(), "a gapless prefix");
        opened.store.close();
    }
}
