//! Responses: what the engine answers and how it is written to the wire.

use bytes::{BufMut, Bytes, BytesMut};

/// An HTTP response to write: status, extra headers and a body; the encoder adds
/// Content-Length, Connection and Date-free defaults.
///
/// The engine builds it and the runtime only writes [`Response::encode`] (or
/// [`Response::encode_head`] then the body), so both runtimes frame replies identically.
/// Framing belongs to the encoder: caller-supplied Content-Length, Transfer-Encoding and
/// (except for 101) Connection headers are not written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    /// The status code; a value outside 100..=999 is written as 500.
    pub status: u16,
    /// Extra header fields, written in order after the status line.
    pub headers: Vec<(&'static str, String)>,
    /// The body; not written for 1xx, 204 and 304, which cannot have one.
    pub body: Bytes,
}

impl Response {
    /// An empty response with `status` and no extra headers.
    #[must_use]
    pub fn new(status: u16) -> Self {
        Response {
            status,
            headers: Vec::new(),
            body: Bytes::new(),
        }
    }

    /// Adds a header field, keeping any earlier field of the same name.
    #[must_use]
    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    /// The value of the first header field named `name` (any case), if there is one.
    #[must_use]
    pub fn header_value(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(field, _)| field.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// Sets the body and its Content-Type, replacing an earlier Content-Type.
    #[must_use]
    pub fn body(mut self, content_type: &'static str, body: impl Into<Bytes>) -> Self {
        self.headers
            .retain(|(name, _)| !name.eq_ignore_ascii_case("content-type"));
        self.headers.push(("Content-Type", content_type.to_owned()));
        self.body = body.into();
        self
    }

    /// A response with a JSON body (`Content-Type: application/json`).
    #[must_use]
    pub fn json(status: u16, body: impl Into<Bytes>) -> Self {
        Response::new(status).body("application/json", body)
    }

    /// A response with a plain-text body (`Content-Type: text/plain; charset=UTF-8`).
    #[must_use]
    pub fn text(status: u16, body: impl Into<Bytes>) -> Self {
        Response::new(status).body("text/plain; charset=UTF-8", body)
    }

    /// Bytes of the status line and headers (with Content-Length, and Connection: keep-alive|close
    /// per `keep_alive`), to write before `body`; HEAD requests: caller writes no body.
    ///
    /// Content-Length is left out for 1xx, 204 and 304 replies, and Connection for 101, whose
    /// caller supplies `Connection: Upgrade` itself. Control characters in header names and
    /// values are written as spaces, so an echoed request header can never split the response.
    #[must_use]
    pub fn encode_head(&self, keep_alive: bool) -> Bytes {
        let mut out = BytesMut::with_capacity(self.head_capacity());
        self.write_head(keep_alive, &mut out);
        out.freeze()
    }

    /// Head and body in one buffer, for small responses (one write syscall).
    #[must_use]
    pub fn encode(&self, keep_alive: bool) -> Bytes {
        let mut out = BytesMut::with_capacity(self.head_capacity() + self.body.len());
        self.write_head(keep_alive, &mut out);
        if body_allowed(self.wire_status()) {
            out.put_slice(&self.body);
        }
        out.freeze()
    }

    fn wire_status(&self) -> u16 {
        if (100..=999).contains(&self.status) {
            self.status
        } else {
            500
        }
    }

    fn head_capacity(&self) -> usize {
        let fields: usize = self
            .headers
            .iter()
            .map(|(name, value)| name.len() + value.len() + 4)
            .sum();
        fields + 96
    }

    fn write_head(&self, keep_alive: bool, out: &mut BytesMut) {
        let status = self.wire_status();
        put_all(out, &[b"HTTP/1.1 ", status.to_string().as_bytes(), b" "]);
        put_all(out, &[reason_phrase(status).as_bytes(), b"\r\n"]);
        let switching = status == 101;
        for (name, value) in &self.headers {
            let framing = name.eq_ignore_ascii_case("content-length")
                || name.eq_ignore_ascii_case("transfer-encoding")
                || (!switching && name.eq_ignore_ascii_case("connection"));
            if !framing {
                put_sanitized(out, name);
                out.put_slice(b": ");
                put_sanitized(out, value);
                out.put_slice(b"\r\n");
            }
        }
        if body_allowed(status) {
            let length = self.body.len().to_string();
            put_all(out, &[b"Content-Length: ", length.as_bytes(), b"\r\n"]);
        }
        if !switching {
            let connection: &[u8] = if keep_alive { b"keep-alive" } else { b"close" };
            put_all(out, &[b"Connection: ", connection, b"\r\n"]);
        }
        out.put_slice(b"\r\n");
    }
}

/// The standard reason phrase of `status`, or `""` for codes without one.
///
/// The phrase is informational only, but clients and logs read better with it.
#[must_use]
pub fn reason_phrase(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        101 => "Switching Protocols",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        206 => "Partial Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        411 => "Length Required",
        412 => "Precondition Failed",
        413 => "Content Too Large",
        414 => "URI Too Long",
        415 => "Unsupported Media Type",
        417 => "Expectation Failed",
        421 => "Misdirected Request",
        422 => "Unprocessable Content",
        426 => "Upgrade Required",
        428 => "Precondition Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        511 => "Network Authentication Required",
        _ => "",
    }
}

