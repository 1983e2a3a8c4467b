//! Request heads: parsing the bytes up to the blank line into what the engine routes on.

use super::error::HttpError;
use super::fields;
use super::query::{percent_decode_bytes, Query};

/// The request method, reduced to the ones the relay routes on.
///
/// Methods are case-sensitive tokens, so `get` is [`Method::Other`]; anything the relay has no
/// route for is `Other`, which the engine answers with 405 or 404.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Method {
    /// `GET`: polling reads and websocket upgrades.
    Get,
    /// `POST`: polling writes and event ingest.
    Post,
    /// `OPTIONS`: CORS preflights.
    Options,
    /// `HEAD`: like GET without a body in the reply.
    Head,
    /// `PUT`.
    Put,
    /// `DELETE`.
    Delete,
    /// `PATCH`.
    Patch,
    /// Any other method token.
    Other,
}

impl Method {
    fn from_token(token: &str) -> Method {
        match token {
            "GET" => Method::Get,
            "POST" => Method::Post,
            "OPTIONS" => Method::Options,
            "HEAD" => Method::Head,
            "PUT" => Method::Put,
            "DELETE" => Method::Delete,
            "PATCH" => Method::Patch,
            _ => Method::Other,
        }
    }
}

/// How the body that follows a request head is framed.
///
/// The runtime reads the body by this, up to the limit the engine configures; the head parser
/// has already rejected ambiguous framing, so there is exactly one answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyKind {
    /// No Content-Length and no Transfer-Encoding: no body bytes follow the head.
    None,
    /// `Content-Length: n`: exactly n body bytes follow (n may be 0).
    Length(u64),
    /// `Transfer-Encoding: chunked`: decode the body with a `ChunkedDecoder`.
    Chunked,
}

/// A parsed HTTP/1.1 request head: what the engine needs to route and what the runtime needs
/// to read the body and complete a websocket handshake.
///
/// It owns its data, so the runtime can drop the read buffer as soon as the head is parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestHead {
    /// The request method.
    pub method: Method,
    /// The percent-decoded path without the query, e.g. `/socket.io/`; `*` for `OPTIONS *`.
    pub path: String,
    /// The parsed query string.
    pub query: Query,
    /// The header fields in order, names lowercased, values as sent (invalid UTF-8 is lossy).
    pub headers: Vec<(String, String)>,
    /// How the body is framed, from Content-Length or Transfer-Encoding.
    pub body: BodyKind,
    /// Whether the connection stays open after the reply: HTTP/1.1 unless `Connection: close`,
    /// HTTP/1.0 only with `Connection: keep-alive`.
    pub keep_alive: bool,
    /// The `Sec-WebSocket-Key` when this is a valid websocket upgrade request: a GET over
    /// HTTP/1.1 with `Upgrade: websocket`, an `upgrade` token in Connection,
    /// `Sec-WebSocket-Version: 13` and one well-formed key.
    pub websocket_key: Option<String>,
    /// Whether `Upgrade: websocket` is present at all, valid or not, so the engine can answer
    /// an invalid upgrade with 400 instead of treating it as a polling request.
    pub upgrade_requested: bool,
}

impl RequestHead {
    /// The value of the first header field named `name_lowercase` (which must be lowercase).
    #[must_use]
    pub fn header(&self, name_lowercase: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(name, _)| name == name_lowercase)
            .map(|(_, value)| value.as_str())
    }
}

/// Limits for head parsing, so a peer cannot make the runtime buffer without bound.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeadLimits {
    /// The largest head, request line to blank line inclusive, in bytes (default 16 KiB).
    pub max_head_bytes: usize,
    /// The most header fields in one head (default 64).
    pub max_headers: usize,
}

impl Default for HeadLimits {
    fn default() -> Self {
        HeadLimits {
            max_head_bytes: 16 * 1024,
            max_headers: 64,
        }
    }
}

