//! The hook side end to end with the real binaries: `iorelay emit` processes, a real
//! `iorelay serve` (which closes the hooks' breaker and drains their spool at start), and
//! `GET /api/history` as the dashboard's view.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use iorelay_tests::process::RuntimeUnderTest;

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("iorelay-hook-side-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Runs `<runtime> emit` like Claude Code does and checks it was silent and successful.
fn emit(runtime: &RuntimeUnderTest, state: &Path, port: u16, event: &str) -> Duration {
    // The event is in a file before the process starts, as a hook's stdin is written at
    // once: a pipe written after `spawn` returned depends on this thread being scheduled
    // within emit's stdin wait, which 100 concurrent emits on 2 busy cores do not promise.
    let stdin = tempfile_with(event);
    let started = Instant::now();
    let output = Command::new(runtime.binary())
        .arg("emit")
        .env("IORELAY_STATE_DIR", state)
        .env("IORELAY_PORT", port.to_string())
        .env_remove("IORELAY_HOST")
        .env_remove("IORELAY_TOKEN")
        .stdin(Stdio::from(std::fs::File::open(&stdin).unwrap()))
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&stdin);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    assert!(output.stdout.is_empty(), "{output:?}");
    started.elapsed()
}

/// A new file holding `text`, for a child's stdin.
fn tempfile_with(text: &str) -> std::path::PathBuf {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = std::env::temp_dir().join(format!("iorelay-hook-stdin-{}-{n}", std::process::id()));
    std::fs::write(&path, text).unwrap();
    path
}

fn hook(n: usize) -> String {
    format!(r#"{{"hook_event_name":"Stop","session_id":"hook-side","n":{n}}}"#)
}

/// The `n` of every event in the history that came from this test.
fn history_ns(server: &iorelay_tests::process::Server) -> Vec<u64> {
    let reply = server.get("/api/history?limit=1000");
    assert_eq!(reply.status, 200, "{reply:?}");
    let history: serde_json::Value = serde_json::from_slice(&reply.body).unwrap();
    let mut ns: Vec<u64> = history["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["data"]["session_id"] == "hook-side")
        .map(|e| e["data"]["n"].as_u64().unwrap())
        .collect();
    ns.sort_unstable();
    ns
}

fn spooled_then_delivered_once(runtime: &RuntimeUnderTest) {
    let state = temp_dir(runtime.label);
    let down = free_port();
    for n in 0..7 {
        let took = emit(runtime, &state, down, &hook(n));
        assert!(took < Duration::from_millis(1200), "{took:?}");
    }
    let server = runtime.start_with_env(&[], &[("IORELAY_STATE_DIR", state.to_str().unwrap())]);
    emit(runtime, &state, server.port, &hook(7));
    let deadline = Instant::now() + Duration::from_secs(5);
    while history_ns(&server).len() < 8 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(history_ns(&server), (0..8).collect::<Vec<_>>());
}

#[test]
fn smol_seven_spooled_events_and_the_next_arrive_exactly_once() {
    spooled_then_delivered_once(&RuntimeUnderTest::SMOL);
}

#[test]
fn std_seven_spooled_events_and_the_next_arrive_exactly_once() {
    spooled_then_delivered_once(&RuntimeUnderTest::STD);
}

#[test]
fn emit_without_a_relay_is_silent_and_fast_in_both_binaries() {
    for runtime in [RuntimeUnderTest::SMOL, RuntimeUnderTest::STD] {
        let state = temp_dir(&format!("quick-{}", runtime.label));
        let took = emit(&runtime, &state, free_port(), &hook(0));
        assert!(took < Duration::from_millis(1200), "{took:?}");
        let spool = std::fs::read_to_string(state.join("spool.jsonl")).unwrap();
        assert_eq!(spool.lines().count(), 1);
    }
}

/// 50 emits at once while the relay is down, then one with it up: all 51 arrive, once each.
fn concurrent_spool_then_delivered_once(runtime: &RuntimeUnderTest) {
    let state = temp_dir(&format!("concurrent-{}", runtime.label));
    let down = free_port();
    std::thread::scope(|scope| {
        for n in 0..50 {
            let state = &state;
            scope.spawn(move || emit(runtime, state, down, &hook(n)));
        }
    });
    let server = runtime.start_with_env(&[], &[("IORELAY_STATE_DIR", state.to_str().unwrap())]);
    emit(runtime, &state, server.port, &hook(50));
    let deadline = Instant::now() + Duration::from_secs(5);
    while history_ns(&server).len() < 51 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        history_ns(&server),
        (0..51).collect::<Vec<_>>(),
        "{}",
        runtime.label
    );
}

#[test]
fn fifty_concurrent_emits_while_down_then_one_up_give_exactly_51_events() {
    for runtime in [RuntimeUnderTest::SMOL, RuntimeUnderTest::STD] {
        concurrent_spool_then_delivered_once(&runtime);
    }
}
