//! A runtime binary as a process: started on a free port with chosen flags and environment,
//! spoken to over raw TCP or websockets, stopped with a signal, its exit status observed.
//!
//! Every wait here is bounded: reads have timeouts, loops have counts and deadlines.

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::channel;
use std::thread;
use std::time::{Duration, Instant};

use tungstenite::Message;

use crate::raw::Client;
use crate::target::HttpReply;

/// The longest any single wait may take before a test fails.
pub const WAIT: Duration = Duration::from_secs(5);

/// Flags for conformance mode with heartbeats slow enough not to interleave with a test.
pub const CONFORMANCE: &[&str] = &[
    "--conformance",
    "--ping-interval",
    "20000",
    "--ping-timeout",
    "20000",
];

/// A runtime binary the behaviours run against.
pub struct RuntimeUnderTest {
    /// Short name printed with each behaviour.
    pub label: &'static str,
    /// The binary's file name in the target directory.
    pub name: &'static str,
}

impl RuntimeUnderTest {
    /// The `iorelay-std` binary.
    pub const STD: Self = Self {
        label: "std",
        name: "iorelay-std",
    };
    /// The `iorelay` (smol) binary.
    pub const SMOL: Self = Self {
        label: "smol",
        name: "iorelay",
    };

    /// The path of the binary built next to the running test executable.
    #[must_use]
    pub fn binary(&self) -> PathBuf {
        crate::net::binary(self.name)
    }

    /// `serve --port 0 --log warn <args>` with no extra environment.
    #[must_use]
    pub fn start(&self, args: &[&str]) -> Server {
        Server::start(self.label, self.binary(), args, &[])
    }

    /// `serve --port 0 --log warn <args>` with the environment variables `env` set.
    #[must_use]
    pub fn start_with_env(&self, args: &[&str], env: &[(&str, &str)]) -> Server {
        Server::start(self.label, self.binary(), args, env)
    }
}

/// A running server, killed when dropped.
pub struct Server {
    child: Child,
    addr: String,
    /// The fresh directory holding its data and state dirs, removed when it is dropped.
    scratch: PathBuf,
    /// The port it listens on, parsed from its listening line.
    pub port: u16,
}

impl Server {
    /// Starts `binary serve --port 0 --log warn <args>` with `env` and waits (at most 10 s) for
    /// its listening line.
    ///
    /// # Panics
    /// If the binary cannot start or prints no listening line on 127.0.0.1 in time.
    #[must_use]
    pub fn start(label: &str, binary: PathBuf, args: &[&str], env: &[(&str, &str)]) -> Self {
        Self::start_on(label, binary, 0, args, env)
    }

