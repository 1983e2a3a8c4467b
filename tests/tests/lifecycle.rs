//! The relay running itself, with the real binaries: `start`, `status`, `restart`, `stop` and
//! `logs` from other directories, a relay that outlives the shell that started it, autostart
//! from 20 concurrent hooks, the faults `start` reports in one line, and the user service's
//! unit file.
//!
//! Every command runs with a cleared environment and a fresh HOME (so the state, data and
//! config directories are the test's own) and a free loopback port; every relay a test starts
//! is stopped when its [`Home`] is dropped, pass or fail.

use std::io::Write as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use iorelay_tests::process::{wait_exit, RuntimeUnderTest};

const BOTH: [RuntimeUnderTest; 2] = [RuntimeUnderTest::SMOL, RuntimeUnderTest::STD];

/// Longest a command may take: `start` waits up to 5 s for the relay, then drains the spool
/// for up to 1 s.
const COMMAND_WAIT: Duration = Duration::from_secs(15);

/// What a finished command printed.
#[derive(Debug)]
struct Run {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

/// A fresh HOME with a free port for one runtime; stops any relay on that port when dropped.
struct Home {
    dir: PathBuf,
    port: u16,
    binary: PathBuf,
}

impl Home {
    fn new(runtime: &RuntimeUnderTest) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "iorelay-lifecycle-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        for sub in ["a", "b"] {
            std::fs::create_dir_all(dir.join(sub)).unwrap();
        }
        Self {
            dir,
            port: free_port(),
            binary: runtime.binary(),
        }
    }

    fn state_dir(&self) -> PathBuf {
        self.dir.join(".local/state/iorelay")
    }

    /// `<binary> <args>` in `cwd` with only HOME, the port and `env` in its environment.
    fn command(&self, cwd: &str, args: &[&str], env: &[(&str, &str)]) -> Command {
        let mut command = Command::new(&self.binary);
        command
            .args(args)
            .current_dir(self.dir.join(cwd))
            .env_clear()
            .env("HOME", &self.dir)
            .env("IORELAY_PORT", self.port.to_string())
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command
    }

    /// Runs a command to its end (bounded by [`COMMAND_WAIT`]).
    fn run(&self, cwd: &str, args: &[&str], env: &[(&str, &str)]) -> Run {
        finish(self.command(cwd, args, env).spawn().unwrap())
    }

    /// The relay's `/health`, when one answers on the port.
    fn health(&self) -> Option<serde_json::Value> {
        let reply = http_get(self.port, "/health")?;
        serde_json::from_str(&reply).ok()
    }

    /// Waits (bounded by `within`) until `ready` holds for the relay's history.
    fn await_history(&self, within: Duration, ready: impl Fn(&[u64]) -> bool) -> Vec<u64> {
        let deadline = Instant::now() + within;
        loop {
            let ns = http_get(self.port, "/api/history?limit=1000")
                .map(|body| history_ns(&body))
                .unwrap_or_default();
            if ready(&ns) || Instant::now() >= deadline {
                return ns;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Home {
    fn drop(&mut self) {
        if self.health().is_some() {
            let _ = self.run("a", &["stop"], &[]);
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn finish(mut child: std::process::Child) -> Run {
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut stdout, &mut text);
        text
    });
    let err = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr, &mut text);
        text
    });
    let status = wait_exit(&mut child, COMMAND_WAIT);
    Run {
        status,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

/// A port nothing listens on, never one handed to another test of this run (the relays of
/// tests running at once must not find each other).
fn free_port() -> u16 {
    static GIVEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    let mut given = GIVEN.lock().unwrap();
    for _ in 0..100 {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        if !given.contains(&port) {
            given.push(port);
            return port;
        }
    }
    panic!("no fresh port in 100 tries");
}

/// `GET path` on 127.0.0.1:port, the body of a 200 reply (1 s deadline).
fn http_get(port: u16, path: &str) -> Option<String> {
    use std::io::Read;
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(1))).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n"
    )
    .ok()?;
    let mut reply = String::new();
    stream.read_to_string(&mut reply).ok()?;
    let (head, body) = reply.split_once("\r\n\r\n")?;
    head.starts_with("HTTP/1.1 200").then(|| body.to_owned())
}

