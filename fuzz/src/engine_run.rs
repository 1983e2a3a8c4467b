//! The whole engine driven by a fuzz-chosen script of inputs and commands, as a runtime would
//! drive it, with the engine's promises checked after every step.
//!
//! The script is read from the fuzz bytes one operation at a time: HTTP requests to the
//! Engine.IO endpoints (handshakes, polls, posts, upgrades, and arbitrary method, path, query
//! and body), websocket messages (protocol templates or raw bytes), oversize notices, closed
//! connections, congestion, the passing of time, and application commands. Session ids and
//! socket ids the engine handed out are remembered, so the script can name them by index and
//! reach deep states. The harness behaves like a faithful runtime where the contract demands it
//! (fresh connection ids, `Body::TooLarge` above `body_limit`, `WsTooLarge` above `max_payload`,
//! a `ConnClosed` after every websocket close), and feeds anything at all inside those frames.
//!
//! Invariants: nothing panics; every drain reaches `Output::Timeout` within a bound and its
//! instant is `next_deadline()`; a live session always has a deadline; feeding a deadline
//! consumes it; each HTTP request is answered at most once, and by the end exactly once unless
//! its connection closed; websocket messages go only to connections accepted as websockets;
//! sessions and sockets open and close exactly once and the engine's counts agree; each awaited
//! ack ends exactly once; once the client goes silent, running the timers down frees every
//! session; and the same script run twice from the same instant gives the same outputs.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use bytes::Bytes;
use iorelay_core::config::{Mode, NamespacePolicy};
use iorelay_core::engineio::packet::Frame;
use iorelay_core::http::{parse_request_head, CorsPolicy, HeadLimits};
use iorelay_core::{
    Body, Config, ConnId, Emit, Engine, Event, Input, Output, SessionId, SocketId, Target,
};

use super::cursor::Cursor;

/// Most operations one input runs, so a long input cannot make one run slow.
const MAX_OPS: usize = 256;
/// Most outputs one drain may yield before it counts as a livelock.
const MAX_OUTPUTS_PER_DRAIN: usize = 1 << 16;
/// Most deadlines the silent-client run-down may take before it counts as a livelock.
const MAX_RUNDOWN_STEPS: usize = 4096;
/// Connections the script may hold open for HTTP at once.
const HTTP_SLOTS: usize = 4;

/// The engine target: see the module docs.
pub fn engine(data: &[u8]) {
    let start = Instant::now();
    let first = run_script(data, start);
    let second = run_script(data, start);
    check_same_outputs(&first, &second);
}

/// The engine is deterministic (seeded ids, no `HashMap` iteration in logic): the same script
/// run twice from the same instant must give the very same outputs.
fn check_same_outputs(first: &[Output], second: &[Output]) {
    let len = first.len().max(second.len());
    if let Some(at) = (0..len).find(|&i| first.get(i) != second.get(i)) {
        panic!(
            "the same inputs gave different outputs: output {at} was {:?}, then {:?}",
            first.get(at),
            second.get(at)
        );
    }
}

/// Runs the script once from `start`, checking every step; returns every output drained.
fn run_script(data: &[u8], start: Instant) -> Vec<Output> {
    let mut input = Cursor::new(data);
    let config = config(input.byte());
    let mut run = Run::new(config, start);
    for _ in 0..MAX_OPS {
        if input.is_empty() {
            break;
        }
        run.step(&mut input);
    }
    run.run_down();
    run.transcript
}

/// The configuration a selector byte picks: the defaults, the conformance app, tight limits
/// and short timeouts, or a raw Engine.IO endpoint beside Socket.IO.
fn config(selector: u8) -> Config {
    match selector % 4 {
        0 => Config::default(),
        1 => Config::conformance(),
        2 => Config {
            ping_interval: Duration::from_millis(50),
            ping_timeout: Duration::from_millis(30),
            max_payload: 96,
            upgrade_timeout: Duration::from_millis(40),
            connect_timeout: Duration::from_millis(100),
            ack_timeout: Duration::from_millis(20),
            attachment_timeout: Duration::from_millis(25),
            max_attachments: 2,
            max_queued_bytes: 64,
            slow_consumer_timeout: Duration::from_millis(60),
            namespaces: NamespacePolicy::Only(vec!["/".to_owned(), "/admin".to_owned()]),
            cors: CorsPolicy::AllowAll,
            max_body: 128,
            engineio_path: Some("/engine.io/".to_owned()),
            mode: Mode::Conformance,
            ..Config::default()
        },
        _ => Config {
            engineio_path: Some("/engine.io/".to_owned()),
            max_attachments: 4,
            ..Config::default()
        },
    }
}

