//! Drives the real `iorelay` binary over loopback: start it on a free port, speak raw HTTP,
//! Engine.IO long-polling and websocket to it, stop it with a signal.
//!
//! Every wait here is bounded: reads have timeouts, loops have counts and deadlines.

#![allow(dead_code)] // each test file uses a different part of these helpers

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long any single read may block before a test fails.
pub const READ_TIMEOUT: Duration = Duration::from_secs(5);

/// Flags for conformance mode with heartbeats slow enough not to interleave with a test.
pub const CONFORMANCE: &[&str] = &[
    "--conformance",
    "--ping-interval",
    "20000",
    "--ping-timeout",
    "20000",
];

/// A running server, killed when dropped.
pub struct Server {
    child: Child,
    /// The port it listens on, parsed from its listening line.
    pub port: u16,
}

impl Server {
    /// Starts `iorelay serve --port 0` with extra flags.
    pub fn start(flags: &[&str]) -> Server {
        Server::start_with_env(flags, &[])
    }

    /// Starts `iorelay serve --port 0` with extra flags and environment variables.
    pub fn start_with_env(flags: &[&str], env: &[(&str, &str)]) -> Server {
        let mut command = Command::new(env!("CARGO_BIN_EXE_iorelay"));
        command
            .args(["serve", "--port", "0"])
            .args(flags)
            .env_remove("IORELAY_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        for (name, value) in env {
            command.env(name, value);
        }
        let mut child = command.spawn().expect("start iorelay");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx
            .recv_timeout(Duration::from_secs(10))
            .expect("listening line within 10 s");
        let port = line
            .trim()
            .strip_prefix("iorelay listening on http://127.0.0.1:")
            .and_then(|port| port.parse().ok())
            .unwrap_or_else(|| panic!("unexpected listening line {line:?}"));
        Server { child, port }
    }

    /// A new TCP connection to the server.
    pub fn connect(&self) -> Client {
        let stream = TcpStream::connect(("127.0.0.1", self.port)).expect("connect");
        stream.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
        stream.set_nodelay(true).unwrap();
        Client {
            stream,
            buf: Vec::new(),
        }
    }

