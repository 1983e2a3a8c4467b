//! A fake relay and an emit runner for the emit tests.
//!
//! The fake relay answers `POST /api/hooks` like the real one will (204 for one event, 202
//! `{"accepted":n,"duplicates":d}` for an array) and de-duplicates by `id`, recording every
//! event it accepted and every duplicate it saw.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

/// What the fake relay saw.
#[derive(Debug, Default)]
pub struct Seen {
    /// Accepted events, in arrival order, each id once.
    pub events: Vec<Value>,
    /// Events posted again with an id already accepted.
    pub duplicates: usize,
    /// POSTs received.
    pub posts: usize,
}

/// A fake relay on a port; stops accepting when dropped (the thread ends with the test).
pub struct FakeRelay {
    pub port: u16,
    pub seen: Arc<Mutex<Seen>>,
}

impl FakeRelay {
    /// Listens on `port` (0: any free port).
    pub fn start(port: u16) -> Self {
        let listener = TcpListener::bind(("127.0.0.1", port)).expect("bind fake relay");
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Seen::default()));
        let shared = Arc::clone(&seen);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let seen = Arc::clone(&shared);
                std::thread::spawn(move || serve(stream, &seen));
            }
        });
        Self { port, seen }
    }

    /// Ids of the accepted events, in order.
    pub fn ids(&self) -> Vec<String> {
        self.seen
            .lock()
            .unwrap()
            .events
            .iter()
            .map(|e| e["id"].as_str().unwrap_or_default().to_owned())
            .collect()
    }
}

fn serve(stream: TcpStream, seen: &Mutex<Seen>) {
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut length = 0usize;
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
        return;
    }
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().unwrap_or(0);
            }
        }
    }
    let mut body = vec![0u8; length];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let reply = if !request_line.starts_with("POST /api/hooks ") {
        "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n".to_owned()
    } else {
        match serde_json::from_slice::<Value>(&body) {
            Ok(Value::Array(events)) => {
                let (accepted, duplicates) = record(seen, events);
                let json = format!(r#"{{"accepted":{accepted},"duplicates":{duplicates}}}"#);
                format!(
                    "HTTP/1.1 202 Accepted\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{json}",
                    json.len()
                )
            }
            Ok(event @ Value::Object(_)) => {
                record(seen, vec![event]);
                "HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n".to_owned()
            }
            _ => "HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                .to_owned(),
        }
    };
    let mut stream = reader.into_inner();
    let _ = stream.write_all(reply.as_bytes());
}

fn record(seen: &Mutex<Seen>, events: Vec<Value>) -> (usize, usize) {
    let mut seen = seen.lock().unwrap();
    seen.posts += 1;
    let (mut accepted, mut duplicates) = (0, 0);
    for event in events {
        let id = event["id"].clone();
        if seen.events.iter().any(|e| e["id"] == id) {
            duplicates += 1;
        } else {
            seen.events.push(event);
            accepted += 1;
        }
    }
    seen.duplicates += duplicates;
    (accepted, duplicates)
}

/// A port nothing listens on (bound, then released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A fresh temporary directory for one test.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("iorelay-emit-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// One finished emit.
pub struct Run {
    pub output: Output,
    pub elapsed: Duration,
}

/// Runs `iorelay-std emit <args>` with `stdin`, the relay at `port`, state in `state`, and
/// nothing else from the environment that could change its behaviour.
pub fn emit(state: &Path, port: u16, stdin: &[u8], args: &[&str]) -> Run {
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_iorelay-std"))
        .arg("emit")
        .args(args)
        .env_remove("IORELAY_HOST")
        .env_remove("IORELAY_TOKEN")
        .env_remove("CLAUDE_MPM_SERVER_HOST")
        .env_remove("CLAUDE_MPM_SERVER_PORT")
        .env_remove("IORELAY_EMIT_DEADLINE_MS")
        .env("IORELAY_PORT", port.to_string())
        .env("IORELAY_STATE_DIR", state)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start iorelay-std emit");
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let output = child.wait_with_output().unwrap();
    Run {
        output,
        elapsed: started.elapsed(),
    }
}

impl Run {
    /// Exit 0 and nothing on stdout: what Claude Code must always get.
    pub fn assert_silent_success(&self) {
        assert_eq!(self.output.status.code(), Some(0), "{:?}", self.output);
        assert!(
            self.output.stdout.is_empty(),
            "stdout: {:?}",
            String::from_utf8_lossy(&self.output.stdout)
        );
    }
}

/// The events in the spool (waiting and claimed), parsed.
pub fn spooled(state: &Path) -> Vec<Value> {
    ["spool.draining.jsonl", "spool.jsonl"]
        .iter()
        .filter_map(|name| std::fs::read_to_string(state.join(name)).ok())
        .flat_map(|text| {
            text.lines()
                .map(|line| serde_json::from_str(line).unwrap())
                .collect::<Vec<Value>>()
        })
        .collect()
}

/// A hook event like Claude Code sends.
pub fn hook(n: usize) -> Vec<u8> {
    format!(r#"{{"hook_event_name":"PreToolUse","session_id":"s1","tool_name":"Bash","n":{n}}}"#)
        .into_bytes()
}