/// The `n` of this suite's events in a `/api/history` body.
fn history_ns(body: &str) -> Vec<u64> {
    let history: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
    let mut ns: Vec<u64> = history["events"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter(|e| e["data"]["session_id"] == "lifecycle")
        .filter_map(|e| e["data"]["n"].as_u64())
        .collect();
    ns.sort_unstable();
    ns
}

fn pid_of(health: &serde_json::Value) -> u64 {
    health["pid"].as_u64().expect("pid in /health")
}

#[test]
fn start_status_restart_and_stop_work_from_another_directory_in_both_binaries() {
    for runtime in &BOTH {
        let home = Home::new(runtime);
        let started = home.run("a", &["start"], &[]);
        assert!(started.status.success(), "{}: {started:?}", runtime.label);
        let url = format!("http://127.0.0.1:{}/", home.port);
        assert!(
            started.stdout.contains("started in the background"),
            "{started:?}"
        );
        assert!(started.stdout.contains(&url), "{started:?}");
        let first = pid_of(&home.health().expect("the started relay answers"));

        let status = home.run("b", &["status"], &[]);
        assert_eq!(status.status.code(), Some(0), "{status:?}");
        assert!(
            status.stdout.contains(&format!("pid       {first}")),
            "{status:?}"
        );

        let again = home.run("b", &["start"], &[]);
        assert_eq!(again.status.code(), Some(0), "{again:?}");
        assert!(again.stdout.contains("already running"), "{again:?}");

        let restarted = home.run("b", &["restart"], &[]);
        assert_eq!(restarted.status.code(), Some(0), "{restarted:?}");
        let second = pid_of(&home.health().expect("the restarted relay answers"));
        assert_ne!(first, second, "{restarted:?}");

        let logs = home.run("b", &["logs", "-n", "2"], &[]);
        assert_eq!(logs.status.code(), Some(0), "{logs:?}");
        let lines: Vec<&str> = logs.stdout.lines().collect();
        assert_eq!(lines.len(), 2, "{logs:?}");
        for line in lines {
            // An RFC 3339 UTC time, then the level.
            let (ts, rest) = line.split_once(' ').unwrap();
            assert!(
                ts.len() == 24 && ts.ends_with('Z') && &ts[10..11] == "T",
                "{line}"
            );
            assert!(rest.starts_with("INFO"), "{line}");
        }

        let stopped = home.run("b", &["stop"], &[]);
        assert_eq!(stopped.status.code(), Some(0), "{stopped:?}");
        let status = home.run("a", &["status"], &[]);
        assert_eq!(status.status.code(), Some(3), "{status:?}");
        assert!(
            !home.state_dir().join("relay.pid").exists(),
            "a stopped relay removes its pid file"
        );
    }
}

#[test]
fn a_started_relay_survives_the_shell_that_started_it() {
    let home = Home::new(&RuntimeUnderTest::SMOL);
    let shell = Command::new("/bin/sh")
        .arg("-c")
        .arg("\"$0\" start --log-format json")
        .arg(&home.binary)
        .current_dir(home.dir.join("a"))
        .env_clear()
        .env("HOME", &home.dir)
        .env("IORELAY_PORT", home.port.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let shell_pid = shell.id();
    let ran = finish(shell);
    assert!(ran.status.success(), "{ran:?}");
    let health = home
        .health()
        .expect("the relay answers after its shell exited");
    let pid = pid_of(&health);
    // It leads a session of its own, so the terminal's hang-up does not reach it.
    if let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        let fields: Vec<&str> = stat.rsplit_once(") ").unwrap().1.split(' ').collect();
        assert_eq!(fields[3], pid.to_string(), "session of the relay: {stat}");
        assert_ne!(fields[1], shell_pid.to_string());
    }
    // `--log-format json`: one object per line.
    let log = std::fs::read_to_string(home.state_dir().join("relay.log")).unwrap();
    for line in log.lines() {
        let value: serde_json::Value = serde_json::from_str(line).expect(line);
        assert!(value["ts"].is_string() && value["level"].is_string() && value["msg"].is_string());
    }
}

/// Runs `emit --autostart` like Claude Code does; checks it was silent, successful and quick.
/// The event is on stdin from the start (a file), and the deadline is 2 s rather than 0.5 s:
/// emit reads stdin for 3/5 of its deadline, and 20 processes starting at once on a loaded
/// test machine can take longer than 0.3 s to get there (it then sends an empty event).
fn emit(home: &Home, n: usize) {
    let event = format!(r#"{{"hook_event_name":"Stop","session_id":"lifecycle","n":{n}}}"#);
    let input = home.dir.join(format!("event-{n}.json"));
    std::fs::write(&input, event).unwrap();
    let started = Instant::now();
    let child = home
        .command(
            "a",
            &["emit", "--autostart"],
            &[("IORELAY_EMIT_DEADLINE_MS", "2000")],
        )
        .stdin(std::fs::File::open(&input).unwrap())
        .spawn()
        .unwrap();
    let run = finish(child);
    let took = started.elapsed();
    assert_eq!(run.status.code(), Some(0), "{run:?}");
    assert!(run.stdout.is_empty() && run.stderr.is_empty(), "{run:?}");
    // Its deadline, plus process start-up on a busy machine.
    assert!(took < Duration::from_secs(5), "emit took {took:?}");
}

/// The pids of `serve --daemon` processes of `binary` on `port` (Linux: from /proc).
fn relays_on(binary: &Path, port: u16) -> Option<Vec<u32>> {
    let entries = std::fs::read_dir("/proc").ok()?;
    let port = port.to_string();
    let mut pids = Vec::new();
    for entry in entries.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
        let is_relay = args.first() == Some(&binary.as_os_str().as_encoded_bytes())
            && args.contains(&b"--daemon".as_slice())
            && args
                .windows(2)
                .any(|w| w[0] == b"--port" && w[1] == port.as_bytes());
        if is_relay {
            pids.push(pid);
        }
    }
    Some(pids)
}

#[test]
fn twenty_concurrent_emits_with_autostart_leave_one_relay_with_all_twenty_events() {
    for runtime in &BOTH {
        let home = Home::new(runtime);
        assert!(home.health().is_none());
        std::thread::scope(|scope| {
            for n in 0..20 {
                let home = &home;
                scope.spawn(move || emit(home, n));
            }
        });
        let ns = home.await_history(Duration::from_secs(10), |ns| ns.len() >= 20);
        let state = home.state_dir();
        assert_eq!(
            ns,
            (0..20).collect::<Vec<_>>(),
            "{}: history {:?}, emit.log {:?}, spool {:?}",
            runtime.label,
            http_get(home.port, "/api/history?limit=1000"),
            std::fs::read_to_string(state.join("emit.log")),
            std::fs::read_to_string(state.join("spool.jsonl")),
        );
        let emit_log = std::fs::read_to_string(home.state_dir().join("emit.log")).unwrap();
        assert_eq!(
            emit_log.matches("launched `start`").count(),
            1,
            "{emit_log}"
        );
        if let Some(relays) = relays_on(&home.binary, home.port) {
            let health = home.health().expect("a relay answers");
            assert_eq!(relays, vec![pid_of(&health) as u32], "{}", runtime.label);
        }
    }
}

#[test]
fn start_says_in_one_line_why_it_cannot_start_a_relay() {
    let home = Home::new(&RuntimeUnderTest::STD);
    std::fs::write(home.dir.join("file"), b"").unwrap();
    let file = home.dir.join("file");
    let one_line = |run: &Run, says: &str| {
        assert_eq!(run.status.code(), Some(1), "{run:?}");
        assert_eq!(run.stderr.lines().count(), 1, "{run:?}");
        assert!(run.stderr.contains(says), "{run:?}");
    };

    let state_dir = file.join("state");
    let run = home.run(
        "a",
        &["start"],
        &[("IORELAY_STATE_DIR", state_dir.to_str().unwrap())],
    );
    one_line(&run, "cannot create the state directory");

    let data_dir = file.join("data");
    let run = home.run(
        "a",
        &["start"],
        &[("IORELAY_DATA_DIR", data_dir.to_str().unwrap())],
    );
    one_line(&run, "the relay exited (exit status: 1) before it answered");
    assert!(
        run.stderr.contains("cannot create the data directory"),
        "{run:?}"
    );

    let held = TcpListener::bind(("127.0.0.1", home.port)).unwrap();
    let run = home.run("a", &["start"], &[]);
    one_line(&run, "is in use by another program");
    drop(held);

    // A pid file left by a relay that died names a process that no longer runs.
    let mut gone = Command::new("true").spawn().unwrap();
    let gone_pid = gone.id();
    gone.wait().unwrap();
    std::fs::create_dir_all(home.state_dir()).unwrap();
    std::fs::write(home.state_dir().join("relay.pid"), format!("{gone_pid}\n")).unwrap();
    let run = home.run("a", &["start"], &[]);
    assert_eq!(run.status.code(), Some(0), "{run:?}");
    let pid = pid_of(&home.health().unwrap());
    let pid_file = std::fs::read_to_string(home.state_dir().join("relay.pid")).unwrap();
    assert_eq!(pid_file, format!("{pid}\n"));
}

#[test]
fn start_refuses_port_zero() {
    let home = Home::new(&RuntimeUnderTest::SMOL);
    let run = home.run("a", &["start", "--port", "0"], &[]);
    assert_eq!(run.status.code(), Some(1), "{run:?}");
    assert!(run.stderr.contains("start needs a fixed port"), "{run:?}");
}

#[test]
fn hooks_install_writes_autostarting_hooks_unless_told_not_to() {
    let home = Home::new(&RuntimeUnderTest::SMOL);
    let settings = home.dir.join(".claude/settings.json");
    let command = format!("{} emit", home.binary.display());
    let run = home.run("a", &["hooks", "install"], &[]);
    assert!(run.status.success(), "{run:?}");
    let text = std::fs::read_to_string(&settings).unwrap();
    assert!(
        text.contains(&format!("\"{command} --autostart\"")),
        "{text}"
    );
    let run = home.run("a", &["hooks", "install", "--no-autostart"], &[]);
    assert!(run.status.success(), "{run:?}");
    let text = std::fs::read_to_string(&settings).unwrap();
    assert!(text.contains(&format!("\"{command}\"")), "{text}");
    assert!(!text.contains("--autostart"), "{text}");
}

#[cfg(not(target_os = "macos"))]
#[test]
fn service_install_writes_a_systemd_user_unit_systemd_accepts_and_uninstall_removes_it() {
    for runtime in &BOTH {
        let home = Home::new(runtime);
        let port = home.port.to_string();
        let run = home.run("a", &["service", "install", "--log", "debug"], &[]);
        assert!(run.status.success(), "{run:?}");
        assert!(
            run.stdout.contains(
                "systemctl --user daemon-reload && systemctl --user enable --now iorelay.service"
            ),
            "{run:?}"
        );
        let unit_path = home.dir.join(".config/systemd/user/iorelay.service");
        let unit = std::fs::read_to_string(&unit_path).unwrap();
        let binary = std::fs::canonicalize(&home.binary).unwrap();
        assert!(
            unit.contains(&format!(
                "ExecStart={} serve --daemon --log debug\n",
                binary.display()
            )),
            "{unit}"
        );
        assert!(
            unit.contains(&format!("Environment=\"IORELAY_PORT={port}\"\n")),
            "{unit}"
        );
        assert!(unit.contains("Restart=on-failure\n"), "{unit}");
        verify_with_systemd(&unit_path);

        let status = home.run("a", &["service", "status"], &[]);
        assert!(status.stdout.starts_with("installed: "), "{status:?}");
        let run = home.run("a", &["service", "uninstall"], &[]);
        assert!(run.status.success(), "{run:?}");
        assert!(!unit_path.exists());
    }
}

/// `systemd-analyze --user verify` on the unit, where the tool exists and can run here (it
/// needs a runtime directory; containers without systemd skip).
#[cfg(not(target_os = "macos"))]
fn verify_with_systemd(unit: &Path) {
    let runtime_dir = unit.parent().unwrap().join("runtime");
    std::fs::create_dir_all(&runtime_dir).unwrap();
    let child = Command::new("systemd-analyze")
        .args(["--user", "verify"])
        .arg(unit)
        .env("XDG_RUNTIME_DIR", &runtime_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let Ok(child) = child else {
        eprintln!("systemd-analyze is not installed: unit not verified");
        return;
    };
    let run = finish(child);
    if run.stderr.contains("Failed to initialize manager") {
        eprintln!(
            "systemd-analyze cannot run here: unit not verified ({})",
            run.stderr
        );
        return;
    }
    assert!(run.status.success(), "{run:?}");
    let about_unit: Vec<&str> = run
        .stderr
        .lines()
        .filter(|line| line.contains("iorelay.service"))
        .collect();
    assert!(about_unit.is_empty(), "systemd-analyze: {about_unit:?}");
}

#[test]
fn open_starts_a_relay_and_prints_the_dashboard_without_a_browser() {
    let home = Home::new(&RuntimeUnderTest::STD);
    let run = home.run("a", &["open"], &[]);
    assert_eq!(run.status.code(), Some(0), "{run:?}");
    let url = format!("http://127.0.0.1:{}/", home.port);
    assert!(run.stdout.contains("started in the background"), "{run:?}");
    assert!(
        run.stdout
            .contains(&format!("dashboard: {url} (no browser to open here)")),
        "{run:?}"
    );
    assert!(home.health().is_some());
}

#[test]
fn logs_follow_prints_lines_as_the_relay_writes_them() {
    use std::io::BufRead as _;
    let home = Home::new(&RuntimeUnderTest::SMOL);
    assert!(home.run("a", &["start"], &[]).status.success());
    let mut follower = home
        .command("b", &["logs", "-f", "-n", "1"], &[])
        .spawn()
        .unwrap();
    let stdout = follower.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    let first = rx
        .recv_timeout(Duration::from_secs(5))
        .expect("the last line");
    assert!(first.contains("listening on"), "{first}");
    assert!(home.run("a", &["stop"], &[]).status.success());
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut seen = Vec::new();
    while !seen.iter().any(|l: &String| l.contains("stop requested")) {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => seen.push(line),
            Err(_) => panic!("no stop line followed; saw {seen:?}"),
        }
    }
    let _ = follower.kill();
    let _ = follower.wait();
}