    /// Sends SIGTERM.
    pub fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success());
    }

    /// Waits (bounded) for the process to exit.
    pub fn wait_exit(&mut self, within: Duration) -> ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "server still running after {within:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `GET path` on a fresh connection.
    pub fn get(&self, path: &str) -> Response {
        self.connect().request("GET", path, "")
    }

    /// Opens a polling session; returns its sid.
    pub fn handshake(&self) -> String {
        let response = self.get("/socket.io/?EIO=4&transport=polling");
        assert_eq!(response.status, 200, "{response:?}");
        let open = response.text();
        let json: serde_json::Value =
            serde_json::from_str(open.strip_prefix('0').expect("open packet")).unwrap();
        json["sid"].as_str().expect("sid").to_owned()
    }

    /// POSTs a polling payload to session `sid`; expects `ok`.
    pub fn post(&self, sid: &str, payload: &str) {
        let path = format!("/socket.io/?EIO=4&transport=polling&sid={sid}");
        let response = self.connect().request("POST", &path, payload);
        assert_eq!(
            (response.status, response.text().as_str()),
            (200, "ok"),
            "{response:?}"
        );
    }

    /// One GET poll of session `sid`: its packets.
    pub fn poll(&self, sid: &str) -> Vec<String> {
        let response = self.get(&poll_path(sid));
        assert_eq!(response.status, 200, "{response:?}");
        response.text().split('\x1e').map(str::to_owned).collect()
    }

    /// A polling session with a Socket.IO socket on `/`, the CONNECT reply consumed.
    pub fn connected_session(&self) -> String {
        let sid = self.handshake();
        self.connected_session_at(&sid);
        sid
    }

    /// Connects the polling session `sid` to namespace `/`, taking the CONNECT reply and the
    /// `auth` event conformance mode sends shortly after it, so nothing stays queued.
    pub fn connected_session_at(&self, sid: &str) {
        self.post(sid, "40");
        let mut packets = self.poll(sid);
        assert!(packets[0].starts_with("40{\"sid\":"), "{packets:?}");
        if packets.len() == 1 {
            packets = self.poll(sid);
        }
        assert_eq!(
            packets.last().map(String::as_str),
            Some("42[\"auth\",{}]"),
            "{packets:?}"
        );
    }

    /// Polls `/health` until `sessions` is `count` (bounded).
    pub fn await_sessions(&self, count: u64) {
        let deadline = Instant::now() + READ_TIMEOUT;
        loop {
            let health: serde_json::Value =
                serde_json::from_str(&self.get("/health").text()).unwrap();
            if health["sessions"] == count {
                return;
            }
            assert!(Instant::now() < deadline, "sessions stayed {health}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The path of a GET poll of `sid`.
pub fn poll_path(sid: &str) -> String {
    format!("/socket.io/?EIO=4&transport=polling&sid={sid}")
}

/// A parsed HTTP response.
#[derive(Debug)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Header fields, names lowercased.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Vec<u8>,
}

impl Response {
    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8(self.body.clone()).expect("UTF-8 body")
    }

    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("JSON body")
    }

    /// The first header named `name` (lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// One raw TCP connection speaking HTTP/1.1.
pub struct Client {
    /// The socket.
    pub stream: TcpStream,
    buf: Vec<u8>,
}

impl Client {
    /// Writes raw bytes.
    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write");
    }

    /// Sends a request and reads its response.
    pub fn request(&mut self, method: &str, path: &str, body: &str) -> Response {
        self.send_request(method, path, body);
        self.response()
    }

    /// Sends a request without reading the response.
    pub fn send_request(&mut self, method: &str, path: &str, body: &str) {
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        self.send(head.as_bytes());
        self.send(body.as_bytes());
    }

    /// Reads one response (Content-Length framed).
    pub fn response(&mut self) -> Response {
        let mut response = self.response_head_only();
        let length: usize = response
            .header("content-length")
            .map_or(0, |v| v.parse().unwrap());
        while self.buf.len() < length {
            assert!(self.fill() > 0, "connection closed inside a body");
        }
        response.body = self.buf.drain(..length).collect();
        response
    }

    /// Reads the head of a response to HEAD: no body follows, whatever Content-Length says.
    pub fn response_head_only(&mut self) -> Response {
        let head_end = loop {
            if let Some(at) = find(&self.buf, b"\r\n\r\n") {
                break at + 4;
            }
            assert!(self.fill() > 0, "connection closed before a response head");
        };
        let head: Vec<u8> = self.buf.drain(..head_end).collect();
        let head = String::from_utf8(head).unwrap();
        let mut lines = head.split("\r\n");
        let status = lines
            .next()
            .and_then(|line| line.split(' ').nth(1))
            .and_then(|code| code.parse().ok())
            .expect("status line");
        let headers = lines
            .filter_map(|line| line.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        Response {
            status,
            headers,
            body: Vec::new(),
        }
    }

    /// Whether the server closes the connection within `within` (EOF or reset).
    pub fn closed_within(&mut self, within: Duration) -> bool {
        self.stream.set_read_timeout(Some(within)).unwrap();
        let mut byte = [0u8; 1];
        let closed = match self.stream.read(&mut byte) {
            Ok(0) => true,
            Ok(_) => panic!("unexpected byte {byte:?} from the server"),
            Err(err) => !matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
        };
        self.stream.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
        closed
    }

    fn fill(&mut self) -> usize {
        let mut chunk = [0u8; 4096];
        let n = self
            .stream
            .read(&mut chunk)
            .expect("read within the timeout");
        self.buf.extend_from_slice(&chunk[..n]);
        n
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// A websocket client connection.
pub type WebSocket = tungstenite::WebSocket<TcpStream>;

impl Server {
    /// Opens a websocket to `/socket.io/` with the extra query `query` (e.g. `&sid=…`).
    pub fn websocket(&self, query: &str) -> WebSocket {
        let stream = TcpStream::connect(("127.0.0.1", self.port)).expect("connect");
        stream.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
        let url = format!(
            "ws://127.0.0.1:{}/socket.io/?EIO=4&transport=websocket{query}",
            self.port
        );
        let (ws, response) = tungstenite::client(url.as_str(), stream).expect("ws handshake");
        assert_eq!(response.status(), 101);
        ws
    }
}

/// The next text message, answering Engine.IO pings on the way.
pub fn ws_text(ws: &mut WebSocket) -> String {
    for _ in 0..100 {
        match ws.read().expect("websocket message") {
            tungstenite::Message::Text(text) if text.as_str() == "2" => {
                ws.send(tungstenite::Message::text("3")).unwrap();
            }
            tungstenite::Message::Text(text) => return text.as_str().to_owned(),
            other => panic!("expected a text message, got {other:?}"),
        }
    }
    panic!("no text message in 100 reads");
}

/// Sends one text message.
pub fn ws_send(ws: &mut WebSocket, text: &str) {
    ws.send(tungstenite::Message::text(text.to_owned()))
        .expect("websocket send");
}
