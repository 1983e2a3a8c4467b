//! Shared helpers for the engine's integration tests: virtual time from one origin, requests
//! built from literal HTTP text, and a harness that feeds the engine one input and drains
//! `poll_output` until `Output::Timeout`, keeping what came out per connection.
//!
//! Each test file compiles this module on its own and uses part of it, hence the
//! `dead_code` allowance.
#![allow(dead_code)]

pub mod link;
pub mod prng;
pub mod relay;
pub mod scripted;

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use bytes::Bytes;
use iorelay_core::engineio::packet::Frame;
use iorelay_core::engineio::payload;
use iorelay_core::http::{parse_request_head, HeadLimits, RequestHead, Response};
use iorelay_core::{
    ApiMisuse, Body, CloseReason, Config, ConnId, Engine, Event, Input, Output, Relay, SessionId,
    SocketId,
};

/// The seed every harness engine uses, so ids are the same on every run.
pub const SEED: [u8; 32] = [7; 32];

/// Most outputs one drain may yield before the harness calls it a livelock.
const MAX_OUTPUTS_PER_DRAIN: usize = 100_000;

/// The one origin of virtual time; tests only ever add durations to it.
#[allow(clippy::disallowed_methods)]
pub fn t0() -> Instant {
    Instant::now()
}

/// `n` milliseconds.
pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// `n` seconds.
pub fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// Parses literal request text (head only) into a `RequestHead`.
///
/// # Panics
/// When the text is not a complete, valid request head.
pub fn head(raw: &str) -> RequestHead {
    match parse_request_head(raw.as_bytes(), &HeadLimits::default()) {
        Ok(Some((head, consumed))) => {
            assert_eq!(consumed, raw.len(), "request text has bytes after its head");
            head
        }
        other => panic!("not a complete request head: {other:?}\n{raw}"),
    }
}

/// `GET target`.
pub fn get_request(target: &str) -> String {
    format!("GET {target} HTTP/1.1\r\nHost: localhost\r\n\r\n")
}

/// `POST target` announcing a body of `len` bytes.
pub fn post_request(target: &str, len: usize) -> String {
    format!(
        "POST {target} HTTP/1.1\r\nHost: localhost\r\n\
         Content-Type: text/plain;charset=UTF-8\r\nContent-Length: {len}\r\n\r\n"
    )
}

/// A valid websocket upgrade `GET target`.
pub fn ws_request(target: &str) -> String {
    format!(
        "GET {target} HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
    )
}

/// The Socket.IO endpoint with `query` after `EIO=4&`.
pub fn sio(query: &str) -> String {
    format!("/socket.io/?EIO=4&{query}")
}

/// The polling endpoint of the Socket.IO session `sid`.
/// The `sid` of a Socket.IO CONNECT reply frame `40<nsp_prefix>{"sid":…,"pid":…}`; checks
/// the reply carries a 20-character sid and, with recovery on, a different `pid`.
///
/// # Panics
/// If `frame` is not such a reply.
pub fn connect_reply_sid(frame: &str, nsp_prefix: &str) -> String {
    let head = format!("40{nsp_prefix}");
    let data: serde_json::Value = frame
        .strip_prefix(&head)
        .and_then(|rest| serde_json::from_str(rest).ok())
        .unwrap_or_else(|| panic!("not a CONNECT reply: {frame}"));
    let sid = data["sid"]
        .as_str()
        .unwrap_or_else(|| panic!("no sid: {frame}"));
    assert_eq!(sid.len(), 20, "{frame}");
    if let Some(pid) = data.get("pid") {
        assert_ne!(pid.as_str(), Some(sid), "the pid is private: {frame}");
    }
    sid.to_owned()
}

pub fn polling(sid: &str) -> String {
    sio(&format!("transport=polling&sid={sid}"))
}

/// The websocket endpoint of the Socket.IO session `sid`.
pub fn websocket(sid: &str) -> String {
    sio(&format!("transport=websocket&sid={sid}"))
}

/// The frames of a polling response body (`4a␞4b` → two frames).
pub fn decode_payload(body: &Bytes) -> Vec<Frame> {
    payload::decode(body, 10_000)
        .unwrap_or_else(|err| panic!("bad polling payload {body:?}: {err}"))
}

