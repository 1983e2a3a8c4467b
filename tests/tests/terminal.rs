//! `iorelay tail` and `iorelay check` with the real binaries, over loopback: tail follows a
//! session across a relay restart with every event once; check scores a healthy relay, reports
//! a 3 s outage and the recovery, and says in one line when nothing listens.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use iorelay_tests::process::{scratch_dir, wait_exit, RuntimeUnderTest, Server, WAIT};

const BOTH: [RuntimeUnderTest; 2] = [RuntimeUnderTest::STD, RuntimeUnderTest::SMOL];

/// A relay keeping its history in `dir`, on `port` (0: any).
fn relay_in(rt: &RuntimeUnderTest, dir: &Path, port: u16) -> Server {
    let data = dir.join("data");
    let state = dir.join("state");
    Server::start_on(
        rt.label,
        rt.binary(),
        port,
        &[],
        &[
            ("IORELAY_DATA_DIR", data.to_str().expect("utf-8 temp dir")),
            ("IORELAY_STATE_DIR", state.to_str().expect("utf-8 temp dir")),
        ],
    )
}

/// `rt <args> --port <port>` with no user config, stdout and stderr piped.
fn command(rt: &RuntimeUnderTest, args: &[&str], port: u16) -> Child {
    Command::new(rt.binary())
        .args(args)
        .args(["--port", &port.to_string()])
        .env_remove("IORELAY_CONFIG")
        .env_remove("IORELAY_TOKEN")
        .env_remove("IORELAY_PORT")
        .env("XDG_CONFIG_HOME", no_config())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the binary")
}

fn no_config() -> PathBuf {
    std::env::temp_dir().join("iorelay-tests-no-config")
}

/// The lines `child` prints, as they come.
fn lines(child: &mut Child) -> Receiver<String> {
    let stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = channel();
    thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// The tests that time a relay take turns: each already runs both binaries at once, and
/// three such tests side by side on two cores starved `check` of the CPU it measures with
/// (a 10 s check joined after 4.5 s and scored its uptime 55 %).
fn serial() -> MutexGuard<'static, ()> {
    static TIMED: Mutex<()> = Mutex::new(());
    TIMED.lock().unwrap_or_else(PoisonError::into_inner)
}

/// How long the next line may take: after a relay restart it comes once `tail` reconnected
/// (its backoff grows to seconds) and paged the gap, which a loaded 2-core machine stretches
/// past the usual [`WAIT`] (a run beside a build missed it once).
const LINE_WAIT: Duration = Duration::from_secs(20);

/// The next line, within [`LINE_WAIT`].
fn next_line(rx: &Receiver<String>, what: &str) -> String {
    rx.recv_timeout(LINE_WAIT)
        .unwrap_or_else(|_| panic!("no line within {LINE_WAIT:?}: {what}"))
}

fn post(server: &Server, body: &str) {
    let reply = server
        .connect()
        .request("POST", "/api/events", body.as_bytes());
    assert_eq!(reply.status / 100, 2, "{}", reply.text());
}

fn event(id: &str, session: &str) -> String {
    format!(r#"{{"id":"{id}","type":"test","subtype":"tick","session_id":"{session}"}}"#)
}

fn id_of(line: &str) -> String {
    let value: serde_json::Value = serde_json::from_str(line).expect("a JSON event per line");
    value["id"].as_str().expect("id").to_owned()
}

fn interrupt(child: &Child) {
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success());
}

