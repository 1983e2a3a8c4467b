//! The history outlives the process: after a graceful stop every event answered 2xx is
//! there; after `kill -9` everything accepted more than the commit window earlier is there.
//! Both binaries, with a data dir the test owns across restarts.

use std::time::Duration;

use iorelay_tests::process::{scratch_dir, RuntimeUnderTest, Server};

const BOTH: [RuntimeUnderTest; 2] = [RuntimeUnderTest::STD, RuntimeUnderTest::SMOL];

/// A relay (no `--conformance`) keeping its history in `dir`.
fn relay_in(rt: &RuntimeUnderTest, dir: &std::path::Path) -> Server {
    let data = dir.join("data");
    let state = dir.join("state");
    rt.start_with_env(
        &[],
        &[
            ("IORELAY_DATA_DIR", data.to_str().expect("utf-8 temp dir")),
            ("IORELAY_STATE_DIR", state.to_str().expect("utf-8 temp dir")),
        ],
    )
}

/// Posts `count` hook events with ids `<prefix>-<i>` on one keep-alive connection.
fn post_events(server: &Server, prefix: &str, count: usize) {
    let mut client = server.connect();
    for i in 0..count {
        let body = format!(r#"{{"id":"{prefix}-{i}","hook_event_name":"Stop","session_id":"s"}}"#);
        let reply = client.request("POST", "/api/hooks", body.as_bytes());
        assert_eq!(reply.status, 204, "{}", reply.text());
    }
}

/// The ids and offsets `GET /api/history` lists.
fn history(server: &Server) -> (Vec<String>, Vec<u64>) {
    let page = server.get("/api/history?limit=1000").json();
    let events = page["events"].as_array().expect("events").clone();
    let ids = events
        .iter()
        .map(|e| e["id"].as_str().unwrap_or_default().to_owned())
        .collect();
    let offsets = events
        .iter()
        .map(|e| {
            e["offset"]
                .as_str()
                .and_then(|o| o.parse().ok())
                .expect("offset")
        })
        .collect();
    (ids, offsets)
}

fn ids(prefix: &str, count: usize) -> Vec<String> {
    (0..count).map(|i| format!("{prefix}-{i}")).collect()
}

#[test]
fn history_survives_a_graceful_restart_and_offsets_continue() {
    for rt in &BOTH {
        let dir = scratch_dir();
        let mut first = relay_in(rt, &dir);
        post_events(&first, "a", 50);
        first.terminate();
        assert!(
            first.wait_exit(Duration::from_secs(10)).success(),
            "{}",
            rt.label
        );

        let second = relay_in(rt, &dir);
        let (restored, offsets) = history(&second);
        assert_eq!(
            restored,
            ids("a", 50),
            "{}: every event, in order",
            rt.label
        );
        assert_eq!(offsets, (1..=50).collect::<Vec<u64>>(), "{}", rt.label);

        post_events(&second, "a", 1);
        let (after, offsets) = history(&second);
        assert_eq!(
            after.len(),
            50,
            "{}: a re-sent id is still a duplicate",
            rt.label
        );
        post_events(&second, "b", 1);
        let (_, offsets_after) = history(&second);
        assert_eq!(offsets_after.last(), Some(&51), "{}: {offsets:?}", rt.label);
        drop(second);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn history_survives_kill_9_up_to_the_commit_window() {
    for rt in &BOTH {
        let dir = scratch_dir();
        let first = relay_in(rt, &dir);
        post_events(&first, "k", 40);
        // The default commit window is 100 ms: wait well past it, then SIGKILL.
        std::thread::sleep(Duration::from_millis(500));
        drop(first);

        let second = relay_in(rt, &dir);
        let (restored, _) = history(&second);
        assert_eq!(restored, ids("k", 40), "{}", rt.label);
        drop(second);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn a_second_relay_on_the_same_data_dir_is_refused_with_a_reason() {
    for rt in &BOTH {
        let dir = scratch_dir();
        let _first = relay_in(rt, &dir);
        let data = dir.join("data");
        let output = std::process::Command::new(rt.binary())
            .args(["serve", "--port", "0"])
            .env("IORELAY_DATA_DIR", &data)
            .env("IORELAY_STATE_DIR", dir.join("state2"))
            .env("XDG_CONFIG_HOME", dir.join("no-config"))
            .output()
            .expect("run a second relay");
        assert!(!output.status.success(), "{}", rt.label);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("data-dir"), "{}: {stderr}", rt.label);
    }
}

#[test]
fn metrics_report_the_hooks_breaker_and_spool_from_the_state_dir() {
    for rt in &BOTH {
        let dir = scratch_dir();
        let server = relay_in(rt, &dir);
        let wanted = [
            "iorelay_hook_breaker_state{state=\"closed\"} 1",
            "iorelay_hook_spool_bytes 0",
        ];
        let deadline = std::time::Instant::now() + Duration::from_secs(3);
        let mut text = String::new();
        while std::time::Instant::now() < deadline {
            text = server.get("/metrics").text();
            if wanted.iter().all(|line| text.lines().any(|l| l == *line)) {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        for line in wanted {
            assert!(
                text.lines().any(|l| l == line),
                "{}: no {line:?} in\n{text}",
                rt.label
            );
        }
        drop(server);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