/// A frame as one readable line: text as is, binary as `<hex bytes>`.
pub fn show_frame(frame: &Frame) -> String {
    match frame {
        Frame::Text(text) => String::from_utf8_lossy(text).into_owned(),
        Frame::Binary(data) => {
            let mut s = String::from("<");
            for (i, byte) in data.iter().enumerate() {
                if i > 0 {
                    s.push(' ');
                }
                let _ = write!(s, "{byte:02x}");
            }
            s.push('>');
            s
        }
    }
}

/// A text frame.
pub fn text(s: &str) -> Frame {
    Frame::Text(Bytes::copy_from_slice(s.as_bytes()))
}

/// A binary frame.
pub fn binary(data: &[u8]) -> Frame {
    Frame::Binary(Bytes::copy_from_slice(data))
}

/// What one input (or command) produced: every output before the `Timeout`, and the deadline
/// that `Timeout` named.
#[derive(Debug, Clone)]
pub struct Drained {
    /// The outputs, in order, without the final `Timeout`.
    pub outputs: Vec<Output>,
    /// The next deadline the engine asked for.
    pub next: Option<Instant>,
}

impl Drained {
    /// Every output addressed to a connection as a readable line, in order:
    /// `1 http 200 <body>`, `3 ws accept`, `3 ws <frame>`, `3 ws close 1008 <reason>`.
    /// Frames in a polling body are joined with `␞`.
    pub fn transcript(&self) -> Vec<String> {
        self.outputs
            .iter()
            .filter_map(|output| match output {
                Output::HttpReply { conn, response } => Some(format!(
                    "{} http {} {}",
                    conn.0,
                    response.status,
                    String::from_utf8_lossy(&response.body).replace('\u{1e}', "␞")
                )),
                Output::WsAccept { conn } => Some(format!("{} ws accept", conn.0)),
                Output::WsSend { conn, frame } => {
                    Some(format!("{} ws {}", conn.0, show_frame(frame)))
                }
                Output::WsClose { conn, code, reason } => {
                    Some(format!("{} ws close {code} {reason}", conn.0))
                }
                _ => None,
            })
            .collect()
    }

    /// The events, in order.
    pub fn events(&self) -> Vec<Event> {
        self.outputs
            .iter()
            .filter_map(|output| match output {
                Output::Event(event) => Some(event.clone()),
                _ => None,
            })
            .collect()
    }

    /// The one HTTP reply on `conn`.
    ///
    /// # Panics
    /// Unless exactly one reply went to `conn`.
    pub fn reply(&self, conn: u64) -> &Response {
        let replies: Vec<&Response> = self
            .outputs
            .iter()
            .filter_map(|output| match output {
                Output::HttpReply { conn: c, response } if c.0 == conn => Some(response),
                _ => None,
            })
            .collect();
        assert_eq!(replies.len(), 1, "replies on conn {conn}: {self:#?}");
        replies[0]
    }

    /// Whether anything at all went to `conn`.
    pub fn touches(&self, conn: u64) -> bool {
        self.outputs
            .iter()
            .any(|o| output_conn(o) == Some(ConnId(conn)))
    }

    /// The frames of the one polling reply on `conn`, each as a readable line.
    pub fn polled(&self, conn: u64) -> Vec<String> {
        let response = self.reply(conn);
        assert_eq!(response.status, 200, "{response:?}");
        decode_payload(&response.body)
            .iter()
            .map(show_frame)
            .collect()
    }

    /// The websocket frames sent on `conn`.
    pub fn ws_frames(&self, conn: u64) -> Vec<Frame> {
        self.outputs
            .iter()
            .filter_map(|output| match output {
                Output::WsSend { conn: c, frame } if c.0 == conn => Some(frame.clone()),
                _ => None,
            })
            .collect()
    }

    /// The websocket frames sent on `conn`, each as a readable line.
    pub fn ws_sent(&self, conn: u64) -> Vec<String> {
        self.ws_frames(conn).iter().map(show_frame).collect()
    }

    /// The session of the `SessionOpened` event.
    pub fn opened_session(&self) -> Option<(SessionId, String)> {
        self.events().into_iter().find_map(|event| match event {
            Event::SessionOpened { session, sid, .. } => Some((session, sid)),
            _ => None,
        })
    }

    /// The socket of the `SocketConnected` event.
    pub fn connected_socket(&self) -> Option<SocketId> {
        self.events().into_iter().find_map(|event| match event {
            Event::SocketConnected { socket, .. } => Some(socket),
            _ => None,
        })
    }
}