/// Parses one request head from the start of `buf`.
///
/// Returns `Ok(None)` when the head is incomplete and the runtime should read more, and
/// `Ok(Some((head, consumed)))` when it is complete, where the body (or the next pipelined
/// request) starts at `buf[consumed..]`.
///
/// # Errors
///
/// Every error is the peer's fault and answered by [`HttpError::to_response`]:
/// [`HttpError::HeadTooLarge`] when `buf` holds `max_head_bytes` or more without a complete
/// head, [`HttpError::TooManyHeaders`], [`HttpError::Malformed`] for bad syntax or a path that
/// is not UTF-8 after percent-decoding, [`HttpError::UnsupportedVersion`] for versions other
/// than 1.0 and 1.1, and the framing errors [`HttpError::BadContentLength`],
/// [`HttpError::ContentLengthWithTransferEncoding`] and
/// [`HttpError::UnsupportedTransferEncoding`].
pub fn parse_request_head(
    buf: &[u8],
    limits: &HeadLimits,
) -> Result<Option<(RequestHead, usize)>, HttpError> {
    let window = buf.get(..limits.max_head_bytes).unwrap_or(buf);
    // The shortest header line is three bytes ("a:\n"), so this many slots always let
    // httparse report TooManyHeaders only when the limit is really exceeded.
    let slots = limits.max_headers.min(window.len() / 3 + 1);
    let mut headers = vec![httparse::EMPTY_HEADER; slots];
    let mut request = httparse::Request::new(&mut headers);
    let consumed = match request.parse(window) {
        Ok(httparse::Status::Complete(consumed)) => consumed,
        Ok(httparse::Status::Partial) if buf.len() >= limits.max_head_bytes => {
            return Err(HttpError::HeadTooLarge)
        }
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(err) => return Err(syntax_error(err)),
    };
    let (Some(method), Some(target), Some(version)) =
        (request.method, request.path, request.version)
    else {
        return Err(HttpError::Malformed("incomplete request line".into()));
    };
    let http11 = match version {
        1 => true,
        0 => false,
        _ => return Err(HttpError::UnsupportedVersion),
    };
    let (path, query) = split_target(target)?;
    let headers: Vec<(String, String)> = request
        .headers
        .iter()
        .map(|h| {
            (
                h.name.to_ascii_lowercase(),
                String::from_utf8_lossy(h.value).into_owned(),
            )
        })
        .collect();
    let method = Method::from_token(method);
    let body = fields::body_kind(&headers, http11)?;
    let keep_alive = fields::keep_alive(&headers, http11);
    let upgrade_requested = fields::upgrade_requested(&headers);
    let websocket_key = if upgrade_requested && method == Method::Get && http11 {
        fields::websocket_key(&headers)
    } else {
        None
    };
    let head = RequestHead {
        method,
        path,
        query,
        headers,
        body,
        keep_alive,
        websocket_key,
        upgrade_requested,
    };
    Ok(Some((head, consumed)))
}

fn syntax_error(err: httparse::Error) -> HttpError {
    match err {
        httparse::Error::TooManyHeaders => HttpError::TooManyHeaders,
        httparse::Error::Version => HttpError::UnsupportedVersion,
        other => HttpError::Malformed(other.to_string()),
    }
}

/// Splits a request target into its decoded path and parsed query.
///
/// Accepts origin-form (`/p?q`), absolute-form (`http://host/p?q`, as proxies send it) and
/// `*`; a fragment, which clients should not send, is ignored.
fn split_target(target: &str) -> Result<(String, Query), HttpError> {
    let target = target.split('#').next().unwrap_or(target);
    let (raw_path, raw_query) = target.split_once('?').unwrap_or((target, ""));
    let raw_path = if raw_path == "*" || raw_path.starts_with('/') {
        raw_path
    } else if let Some(after_scheme) = strip_http_scheme(raw_path) {
        after_scheme
            .find('/')
            .map_or("/", |slash| &after_scheme[slash..])
    } else {
        return Err(HttpError::Malformed(
            "request target is neither a path nor an absolute http URL".into(),
        ));
    };
    let path = String::from_utf8(percent_decode_bytes(raw_path, false))
        .map_err(|_| HttpError::Malformed("path is not UTF-8 after percent-decoding".into()))?;
    Ok((path, Query::parse(raw_query)))
}