/// The error reply users get for bad requests: JSON `{"error":"<short>","detail":"<detail>"}`
/// with the status.
///
/// One shape for every refusal lets clients and scripts report the reason without parsing
/// prose; `error` is a stable short code and `detail` a sentence for humans.
#[must_use]
pub fn error_response(status: u16, error: &str, detail: &str) -> Response {
    let error = serde_json::Value::from(error);
    let detail = serde_json::Value::from(detail);
    Response::json(status, format!("{{\"error\":{error},\"detail\":{detail}}}"))
}

fn body_allowed(status: u16) -> bool {
    !(100..200).contains(&status) && status != 204 && status != 304
}

fn put_all(out: &mut BytesMut, parts: &[&[u8]]) {
    for part in parts {
        out.put_slice(part);
    }
}

fn put_sanitized(out: &mut BytesMut, text: &str) {
    for &byte in text.as_bytes() {
        let control = (byte < 0x20 && byte != b'\t') || byte == 0x7f;
        out.put_u8(if control { b' ' } else { byte });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::HttpError;

    fn text(bytes: &Bytes) -> &str {
        std::str::from_utf8(bytes).unwrap()
    }

    #[test]
    fn text_response_encodes_head_and_body_byte_exact() {
        let wire = Response::text(200, "ok").encode(true);
        assert_eq!(
            text(&wire),
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok"
        );
    }

    #[test]
    fn encode_head_announces_the_body_length_without_the_body() {
        let response = Response::json(200, "[1,2]").header("Cache-Control", "no-store");
        assert_eq!(
            text(&response.encode_head(false)),
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nCache-Control: no-store\r\nContent-Length: 5\r\nConnection: close\r\n\r\n"
        );
    }

    #[test]
    fn error_response_is_json_with_escaped_fields() {
        let wire = error_response(400, "bad_request", "a \"quoted\" \\ line\n").encode(false);
        assert_eq!(
            text(&wire),
            "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: 57\r\nConnection: close\r\n\r\n{\"error\":\"bad_request\",\"detail\":\"a \\\"quoted\\\" \\\\ line\\n\"}"
        );
    }

    #[test]
    fn http_errors_answer_with_their_status_and_code() {
        let response = HttpError::TooManyHeaders.to_response();
        assert_eq!(response.status, 431);
        assert_eq!(
            response.body,
            "{\"error\":\"too_many_headers\",\"detail\":\"request has more header fields than the limit\"}"
        );
    }

    #[test]
    fn bodiless_statuses_get_neither_length_nor_body() {
        let no_content = Response::text(204, "ignored").encode(true);
        assert_eq!(
            text(&no_content),
            "HTTP/1.1 204 No Content\r\nContent-Type: text/plain; charset=UTF-8\r\nConnection: keep-alive\r\n\r\n"
        );
        let not_modified = Response::new(304).encode(false);
        assert_eq!(
            text(&not_modified),
            "HTTP/1.1 304 Not Modified\r\nConnection: close\r\n\r\n"
        );
    }

    #[test]
    fn switching_protocols_keeps_the_callers_connection_header() {
        let wire = Response::new(101)
            .header("Upgrade", "websocket")
            .header("Connection", "Upgrade")
            .header("Sec-WebSocket-Accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
            .encode(true);
        assert_eq!(
            text(&wire),
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"
        );
    }

    #[test]
    fn caller_framing_headers_are_replaced_by_the_encoders() {
        let wire = Response::text(200, "abc")
            .header("content-length", "99")
            .header("Transfer-Encoding", "chunked")
            .header("Connection", "close")
            .encode(true);
        assert_eq!(
            text(&wire),
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Length: 3\r\nConnection: keep-alive\r\n\r\nabc"
        );
    }

    #[test]
    fn control_characters_in_headers_cannot_split_the_response() {
        let wire = Response::new(200)
            .header("X-Echo", "a\r\nSet-Cookie: x\0\tz")
            .encode_head(true);
        assert_eq!(
            text(&wire),
            "HTTP/1.1 200 OK\r\nX-Echo: a  Set-Cookie: x \tz\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n"
        );
    }

    #[test]
    fn status_outside_three_digits_is_written_as_500() {
        let wire = Response::new(42).encode_head(false);
        assert!(text(&wire).starts_with("HTTP/1.1 500 Internal Server Error\r\n"));
        let wire = Response::new(1000).encode_head(false);
        assert!(text(&wire).starts_with("HTTP/1.1 500 Internal Server Error\r\n"));
    }

    #[test]
    fn unknown_statuses_have_an_empty_reason_phrase() {
        assert_eq!(reason_phrase(431), "Request Header Fields Too Large");
        assert_eq!(reason_phrase(299), "");
        let wire = Response::new(299).encode_head(true);
        assert!(text(&wire).starts_with("HTTP/1.1 299 \r\n"));
    }

    #[test]
    fn body_replaces_an_earlier_content_type() {
        let response = Response::new(200)
            .header("content-type", "text/html")
            .body("application/octet-stream", vec![0u8, 1]);
        assert_eq!(
            response.headers,
            vec![("Content-Type", "application/octet-stream".to_owned())]
        );
        assert_eq!(response.body, Bytes::from_static(&[0, 1]));
    }
}