/// The connection an output is addressed to, if any.
pub fn output_conn(output: &Output) -> Option<ConnId> {
    match output {
        Output::HttpReply { conn, .. }
        | Output::WsAccept { conn }
        | Output::WsSend { conn, .. }
        | Output::WsClose { conn, .. } => Some(*conn),
        _ => None,
    }
}

/// An Engine.IO session the harness opened.
#[derive(Debug, Clone)]
pub struct Opened {
    /// The engine's name for it.
    pub session: SessionId,
    /// Its Engine.IO sid.
    pub sid: String,
}

/// What the harness drives: the protocol [`Engine`] or the [`Relay`] around one, which take
/// the same inputs and give the same outputs.
pub trait Machine {
    /// Feeds one input.
    ///
    /// # Errors
    /// Misuse of the API.
    fn handle_input(&mut self, input: Input) -> Result<(), ApiMisuse>;
    /// The next output.
    fn poll_output(&mut self) -> Output;
}

impl Machine for Engine {
    fn handle_input(&mut self, input: Input) -> Result<(), ApiMisuse> {
        Engine::handle_input(self, input)
    }
    fn poll_output(&mut self) -> Output {
        Engine::poll_output(self)
    }
}

impl Machine for Relay {
    fn handle_input(&mut self, input: Input) -> Result<(), ApiMisuse> {
        Relay::handle_input(self, input)
    }
    fn poll_output(&mut self) -> Output {
        Relay::poll_output(self)
    }
}

/// An engine (or a relay) on virtual time, driven by hand: each call feeds one input or
/// command at the harness's `now` and drains every output.
pub struct Harness<M: Machine = Engine> {
    /// The engine (or relay) under test.
    pub engine: M,
    /// The origin of virtual time.
    pub t0: Instant,
    /// The instant inputs are stamped with.
    pub now: Instant,
    given: BTreeSet<ConnId>,
}

impl Harness<Engine> {
    /// An engine with `config` started at `t0`.
    pub fn new(config: Config) -> Self {
        let t0 = t0();
        Self::around(Engine::new(config, t0, SEED), t0)
    }

    /// An engine with the default configuration.
    pub fn default_config() -> Self {
        Self::new(Config::default())
    }
}

impl Harness<Relay> {
    /// A relay with `config` started at `t0`, whose wall clock read [`RELAY_START_UNIX_MS`]
    /// then.
    pub fn relay(mut config: Config) -> Self {
        let t0 = t0();
        config.server.started_unix_ms = RELAY_START_UNIX_MS;
        Self::around(Relay::new(config, t0, SEED), t0)
    }
}

/// The wall time a harness relay starts at: 2026-01-01T00:00:00.000Z.
pub const RELAY_START_UNIX_MS: u64 = 1_767_225_600_000;

impl<M: Machine> Harness<M> {
    fn around(engine: M, t0: Instant) -> Self {
        Self {
            engine,
            t0,
            now: t0,
            given: BTreeSet::new(),
        }
    }

    /// Moves the harness clock to `t0 + after` (inputs are stamped with it); feeds nothing.
    pub fn set_time(&mut self, after: Duration) {
        self.now = self.t0 + after;
    }

    /// Feeds `Input::Timeout(t0 + after)`.
    pub fn tick(&mut self, after: Duration) -> Drained {
        self.set_time(after);
        self.input(Input::Timeout(self.now))
    }

    /// Feeds `Input::Timeout(at)` for an absolute instant.
    pub fn tick_at(&mut self, at: Instant) -> Drained {
        self.now = at;
        self.input(Input::Timeout(at))
    }

    /// Feeds one input and drains.
    pub fn input(&mut self, input: Input) -> Drained {
        match &input {
            Input::Http { conn, .. } => {
                self.given.insert(*conn);
            }
            Input::WsMessage { conn, .. }
            | Input::WsTooLarge { conn, .. }
            | Input::ConnClosed { conn, .. }
            | Input::Congestion { conn, .. } => {
                assert!(self.given.contains(conn), "harness misuse: conn {conn:?}");
            }
            _ => {}
        }
        self.engine
            .handle_input(input)
            .expect("the harness uses the API correctly");
        self.drain()
    }

    /// An HTTP request from literal head text and a body.
    pub fn http(&mut self, conn: u64, request: &str, body: Body) -> Drained {
        let input = Input::Http {
            now: self.now,
            conn: ConnId(conn),
            peer: None,
            head: head(request),
            body,
        };
        self.input(input)
    }