/// Engine.IO and Socket.IO messages a client sends over websocket or in a polling payload.
const MESSAGES: &[&str] = &[
    "2probe",
    "3probe",
    "5",
    "3",
    "2",
    "6",
    "1",
    "40",
    "40/admin,",
    "40/custom,{\"token\":\"x\"}",
    "40{\"token\":1}",
    "41",
    "41/admin,",
    "42[\"message\",1,\"two\"]",
    "421[\"message-with-ack\",{\"a\":[]}]",
    "42/admin,7[\"ev\"]",
    "430[\"ok\"]",
    "431[]",
    "451-[\"message\",{\"_placeholder\":true,\"num\":0}]",
    "452-3[\"message-with-ack\",{\"_placeholder\":true,\"num\":0},{\"_placeholder\":true,\"num\":1}]",
    "461-0[{\"_placeholder\":true,\"num\":0}]",
    "44{\"message\":\"no\"}",
    "4hello raw",
    "4",
    "7",
];

/// Paths the script requests: the mounts with and without their slash, and others.
const PATHS: &[&str] = &[
    "/socket.io/",
    "/socket.io",
    "/engine.io/",
    "/health",
    "/",
    "/socket.io/x",
    "*",
];

const METHODS: &[&str] = &[
    "GET", "POST", "OPTIONS", "HEAD", "PUT", "DELETE", "get", "BREW",
];

const ORIGINS: &[Option<&str>] = &[
    None,
    Some("http://localhost:3000"),
    Some("http://evil.example"),
    Some("null"),
];

const ROOMS: &[&str] = &["r1", "r2", "lobby"];

const NAMESPACES: &[&str] = &["/", "/admin", "/custom", "/nope"];

/// A connection as the script's runtime sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Conn {
    /// Open, carrying HTTP requests.
    Http,
    /// Accepted as a websocket.
    Ws,
    /// Closed by either side; never used again.
    Closed,
}

/// The engine, the runtime around it, and the model the engine's outputs are checked against.
struct Run {
    engine: Engine,
    start: Instant,
    /// Virtual time since `start`.
    elapsed: Duration,
    next_conn: u64,
    /// The connections the script sends HTTP requests on.
    http_slots: [ConnId; HTTP_SLOTS],
    conns: BTreeMap<ConnId, Conn>,
    /// Websocket connections, in acceptance order, for the script to pick from.
    websockets: Vec<ConnId>,
    /// Every connection ever accepted as a websocket.
    ever_websockets: BTreeSet<ConnId>,
    /// HTTP requests sent minus answers received, per open connection.
    unanswered: BTreeMap<ConnId, usize>,
    /// Every sid ever handed out, so the script can name live and dead sessions.
    sids: Vec<String>,
    sessions: BTreeSet<SessionId>,
    ever_sessions: BTreeSet<SessionId>,
    sockets: BTreeMap<SocketId, SessionId>,
    ever_sockets: BTreeSet<SocketId>,
    /// Server→client acks awaited, by socket and id, with the instant they time out.
    awaited_acks: BTreeMap<(SocketId, u64), Instant>,
    /// Client→server acks the application may answer.
    client_acks: Vec<(SocketId, u64)>,
    /// Websockets the engine closed; the runtime reports them closed after the drain.
    closing: Vec<ConnId>,
    /// The connection whose `ConnClosed` is being fed.
    closing_now: Option<ConnId>,
    max_payload: usize,
    /// Every output drained, to compare runs.
    transcript: Vec<Output>,
}

