//! The HTTP side of a connection: requests read with core's `RequestReader`, one at a time,
//! and the header-read and idle deadlines.
//!
//! Why one request at a time: the engine answers each request exactly once and a held
//! long-poll may take a while, so the next request on a keep-alive connection is parsed only
//! after the reply to the previous one is written. Bytes that arrive meanwhile are buffered
//! (the reader keeps reading so it notices a peer close during a held poll), up to
//! [`PIPELINE_CAP`]; past that the reader pauses until the reply is written.

use std::time::Instant;

use bytes::Bytes;
use iorelay_core::http::{Method, ReadProgress, RequestHead, RequestReader, Response};
use iorelay_core::relay::measure::RouteLabel;
use iorelay_core::Body;

use super::Settings;

/// Bytes a peer may send behind a request whose reply is not yet written before the reader
/// stops reading (pipelining is rare; browsers and Socket.IO clients never do it).
pub const PIPELINE_CAP: usize = 64 * 1024;

/// What the pending request needs from its reply: how to write it and whether to go on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    /// Keep the connection open after the reply (the request asked for it and its body was
    /// fully read).
    pub keep_alive: bool,
    /// A HEAD request: write the reply's head only.
    pub head_only: bool,
    /// The `Sec-WebSocket-Key` of a valid upgrade request, for the 101 reply.
    pub websocket_key: Option<String>,
    /// What core labels the request's route, for the latency reported once the reply is
    /// written.
    pub route: RouteLabel,
    /// When the head was read: the start of the request's latency.
    pub read_at: Instant,
}

/// What reading produced.
#[derive(Debug)]
pub enum HttpStep {
    /// Nothing yet.
    Nothing,
    /// A request for the engine.
    Request {
        /// Its head.
        head: RequestHead,
        /// Its body.
        body: Body,
    },
    /// Bytes that are not a valid request: write this reply (the runtime's, not the
    /// engine's), then close.
    Reject(Response),
    /// The client waits for `100 Continue` before sending the body.
    Continue,
}

/// One connection's HTTP reading state.
#[derive(Debug)]
pub struct HttpIn {
    reader: RequestReader,
    pending: Option<Pending>,
    /// Start of the current idle period, or of the partial request being read.
    since: Instant,
    /// Bytes buffered while a request is pending.
    held: usize,
}

impl HttpIn {
    /// A connection opened at `now`, idle.
    pub fn new(now: Instant) -> Self {
        Self {
            reader: RequestReader::new(iorelay_core::http::HeadLimits::default()),
            pending: None,
            since: now,
            held: 0,
        }
    }

    /// Takes bytes read from the socket at `now`.
    pub fn on_bytes(&mut self, data: &[u8], now: Instant, settings: &Settings) -> HttpStep {
        if self.reader.is_closed() {
            // After an over-large body or a framing error nothing more is read as HTTP.
            return HttpStep::Nothing;
        }
        if self.pending.is_some() {
            self.held += data.len();
        } else if !self.reader.is_mid_request() {
            self.since = now;
        }
        self.reader.feed(data);
        self.advance(now, settings)
    }

    /// The request awaiting its reply, if any.
    pub fn pending(&self) -> Option<&Pending> {
        self.pending.as_ref()
    }

    /// The reply to the pending request was written at `now`: `None` when the connection
    /// must close now, else what the bytes buffered behind it hold.
    pub fn reply_written(&mut self, now: Instant, settings: &Settings) -> Option<HttpStep> {
        let pending = self.pending.take()?;
        if !pending.keep_alive {
            return None;
        }
        self.since = now;
        self.held = 0;
        Some(self.advance(now, settings))
    }

    /// The bytes buffered behind the upgrade request: the first websocket bytes.
    pub fn take_buffered(&mut self) -> Bytes {
        self.reader.take_buffered()
    }

    /// Whether the reader should stop reading until the pending reply is written.
    pub fn is_paused(&self) -> bool {
        self.pending.is_some() && self.held > PIPELINE_CAP
    }

    /// When the connection closes if nothing changes: `header_timeout` after a request
    /// started arriving, `idle_timeout` after the last reply; never while a request is
    /// pending (a held long-poll).
    pub fn deadline(&self, settings: &Settings) -> Option<Instant> {
        if self.pending.is_some() {
            None
        } else if self.reader.is_mid_request() {
            Some(self.since + settings.header_timeout)
        } else {
            Some(self.since + settings.idle_timeout)
        }
    }

