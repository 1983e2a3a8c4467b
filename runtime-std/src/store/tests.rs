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
        let path =
            std::env::temp_dir().join(format!("iorelay-store-{name}-{}-{n}", std::process::id()));
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