fn strip_http_scheme(target: &str) -> Option<&str> {
    ["http://", "https://"].iter().find_map(|scheme| {
        let prefix = target.get(..scheme.len())?;
        if prefix.eq_ignore_ascii_case(scheme) {
            target.get(scheme.len()..)
        } else {
            None
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse(raw: &[u8]) -> Result<Option<(RequestHead, usize)>, HttpError> {
        parse_request_head(raw, &HeadLimits::default())
    }

    fn head(raw: &[u8]) -> RequestHead {
        match parse(raw) {
            Ok(Some((head, consumed))) => {
                assert_eq!(consumed, raw.len(), "the whole head is consumed");
                head
            }
            other => panic!("expected a complete head, got {other:?}"),
        }
    }

    fn error(raw: &[u8]) -> HttpError {
        match parse(raw) {
            Err(err) => err,
            other => panic!("expected an error, got {other:?}"),
        }
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn simple_get_with_query_parses_every_field() {
        let raw = b"GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: localhost:3000\r\nAccept: */*\r\n\r\n";
        assert_eq!(
            head(raw),
            RequestHead {
                method: Method::Get,
                path: "/socket.io/".into(),
                query: Query::parse("EIO=4&transport=polling"),
                headers: pairs(&[("host", "localhost:3000"), ("accept", "*/*")]),
                body: BodyKind::None,
                keep_alive: true,
                websocket_key: None,
                upgrade_requested: false,
            }
        );
    }

    #[test]
    fn path_is_percent_decoded_and_query_is_split_off() {
        let head = head(b"GET /rooms/caf%C3%A9%20bar/a+b?q=%2F%3F&x HTTP/1.1\r\n\r\n");
        assert_eq!(head.path, "/rooms/café bar/a+b");
        assert_eq!(head.query.get("q"), Some("/?"));
        assert_eq!(head.query.get("x"), Some(""));
    }

    #[test]
    fn path_that_is_not_utf8_after_decoding_is_malformed() {
        let err = error(b"GET /a%FF HTTP/1.1\r\n\r\n");
        assert!(matches!(err, HttpError::Malformed(_)), "{err:?}");
        assert_eq!(err.status(), 400);
    }

    #[test]
    fn absolute_form_and_asterisk_targets_route_on_the_path() {
        assert_eq!(
            head(b"GET http://relay:3000/events?x=1#frag HTTP/1.1\r\n\r\n").path,
            "/events"
        );
        assert_eq!(head(b"GET HTTPS://relay HTTP/1.1\r\n\r\n").path, "/");
        assert_eq!(head(b"OPTIONS * HTTP/1.1\r\n\r\n").path, "*");
        let err = error(b"CONNECT relay:443 HTTP/1.1\r\n\r\n");
        assert!(matches!(err, HttpError::Malformed(_)), "{err:?}");
    }

    #[test]
    fn methods_are_case_sensitive_tokens() {
        let method = |line: &str| head(format!("{line} / HTTP/1.1\r\n\r\n").as_bytes()).method;
        assert_eq!(method("GET"), Method::Get);
        assert_eq!(method("POST"), Method::Post);
        assert_eq!(method("OPTIONS"), Method::Options);
        assert_eq!(method("HEAD"), Method::Head);
        assert_eq!(method("PUT"), Method::Put);
        assert_eq!(method("DELETE"), Method::Delete);
        assert_eq!(method("PATCH"), Method::Patch);
        assert_eq!(method("get"), Method::Other);
        assert_eq!(method("BREW"), Method::Other);
    }

    #[test]
    fn header_names_are_lowercased_and_values_kept_lossily() {
        let head =
            head(b"GET / HTTP/1.1\r\nX-Relay-Token: AbC\r\nX-Name: caf\xC3\xA9 \xFF!\r\n\r\n");
        assert_eq!(head.header("x-relay-token"), Some("AbC"));
        assert_eq!(head.header("x-name"), Some("café \u{FFFD}!"));
        assert_eq!(head.header("X-Relay-Token"), None);
    }

    #[test]
    fn post_with_content_length_stops_consuming_at_the_body() {
        let raw = b"POST /socket.io/?EIO=4&transport=polling&sid=abc HTTP/1.1\r\nContent-Length: 5\r\n\r\n4ping";
        let (head, consumed) = parse(raw).unwrap().unwrap();
        assert_eq!(head.method, Method::Post);
        assert_eq!(head.body, BodyKind::Length(5));
        assert_eq!(&raw[consumed..], b"4ping");
    }

    #[test]
    fn pipelined_requests_are_parsed_one_at_a_time() {
        let raw = b"GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n";
        let (first, consumed) = parse(raw).unwrap().unwrap();
        assert_eq!((first.path.as_str(), consumed), ("/a", 19));
        let (second, rest) = parse(&raw[consumed..]).unwrap().unwrap();
        assert_eq!((second.path.as_str(), rest), ("/b", 19));
    }

    #[test]
    fn incomplete_head_fed_byte_by_byte_is_none_until_the_blank_line() {
        let raw = b"POST /socket.io/?EIO=4 HTTP/1.1\r\nHost: relay\r\nContent-Length: 2\r\n\r\nok";
        let head_len = raw.len() - 2;
        for end in 0..head_len {
            assert_eq!(parse(&raw[..end]), Ok(None), "prefix of {end} bytes");
        }
        for end in head_len..=raw.len() {
            let (head, consumed) = parse(&raw[..end]).unwrap().unwrap();
            assert_eq!((head.body, consumed), (BodyKind::Length(2), head_len));
        }
    }

    #[test]
    fn head_without_end_within_the_limit_is_too_large() {
        let limits = HeadLimits {
            max_head_bytes: 64,
            max_headers: 64,
        };
        let mut raw = b"GET / HTTP/1.1\r\nX-Pad: ".to_vec();
        raw.resize(63, b'a');
        assert_eq!(parse_request_head(&raw, &limits), Ok(None));
        raw.push(b'a');
        assert_eq!(
            parse_request_head(&raw, &limits),
            Err(HttpError::HeadTooLarge)
        );
        raw.extend_from_slice(b"\r\n\r\n");
        assert_eq!(
            parse_request_head(&raw, &limits),
            Err(HttpError::HeadTooLarge)
        );
        assert_eq!(HttpError::HeadTooLarge.status(), 431);
    }

    #[test]
    fn head_of_exactly_the_limit_is_accepted() {
        let mut raw = b"GET / HTTP/1.1\r\nX-Pad: ".to_vec();
        raw.resize(60, b'a');
        raw.extend_from_slice(b"\r\n\r\n");
        let limits = HeadLimits {
            max_head_bytes: 64,
            max_headers: 1,
        };
        let (_, consumed) = parse_request_head(&raw, &limits).unwrap().unwrap();
        assert_eq!(consumed, 64);
    }

    #[test]
    fn more_headers_than_the_limit_are_refused_with_431() {
        let with = |count: usize| {
            let mut raw = b"GET / HTTP/1.1\r\n".to_vec();
            for i in 0..count {
                raw.extend_from_slice(format!("X-{i}: v\r\n").as_bytes());
            }
            raw.extend_from_slice(b"\r\n");
            raw
        };
        assert_eq!(head(&with(64)).headers.len(), 64);
        let err = error(&with(65));
        assert_eq!(err, HttpError::TooManyHeaders);
        assert_eq!(err.status(), 431);
    }

    #[test]
    fn garbage_request_lines_are_malformed() {
        for raw in [
            &b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"[..],
            b"GET\r\n\r\n",
            b"GET / HTTP/1.1\r\nBad Name: x\r\n\r\n",
        ] {
            let err = error(raw);
            assert!(matches!(err, HttpError::Malformed(_)), "{raw:?}: {err:?}");
        }
    }

    fn xorshift(seed: u64) -> impl FnMut() -> u64 {
        let mut state = seed;
        move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        }
    }

    #[test]
    fn one_mebibyte_of_garbage_never_panics() {
        let mut next = xorshift(0x2545_F491_4F6C_DD1D);
        let random: Vec<u8> = (0..1 << 20).map(|_| next() as u8).collect();
        let alphabet = b"GET /?%=&HTTP/1.0:\r\n\r\nContent-Length: 12,chunked\tTransfer-Encoding";
        let headerish: Vec<u8> = (0..1 << 20)
            .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
            .collect();
        let roomy = HeadLimits {
            max_head_bytes: 2 << 20,
            max_headers: 100_000,
        };
        for input in [&random, &headerish] {
            for limits in [HeadLimits::default(), roomy] {
                if let Ok(Some((_, consumed))) = parse_request_head(input, &limits) {
                    assert!(consumed <= limits.max_head_bytes);
                }
            }
        }
    }

    fn request_like() -> impl Strategy<Value = Vec<u8>> {
        let method = prop::sample::select(vec!["GET", "POST", "OPTIONS", "HEAD", "get", "X"]);
        let target = "(/|\\*|http://h/)[a-z0-9%/?=&+#.]{0,24}";
        let version = prop::sample::select(vec!["HTTP/1.1", "HTTP/1.0", "HTTP/2.0", "HTTP/1.x"]);
        let name = prop::sample::select(vec![
            "Content-Length",
            "Transfer-Encoding",
            "Connection",
            "Upgrade",
            "Sec-WebSocket-Key",
            "Sec-WebSocket-Version",
            "Origin",
            "X-Other",
        ]);
        let value = "[ -~]{0,30}";
        let headers = prop::collection::vec((name, value), 0..12);
        (method, target, version, headers).prop_map(|(method, target, version, headers)| {
            let mut raw = format!("{method} {target} {version}\r\n");
            for (name, value) in headers {
                raw.push_str(&format!("{name}: {value}\r\n"));
            }
            raw.push_str("\r\n");
            raw.into_bytes()
        })
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(
            input in prop::collection::vec(any::<u8>(), 0..65536),
            max_head_bytes in 0usize..70_000,
            max_headers in 0usize..100,
        ) {
            let limits = HeadLimits { max_head_bytes, max_headers };
            if let Ok(Some((_, consumed))) = parse_request_head(&input, &limits) {
                prop_assert!(consumed <= input.len().min(max_head_bytes));
            }
        }

        #[test]
        fn request_like_heads_never_panic_and_prefixes_are_incomplete(
            raw in request_like(),
            flip in any::<prop::sample::Index>(),
            byte in any::<u8>(),
        ) {
            if let Ok(Some((head, consumed))) = parse(&raw) {
                prop_assert_eq!(consumed, raw.len());
                prop_assert!(head.websocket_key.is_none() || head.upgrade_requested);
                for end in 0..raw.len() {
                    prop_assert_eq!(parse(&raw[..end]), Ok(None));
                }
            }
            let mut mutated = raw.clone();
            let at = flip.index(mutated.len());
            mutated[at] = byte;
            let _ = parse(&mutated);
        }
    }
}