    fn advance(&mut self, now: Instant, settings: &Settings) -> HttpStep {
        if self.pending.is_some() {
            return HttpStep::Nothing;
        }
        match self.reader.next_request(|head| settings.body_limit(head)) {
            ReadProgress::NeedMore => HttpStep::Nothing,
            ReadProgress::Request { head, body } => {
                self.pending = Some(Pending {
                    keep_alive: head.keep_alive && matches!(body, Body::Complete(_)),
                    head_only: head.method == Method::Head,
                    websocket_key: head.websocket_key.clone(),
                    route: settings.route_label(&head),
                    read_at: now,
                });
                HttpStep::Request { head, body }
            }
            ReadProgress::Continue => HttpStep::Continue,
            ReadProgress::Failed(err) => {
                self.pending = Some(Pending {
                    keep_alive: false,
                    head_only: false,
                    websocket_key: None,
                    route: RouteLabel::Other,
                    read_at: now,
                });
                HttpStep::Reject(err.to_response())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn settings() -> Settings {
        Settings::for_tests()
    }

    fn path(step: &HttpStep) -> Option<&str> {
        match step {
            HttpStep::Request { head, .. } => Some(&head.path),
            _ => None,
        }
    }

    #[test]
    fn the_next_request_is_parsed_only_after_the_reply_is_written() {
        let (s, t0) = (settings(), Instant::now());
        let mut http = HttpIn::new(t0);
        let step = http.on_bytes(b"GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n", t0, &s);
        assert_eq!(path(&step), Some("/a"));
        assert_eq!(
            http.deadline(&s),
            None,
            "no deadline while a request is held"
        );
        let next = http.reply_written(t0, &s).expect("keep-alive");
        assert_eq!(path(&next), Some("/b"));
    }

    #[test]
    fn a_partial_head_has_the_header_deadline_and_an_idle_connection_the_idle_one() {
        let (s, t0) = (settings(), Instant::now());
        let mut http = HttpIn::new(t0);
        assert_eq!(http.deadline(&s), Some(t0 + s.idle_timeout));
        let t1 = t0 + Duration::from_secs(1);
        assert!(matches!(
            http.on_bytes(b"GET / HT", t1, &s),
            HttpStep::Nothing
        ));
        assert_eq!(http.deadline(&s), Some(t1 + s.header_timeout));
        let t2 = t1 + Duration::from_secs(1);
        http.on_bytes(b"TP/1.1\r\n", t2, &s);
        assert_eq!(
            http.deadline(&s),
            Some(t1 + s.header_timeout),
            "trickling bytes do not extend the header deadline"
        );
    }

    #[test]
    fn connection_close_and_head_requests_are_remembered_for_the_reply() {
        let (s, t0) = (settings(), Instant::now());
        let mut http = HttpIn::new(t0);
        http.on_bytes(
            b"HEAD /health HTTP/1.1\r\nConnection: close\r\n\r\n",
            t0,
            &s,
        );
        assert_eq!(
            http.pending(),
            Some(&Pending {
                keep_alive: false,
                head_only: true,
                websocket_key: None,
                route: RouteLabel::Health,
                read_at: t0,
            })
        );
        assert!(http.reply_written(t0, &s).is_none());
    }

    #[test]
    fn garbage_is_rejected_with_a_400_and_the_connection_closes() {
        let (s, t0) = (settings(), Instant::now());
        let mut http = HttpIn::new(t0);
        let HttpStep::Reject(response) = http.on_bytes(b"\x01\x02 nonsense\r\n\r\n", t0, &s) else {
            panic!("expected a rejection");
        };
        assert_eq!(response.status, 400);
        assert!(http.reply_written(t0, &s).is_none());
    }

    #[test]
    fn an_over_large_body_is_too_large_and_the_rest_is_ignored() {
        let (s, t0) = (settings(), Instant::now());
        let mut http = HttpIn::new(t0);
        let head = format!(
            "POST /api/events HTTP/1.1\r\nContent-Length: {}\r\n\r\n",
            s.config.relay.max_request_bytes + 1
        );
        let step = http.on_bytes(head.as_bytes(), t0, &s);
        assert!(matches!(
            step,
            HttpStep::Request {
                body: Body::TooLarge,
                ..
            }
        ));
        assert!(!http.pending().expect("pending").keep_alive);
        http.on_bytes(&[b'x'; 100_000], t0, &s);
        assert!(!http.is_paused(), "body bytes after TooLarge are dropped");
    }

    #[test]
    fn pipelined_bytes_beyond_the_cap_pause_the_reader() {
        let (s, t0) = (settings(), Instant::now());
        let mut http = HttpIn::new(t0);
        http.on_bytes(b"GET /a HTTP/1.1\r\n\r\n", t0, &s);
        http.on_bytes(&[b'x'; PIPELINE_CAP + 1], t0, &s);
        assert!(http.is_paused());
    }
}