impl Run {
    fn new(config: Config, start: Instant) -> Self {
        let max_payload = config.max_payload;
        let mut run = Run {
            engine: Engine::new(config, start, [7; 32]),
            start,
            elapsed: Duration::ZERO,
            next_conn: 0,
            http_slots: [ConnId(0); HTTP_SLOTS],
            conns: BTreeMap::new(),
            websockets: Vec::new(),
            ever_websockets: BTreeSet::new(),
            unanswered: BTreeMap::new(),
            sids: Vec::new(),
            sessions: BTreeSet::new(),
            ever_sessions: BTreeSet::new(),
            sockets: BTreeMap::new(),
            ever_sockets: BTreeSet::new(),
            awaited_acks: BTreeMap::new(),
            client_acks: Vec::new(),
            closing: Vec::new(),
            closing_now: None,
            max_payload,
            transcript: Vec::new(),
        };
        for slot in 0..HTTP_SLOTS {
            run.http_slots[slot] = run.new_conn();
        }
        run
    }

    fn now(&self) -> Instant {
        self.start + self.elapsed
    }

    fn new_conn(&mut self) -> ConnId {
        self.next_conn += 1;
        let conn = ConnId(self.next_conn);
        self.conns.insert(conn, Conn::Http);
        conn
    }

    /// Reads one operation from the script and performs it.
    fn step(&mut self, input: &mut Cursor<'_>) {
        match input.below(16) {
            0 | 1 => self.handshake(input),
            2 => self.poll(input),
            3 | 4 => self.post(input),
            5 => self.upgrade(input),
            6 => self.any_request(input),
            7 | 8 => self.ws_text(input),
            9 => self.ws_binary(input),
            10 => self.ws_too_large(input),
            11 => self.conn_closed(input),
            12 => self.congestion(input),
            13 | 14 => self.time(input),
            _ => self.command(input),
        }
    }

    // ---- HTTP -------------------------------------------------------------------------

    fn handshake(&mut self, input: &mut Cursor<'_>) {
        let ws = input.byte() & 1 == 1;
        let path = if input.byte() & 3 == 0 {
            "/engine.io/"
        } else {
            "/socket.io/"
        };
        let transport = if ws { "websocket" } else { "polling" };
        let query = format!("EIO=4&transport={transport}&t=N8hyd6w");
        self.request(input, "GET", path, &query, ws, b"");
    }

    fn poll(&mut self, input: &mut Cursor<'_>) {
        let query = format!("EIO=4&transport=polling&sid={}", self.sid(input));
        let path = self.mount(input);
        self.request(input, "GET", path, &query, false, b"");
    }

    fn post(&mut self, input: &mut Cursor<'_>) {
        let query = format!("EIO=4&transport=polling&sid={}", self.sid(input));
        let path = self.mount(input);
        let body = if input.byte() & 1 == 0 {
            // A payload of protocol messages joined by the record separator.
            let count = 1 + input.below(4);
            let mut body = Vec::new();
            for i in 0..count {
                if i > 0 {
                    body.push(0x1e);
                }
                match input.below(8) {
                    0 => body.extend_from_slice(b"bAQID"),
                    1 => body.extend_from_slice(input.chunk()),
                    _ => body.extend_from_slice(input.pick(MESSAGES).as_bytes()),
                }
            }
            body
        } else {
            input.chunk().to_vec()
        };
        self.request(input, "POST", path, &query, false, &body);
    }

    fn upgrade(&mut self, input: &mut Cursor<'_>) {
        let query = format!("EIO=4&transport=websocket&sid={}", self.sid(input));
        let path = self.mount(input);
        self.request(input, "GET", path, &query, true, b"");
    }

    /// A request with a fuzz-chosen method, path, query, headers and body.
    fn any_request(&mut self, input: &mut Cursor<'_>) {
        let method = input.pick(METHODS);
        let path = input.pick(PATHS);
        let mut query = String::new();
        for _ in 0..input.below(5) {
            let (key, value) = match input.below(6) {
                0 => ("EIO", input.pick(&["4", "3", "5", "", "04"]).to_owned()),
                1 => (
                    "transport",
                    input
                        .pick(&["polling", "websocket", "flashsocket", ""])
                        .to_owned(),
                ),
                2 => ("sid", self.sid(input)),
                3 => ("b64", "1".to_owned()),
                _ => ("x", url_text(input.chunk())),
            };
            let _ = write!(
                query,
                "{}{key}={value}",
                if query.is_empty() { "" } else { "&" }
            );
        }
        let ws = input.byte() & 1 == 1;
        let body = input.chunk().to_vec();
        self.request(input, method, path, &query, ws, &body);
    }

