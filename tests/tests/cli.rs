//! The command line of both binaries as users run it: `config show`, `status`, `stop`. (A
//! `serve` on a port another relay holds is a runtime scenario: `runtime_scenarios`.)

use std::path::PathBuf;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use iorelay_tests::process::{wait_exit, RuntimeUnderTest, WAIT};

const BOTH: [RuntimeUnderTest; 2] = [RuntimeUnderTest::STD, RuntimeUnderTest::SMOL];

/// What a finished command printed.
struct Run {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

/// A fresh, empty home directory for one command, so no user config is read.
fn home() -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "iorelay-cli-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create temp home");
    dir
}

/// Runs `rt <args>` with only `HOME=home` and `env` in its environment; bounded by [`WAIT`].
fn run(rt: &RuntimeUnderTest, home: &PathBuf, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut child = Command::new(rt.binary())
        .args(args)
        .env_clear()
        .env("HOME", home)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start binary");
    let status = wait_exit(&mut child, WAIT);
    let read = |pipe: Option<&mut dyn std::io::Read>| {
        let mut text = String::new();
        if let Some(pipe) = pipe {
            pipe.read_to_string(&mut text).expect("read output");
        }
        text
    };
    let stdout = read(child.stdout.as_mut().map(|p| p as &mut dyn std::io::Read));
    let stderr = read(child.stderr.as_mut().map(|p| p as &mut dyn std::io::Read));
    Run {
        status,
        stdout,
        stderr,
    }
}

/// The `key = value    # source` line of `key`, with runs of spaces squeezed.
fn shown(stdout: &str, key: &str) -> String {
    stdout
        .lines()
        .find(|line| line.starts_with(&format!("{key} = ")))
        .unwrap_or_else(|| panic!("no {key} in\n{stdout}"))
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn config_show_names_the_layer_that_set_each_value() {
    for rt in &BOTH {
        let home = home();
        let file = home.join(".config/iorelay/config.toml");
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, "log = \"debug\"\nport = 9001\n").unwrap();
        let out = run(
            rt,
            &home,
            &["config", "show", "--port", "9002"],
            &[
                ("IORELAY_HOST", "0.0.0.0"),
                ("IORELAY_TOKEN", "s3cret"),
                ("IORELAY_LOG", "warn"),
            ],
        );
        assert!(out.status.success(), "{}: {}", rt.label, out.stderr);
        let file = file.display();
        assert_eq!(
            shown(&out.stdout, "host"),
            "host = \"0.0.0.0\" # env IORELAY_HOST"
        );
        assert_eq!(
            shown(&out.stdout, "log"),
            format!("log = \"debug\" # file {file}")
        );
        assert_eq!(shown(&out.stdout, "port"), "port = 9002 # flag --port");
        assert_eq!(
            shown(&out.stdout, "profile"),
            "profile = \"default\" # default"
        );
        assert_eq!(
            shown(&out.stdout, "token"),
            "token = \"********\" # env IORELAY_TOKEN"
        );
        assert!(!out.stdout.contains("s3cret"));
    }
}

#[test]
fn a_bad_setting_is_refused_naming_where_it_came_from() {
    for rt in &BOTH {
        let home = home();
        let out = run(rt, &home, &["config", "show"], &[("IORELAY_PORT", "abc")]);
        assert_eq!(out.status.code(), Some(1), "{}", rt.label);
        assert!(
            out.stderr
                .contains("IORELAY_PORT: expected a port number (0-65535), got \"abc\""),
            "{}: {}",
            rt.label,
            out.stderr
        );
        let missing = home.join("missing.toml");
        let out = run(
            rt,
            &home,
            &["serve", "--config", missing.to_str().unwrap()],
            &[],
        );
        assert_eq!(out.status.code(), Some(1), "{}", rt.label);
        assert!(
            out.stderr.contains("cannot read config file"),
            "{}",
            out.stderr
        );
    }
}

#[test]
fn status_reports_a_running_relay_and_exits_zero() {
    for rt in &BOTH {
        let server = rt.start(&[]);
        let port = server.port.to_string();
        let out = run(rt, &home(), &["status", "--port", &port], &[]);
        assert!(out.status.success(), "{}: {}", rt.label, out.stderr);
        let version = env!("CARGO_PKG_VERSION");
        assert!(
            out.stdout.starts_with(&format!(
                "iorelay {version} is running on 127.0.0.1:{port}\n"
            )),
            "{}: {}",
            rt.label,
            out.stdout
        );
        assert!(
            out.stdout.contains("clients   0 sessions, 0 sockets"),
            "{}",
            out.stdout
        );
    }
}

#[test]
fn status_with_no_relay_says_so_and_exits_non_zero() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
        .to_string();
    for rt in &BOTH {
        let out = run(rt, &home(), &["status"], &[("IORELAY_PORT", &port)]);
        assert_eq!(out.status.code(), Some(3), "{}", rt.label);
        assert_eq!(out.stdout, format!("no relay on 127.0.0.1:{port}\n"));
    }
}

#[test]
fn stop_shuts_a_running_relay_down() {
    for rt in &BOTH {
        let mut server = rt.start(&[]);
        let port = server.port.to_string();
        let out = run(rt, &home(), &["stop", "--port", &port], &[]);
        assert!(out.status.success(), "{}: {}", rt.label, out.stderr);
        assert!(out.stdout.starts_with("stopped iorelay "), "{}", out.stdout);
        assert!(server.wait_exit(Duration::from_secs(5)).success());
        let out = run(rt, &home(), &["stop", "--port", &port], &[]);
        assert_eq!(out.status.code(), Some(1), "{}", rt.label);
        assert!(out.stderr.contains("no relay on"), "{}", out.stderr);
    }
}
