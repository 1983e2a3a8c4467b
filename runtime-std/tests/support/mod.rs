//! Test support: start the real `iorelay-std` binary on a free port and talk to it over raw
//! TCP (HTTP) or a tungstenite client (websocket). Every read has a timeout, so no test can
//! hang.

#![allow(dead_code)]

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use tungstenite::{Message, WebSocket};

/// The longest any single wait in these tests may take.
pub const WAIT: Duration = Duration::from_secs(5);

/// A running server, killed when dropped.
pub struct Server {
    child: Child,
    pub port: u16,
}

impl Server {
    /// `iorelay-std serve --port 0 --log warn <args>`.
    pub fn start(args: &[&str]) -> Self {
        Self::start_with_env(args, &[])
    }

    /// Like [`Server::start`] with extra environment variables.
    pub fn start_with_env(args: &[&str], env: &[(&str, &str)]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_iorelay-std"))
            .args(["serve", "--port", "0", "--log", "warn"])
            .args(args)
            .envs(env.iter().copied())
            .env_remove("IORELAY_LOG")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start iorelay-std");
        let line = first_line(&mut child);
        let port = line
            .strip_prefix("iorelay listening on http://127.0.0.1:")
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| panic!("unexpected listening line {line:?}"));
        Self { child, port }
    }

    /// Sends SIGTERM and waits (bounded) for the exit.
    pub fn terminate(&mut self) -> ExitStatus {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success());
        self.wait_exit()
    }

    /// Waits (bounded) for the process to exit.
    pub fn wait_exit(&mut self) -> ExitStatus {
        let until = Instant::now() + WAIT;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(Instant::now() < until, "server did not exit in time");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// A new HTTP connection.
    pub fn connect(&self) -> HttpClient {
        HttpClient::connect(self.port)
    }

    /// One request on a new connection.
    pub fn request(&self, method: &str, path: &str, body: &[u8]) -> Reply {
        self.connect().request(method, path, body)
    }

    /// Number of open Engine.IO sessions, from `/health`.
    pub fn sessions(&self) -> u64 {
        let body = self.request("GET", "/health", b"").text();
        json_number(&body, "sessions").expect("sessions in /health")
    }

    /// Waits (bounded) until `/health` reports `n` sessions.
    pub fn await_sessions(&self, n: u64) {
        let until = Instant::now() + WAIT;
        while self.sessions() != n {
            assert!(Instant::now() < until, "sessions never became {n}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Opens an Engine.IO polling session; returns its sid.
    pub fn handshake(&self) -> String {
        let reply = self.request("GET", "/socket.io/?EIO=4&transport=polling", b"");
        assert_eq!(reply.status, 200, "{}", reply.text());
        json_string(&reply.text(), "sid").expect("sid in the handshake")
    }

    /// A websocket to `/socket.io/` with `query` (after `EIO=4&transport=websocket`).
    pub fn websocket(&self, query: &str) -> WebSocket<TcpStream> {
        let stream = TcpStream::connect(("127.0.0.1", self.port)).expect("connect");
        stream.set_read_timeout(Some(WAIT)).unwrap();
        let url = format!(
            "ws://127.0.0.1:{}/socket.io/?EIO=4&transport=websocket{query}",
            self.port
        );
        let (ws, response) = tungstenite::client(url, stream).expect("websocket handshake");
        assert_eq!(response.status(), 101);
        ws
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn first_line(child: &mut Child) -> String {
    let mut stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = Vec::new();
        let mut byte = [0u8; 1];
        while stdout.read(&mut byte).is_ok_and(|n| n == 1) && byte[0] != b'\n' {
            line.push(byte[0]);
        }
        let _ = tx.send(String::from_utf8_lossy(&line).into_owned());
    });
    rx.recv_timeout(WAIT).expect("listening line in time")
}

/// An HTTP response.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One HTTP/1.1 connection.
pub struct HttpClient {
    pub stream: TcpStream,
    buf: Vec<u8>,
}

impl HttpClient {
    pub fn connect(port: u16) -> Self {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        stream.set_read_timeout(Some(WAIT)).unwrap();
        Self {
            stream,
            buf: Vec::new(),
        }
    }

    pub fn send(&mut self, raw: &[u8]) {
        self.stream.write_all(raw).expect("write");
    }

    /// Sends a request with `body` (and a Content-Length when there is one).
    pub fn send_request(&mut self, method: &str, path: &str, body: &[u8]) {
        let mut raw = format!("{method} {path} HTTP/1.1\r\nHost: test\r\n");
        if !body.is_empty() {
            raw.push_str(&format!(
                "Content-Type: text/plain;charset=UTF-8\r\nContent-Length: {}\r\n",
                body.len()
            ));
        }
        raw.push_str("\r\n");
        let mut raw = raw.into_bytes();
        raw.extend_from_slice(body);
        self.send(&raw);
    }

    pub fn request(&mut self, method: &str, path: &str, body: &[u8]) -> Reply {
        self.send_request(method, path, body);
        self.read_reply(method == "HEAD")
    }

    /// Reads one response; `head_only` for replies to HEAD.
    pub fn read_reply(&mut self, head_only: bool) -> Reply {
        let end = loop {
            if let Some(at) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break at + 4;
            }
            self.fill();
        };
        let head = String::from_utf8_lossy(&self.buf[..end]).into_owned();
        self.buf.drain(..end);
        let mut lines = head.split("\r\n");
        let status = lines
            .next()
            .and_then(|l| l.split(' ').nth(1))
            .and_then(|s| s.parse().ok())
            .expect("status line");
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        let length: usize = headers
            .iter()
            .find(|(n, _)| n == "content-length")
            .map_or(0, |(_, v)| v.parse().expect("content-length"));
        let length = if head_only { 0 } else { length };
        while self.buf.len() < length {
            self.fill();
        }
        let body = self.buf.drain(..length).collect();
        Reply {
            status,
            headers,
            body,
        }
    }

    /// Asserts the server closes the connection (EOF or reset) within `within`, without
    /// sending anything more.
    pub fn expect_closed(&mut self, within: Duration) {
        self.stream.set_read_timeout(Some(within)).unwrap();
        let mut chunk = [0u8; 1024];
        match self.stream.read(&mut chunk) {
            Ok(0) => {}
            Ok(n) => panic!(
                "unexpected bytes {:?}",
                String::from_utf8_lossy(&chunk[..n])
            ),
            Err(err) if err.kind() == ErrorKind::ConnectionReset => {}
            Err(err) => panic!("connection not closed: {err}"),
        }
    }

    /// Asserts nothing arrives for `quiet` (a held request stays held).
    pub fn expect_nothing_for(&mut self, quiet: Duration) {
        self.stream.set_read_timeout(Some(quiet)).unwrap();
        let mut chunk = [0u8; 1024];
        match self.stream.read(&mut chunk) {
            Err(err) if matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            other => panic!("expected nothing, got {other:?}"),
        }
        self.stream.set_read_timeout(Some(WAIT)).unwrap();
    }

    /// Reads exactly `n` bytes (after whatever a reply left buffered).
    pub fn read_bytes(&mut self, n: usize) -> Vec<u8> {
        while self.buf.len() < n {
            self.fill();
        }
        self.buf.drain(..n).collect()
    }

    fn fill(&mut self) {
        let mut chunk = [0u8; 16 * 1024];
        let n = self.stream.read(&mut chunk).expect("read a reply");
        assert!(n > 0, "connection closed before a complete reply");
        self.buf.extend_from_slice(&chunk[..n]);
    }
}

/// Reads text messages until one starts with `prefix` (answering server pings `2` with `3`),
/// bounded by count and the socket's read timeout.
pub fn ws_expect(ws: &mut WebSocket<TcpStream>, prefix: &str) -> String {
    for _ in 0..50 {
        match ws.read().expect("websocket message") {
            Message::Text(text) if text.as_str() == "2" => {
                ws.send(Message::text("3")).expect("pong");
            }
            Message::Text(text) if text.starts_with(prefix) => return text.to_string(),
            _ => {}
        }
    }
    panic!("no message starting with {prefix:?}");
}

/// The string value of `"key":"..."` in a JSON text.
pub fn json_string(text: &str, key: &str) -> Option<String> {
    let start = text.find(&format!("\"{key}\":\""))? + key.len() + 4;
    let len = text[start..].find('"')?;
    Some(text[start..start + len].to_owned())
}

/// The number value of `"key":n` in a JSON text.
pub fn json_number(text: &str, key: &str) -> Option<u64> {
    let start = text.find(&format!("\"{key}\":"))? + key.len() + 3;
    let digits: String = text[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}