    /// `GET target` on `conn`.
    pub fn get(&mut self, conn: u64, target: &str) -> Drained {
        self.http(conn, &get_request(target), Body::Complete(Bytes::new()))
    }

    /// `POST target` with `body` on `conn`.
    pub fn post(&mut self, conn: u64, target: &str, body: &[u8]) -> Drained {
        let request = post_request(target, body.len());
        self.http(conn, &request, Body::Complete(Bytes::copy_from_slice(body)))
    }

    /// A websocket upgrade request for `target` on `conn`.
    pub fn ws_open(&mut self, conn: u64, target: &str) -> Drained {
        self.http(conn, &ws_request(target), Body::Complete(Bytes::new()))
    }

    /// A websocket message on `conn`.
    pub fn ws(&mut self, conn: u64, frame: Frame) -> Drained {
        let now = self.now;
        self.input(Input::WsMessage {
            now,
            conn: ConnId(conn),
            frame,
        })
    }

    /// A websocket text message on `conn`.
    pub fn ws_text(&mut self, conn: u64, message: &str) -> Drained {
        self.ws(conn, text(message))
    }

    /// A websocket binary message on `conn`.
    pub fn ws_binary(&mut self, conn: u64, data: &[u8]) -> Drained {
        self.ws(conn, binary(data))
    }

    /// The runtime saw a websocket message on `conn` over the size limit.
    pub fn ws_too_large(&mut self, conn: u64) -> Drained {
        let now = self.now;
        self.input(Input::WsTooLarge {
            now,
            conn: ConnId(conn),
        })
    }

    /// The connection `conn` closed.
    pub fn conn_closed(&mut self, conn: u64) -> Drained {
        let now = self.now;
        self.input(Input::ConnClosed {
            now,
            conn: ConnId(conn),
        })
    }

    /// Drains after a command, checking every output goes to a connection the engine was given.
    /// A `WsBroadcast` comes out as the `WsSend`s it stands for (`Output::per_connection`), so
    /// tests read every connection's frames alike; [`Harness::drain_whole`] leaves it whole.
    ///
    /// # Panics
    /// On an output for an unknown connection, or when the engine never stops producing.
    pub fn drain(&mut self) -> Drained {
        let Drained { outputs, next } = self.drain_whole();
        let outputs = outputs
            .into_iter()
            .flat_map(Output::per_connection)
            .collect();
        Drained { outputs, next }
    }

    /// Drains as [`Harness::drain`] does, leaving every output as the engine made it.
    pub fn drain_whole(&mut self) -> Drained {
        let mut outputs = Vec::new();
        loop {
            match self.engine.poll_output() {
                Output::Timeout(next) => return Drained { outputs, next },
                output => {
                    for sent in output.clone().per_connection() {
                        if let Some(conn) = output_conn(&sent) {
                            assert!(self.given.contains(&conn), "output to unknown {sent:?}");
                        }
                    }
                    outputs.push(output);
                    assert!(outputs.len() < MAX_OUTPUTS_PER_DRAIN, "drain never ends");
                }
            }
        }
    }

    /// Opens a polling session with the handshake GET on `conn`.
    pub fn open_polling(&mut self, conn: u64) -> Opened {
        let drained = self.get(conn, &sio("transport=polling"));
        let (session, sid) = drained.opened_session().expect("SessionOpened");
        Opened { session, sid }
    }

    /// Opens a websocket-only session on `conn`.
    pub fn open_websocket(&mut self, conn: u64) -> Opened {
        let drained = self.ws_open(conn, &sio("transport=websocket"));
        let (session, sid) = drained.opened_session().expect("SessionOpened");
        Opened { session, sid }
    }

    /// A websocket session on `conn` connected to namespace `/`; returns its socket.
    pub fn connected_websocket(&mut self, conn: u64) -> (Opened, SocketId) {
        let opened = self.open_websocket(conn);
        let socket = self
            .ws_text(conn, "40")
            .connected_socket()
            .expect("connected");
        (opened, socket)
    }
}

/// The events of a session that closed for `reason` with one socket: the socket leaves first,
/// then the session is freed, both for the same reason.
pub fn closed_for(reason: CloseReason, socket: SocketId, session: SessionId) -> [Event; 2] {
    [
        Event::SocketDisconnected { socket, reason },
        Event::SessionClosed { session, reason },
    ]
}
