use std::time::{Duration, Instant};

use super::*;

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("iorelay-spool-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn event(n: usize) -> Vec<u8> {
    format!(r#"{{"id":"e{n}","n":{n}}}"#).into_bytes()
}

fn later() -> Instant {
    Instant::now() + Duration::from_secs(10)
}

/// Parses a drain body and returns the ids in it.
fn ids(body: &[u8]) -> Vec<String> {
    let events: Vec<serde_json::Value> = serde_json::from_slice(body).unwrap();
    events
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn appended_events_are_drained_in_order_as_one_array() {
    let dir = temp_dir("order");
    let spool = Spool::new(&dir);
    assert!(!spool.pending());
    for n in 0..3 {
        spool.append(&event(n)).unwrap();
    }
    assert!(spool.pending());
    let mut bodies = Vec::new();
    let report = spool
        .drain(later(), Duration::ZERO, |body, _| {
            bodies.push(ids(body));
            SendOutcome::Accepted
        })
        .unwrap();
    assert_eq!(bodies, vec![vec!["e0", "e1", "e2"]]);
    assert_eq!(report.sent, 3);
    assert_eq!(report.end, DrainEnd::Empty);
    assert!(!spool.pending());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_failed_batch_stays_and_the_next_drain_resumes_after_what_was_accepted() {
    let dir = temp_dir("resume");
    let spool = Spool::new(&dir);
    for n in 0..(MAX_BATCH_EVENTS + 5) {
        spool.append(&event(n)).unwrap();
    }
    let mut calls = 0;
    let report = spool
        .drain(later(), Duration::ZERO, |_, _| {
            calls += 1;
            if calls == 1 {
                SendOutcome::Accepted
            } else {
                SendOutcome::Failed("down".into())
            }
        })
        .unwrap();
    assert_eq!(report.sent, MAX_BATCH_EVENTS);
    assert_eq!(report.end, DrainEnd::Failed("down".into()));
    // Appended while a claimed file is half-drained: delivered after it.
    spool.append(&event(999)).unwrap();
    let mut seen = Vec::new();
    spool
        .drain(later(), Duration::ZERO, |body, _| {
            seen.extend(ids(body));
            SendOutcome::Accepted
        })
        .unwrap();
    let expected: Vec<String> = (MAX_BATCH_EVENTS..MAX_BATCH_EVENTS + 5)
        .chain([999])
        .map(|n| format!("e{n}"))
        .collect();
    assert_eq!(seen, expected);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_drain_with_no_time_left_sends_nothing_and_keeps_everything() {
    let dir = temp_dir("deadline");
    let spool = Spool::new(&dir);
    spool.append(&event(1)).unwrap();
    let report = spool
        .drain(Instant::now(), Duration::from_millis(50), |_, _| {
            panic!("must not send")
        })
        .unwrap();
    assert_eq!(report.end, DrainEnd::OutOfTime);
    assert!(spool.pending());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn only_one_drainer_at_a_time() {
    let dir = temp_dir("busy");
    let spool = Spool::new(&dir);
    spool.append(&event(1)).unwrap();
    let _held = FileLock::acquire(&dir.join("drain.lock"), Mode::Exclusive).unwrap();
    let report = spool
        .drain(later(), Duration::ZERO, |_, _| panic!("must not send"))
        .unwrap();
    assert_eq!(report.end, DrainEnd::Busy);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_rejected_event_is_set_aside_and_the_others_still_go() {
    let dir = temp_dir("poison");
    let spool = Spool::new(&dir);
    for n in 0..4 {
        spool.append(&event(n)).unwrap();
    }
    let mut delivered = Vec::new();
    let report = spool
        .drain(later(), Duration::ZERO, |body, _| {
            let batch = ids(body);
            if batch.contains(&"e2".to_owned()) {
                SendOutcome::Rejected("400".into())
            } else {
                delivered.extend(batch);
                SendOutcome::Accepted
            }
        })
        .unwrap();
    assert_eq!(delivered, vec!["e0", "e1", "e3"]);
    assert_eq!((report.sent, report.rejected), (3, 1));
    assert_eq!(
        std::fs::read_to_string(dir.join("rejected.jsonl")).unwrap(),
        "{\"id\":\"e2\",\"n\":2}\n"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_torn_line_is_set_aside_not_sent() {
    let dir = temp_dir("torn");
    let spool = Spool::new(&dir);
    spool.append(&event(1)).unwrap();
    std::fs::OpenOptions::new()
        .append(true)
        .open(dir.join("spool.jsonl"))
        .unwrap()
        .write_all(b"{\"id\":\"half")
        .unwrap();
    let mut delivered = Vec::new();
    let report = spool
        .drain(later(), Duration::ZERO, |body, _| {
            delivered.extend(ids(body));
            SendOutcome::Accepted
        })
        .unwrap();
    assert_eq!(delivered, vec!["e1"]);
    assert_eq!(report.rejected, 1);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn serve_takes_everything_and_commit_forgets_it() {
    let dir = temp_dir("take");
    let spool = Spool::new(&dir);
    for n in 0..3 {
        spool.append(&event(n)).unwrap();
    }
    // Not committed (the server died before ingesting): still there next time.
    let taken = spool.take().unwrap().unwrap();
    assert_eq!(taken.events.len(), 3);
    drop(taken);
    let mut ingested = Vec::new();
    let total = drain_into(&dir, |events| {
        ingested.extend(events.iter().cloned());
        Ok::<(), ()>(())
    })
    .unwrap();
    assert_eq!(total, 3);
    assert_eq!(ingested, (0..3).map(event).collect::<Vec<_>>());
    assert!(!spool.pending());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn concurrent_appends_and_a_drain_lose_nothing_and_duplicate_nothing() {
    let dir = temp_dir("race");
    let writers: Vec<_> = (0..8)
        .map(|w| {
            let dir = dir.clone();
            std::thread::spawn(move || {
                let spool = Spool::new(&dir);
                for n in 0..100 {
                    spool.append(&event(w * 1000 + n)).unwrap();
                }
            })
        })
        .collect();
    let mut seen = Vec::new();
    let spool = Spool::new(&dir);
    while writers.iter().any(|w| !w.is_finished()) {
        spool
            .drain(later(), Duration::ZERO, |body, _| {
                seen.extend(ids(body));
                SendOutcome::Accepted
            })
            .unwrap();
    }
    for writer in writers {
        writer.join().unwrap();
    }
    spool
        .drain(later(), Duration::ZERO, |body, _| {
            seen.extend(ids(body));
            SendOutcome::Accepted
        })
        .unwrap();
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), seen.len(), "duplicates");
    assert_eq!(seen.len(), 800);
    std::fs::remove_dir_all(&dir).unwrap();
}
