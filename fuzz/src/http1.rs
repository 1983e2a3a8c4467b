//! HTTP/1.1 codec targets: the request head parser, the chunked body decoder, and the
//! per-connection request reader that combines them.

use bytes::Bytes;
use iorelay_core::http::{
    parse_request_head, BodyKind, ChunkedDecoder, HeadLimits, HttpError, Method, ReadProgress,
    RequestHead, RequestReader,
};
use iorelay_core::io::Body;

use super::cursor::Cursor;

/// Request head: the first byte picks the limits (default below 0x80), the rest is the buffer.
///
/// A complete head must be found within the limits, parse the same from just its own bytes,
/// be incomplete (not an error) on every shorter prefix a runtime could have read first, and
/// satisfy the documented field guarantees. An incomplete result means the buffer is below
/// the head size limit.
pub fn http_head(data: &[u8]) {
    let Some((&selector, buf)) = data.split_first() else {
        return;
    };
    let limits = head_limits(selector);
    let result = parse_request_head(buf, &limits);
    let (head, consumed) = match result.clone() {
        Ok(Some(parsed)) => parsed,
        Ok(None) => {
            assert!(
                buf.len() < limits.max_head_bytes,
                "incomplete past the limit"
            );
            return;
        }
        Err(_) => return,
    };
    assert!(consumed > 0 && consumed <= buf.len(), "consumed {consumed}");
    assert!(consumed <= limits.max_head_bytes, "head past the limit");
    assert!(head.headers.len() <= limits.max_headers, "too many headers");
    assert_eq!(
        parse_request_head(&buf[..consumed], &limits),
        result,
        "the head depends on the bytes after it"
    );
    for prefix in [consumed - 1, consumed / 2, 1] {
        if prefix < consumed {
            assert_eq!(
                parse_request_head(&buf[..prefix], &limits),
                Ok(None),
                "a {prefix}-byte prefix of a valid {consumed}-byte head is not just incomplete"
            );
        }
    }
    check_head(&head);
}

/// Chunked body: the first byte picks the body limit, the second how the input is split into
/// reads, the rest is the input.
///
/// Decoding in pieces must give exactly what decoding at once gives; the decoder must never
/// consume past the end of the body, keep its result once done or failed, stay within its
/// limit, and decode its own re-encoding of the body identically.
pub fn http_chunked(data: &[u8]) {
    let mut input = Cursor::new(data);
    let max_body = input.pick(&[0, 1, 7, 64, 4096, 1 << 20, usize::MAX]);
    let stride = input.pick(&[1, 2, 3, 5, 8, 13, 64, 4096]);
    let input = input.rest();

    let mut whole = ChunkedDecoder::new(max_body);
    let mut whole_out = Vec::new();
    let whole_result = whole.feed(input, &mut whole_out);

    let mut pieces = ChunkedDecoder::new(max_body);
    let mut pieces_out = Vec::new();
    let mut pieces_result = Ok((0, false));
    let mut consumed = 0;
    for piece in input.chunks(stride) {
        match pieces.feed(piece, &mut pieces_out) {
            Ok((used, done)) => {
                assert!(used <= piece.len(), "consumed more than it was given");
                assert!(
                    done || used == piece.len(),
                    "stopped early without finishing"
                );
                consumed += used;
                pieces_result = Ok((consumed, done));
                if done {
                    break;
                }
            }
            Err(err) => {
                pieces_result = Err(err);
                break;
            }
        }
    }
    assert_eq!(
        pieces_result, whole_result,
        "reads of {stride} bytes decode differently from one read"
    );
    assert!(whole_out.len() <= max_body, "decoded past the body limit");

    match whole_result {
        Ok((used, done)) => {
            assert_eq!(pieces_out, whole_out, "split reads changed the body");
            assert!(used <= input.len());
            assert_eq!(whole.is_done(), done);
            if !done {
                assert_eq!(used, input.len(), "stopped early without finishing");
                return;
            }
            assert_eq!(whole.feed(b"0\r\n\r\n", &mut whole_out), Ok((0, true)));
            // The body ends at `used`: the same bytes alone finish it.
            let mut alone = ChunkedDecoder::new(max_body);
            let mut alone_out = Vec::new();
            assert_eq!(alone.feed(&input[..used], &mut alone_out), Ok((used, true)));
            assert_eq!(alone_out, whole_out);
            // Re-encoded as one chunk, the body decodes to itself.
            let encoded = chunked(&whole_out);
            let mut again = ChunkedDecoder::new(max_body);
            let mut again_out = Vec::new();
            assert_eq!(
                again.feed(&encoded, &mut again_out),
                Ok((encoded.len(), true))
            );
            assert_eq!(again_out, whole_out, "re-encoded body decodes differently");
        }
        Err(err) => {
            assert!(!whole.is_done());
            assert_eq!(
                whole.feed(b"0\r\n\r\n", &mut whole_out),
                Err(err),
                "a failed decoder recovered"
            );
        }
    }
}