    /// Like [`Server::start`], on `port` (0: any free one), so a restarted server can take
    /// the port its predecessor had.
    ///
    /// # Panics
    /// As [`Server::start`].
    #[must_use]
    pub fn start_on(
        label: &str,
        binary: PathBuf,
        port: u16,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Self {
        let scratch = scratch_dir();
        let port_text = port.to_string();
        let mut child = Command::new(&binary)
            .args(["serve", "--port", &port_text, "--log", "warn"])
            .args(args)
            .env_remove("IORELAY_LOG")
            .env_remove("IORELAY_CONFIG")
            .env_remove("IORELAY_TOKEN")
            // No developer's own config file changes what a test server does.
            .env(
                "XDG_CONFIG_HOME",
                std::env::temp_dir().join("iorelay-tests-no-config"),
            )
            // Every server keeps its history and hook state apart (a caller may override).
            .env("IORELAY_DATA_DIR", scratch.join("data"))
            .env("IORELAY_STATE_DIR", scratch.join("state"))
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = channel();
        thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            while let Some(Ok(line)) = lines.next() {
                if let Some(addr) = line.strip_prefix("iorelay listening on http://") {
                    let _ = tx.send(addr.trim().to_owned());
                }
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(10))
            .unwrap_or_else(|_| panic!("{label}: no listening line within 10 s"));
        let port = addr
            .strip_prefix("127.0.0.1:")
            .and_then(|port| port.parse().ok())
            .unwrap_or_else(|| panic!("{label}: unexpected listening address {addr:?}"));
        Self {
            child,
            addr,
            scratch,
            port,
        }
    }

    /// The server's process id.
    #[must_use]
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `host:port` the server listens on.
    #[must_use]
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// A new raw TCP connection.
    #[must_use]
    pub fn connect(&self) -> Client {
        Client::connect(&self.addr)
    }

    /// `GET path` on a fresh connection.
    #[must_use]
    pub fn get(&self, path: &str) -> HttpReply {
        self.connect().request("GET", path, b"")
    }

    /// Opens an Engine.IO polling session; returns its sid.
    #[must_use]
    pub fn handshake(&self) -> String {
        let response = self.get("/socket.io/?EIO=4&transport=polling");
        assert_eq!(response.status, 200, "{response:?}");
        let open = response.text();
        let json: serde_json::Value =
            serde_json::from_str(open.strip_prefix('0').expect("open packet")).expect("JSON");
        json["sid"].as_str().expect("sid").to_owned()
    }

    /// POSTs a polling payload to session `sid`; expects `ok`.
    pub fn post(&self, sid: &str, payload: &str) {
        let response = self
            .connect()
            .request("POST", &poll_path(sid), payload.as_bytes());
        assert_eq!(
            (response.status, response.text().as_str()),
            (200, "ok"),
            "{response:?}"
        );
    }

    /// One GET poll of session `sid`: its packets.
    #[must_use]
    pub fn poll(&self, sid: &str) -> Vec<String> {
        let response = self.get(&poll_path(sid));
        assert_eq!(response.status, 200, "{response:?}");
        response.text().split('\x1e').map(str::to_owned).collect()
    }

    /// A polling session with a Socket.IO socket on `/`, the CONNECT reply and the `auth` event
    /// conformance mode sends after it consumed, so nothing stays queued.
    #[must_use]
    pub fn connected_session(&self) -> String {
        let sid = self.handshake();
        self.post(&sid, "40");
        let mut packets = self.poll(&sid);
        assert!(packets[0].starts_with("40{\"sid\":"), "{packets:?}");
        if packets.len() == 1 {
            packets = self.poll(&sid);
        }
        assert_eq!(
            packets.last().map(String::as_str),
            Some("42[\"auth\",{}]"),
            "{packets:?}"
        );
        sid
    }

    /// Waits (bounded by [`WAIT`]) until `/health` counts `count` Engine.IO sessions.
    pub fn await_sessions(&self, count: u64) {
        self.await_health("sessions", count);
    }

    /// Waits (bounded by [`WAIT`]) until `/health` counts `count` connected Socket.IO sockets:
    /// the clients have joined, not only opened a session.
    pub fn await_sockets(&self, count: u64) {
        self.await_health("sockets", count);
    }

    fn await_health(&self, field: &str, count: u64) {
        let deadline = Instant::now() + WAIT;
        loop {
            let health = self.get("/health").json();
            if health[field] == count {
                return;
            }
            assert!(Instant::now() < deadline, "{field} stayed {health}");
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// A websocket to `/socket.io/?EIO=4&transport=websocket<query>`.
    #[must_use]
    pub fn websocket(&self, query: &str) -> WebSocket {
        let stream = TcpStream::connect(&self.addr).expect("connect");
        stream.set_read_timeout(Some(WAIT)).expect("read timeout");
        let url = format!(
            "ws://{}/socket.io/?EIO=4&transport=websocket{query}",
            self.addr
        );
        let (ws, response) = tungstenite::client(url.as_str(), stream).expect("ws handshake");
        assert_eq!(response.status(), 101);
        ws
    }

    /// A websocket with a Socket.IO socket on `/`: the open packet, CONNECT reply and the `auth`
    /// event conformance mode sends are consumed.
    #[must_use]
    pub fn connected_websocket(&self) -> WebSocket {
        let mut ws = self.websocket("");
        let open = ws_text(&mut ws);
        assert!(open.starts_with("0{\"sid\":"), "{open}");
        ws_send(&mut ws, "40");
        let connected = ws_text(&mut ws);
        assert!(connected.starts_with("40{\"sid\":"), "{connected}");
        assert_eq!(ws_text(&mut ws), "42[\"auth\",{}]");
        ws
    }

    /// Sends SIGTERM through `kill -TERM`.
    pub fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM failed: {status:?}");
    }

    /// Waits (bounded by `within`) for the process to exit.
    pub fn wait_exit(&mut self, within: Duration) -> ExitStatus {
        wait_exit(&mut self.child, within)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.scratch);
    }
}

/// A directory no other test server uses: under the temp dir, named by process and count.
#[must_use]
pub fn scratch_dir() -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    std::env::temp_dir().join(format!("iorelay-test-{}-{n}", std::process::id()))
}

/// Waits (bounded by `within`) for `child` to exit; kills it and panics if it does not.
pub fn wait_exit(child: &mut Child, within: Duration) -> ExitStatus {
    let deadline = Instant::now() + within;
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("process still running after {within:?}");
        }
        thread::sleep(Duration::from_millis(10));
    }
}

/// The path of a GET poll of `sid`.
#[must_use]
pub fn poll_path(sid: &str) -> String {
    format!("/socket.io/?EIO=4&transport=polling&sid={sid}")
}

/// A websocket client connection.
pub type WebSocket = tungstenite::WebSocket<TcpStream>;

/// The next text message, answering Engine.IO pings (`2`) with pongs (`3`) on the way.
///
/// # Panics
/// On a non-text message, a read error, or after 100 pings.
pub fn ws_text(ws: &mut WebSocket) -> String {
    for _ in 0..100 {
        match ws.read().expect("websocket message") {
            Message::Text(text) if text.as_str() == "2" => {
                ws.send(Message::text("3")).expect("pong");
            }
            Message::Text(text) => return text.as_str().to_owned(),
            other => panic!("expected a text message, got {other:?}"),
        }
    }
    panic!("no text message in 100 reads");
}

/// Sends one text message.
pub fn ws_send(ws: &mut WebSocket, text: &str) {
    ws.send(Message::text(text.to_owned()))
        .expect("websocket send");
}
