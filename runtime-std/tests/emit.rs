//! `iorelay-std emit` as Claude Code runs it: a process per event, stdin in, exit code and
//! stdout watched, against no relay, a hung relay, and a fake relay that answers like the real
//! one (see `support`).

mod support;

use std::net::TcpListener;
use std::time::Duration;

use serde_json::Value;
use support::{emit, free_port, hook, spooled, temp_dir, FakeRelay};

/// Process start and exit on a loaded machine, on top of the deadline.
const SLACK: Duration = Duration::from_millis(700);

#[test]
fn with_no_relay_emit_exits_0_silently_within_the_deadline_and_spools() {
    let state = temp_dir("down");
    let port = free_port();
    let run = emit(&state, port, &hook(1), &[]);
    run.assert_silent_success();
    assert!(
        run.elapsed < Duration::from_millis(500) + SLACK,
        "{:?}",
        run.elapsed
    );
    let spool = spooled(&state);
    assert_eq!(spool.len(), 1);
    assert_eq!(spool[0]["n"], 1);
    assert_eq!(spool[0]["id"].as_str().unwrap().len(), 32);
    assert!(spool[0]["client_ts"].is_string());
    let log = std::fs::read_to_string(state.join("emit.log")).unwrap();
    assert!(log.contains("spooled"), "{log}");
}

#[test]
fn a_relay_that_never_answers_costs_the_deadline_not_more() {
    let state = temp_dir("hung");
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let run = emit(&state, port, &hook(1), &["--deadline-ms", "300"]);
    run.assert_silent_success();
    assert!(
        run.elapsed >= Duration::from_millis(200),
        "{:?}",
        run.elapsed
    );
    assert!(
        run.elapsed < Duration::from_millis(300) + SLACK,
        "{:?}",
        run.elapsed
    );
    assert_eq!(spooled(&state).len(), 1);
    drop(listener);
}

