//! An incremental reader of HTTP/1.1 requests on one connection: head, then body by
//! Content-Length or chunked coding, bounded by the limit the engine states per route.
//!
//! Why in core: both runtimes read requests the same way and only move bytes; how a body is
//! framed, when it is too large and when the connection must close are decisions, and
//! decisions live here (DESIGN §1, §2 rule 9).

use bytes::{Bytes, BytesMut};

use super::chunked::ChunkedDecoder;
use super::error::HttpError;
use super::request::{parse_request_head, BodyKind, HeadLimits, RequestHead};
use crate::io::Body;

/// What the reader has for the caller.
#[derive(Debug)]
pub enum ReadProgress {
    /// Read more bytes from the socket and `feed` them.
    NeedMore,
    /// A complete request. With `Body::TooLarge` the rest of the body was not read: answer,
    /// then close the connection.
    Request {
        /// The head.
        head: RequestHead,
        /// The body.
        body: Body,
    },
    /// The bytes are not a valid request: write `error.to_response()` and close.
    Failed(HttpError),
    /// The client sent `Expect: 100-continue` and waits for a go-ahead before its body: write
    /// [`CONTINUE`], then read on.
    Continue,
}

/// The interim response that tells a client to send the body it announced with
/// `Expect: 100-continue` (curl waits a second for it before sending bodies over 1 KiB).
pub const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

#[derive(Debug)]
enum State {
    Head,
    Length {
        head: Option<RequestHead>,
        remaining: usize,
        body: BytesMut,
    },
    Chunked {
        head: Option<RequestHead>,
        decoder: ChunkedDecoder,
        body: Vec<u8>,
    },
    Closed,
}

/// Reads requests from the bytes of one connection.
#[derive(Debug)]
pub struct RequestReader {
    buf: BytesMut,
    state: State,
    limits: HeadLimits,
}

impl RequestReader {
    /// A reader for a new connection.
    #[must_use]
    pub fn new(limits: HeadLimits) -> Self {
        Self {
            buf: BytesMut::new(),
            state: State::Head,
            limits,
        }
    }