    /// Sends one HTTP request on a fuzz-chosen HTTP connection, as the runtime would: the head
    /// parsed by core, the body cut off as `TooLarge` above the engine's limit for the path.
    fn request(
        &mut self,
        input: &mut Cursor<'_>,
        method: &str,
        path: &str,
        query: &str,
        websocket: bool,
        body: &[u8],
    ) {
        let slot = input.below(HTTP_SLOTS);
        if self
            .unanswered
            .get(&self.http_slots[slot])
            .is_some_and(|&n| n > 0)
        {
            // An HTTP/1.1 runtime answers requests in order, so it hands the engine no request
            // on a connection still waiting for its answer (a held poll): the client opens
            // another connection, and the busy one stays open until answered or closed.
            self.http_slots[slot] = self.new_conn();
        }
        let conn = self.http_slots[slot];
        let mut head = format!("{method} {path}");
        if !query.is_empty() {
            let _ = write!(head, "?{query}");
        }
        head.push_str(" HTTP/1.1\r\nHost: localhost\r\n");
        if let Some(origin) = input.pick(ORIGINS) {
            let _ = write!(head, "Origin: {origin}\r\n");
        }
        if websocket {
            head.push_str(
                "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\
                 Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n",
            );
        }
        if !body.is_empty() {
            let _ = write!(head, "Content-Length: {}\r\n", body.len());
        }
        head.push_str("\r\n");
        let Ok(Some((head, _))) = parse_request_head(head.as_bytes(), &HeadLimits::default())
        else {
            return;
        };
        let body = if body.len() > self.engine.body_limit(&head) {
            Body::TooLarge
        } else {
            Body::Complete(Bytes::copy_from_slice(body))
        };
        *self.unanswered.entry(conn).or_default() += 1;
        let now = self.now();
        self.feed(Input::Http {
            now,
            conn,
            peer: None,
            head,
            body,
        });
    }

    /// A sid by index among those handed out, or a made-up one.
    fn sid(&self, input: &mut Cursor<'_>) -> String {
        let pick = input.byte();
        if pick >= 0xf0 || self.sids.is_empty() {
            return ["", "nope", "AAAAAAAAAAAAAAAAAAAA", "%00"][usize::from(pick % 4)].to_owned();
        }
        // Mostly the newest sessions, which are likelier to be alive.
        let back = usize::from(pick % 4).min(self.sids.len() - 1);
        self.sids[self.sids.len() - 1 - back].clone()
    }