/// Runs `test` against both binaries at once, after any other timed test (see [`serial`]).
fn on_both_binaries(test: fn(&'static RuntimeUnderTest)) {
    let _one_at_a_time = serial();
    let runs: Vec<_> = BOTH
        .iter()
        .map(|rt| thread::spawn(move || test(rt)))
        .collect();
    for run in runs {
        run.join().expect("the test on one binary");
    }
}

fn stdout_of(child: &mut Child) -> String {
    let mut text = String::new();
    child
        .stdout
        .as_mut()
        .expect("stdout")
        .read_to_string(&mut text)
        .expect("read");
    text
}

fn stderr_of(child: &mut Child) -> String {
    let mut text = String::new();
    if let Some(pipe) = child.stderr.as_mut() {
        let _ = pipe.read_to_string(&mut text);
    }
    text
}

#[test]
fn tail_json_shows_a_sessions_events_across_a_relay_restart_each_once() {
    on_both_binaries(tail_across_a_restart);
}

fn tail_across_a_restart(rt: &'static RuntimeUnderTest) {
    let dir = scratch_dir();
    let mut first = relay_in(rt, &dir, 0);
    let port = first.port;
    let mut tail = command(rt, &["tail", "--json", "--session", "s1"], port);
    let rx = lines(&mut tail);
    first.await_sockets(1);
    post(&first, &event("a1", "s1"));
    post(&first, &event("x1", "other"));
    post(&first, &event("a2", "s1"));
    let mut seen = vec![
        id_of(&next_line(&rx, rt.label)),
        id_of(&next_line(&rx, rt.label)),
    ];
    first.terminate();
    assert!(first.wait_exit(Duration::from_secs(10)).success());
    let second = relay_in(rt, &dir, port);
    post(&second, &event("a3", "s1"));
    second.await_sessions(1);
    post(&second, &event("x2", "other"));
    post(&second, &event("a4", "s1"));
    for _ in 0..2 {
        seen.push(id_of(&next_line(&rx, rt.label)));
    }
    interrupt(&tail);
    let status = wait_exit(&mut tail, WAIT);
    seen.extend(rx.iter().map(|line| id_of(&line)));
    assert_eq!(
        seen,
        ["a1", "a2", "a3", "a4"],
        "{}: every event once",
        rt.label
    );
    assert!(status.success(), "{}: Ctrl-C exits 0: {status:?}", rt.label);
    let stderr = stderr_of(&mut tail);
    assert!(stderr.contains("reconnected"), "{}: {stderr}", rt.label);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn check_scores_a_healthy_relay_at_least_90_and_exits_0() {
    on_both_binaries(check_a_healthy_relay);
}

fn check_a_healthy_relay(rt: &'static RuntimeUnderTest) {
    let server = rt.start(&[]);
    let mut check = command(rt, &["check", "--duration", "10s", "--json"], server.port);
    let status = wait_exit(&mut check, Duration::from_secs(30));
    let out = stdout_of(&mut check);
    let report: serde_json::Value = serde_json::from_str(out.trim())
        .unwrap_or_else(|e| panic!("{}: not one JSON object ({e}): {out}", rt.label));
    assert!(
        report["score"].as_u64().unwrap_or(0) >= 90,
        "{}: {report}",
        rt.label
    );
    assert_eq!(report["disconnects"], 0, "{}: {report}", rt.label);
    assert!(
        report["probes_posted"].as_u64().unwrap_or(0) >= 9,
        "{report}"
    );
    assert_eq!(report["probes_lost"], 0, "{report}");
    assert_eq!(report["probes_duplicated"], 0, "{report}");
    assert!(status.success(), "{}: {status:?} {report}", rt.label);
}

#[test]
fn check_reports_a_three_second_outage_and_the_recovery() {
    on_both_binaries(check_across_an_outage);
}

fn check_across_an_outage(rt: &'static RuntimeUnderTest) {
    let dir = scratch_dir();
    let mut first = relay_in(rt, &dir, 0);
    let port = first.port;
    let mut check = command(
        rt,
        &["check", "--duration", "10s", "--min-score", "0"],
        port,
    );
    // Joined, not only connected: an outage during its handshake is a failed connect, not
    // the disconnect this test is about (a loaded machine once got there first).
    first.await_sockets(1);
    first.terminate();
    assert!(first.wait_exit(Duration::from_secs(10)).success());
    let stopped = Instant::now();
    // The outage under test: the relay stays down for 3 s.
    thread::sleep(Duration::from_secs(3));
    let second = relay_in(rt, &dir, port);
    let down = stopped.elapsed();
    second.await_sessions(1);
    let status = wait_exit(&mut check, Duration::from_secs(30));
    let out = stdout_of(&mut check);
    assert!(status.success(), "{}: {status:?}\n{out}", rt.label);
    assert!(
        out.contains("disconnects   1 (reconnected 1"),
        "{}:\n{out}",
        rt.label
    );
    let outage = out
        .split("longest outage ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|secs| secs.parse::<f64>().ok())
        .unwrap_or_else(|| panic!("{}: no outage in\n{out}", rt.label));
    assert!(
        outage >= 2.5 && outage <= down.as_secs_f64() + 3.0,
        "{}: {outage}\n{out}",
        rt.label
    );
    assert!(
        out.contains(" 0 lost, 0 duplicated"),
        "{}:\n{out}",
        rt.label
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn with_nothing_listening_check_and_tail_say_so_in_one_line_and_exit_2() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    for rt in &BOTH {
        for args in [&["check"][..], &["tail"]] {
            let mut child = command(rt, args, port);
            let status = wait_exit(&mut child, WAIT);
            let stderr = stderr_of(&mut child);
            assert_eq!(status.code(), Some(2), "{} {args:?}: {stderr}", rt.label);
            assert_eq!(stderr.lines().count(), 1, "{} {args:?}: {stderr}", rt.label);
            assert!(
                stderr.contains("no relay is listening on 127.0.0.1:"),
                "{stderr}"
            );
        }
    }
}

#[test]
fn tail_and_check_have_help() {
    for rt in &BOTH {
        for (command, flags) in [
            (
                "tail",
                &["--json", "--session", "--project", "--type", "--history"][..],
            ),
            (
                "check",
                &["--duration", "--json", "--min-score", "[default: 75]"],
            ),
        ] {
            let output = Command::new(rt.binary())
                .args([command, "--help"])
                .output()
                .expect("run --help");
            let help = String::from_utf8_lossy(&output.stdout);
            assert!(output.status.success(), "{} {command}: {help}", rt.label);
            for flag in flags {
                assert!(
                    help.contains(flag),
                    "{} {command} --help lacks {flag}:\n{help}",
                    rt.label
                );
            }
        }
    }
}
