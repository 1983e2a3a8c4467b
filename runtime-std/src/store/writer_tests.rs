use super::*;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A sink in memory that fails while `fail` is above zero (counting down).
#[derive(Clone, Default)]
struct Fake {
    written: Arc<Mutex<Vec<StoredEvent>>>,
    outbox: Arc<Mutex<Vec<OutboxChange>>>,
    commits: Arc<AtomicUsize>,
    fail: Arc<AtomicUsize>,
    prunes: Arc<AtomicUsize>,
    /// How long each commit takes.
    slow: Duration,
}

impl Sink for Fake {
    fn commit(&mut self, batch: &[StoredEvent], outbox: &[OutboxChange]) -> Result<(), String> {
        std::thread::sleep(self.slow);
        let left = self.fail.load(Ordering::SeqCst);
        if left > 0 {
            if left != usize::MAX {
                self.fail.store(left - 1, Ordering::SeqCst);
            }
            return Err("disk full".into());
        }
        self.commits.fetch_add(1, Ordering::SeqCst);
        self.written.lock().unwrap().extend_from_slice(batch);
        self.outbox.lock().unwrap().extend_from_slice(outbox);
        Ok(())
    }
    fn prune(&mut self, _keep: usize, _cutoff_ms: u64) -> Result<usize, String> {
        self.prunes.fetch_add(1, Ordering::SeqCst);
        Ok(0)
    }
}

fn policy() -> Policy {
    Policy {
        commit_window: Duration::from_millis(50),
        batch_max: 1000,
        max_pending_bytes: 64 << 20,
        retention_count: 100,
        retention_age: Duration::from_secs(3600),
        prune_every: Duration::from_secs(3600),
        close_timeout: Duration::from_secs(2),
    }
}

fn event(offset: u64) -> StoredEvent {
    StoredEvent {
        offset,
        id: format!("e{offset:06}"),
        received_at_ms: 1_000 + offset,
        json: bytes::Bytes::from(vec![b'x'; 100]),
    }
}

fn offsets(events: &[StoredEvent]) -> Vec<u64> {
    events.iter().map(|e| e.offset).collect()
}

fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let end = Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn one_commit_per_window_not_per_append() {
    let fake = Fake::default();
    let mut writer = Writer::spawn(fake.clone(), policy(), Box::new(|_| {})).unwrap();
    for offset in 1..=10 {
        writer.append(event(offset));
    }
    wait_until("the window's commit", || writer.counters().committed == 10);
    assert_eq!(fake.commits.load(Ordering::SeqCst), 1);
    writer.close();
    assert_eq!(
        offsets(&fake.written.lock().unwrap()),
        (1..=10).collect::<Vec<_>>()
    );
}

#[test]
fn a_full_batch_commits_before_the_window() {
    let fake = Fake::default();
    let mut p = policy();
    p.commit_window = Duration::from_secs(3600);
    p.batch_max = 5;
    let mut writer = Writer::spawn(fake.clone(), p, Box::new(|_| {})).unwrap();
    for offset in 1..=5 {
        writer.append(event(offset));
    }
    wait_until("the full batch", || writer.counters().committed == 5);
    writer.append(event(6));
    writer.close();
    assert_eq!(
        offsets(&fake.written.lock().unwrap()),
        (1..=6).collect::<Vec<_>>()
    );
}

#[test]
fn an_outbox_change_commits_at_once_with_the_events_queued_before_it() {
    let fake = Fake::default();
    let mut p = policy();
    p.commit_window = Duration::from_secs(3600);
    let mut writer = Writer::spawn(fake.clone(), p, Box::new(|_| {})).unwrap();
    writer.append(event(1));
    writer.change_outbox(OutboxChange::Forget(vec!["x".to_owned()]));
    wait_until("the outbox change's commit", || {
        !fake.outbox.lock().unwrap().is_empty()
    });
    assert_eq!(offsets(&fake.written.lock().unwrap()), [1]);
    assert_eq!(fake.commits.load(Ordering::SeqCst), 1, "one transaction");
    writer.close();
}

#[test]
fn failed_commits_are_retried_in_order_and_reported() {
    let fake = Fake::default();
    fake.fail.store(2, Ordering::SeqCst);
    let reports = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&reports);
    let mut writer = Writer::spawn(
        fake.clone(),
        policy(),
        Box::new(move |r: CommitReport| seen.lock().unwrap().push(r.error)),
    )
    .unwrap();
    writer.append(event(1));
    writer.append(event(2));
    wait_until("the first failure", || {
        writer.counters().last_error.is_some()
    });
    assert_eq!(writer.counters().last_error.as_deref(), Some("disk full"));
    assert_eq!(writer.counters().pending, 2);
    writer.append(event(3));
    wait_until("recovery", || writer.counters().committed == 3);
    assert_eq!(writer.counters().last_error, None);
    writer.close();
    assert_eq!(offsets(&fake.written.lock().unwrap()), vec![1, 2, 3]);
    let reports = reports.lock().unwrap();
    assert_eq!(reports[0].as_deref(), Some("disk full"));
    assert_eq!(reports[1].as_deref(), Some("disk full"));
    assert_eq!(reports.last().unwrap(), &None);
}

#[test]
fn a_dead_disk_bounds_memory_by_dropping_the_oldest_and_close_is_bounded() {
    let fake = Fake::default();
    fake.fail.store(usize::MAX, Ordering::SeqCst);
    let mut p = policy();
    p.max_pending_bytes = 10 * cost(&event(1));
    p.close_timeout = Duration::from_millis(300);
    let mut writer = Writer::spawn(fake.clone(), p, Box::new(|_| {})).unwrap();
    for offset in 1..=100 {
        writer.append(event(offset));
        assert!(writer.counters().pending_bytes <= 10 * cost(&event(1)));
    }
    let c = writer.counters();
    assert_eq!(c.pending, 10);
    assert_eq!(c.dropped, 90);
    let started = Instant::now();
    writer.close();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "close is bounded"
    );
    assert!(fake.written.lock().unwrap().is_empty());
}

#[test]
fn close_flushes_without_waiting_for_the_window() {
    let fake = Fake::default();
    let mut p = policy();
    p.commit_window = Duration::from_secs(3600);
    let mut writer = Writer::spawn(fake.clone(), p, Box::new(|_| {})).unwrap();
    for offset in 1..=2500 {
        writer.append(event(offset));
    }
    let started = Instant::now();
    writer.close();
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(fake.written.lock().unwrap().len(), 2500);
}

#[test]
fn prunes_periodically_even_when_idle() {
    let fake = Fake::default();
    let mut p = policy();
    p.prune_every = Duration::from_millis(20);
    let mut writer = Writer::spawn(fake.clone(), p, Box::new(|_| {})).unwrap();
    wait_until("two prunes", || fake.prunes.load(Ordering::SeqCst) >= 2);
    writer.close();
}

#[test]
fn prunes_under_steady_load_when_the_queue_is_never_empty() {
    let fake = Fake {
        slow: Duration::from_millis(5),
        ..Fake::default()
    };
    let mut p = policy();
    p.prune_every = Duration::from_millis(20);
    p.commit_window = Duration::from_millis(1);
    let mut writer = Writer::spawn(fake.clone(), p, Box::new(|_| {})).unwrap();
    let mut offset = 0;
    let started = Instant::now();
    while fake.prunes.load(Ordering::SeqCst) < 2 {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no prune under load"
        );
        offset += 1;
        writer.append(event(offset));
        std::thread::sleep(Duration::from_millis(1));
    }
    writer.close();
    assert_eq!(fake.written.lock().unwrap().len(), offset as usize);
}