    fn mount(&self, input: &mut Cursor<'_>) -> &'static str {
        match input.below(8) {
            0 => "/engine.io/",
            1 => "/socket.io",
            _ => "/socket.io/",
        }
    }

    // ---- websocket --------------------------------------------------------------------

    /// A websocket connection by index, or one that is not a websocket at all.
    fn ws_conn(&self, input: &mut Cursor<'_>) -> ConnId {
        let pick = usize::from(input.byte());
        if self.websockets.is_empty() || pick == 0xff {
            return self.http_slots[pick % HTTP_SLOTS];
        }
        self.websockets[self.websockets.len() - 1 - pick % self.websockets.len()]
    }

    fn ws_text(&mut self, input: &mut Cursor<'_>) {
        let conn = self.ws_conn(input);
        let text = match input.below(8) {
            0 => Bytes::copy_from_slice(input.chunk()),
            1 => {
                // An ack for an emit the application is awaiting.
                let id = self.awaited_acks.keys().next().map_or(0, |&(_, id)| id);
                Bytes::from(format!("43{id}[\"ok\"]"))
            }
            _ => Bytes::from_static(input.pick(MESSAGES).as_bytes()),
        };
        self.ws_frame(conn, Frame::Text(text));
    }

    fn ws_binary(&mut self, input: &mut Cursor<'_>) {
        let conn = self.ws_conn(input);
        let data = Bytes::copy_from_slice(input.chunk());
        self.ws_frame(conn, Frame::Binary(data));
    }

    /// Delivers a websocket message, or `WsTooLarge` when it is over the limit the runtime
    /// enforces.
    fn ws_frame(&mut self, conn: ConnId, frame: Frame) {
        let now = self.now();
        if self.conns.get(&conn) == Some(&Conn::Closed) {
            return;
        }
        if frame.len() > self.max_payload {
            self.feed(Input::WsTooLarge { now, conn });
        } else {
            self.feed(Input::WsMessage { now, conn, frame });
        }
    }

    fn ws_too_large(&mut self, input: &mut Cursor<'_>) {
        let conn = self.ws_conn(input);
        if self.conns.get(&conn) != Some(&Conn::Closed) {
            let now = self.now();
            self.feed(Input::WsTooLarge { now, conn });
        }
    }

    // ---- connections and time ---------------------------------------------------------

    fn conn_closed(&mut self, input: &mut Cursor<'_>) {
        let conn = if input.byte() & 1 == 0 {
            // Any open HTTP connection, busy ones included.
            let open: Vec<ConnId> = self
                .conns
                .iter()
                .filter(|&(_, &state)| state == Conn::Http)
                .map(|(&conn, _)| conn)
                .collect();
            open[open.len() - 1 - input.below(open.len().min(256))]
        } else {
            self.ws_conn(input)
        };
        self.close_conn(conn);
    }

    /// The runtime noticed `conn` closed: tell the engine, and never use the id again.
    fn close_conn(&mut self, conn: ConnId) {
        if self.conns.get(&conn) == Some(&Conn::Closed) {
            return;
        }
        self.conns.insert(conn, Conn::Closed);
        self.unanswered.remove(&conn);
        self.websockets.retain(|&ws| ws != conn);
        if let Some(slot) = self.http_slots.iter().position(|&c| c == conn) {
            self.http_slots[slot] = self.new_conn();
        }
        let now = self.now();
        let outer = self.closing_now.replace(conn);
        self.feed(Input::ConnClosed { now, conn });
        self.closing_now = outer;
    }

    fn congestion(&mut self, input: &mut Cursor<'_>) {
        let congested = input.byte() & 1 == 1;
        let conn = self.ws_conn(input);
        if self.conns.get(&conn) != Some(&Conn::Closed) {
            let now = self.now();
            self.feed(Input::Congestion {
                now,
                conn,
                congested,
            });
        }
    }

    /// Lets time pass: a little, a lot, exactly to the next deadline, or (as a runtime with
    /// a coarse clock might report) an instant in the past.
    fn time(&mut self, input: &mut Cursor<'_>) {
        match input.below(5) {
            0 => self.elapsed += Duration::from_millis(u64::from(input.u16())),
            1 => self.elapsed += Duration::from_secs(u64::from(input.byte())),
            2 | 3 => {
                if let Some(deadline) = self.engine.next_deadline() {
                    self.fire(deadline);
                }
                return;
            }
            _ => {
                let back = Duration::from_millis(u64::from(input.byte()));
                let now = self.now().checked_sub(back).unwrap_or(self.start);
                self.feed(Input::Timeout(now));
                return;
            }
        }
        let now = self.now();
        self.feed(Input::Timeout(now));
    }

    /// Feeds the deadline `at`, which must then be consumed: afterwards the next deadline is
    /// later, or there is none.
    fn fire(&mut self, at: Instant) {
        self.elapsed = self.elapsed.max(at.saturating_duration_since(self.start));
        self.feed(Input::Timeout(at));
        if let Some(next) = self.engine.next_deadline() {
            assert!(
                next > at,
                "deadline {:?} fed but the next deadline is {:?}: a timer is stuck",
                at - self.start,
                next.saturating_duration_since(self.start)
            );
        }
    }

    // ---- commands ---------------------------------------------------------------------

    fn command(&mut self, input: &mut Cursor<'_>) {
        let now = self.now();
        let socket = self.socket(input);
        // A command that takes `now` first does the work due by then, which may end the socket
        // or session it names before the model hears of it in the drain.
        let due = self.engine.next_deadline().is_some_and(|at| at <= now);
        match input.below(12) {
            0 | 1 => {
                let mut target = Target::namespace(input.pick(NAMESPACES));
                if input.byte() & 1 == 1 {
                    target = target.room(input.pick(ROOMS));
                }
                if input.byte() & 1 == 1 {
                    target = target.except(input.pick(ROOMS));
                }
                let emit = emit(input);
                let sent = self.engine.emit(now, &target, &emit);
                assert!(sent <= self.sockets.len(), "sent to {sent} sockets");
            }
            2 | 3 => {
                let emit = emit(input);
                let timeout = match input.below(3) {
                    0 => None,
                    1 => Some(Duration::from_millis(u64::from(input.u16()))),
                    _ => Some(Duration::ZERO),
                };
                match self.engine.emit_to(now, socket, &emit, timeout) {
                    Ok(Some(ack)) => {
                        let deadline = now + timeout.unwrap_or_default();
                        assert!(
                            self.awaited_acks.insert((socket, ack), deadline).is_none(),
                            "ack id {ack} handed out twice on {socket:?}"
                        );
                    }
                    Ok(None) => assert!(timeout.is_none(), "no ack id for an ack emit"),
                    Err(_) => assert!(
                        due || !self.sockets.contains_key(&socket),
                        "emit_to refused connected socket {socket:?}"
                    ),
                }
            }
            4 => {
                let (socket, ack) = match self.client_acks.pop() {
                    Some(pending) if input.byte() & 1 == 0 => pending,
                    _ => (socket, u64::from(input.byte())),
                };
                let args = input.pick(&[
                    "[]",
                    "[1,\"two\"]",
                    "{}",
                    "[{\"_placeholder\":true,\"num\":0}]",
                ]);
                let attachments = vec![Bytes::from_static(b"\x00\x01"); input.below(2)];
                let _ = self.engine.ack(
                    now,
                    socket,
                    ack,
                    Bytes::from_static(args.as_bytes()),
                    attachments,
                );
            }
            5 => {
                let joined = self.engine.join(socket, input.pick(ROOMS));
                assert_eq!(joined.is_ok(), self.sockets.contains_key(&socket));
            }
            6 => {
                let left = self.engine.leave(socket, input.pick(ROOMS));
                assert_eq!(left.is_ok(), self.sockets.contains_key(&socket));
            }
            7 => {
                let result = self.engine.disconnect(now, socket);
                // The socket's disconnect is checked when its event is drained.
                let _ = result;
            }
            8 => {
                let session = self.session(input);
                let frame = match input.byte() & 1 {
                    0 => Frame::Text(Bytes::from_static(b"hello")),
                    _ => Frame::Binary(Bytes::from_static(b"\x01\x02")),
                };
                let sent = self.engine.send_raw(now, session, &frame);
                if !due {
                    assert_eq!(sent.is_ok(), self.sessions.contains(&session));
                }
            }
            9 | 10 => {
                let session = self.session(input);
                self.engine.close(now, session);
            }
            _ => {
                if input.byte() == 0xff {
                    self.engine.shutdown(now);
                }
            }
        }
        self.settle();
    }

    /// A socket id by index among those connected, or one that never was.
    fn socket(&self, input: &mut Cursor<'_>) -> SocketId {
        let pick = usize::from(input.byte());
        let live: Vec<SocketId> = self.sockets.keys().copied().collect();
        if live.is_empty() || pick == 0xff {
            return SocketId(pick as u64);
        }
        live[pick % live.len()]
    }

    /// A session id by index among the live ones, or one that never was.
    fn session(&self, input: &mut Cursor<'_>) -> SessionId {
        let pick = usize::from(input.byte());
        let live: Vec<SessionId> = self.sessions.iter().copied().collect();
        if live.is_empty() || pick == 0xff {
            return SessionId(1000 + pick as u64);
        }
        live[pick % live.len()]
    }

    // ---- the drain and its checks -----------------------------------------------------

    /// Feeds one input (misuse errors are allowed: the script may name dead things), drains,
    /// and lets the runtime report the websockets the engine closed.
    fn feed(&mut self, input: Input) {
        let _ = self.engine.handle_input(input);
        self.settle();
    }

    /// Drains, then reports the websockets the engine closed as closed, as a runtime would.
    fn settle(&mut self) {
        self.drain();
        while let Some(conn) = self.closing.pop() {
            self.close_conn(conn);
        }
    }

    /// Drains `poll_output` until `Timeout`, checking every output against the model.
    fn drain(&mut self) {
        for _ in 0..MAX_OUTPUTS_PER_DRAIN {
            let output = self.engine.poll_output();
            self.transcript.push(output.clone());
            match output {
                Output::Timeout(at) => {
                    assert_eq!(
                        at,
                        self.engine.next_deadline(),
                        "Timeout is not the deadline"
                    );
                    self.check_counts();
                    return;
                }
                Output::HttpReply { conn, .. } => self.answered(conn, "HttpReply"),
                Output::WsAccept { conn } => {
                    self.answered(conn, "WsAccept");
                    self.conns.insert(conn, Conn::Ws);
                    self.websockets.push(conn);
                    self.ever_websockets.insert(conn);
                    if let Some(slot) = self.http_slots.iter().position(|&c| c == conn) {
                        self.http_slots[slot] = self.new_conn();
                    }
                }
                Output::WsSend { conn, .. } => {
                    self.check_websocket(conn, "WsSend");
                }
                Output::WsBroadcast { conns, .. } => {
                    let distinct: std::collections::BTreeSet<_> = conns.iter().collect();
                    assert_eq!(distinct.len(), conns.len(), "a broadcast names {conns:?}");
                    for conn in conns {
                        self.check_websocket(conn, "WsBroadcast");
                    }
                }
                Output::WsClose { conn, .. } => {
                    self.check_websocket(conn, "WsClose");
                    self.closing.push(conn);
                }
                Output::Event(event) => self.event(event),
                other => panic!("unknown output {other:?}"),
            }
        }
        panic!("poll_output yielded {MAX_OUTPUTS_PER_DRAIN} outputs without reaching Timeout");
    }

    /// `conn` is an open websocket, or one whose close the engine is being told right now:
    /// work due by the instant of the close is done before the close is handled, so it may
    /// still address the connection (the runtime drops it). Once the engine has handled the
    /// close, nothing more may go there.
    fn check_websocket(&self, conn: ConnId, what: &str) {
        let state = self.conns.get(&conn);
        let closing = state == Some(&Conn::Closed) && self.closing_now == Some(conn);
        assert!(
            (state == Some(&Conn::Ws) && !self.closing.contains(&conn)) || closing,
            "{what} on {conn:?} ({state:?}), not an open websocket (ever accepted: {})",
            self.ever_websockets.contains(&conn)
        );
    }

    /// An answer to an HTTP request on `conn`: there must be one waiting.
    fn answered(&mut self, conn: ConnId, what: &str) {
        if self.closing_now == Some(conn) {
            // Due before the close was handled; see `check_websocket`.
            return;
        }
        let waiting = self.unanswered.get_mut(&conn);
        match waiting {
            Some(n) if *n > 0 => *n -= 1,
            _ => panic!(
                "{what} on {conn:?} ({:?}) answers no request",
                self.conns.get(&conn)
            ),
        }
    }

    fn event(&mut self, event: Event) {
        match event {
            Event::SessionOpened { session, sid, .. } => {
                assert!(
                    self.ever_sessions.insert(session),
                    "{session:?} opened twice"
                );
                assert!(!self.sids.contains(&sid), "sid {sid} handed out twice");
                self.sessions.insert(session);
                self.sids.push(sid);
            }
            Event::SessionClosed { session, .. } => {
                assert!(
                    self.sessions.remove(&session),
                    "{session:?} closed but not open"
                );
                assert!(
                    !self.sockets.values().any(|&s| s == session),
                    "{session:?} closed with sockets left"
                );
            }
            Event::SocketConnected {
                socket, session, ..
            } => {
                assert!(
                    self.sessions.contains(&session),
                    "socket on closed {session:?}"
                );
                assert!(
                    self.ever_sockets.insert(socket),
                    "{socket:?} connected twice"
                );
                self.sockets.insert(socket, session);
            }
            Event::SocketDisconnected { socket, .. } => {
                assert!(
                    self.sockets.remove(&socket).is_some(),
                    "{socket:?} disconnected but not connected"
                );
                assert!(
                    !self.awaited_acks.keys().any(|&(s, _)| s == socket),
                    "{socket:?} disconnected with acks still awaited"
                );
            }
            Event::Message { socket, ack, .. } => {
                assert!(self.sockets.contains_key(&socket), "message on {socket:?}");
                if let Some(ack) = ack {
                    self.client_acks.push((socket, ack));
                }
            }
            Event::AckReceived { socket, ack, .. } | Event::AckTimedOut { socket, ack } => {
                assert!(
                    self.awaited_acks.remove(&(socket, ack)).is_some(),
                    "ack {ack} of {socket:?} ended but was not awaited"
                );
            }
            Event::SessionUpgraded { session } => {
                assert!(
                    self.sessions.contains(&session),
                    "closed {session:?} upgraded"
                );
            }
            Event::RawMessage { session, .. } => {
                assert!(
                    self.sessions.contains(&session),
                    "message on closed {session:?}"
                );
            }
            other => panic!("unknown event {other:?}"),
        }
    }

    /// The engine's counts match the model, a live session has a deadline, and no awaited
    /// ack's timeout is later than the engine's next deadline.
    fn check_counts(&self) {
        if let Some(first_ack) = self.awaited_acks.values().min() {
            let next = self.engine.next_deadline();
            assert!(
                next.is_some_and(|next| next <= *first_ack),
                "an ack times out at {:?} but the next deadline is {:?}",
                *first_ack - self.start,
                next.map(|n| n.saturating_duration_since(self.start))
            );
        }
        assert_eq!(
            self.engine.session_count(),
            self.sessions.len(),
            "session count"
        );
        assert_eq!(
            self.engine.socket_count(),
            self.sockets.len(),
            "socket count"
        );
        if self.engine.session_count() > 0 {
            assert!(
                self.engine.next_deadline().is_some(),
                "{} live sessions and no deadline",
                self.engine.session_count()
            );
        }
    }

    /// The client goes silent: running every deadline down must end every session, answer
    /// every request still open, and end every awaited ack.
    fn run_down(&mut self) {
        for _ in 0..MAX_RUNDOWN_STEPS {
            let Some(at) = self.engine.next_deadline() else {
                break;
            };
            self.fire(at);
        }
        assert_eq!(
            self.engine.next_deadline(),
            None,
            "timers still run after {MAX_RUNDOWN_STEPS} deadlines of a silent client"
        );
        assert_eq!(
            self.engine.session_count(),
            0,
            "sessions outlive a silent client"
        );
        assert_eq!(
            self.engine.socket_count(),
            0,
            "sockets outlive their sessions"
        );
        assert!(
            self.awaited_acks.is_empty(),
            "acks never ended: {:?}",
            self.awaited_acks
        );
        for (conn, &waiting) in &self.unanswered {
            assert_eq!(
                waiting, 0,
                "{waiting} request(s) on {conn:?} never answered"
            );
        }
    }
}

/// An event to emit: a name, JSON arguments, sometimes a binary attachment, sometimes volatile.
fn emit(input: &mut Cursor<'_>) -> Emit {
    let name = input.pick(&["news", "message", "", "\"quoted\"\n"]);
    let mut emit = match input.below(3) {
        0 => Emit::new(name, &[]),
        1 => Emit::new(name, &[b"1", b"{\"a\":[true,null]}"]),
        _ => Emit::new(name, &[b"{\"_placeholder\":true,\"num\":0}"])
            .with_attachments(vec![Bytes::from_static(b"\x00\xff")]),
    };
    if input.byte() & 1 == 1 {
        emit = emit.volatile();
    }
    emit
}

/// Fuzz bytes as text that is safe in a query string (unreserved characters and escapes).
fn url_text(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"abcXYZ019-._~%+=/";
    bytes
        .iter()
        .map(|&b| char::from(ALPHABET[usize::from(b) % ALPHABET.len()]))
        .collect()
}