/// Request reader: the first byte picks the body limit, the second how the input is split into
/// reads, the rest is the bytes of one connection.
///
/// Reading in pieces must yield the same requests and failure as reading at once; bodies stay
/// within the limit and declared lengths; after a failure or an oversized body the connection
/// yields nothing more; `Continue` comes at most once per request, inside one.
pub fn http_reader(data: &[u8]) {
    let mut input = Cursor::new(data);
    let body_limit = input.pick(&[0, 1, 5, 64, 4096, 1 << 20]);
    let stride = input.pick(&[1, 2, 3, 7, 16, 64, 4096]);
    let wire = input.rest();

    let mut whole = RequestReader::new(HeadLimits::default());
    whole.feed(wire);
    let whole_got = drain_reader(&mut whole, body_limit);

    let mut pieces = RequestReader::new(HeadLimits::default());
    let mut pieces_got = Vec::new();
    for piece in wire.chunks(stride) {
        pieces.feed(piece);
        pieces_got.extend(drain_reader(&mut pieces, body_limit));
    }
    // Whether a client waiting on `Expect: 100-continue` is told to go on depends on whether
    // its body has arrived yet, so it may differ between read patterns; never twice, though.
    let mut continued = false;
    for read in &pieces_got {
        match read {
            Read::Continue => {
                assert!(!continued, "Continue twice for one request");
                continued = true;
            }
            _ => continued = false,
        }
    }
    let requests = |got: Vec<Read>| -> Vec<Read> {
        got.into_iter()
            .filter(|read| !matches!(read, Read::Continue))
            .collect()
    };
    assert_eq!(
        requests(pieces_got),
        requests(whole_got),
        "reads of {stride} bytes yield different requests"
    );
    assert_eq!(pieces.is_closed(), whole.is_closed());
    if !whole.is_closed() {
        assert_eq!(
            pieces.take_buffered(),
            whole.take_buffered(),
            "different bytes left over"
        );
    }
}

/// What a reader yields until it needs more bytes, checking each request on the way.
fn drain_reader(reader: &mut RequestReader, body_limit: usize) -> Vec<Read> {
    let mut got = Vec::new();
    let mut closed = false;
    loop {
        let progress = reader.next_request(|_| body_limit);
        if closed {
            assert!(
                matches!(progress, ReadProgress::NeedMore),
                "a closed reader yielded {progress:?}"
            );
        }
        match progress {
            ReadProgress::NeedMore => return got,
            ReadProgress::Request { head, body } => {
                check_head(&head);
                match &body {
                    Body::Complete(bytes) => {
                        assert!(bytes.len() <= body_limit, "body past the limit");
                        match head.body {
                            BodyKind::None => assert!(bytes.is_empty()),
                            BodyKind::Length(n) => assert_eq!(bytes.len() as u64, n),
                            BodyKind::Chunked => {}
                        }
                    }
                    Body::TooLarge => {
                        assert!(reader.is_closed(), "open after a body too large");
                        closed = true;
                    }
                }
                got.push(Read::Request(head, body));
            }
            ReadProgress::Failed(err) => {
                assert!(reader.is_closed(), "open after a failure");
                closed = true;
                got.push(Read::Failed(err));
            }
            ReadProgress::Continue => {
                assert!(reader.is_mid_request(), "Continue outside a request");
                got.push(Read::Continue);
            }
        }
        assert!(got.len() <= 1 << 16, "the reader does not stop");
    }
}

/// One thing a request reader yielded, comparable across read patterns.
#[derive(Debug, PartialEq)]
enum Read {
    Request(RequestHead, Body),
    Failed(HttpError),
    Continue,
}

/// The head limits a selector byte picks: the defaults, or small ones.
fn head_limits(selector: u8) -> HeadLimits {
    if selector < 0x80 {
        return HeadLimits::default();
    }
    HeadLimits {
        max_head_bytes: 32 * (usize::from((selector >> 3) & 0x0f) + 1),
        max_headers: usize::from(selector & 0x07),
    }
}

/// The documented guarantees of a parsed head.
fn check_head(head: &RequestHead) {
    assert!(
        head.path.starts_with('/') || head.path == "*",
        "path {:?}",
        head.path
    );
    for (name, _) in &head.headers {
        assert_eq!(
            name,
            &name.to_ascii_lowercase(),
            "header name not lowercased"
        );
    }
    if head.websocket_key.is_some() {
        assert!(head.upgrade_requested, "websocket key without an upgrade");
        assert_eq!(head.method, Method::Get, "websocket key on a non-GET");
    }
    match head.body {
        BodyKind::Length(_) => assert!(head.header("content-length").is_some()),
        BodyKind::Chunked => assert!(head.header("transfer-encoding").is_some()),
        BodyKind::None => {}
    }
}

/// `body` in the chunked coding as one chunk and the last chunk.
fn chunked(body: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(body.len() + 32);
    if !body.is_empty() {
        out.extend_from_slice(format!("{:x}\r\n", body.len()).as_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n\r\n");
    Bytes::from(out)
}
