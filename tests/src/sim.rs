//! The simulator target: the engine in-process on virtual time, with this module playing the
//! runtime (requests in as `Input::Http`, outputs routed per connection).

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use bytes::Bytes;
use iorelay_core::engineio::packet::Frame;
use iorelay_core::http::{parse_request_head, HeadLimits};
use iorelay_core::{Body, Config, ConnId, Input, Output, Relay};

use crate::target::{HttpId, HttpReply, KeepAliveId, Msg, Target, WsEvent, WsId};

/// The engine driven on virtual time.
pub struct Sim {
    engine: Relay,
    now: Instant,
    next_conn: u64,
    replies: BTreeMap<u64, HttpReply>,
    ws_open: BTreeMap<u64, bool>,
    ws_queue: BTreeMap<u64, VecDeque<WsEvent>>,
}

impl Sim {
    /// A simulator running `config`, with a fixed seed.
    #[must_use]
    pub fn new(config: Config) -> Self {
        let now = origin();
        Self {
            engine: Relay::new(config, now, [42; 32]),
            now,
            next_conn: 1,
            replies: BTreeMap::new(),
            ws_open: BTreeMap::new(),
            ws_queue: BTreeMap::new(),
        }
    }

    fn drain(&mut self) {
        loop {
            // A broadcast as the messages each of its connections gets.
            for output in self.engine.poll_output().per_connection() {
                match output {
                    Output::Timeout(_) => return,
                    Output::HttpReply { conn, response } => {
                        let reply = HttpReply {
                            status: response.status,
                            headers: response
                                .headers
                                .iter()
                                .map(|(n, v)| (n.to_ascii_lowercase(), v.clone()))
                                .collect(),
                            body: response.body.to_vec(),
                        };
                        self.replies.insert(conn.0, reply);
                    }
                    Output::WsAccept { conn } => {
                        self.ws_open.insert(conn.0, true);
                    }
                    Output::WsSend { conn, frame } => {
                        let msg = match frame {
                            Frame::Text(t) => Msg::Text(String::from_utf8_lossy(&t).into_owned()),
                            Frame::Binary(b) => Msg::Binary(b.to_vec()),
                        };
                        self.ws_queue
                            .entry(conn.0)
                            .or_default()
                            .push_back(WsEvent::Msg(msg));
                    }
                    Output::WsClose { conn, code, .. } => {
                        let was_open = self.ws_open.insert(conn.0, false) == Some(true);
                        if was_open {
                            self.ws_queue
                                .entry(conn.0)
                                .or_default()
                                .push_back(WsEvent::Closed(Some(code)));
                            self.input(Input::ConnClosed {
                                now: self.now,
                                conn,
                            });
                        }
                    }
                    _ => {}
                }
            }
        }
    }

    fn input(&mut self, input: Input) {
        self.engine
            .handle_input(input)
            .expect("the simulator uses the API correctly");
        self.drain();
    }

    /// Advances virtual time through every deadline up to `end`, stopping early when `done`.
    fn run_until(&mut self, end: Instant, done: impl Fn(&Self) -> bool) -> bool {
        loop {
            if done(self) {
                return true;
            }
            match self.engine.next_deadline() {
                Some(at) if at <= end => {
                    self.now = self.now.max(at);
                    self.input(Input::Timeout(self.now));
                }
                _ => {
                    self.now = self.now.max(end);
                    self.input(Input::Timeout(self.now));
                    return done(self);
                }
            }
        }
    }

    fn new_conn(&mut self) -> u64 {
        let conn = self.next_conn;
        self.next_conn += 1;
        conn
    }

    fn request(&mut self, raw: &[u8], body: &[u8]) -> u64 {
        let conn = self.new_conn();
        self.request_on(conn, raw, body);
        conn
    }

    fn request_on(&mut self, conn: u64, raw: &[u8], body: &[u8]) {
        let (head, _) = parse_request_head(raw, &HeadLimits::default())
            .expect("scenario requests are valid")
            .expect("scenario requests are complete");
        let limit = self.engine.body_limit(&head);
        let body = if body.len() > limit {
            Body::TooLarge
        } else {
            Body::Complete(Bytes::copy_from_slice(body))
        };
        self.input(Input::Http {
            now: self.now,
            conn: ConnId(conn),
            peer: None,
            head,
            body,
        });
    }
}

/// A request's text: `method target` with a Content-Length.
fn request_head(method: &str, target: &str, body: &[u8]) -> String {
    format!(
        "{method} {target} HTTP/1.1\r\nHost: sim\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
}

impl Target for Sim {
    fn label(&self) -> &'static str {
        "sim"
    }

    fn send_http(&mut self, method: &str, target: &str, body: &[u8]) -> HttpId {
        let raw = request_head(method, target, body);
        HttpId(self.request(raw.as_bytes(), body))
    }

    fn wait_http(&mut self, id: HttpId, within: Duration) -> Option<HttpReply> {
        let end = self.now + within;
        self.run_until(end, |s| s.replies.contains_key(&id.0));
        self.replies.remove(&id.0)
    }

    fn abort_http(&mut self, id: HttpId) {
        self.input(Input::ConnClosed {
            now: self.now,
            conn: ConnId(id.0),
        });
    }

    fn open_ws(&mut self, target: &str) -> Result<WsId, HttpReply> {
        let raw = format!(
            "GET {target} HTTP/1.1\r\nHost: sim\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
        );
        let conn = self.request(raw.as_bytes(), b"");
        match self.replies.remove(&conn) {
            Some(reply) => Err(reply),
            None => Ok(WsId(conn)),
        }
    }

    fn ws_send(&mut self, ws: WsId, msg: Msg) {
        if self.ws_open.get(&ws.0) != Some(&true) {
            return;
        }
        let frame = match msg {
            Msg::Text(t) => Frame::Text(Bytes::from(t)),
            Msg::Binary(b) => Frame::Binary(Bytes::from(b)),
        };
        self.input(Input::WsMessage {
            now: self.now,
            conn: ConnId(ws.0),
            frame,
        });
    }

    fn ws_recv(&mut self, ws: WsId, within: Duration) -> Option<WsEvent> {
        let end = self.now + within;
        self.run_until(end, |s| {
            s.ws_queue.get(&ws.0).is_some_and(|q| !q.is_empty())
        });
        self.ws_queue.get_mut(&ws.0).and_then(VecDeque::pop_front)
    }

    fn pass(&mut self, duration: Duration) {
        let end = self.now + duration;
        self.run_until(end, |_| false);
    }

    fn open_keep_alive(&mut self) -> KeepAliveId {
        KeepAliveId(self.new_conn())
    }

    fn keep_alive_request(
        &mut self,
        conn: KeepAliveId,
        method: &str,
        target: &str,
        body: &[u8],
        within: Duration,
    ) -> Option<HttpReply> {
        let raw = request_head(method, target, body);
        self.request_on(conn.0, raw.as_bytes(), body);
        self.wait_http(HttpId(conn.0), within)
    }
}

/// One arbitrary origin for virtual time; only durations are ever added to it.
#[allow(clippy::disallowed_methods)]
fn origin() -> Instant {
    Instant::now()
}