    /// Appends bytes read from the connection.
    pub fn feed(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// Whether bytes are buffered but not yet part of a returned request (the header-read
    /// deadline applies while this is true or a request is partly read).
    #[must_use]
    pub fn is_mid_request(&self) -> bool {
        !self.buf.is_empty() || !matches!(self.state, State::Head)
    }

    /// Whether the connection can carry no further request (a body was left unread, or the
    /// bytes were invalid).
    #[must_use]
    pub fn is_closed(&self) -> bool {
        matches!(self.state, State::Closed)
    }

    /// Takes the bytes buffered after the last request, e.g. the first websocket frames sent
    /// right behind an upgrade request.
    pub fn take_buffered(&mut self) -> Bytes {
        self.buf.split().freeze()
    }

    /// Advances as far as the buffered bytes allow. `body_limit` says, per request head, how
    /// many body bytes may be read (`Engine::body_limit`).
    pub fn next_request(&mut self, body_limit: impl Fn(&RequestHead) -> usize) -> ReadProgress {
        loop {
            match &mut self.state {
                State::Closed => return ReadProgress::NeedMore,
                State::Head => {
                    let (head, used) = match parse_request_head(&self.buf, &self.limits) {
                        Ok(Some(parsed)) => parsed,
                        Ok(None) => return ReadProgress::NeedMore,
                        Err(err) => {
                            self.state = State::Closed;
                            return ReadProgress::Failed(err);
                        }
                    };
                    let _ = self.buf.split_to(used);
                    let limit = body_limit(&head);
                    let expects_continue = head
                        .header("expect")
                        .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"));
                    match head.body {
                        BodyKind::None => return complete(head, Bytes::new()),
                        BodyKind::Length(len) => match usize::try_from(len) {
                            Ok(len) if len <= limit => {
                                self.state = State::Length {
                                    head: Some(head),
                                    remaining: len,
                                    body: BytesMut::with_capacity(len),
                                };
                                if expects_continue && len > 0 && self.buf.is_empty() {
                                    return ReadProgress::Continue;
                                }
                            }
                            _ => return self.too_large(head),
                        },
                        BodyKind::Chunked => {
                            self.state = State::Chunked {
                                head: Some(head),
                                decoder: ChunkedDecoder::new(limit),
                                body: Vec::new(),
                            };
                            if expects_continue && self.buf.is_empty() {
                                return ReadProgress::Continue;
                            }
                        }
                    }
                }
                State::Length {
                    head,
                    remaining,
                    body,
                } => {
                    let take = (*remaining).min(self.buf.len());
                    body.extend_from_slice(&self.buf.split_to(take));
                    *remaining -= take;
                    if *remaining > 0 {
                        return ReadProgress::NeedMore;
                    }
                    let (head, body) = (head.take(), std::mem::take(body).freeze());
                    self.state = State::Head;
                    if let Some(head) = head {
                        return complete(head, body);
                    }
                }
                State::Chunked {
                    head,
                    decoder,
                    body,
                } => match decoder.feed(&self.buf, body) {
                    Ok((used, done)) => {
                        let _ = self.buf.split_to(used);
                        if !done {
                            return ReadProgress::NeedMore;
                        }
                        let (head, body) = (head.take(), Bytes::from(std::mem::take(body)));
                        self.state = State::Head;
                        if let Some(head) = head {
                            return complete(head, body);
                        }
                    }
                    Err(HttpError::BodyTooLarge) => {
                        if let Some(head) = head.take() {
                            return self.too_large(head);
                        }
                    }
                    Err(err) => {
                        self.state = State::Closed;
                        return ReadProgress::Failed(err);
                    }
                },
            }
        }
    }

    fn too_large(&mut self, head: RequestHead) -> ReadProgress {
        self.state = State::Closed;
        self.buf.clear();
        ReadProgress::Request {
            head,
            body: Body::TooLarge,
        }
    }
}

fn complete(head: RequestHead, body: Bytes) -> ReadProgress {
    ReadProgress::Request {
        head,
        body: Body::Complete(body),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(reader: &mut RequestReader, limit: usize) -> Vec<(String, Option<Bytes>)> {
        let mut got = Vec::new();
        loop {
            match reader.next_request(|_| limit) {
                ReadProgress::NeedMore => return got,
                ReadProgress::Request { head, body } => got.push((
                    head.path,
                    match body {
                        Body::Complete(b) => Some(b),
                        Body::TooLarge => None,
                    },
                )),
                ReadProgress::Failed(err) => panic!("unexpected {err}"),
                ReadProgress::Continue => {}
            }
        }
    }

    #[test]
    fn reads_pipelined_requests_with_bodies_fed_byte_by_byte() {
        let wire = b"POST /a HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcGET /b HTTP/1.1\r\n\r\nPOST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nxy\r\n0\r\n\r\n";
        let mut reader = RequestReader::new(HeadLimits::default());
        let mut got = Vec::new();
        for byte in wire {
            reader.feed(&[*byte]);
            got.extend(read_all(&mut reader, 100));
        }
        assert_eq!(
            got,
            vec![
                ("/a".to_owned(), Some(Bytes::from_static(b"abc"))),
                ("/b".to_owned(), Some(Bytes::new())),
                ("/c".to_owned(), Some(Bytes::from_static(b"xy"))),
            ]
        );
        assert!(!reader.is_mid_request());
    }

    #[test]
    fn a_declared_body_over_the_limit_is_too_large_and_closes_the_connection() {
        let mut reader = RequestReader::new(HeadLimits::default());
        reader.feed(b"POST /a HTTP/1.1\r\nContent-Length: 11\r\n\r\nhello world");
        assert_eq!(read_all(&mut reader, 10), vec![("/a".to_owned(), None)]);
        assert!(reader.is_closed());
    }

    #[test]
    fn a_chunked_body_over_the_limit_is_too_large() {
        let mut reader = RequestReader::new(HeadLimits::default());
        reader.feed(
            b"POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nb\r\nhello world\r\n0\r\n\r\n",
        );
        assert_eq!(read_all(&mut reader, 10), vec![("/a".to_owned(), None)]);
        assert!(reader.is_closed());
    }

    #[test]
    fn expect_continue_asks_for_a_go_ahead_before_the_body() {
        let mut reader = RequestReader::new(HeadLimits::default());
        reader.feed(b"POST /a HTTP/1.1\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n");
        assert!(matches!(
            reader.next_request(|_| 10),
            ReadProgress::Continue
        ));
        assert!(matches!(
            reader.next_request(|_| 10),
            ReadProgress::NeedMore
        ));
        reader.feed(b"abc");
        assert_eq!(
            read_all(&mut reader, 10),
            vec![("/a".to_owned(), Some(Bytes::from_static(b"abc")))]
        );
    }

    #[test]
    fn expect_continue_with_a_body_over_the_limit_is_refused_at_once() {
        let mut reader = RequestReader::new(HeadLimits::default());
        reader.feed(b"POST /a HTTP/1.1\r\nContent-Length: 30\r\nExpect: 100-continue\r\n\r\n");
        assert_eq!(read_all(&mut reader, 10), vec![("/a".to_owned(), None)]);
    }

    #[test]
    fn garbage_fails_once_and_closes() {
        let mut reader = RequestReader::new(HeadLimits::default());
        reader.feed(b"\x00\x01 nonsense\r\n\r\n");
        assert!(matches!(
            reader.next_request(|_| 10),
            ReadProgress::Failed(_)
        ));
        assert!(reader.is_closed());
        assert!(matches!(
            reader.next_request(|_| 10),
            ReadProgress::NeedMore
        ));
    }

    #[test]
    fn bytes_after_an_upgrade_request_stay_buffered_for_the_websocket() {
        let mut reader = RequestReader::new(HeadLimits::default());
        reader.feed(b"GET /ws HTTP/1.1\r\n\r\n\x81\x05hello");
        assert!(matches!(
            reader.next_request(|_| 10),
            ReadProgress::Request { .. }
        ));
        assert_eq!(reader.take_buffered(), Bytes::from_static(b"\x81\x05hello"));
    }
}