#[test]
fn seven_spooled_events_and_the_next_one_all_arrive_exactly_once() {
    let state = temp_dir("seven");
    let port = free_port();
    for n in 0..7 {
        emit(&state, port, &hook(n), &[]).assert_silent_success();
    }
    assert_eq!(spooled(&state).len(), 7);
    // After five failures the breaker is open: the last two skipped the network.
    let breaker = std::fs::read_to_string(state.join("breaker.json")).unwrap();
    assert!(breaker.contains(r#""state":"open""#), "{breaker}");

    let relay = FakeRelay::start(port);
    // What `serve` does at start for its own state directory.
    iorelay_std::emit::relay_started(&state).unwrap();
    emit(&state, port, &hook(7), &[]).assert_silent_success();

    let mut ns: Vec<u64> = relay
        .seen
        .lock()
        .unwrap()
        .events
        .iter()
        .map(|e| e["n"].as_u64().unwrap())
        .collect();
    ns.sort_unstable();
    assert_eq!(ns, (0..8).collect::<Vec<_>>());
    assert_eq!(relay.seen.lock().unwrap().duplicates, 0);
    assert!(spooled(&state).is_empty());
}

#[test]
fn fifty_concurrent_emits_while_down_then_one_while_up_make_exactly_51_events() {
    let state = temp_dir("fifty");
    let port = free_port();
    let runs: Vec<_> = (0..50)
        .map(|n| {
            let state = state.clone();
            std::thread::spawn(move || emit(&state, port, &hook(n), &[]))
        })
        .collect();
    for run in runs {
        run.join().unwrap().assert_silent_success();
    }
    assert_eq!(spooled(&state).len(), 50);

    let relay = FakeRelay::start(port);
    iorelay_std::emit::relay_started(&state).unwrap();
    emit(&state, port, &hook(50), &[]).assert_silent_success();

    let ids = relay.ids();
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(ids.len(), 51);
    assert_eq!(unique.len(), 51);
    assert_eq!(relay.seen.lock().unwrap().duplicates, 0);
    // One POST for the event, one array for the 50 spooled.
    assert_eq!(relay.seen.lock().unwrap().posts, 2);
}

#[test]
fn the_breaker_spans_processes_skips_a_live_relay_while_open_then_probes() {
    let state = temp_dir("breaker");
    let port = free_port();
    for n in 0..5 {
        emit(&state, port, &hook(n), &[]).assert_silent_success();
    }
    let relay = FakeRelay::start(port);
    // Open: this one does not even try, though the relay is up.
    emit(&state, port, &hook(5), &[]).assert_silent_success();
    assert!(relay.ids().is_empty());
    assert_eq!(spooled(&state).len(), 6);

    // Thirty seconds later (moved back in the file rather than waited for): one probe.
    let breaker: Value =
        serde_json::from_slice(&std::fs::read(state.join("breaker.json")).unwrap()).unwrap();
    let since = breaker["since"].as_u64().unwrap() - 31_000;
    std::fs::write(
        state.join("breaker.json"),
        format!(r#"{{"state":"open","since":{since}}}"#),
    )
    .unwrap();
    emit(&state, port, &hook(6), &[]).assert_silent_success();
    assert_eq!(relay.ids().len(), 7);
    assert_eq!(
        std::fs::read_to_string(state.join("breaker.json")).unwrap(),
        r#"{"state":"closed","failures":0}"#
    );
}

#[test]
fn bad_stdin_is_spooled_raw_and_reported_on_stderr_only_when_verbose() {
    let state = temp_dir("garbage");
    let port = free_port();
    let quiet = emit(&state, port, b"this is {not json", &[]);
    quiet.assert_silent_success();
    assert!(quiet.output.stderr.is_empty());
    let loud = emit(&state, port, b"", &["--verbose"]);
    loud.assert_silent_success();
    let stderr = String::from_utf8_lossy(&loud.output.stderr);
    assert!(stderr.contains("stdin was empty"), "{stderr}");

    let spool = spooled(&state);
    assert_eq!(spool[0]["hook_event_name"], "InvalidHookInput");
    assert_eq!(spool[0]["raw"], "this is {not json");
    let log = std::fs::read_to_string(state.join("emit.log")).unwrap();
    assert!(log.contains("stdin is not JSON"), "{log}");

    let relay = FakeRelay::start(port);
    iorelay_std::emit::relay_started(&state).unwrap();
    emit(&state, port, &hook(1), &[]).assert_silent_success();
    let seen = relay.seen.lock().unwrap();
    assert_eq!(seen.events.len(), 3);
    assert!(seen.events.iter().any(|e| e["raw"] == "this is {not json"));
}

#[test]
fn with_the_relay_up_an_event_is_posted_as_is_plus_id_and_client_ts() {
    let state = temp_dir("up");
    let relay = FakeRelay::start(0);
    let run = emit(&state, relay.port, &hook(3), &[]);
    run.assert_silent_success();
    let seen = relay.seen.lock().unwrap();
    assert_eq!(seen.events.len(), 1);
    let event = &seen.events[0];
    assert_eq!(event["hook_event_name"], "PreToolUse");
    assert_eq!(event["tool_name"], "Bash");
    assert_eq!(event["n"], 3);
    assert!(event["client_ts"].as_str().unwrap().ends_with('Z'));
    assert!(!state.join("spool.jsonl").exists());
}

#[test]
fn an_oversized_event_is_truncated_and_delivered() {
    let state = temp_dir("big");
    let relay = FakeRelay::start(0);
    let big = format!(
        r#"{{"hook_event_name":"PostToolUse","tool_response":{{"stdout":"{}"}}}}"#,
        "z".repeat(3 << 20)
    );
    // A generous deadline: this is about truncation, and debug builds parse 3 MiB slowly.
    emit(
        &state,
        relay.port,
        big.as_bytes(),
        &["--deadline-ms", "5000"],
    )
    .assert_silent_success();
    let seen = relay.seen.lock().unwrap();
    assert_eq!(seen.events.len(), 1);
    let stdout = seen.events[0]["tool_response"]["stdout"].as_str().unwrap();
    assert!(stdout.len() < 1 << 20);
    assert!(stdout.contains("truncated by iorelay"));
}
