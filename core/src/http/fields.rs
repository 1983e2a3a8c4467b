//! Header fields that decide how a request is framed and whether the connection survives it:
//! Content-Length, Transfer-Encoding, Connection and the websocket upgrade fields.

use super::error::HttpError;
use super::request::BodyKind;

/// Decides the body framing, rejecting every ambiguous combination (RFC 9112 §6.3).
pub(crate) fn body_kind(headers: &[(String, String)], http11: bool) -> Result<BodyKind, HttpError> {
    let has_length = headers.iter().any(|(name, _)| name == "content-length");
    let has_coding = headers.iter().any(|(name, _)| name == "transfer-encoding");
    if has_length && has_coding {
        return Err(HttpError::ContentLengthWithTransferEncoding);
    }
    if has_coding {
        if !http11 {
            return Err(HttpError::Malformed(
                "Transfer-Encoding in an HTTP/1.0 request".into(),
            ));
        }
        let codings: Vec<&str> = tokens(headers, "transfer-encoding").collect();
        return match codings.as_slice() {
            [] => Err(HttpError::Malformed("empty Transfer-Encoding".into())),
            [only] if only.eq_ignore_ascii_case("chunked") => Ok(BodyKind::Chunked),
            _ => Err(HttpError::UnsupportedTransferEncoding),
        };
    }
    let mut length = None;
    for (name, value) in headers {
        if name != "content-length" {
            continue;
        }
        for element in value.split(',') {
            let parsed = parse_decimal(element.trim_matches([' ', '\t']))
                .ok_or(HttpError::BadContentLength)?;
            if length.is_some_and(|seen| seen != parsed) {
                return Err(HttpError::BadContentLength);
            }
            length = Some(parsed);
        }
    }
    Ok(length.map_or(BodyKind::None, BodyKind::Length))
}

/// Whether the connection stays open: HTTP/1.1 unless `close`, HTTP/1.0 only with `keep-alive`.
pub(crate) fn keep_alive(headers: &[(String, String)], http11: bool) -> bool {
    let close = has_token(headers, "connection", "close");
    if http11 {
        !close
    } else {
        has_token(headers, "connection", "keep-alive") && !close
    }
}

/// Whether any Upgrade field names the websocket protocol (with or without a version).
pub(crate) fn upgrade_requested(headers: &[(String, String)]) -> bool {
    tokens(headers, "upgrade").any(|protocol| {
        let name = protocol.split('/').next().unwrap_or(protocol);
        name.trim().eq_ignore_ascii_case("websocket")
    })
}

fn parse_decimal(digits: &str) -> Option<u64> {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The comma-separated, whitespace-trimmed, non-empty list elements of every field `name`.
fn tokens<'a>(
    headers: &'a [(String, String)],
    name: &'a str,
) -> impl Iterator<Item = &'a str> + 'a {
    headers
        .iter()
        .filter(move |(n, _)| n == name)
        .flat_map(|(_, value)| value.split(','))
        .map(|element| element.trim_matches([' ', '\t']))
        .filter(|element| !element.is_empty())
}

fn has_token(headers: &[(String, String)], name: &str, token: &str) -> bool {
    tokens(headers, name).any(|t| t.eq_ignore_ascii_case(token))
}

/// The key of a valid RFC 6455 opening handshake, given that Upgrade names websocket.
pub(crate) fn websocket_key(headers: &[(String, String)]) -> Option<String> {
    if !has_token(headers, "connection", "upgrade") {
        return None;
    }
    let mut versions = headers
        .iter()
        .filter(|(name, _)| name == "sec-websocket-version");
    match (versions.next(), versions.next()) {
        (Some((_, version)), None) if version.trim() == "13" => {}
        _ => return None,
    }
    let mut keys = headers
        .iter()
        .filter(|(name, _)| name == "sec-websocket-key");
    match (keys.next(), keys.next()) {
        (Some((_, key)), None) if is_websocket_key(key.trim()) => Some(key.trim().to_owned()),
        _ => None,
    }
}

/// Whether `key` is the base64 of 16 bytes: 22 alphabet characters and `==`.
fn is_websocket_key(key: &str) -> bool {
    let bytes = key.as_bytes();
    bytes.len() == 24
        && bytes.ends_with(b"==")
        && bytes
            .iter()
            .take(22)
            .all(|&b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
}

#[cfg(test)]
mod tests {
    use crate::http::{parse_request_head, BodyKind, HeadLimits, HttpError, RequestHead};

    fn head(raw: &[u8]) -> RequestHead {
        match parse_request_head(raw, &HeadLimits::default()) {
            Ok(Some((head, _))) => head,
            other => panic!("expected a complete head, got {other:?}"),
        }
    }

    fn error(raw: &[u8]) -> HttpError {
        match parse_request_head(raw, &HeadLimits::default()) {
            Err(err) => err,
            other => panic!("expected an error, got {other:?}"),
        }
    }

    const WS_KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

    fn upgrade(extra: &str) -> Vec<u8> {
        format!("GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: relay\r\n{extra}\r\n")
            .into_bytes()
    }

    #[test]
    fn chunked_transfer_encoding_is_recognised_case_insensitively() {
        let head = head(b"POST /e HTTP/1.1\r\nTransfer-Encoding: Chunked\r\n\r\n");
        assert_eq!(head.body, BodyKind::Chunked);
    }

    #[test]
    fn content_length_with_transfer_encoding_is_rejected() {
        let err =
            error(b"POST /e HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n");
        assert_eq!(err, HttpError::ContentLengthWithTransferEncoding);
        assert_eq!(err.status(), 400);
    }

    #[test]
    fn repeated_identical_content_lengths_are_one_length() {
        let head_a = head(b"POST /e HTTP/1.1\r\nContent-Length: 7\r\nContent-Length: 7\r\n\r\n");
        let head_b = head(b"POST /e HTTP/1.1\r\nContent-Length: 7, 7\r\n\r\n");
        assert_eq!(head_a.body, BodyKind::Length(7));
        assert_eq!(head_b.body, BodyKind::Length(7));
    }

    #[test]
    fn conflicting_content_lengths_are_rejected() {
        assert_eq!(
            error(b"POST /e HTTP/1.1\r\nContent-Length: 7\r\nContent-Length: 8\r\n\r\n"),
            HttpError::BadContentLength
        );
        assert_eq!(
            error(b"POST /e HTTP/1.1\r\nContent-Length: 7,8\r\n\r\n"),
            HttpError::BadContentLength
        );
    }

    #[test]
    fn content_length_must_be_plain_decimal_within_64_bits() {
        for value in ["", "+5", "-1", "0x10", "5 5", "1e3", "18446744073709551616"] {
            let raw = format!("POST /e HTTP/1.1\r\nContent-Length: {value}\r\n\r\n");
            assert_eq!(
                error(raw.as_bytes()),
                HttpError::BadContentLength,
                "{value:?}"
            );
        }
        let max = head(b"POST /e HTTP/1.1\r\nContent-Length: 18446744073709551615\r\n\r\n");
        assert_eq!(max.body, BodyKind::Length(u64::MAX));
        let zero = head(b"POST /e HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
        assert_eq!(zero.body, BodyKind::Length(0));
    }

    #[test]
    fn transfer_codings_other_than_one_chunked_are_not_implemented() {
        for value in ["gzip", "gzip, chunked", "chunked, chunked", "identity"] {
            let raw = format!("POST /e HTTP/1.1\r\nTransfer-Encoding: {value}\r\n\r\n");
            let err = error(raw.as_bytes());
            assert_eq!(err, HttpError::UnsupportedTransferEncoding, "{value:?}");
            assert_eq!(err.status(), 501);
        }
        let split =
            b"POST /e HTTP/1.1\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n";
        assert_eq!(error(split), HttpError::UnsupportedTransferEncoding);
    }

    #[test]
    fn transfer_encoding_in_http_1_0_is_malformed() {
        let err = error(b"POST /e HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n");
        assert!(matches!(err, HttpError::Malformed(_)), "{err:?}");
    }

    #[test]
    fn http_1_1_keeps_alive_unless_connection_close() {
        assert!(head(b"GET / HTTP/1.1\r\n\r\n").keep_alive);
        assert!(head(b"GET / HTTP/1.1\r\nConnection: keep-alive\r\n\r\n").keep_alive);
        assert!(!head(b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n").keep_alive);
        assert!(!head(b"GET / HTTP/1.1\r\nConnection: Upgrade, CLOSE\r\n\r\n").keep_alive);
    }

    #[test]
    fn http_1_0_keeps_alive_only_when_asked() {
        assert!(!head(b"GET / HTTP/1.0\r\n\r\n").keep_alive);
        assert!(head(b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").keep_alive);
        assert!(!head(b"GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n").keep_alive);
    }

    #[test]
    fn versions_other_than_1_0_and_1_1_are_refused_with_505() {
        let err = error(b"GET / HTTP/2.0\r\n\r\n");
        assert_eq!(err, HttpError::UnsupportedVersion);
        assert_eq!(err.status(), 505);
    }

    #[test]
    fn valid_websocket_upgrade_yields_the_key() {
        let head = head(&upgrade(&format!(
            "Connection: keep-alive, Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: {WS_KEY}\r\n"
        )));
        assert!(head.upgrade_requested);
        assert_eq!(head.websocket_key.as_deref(), Some(WS_KEY));
        assert_eq!(head.query.get("transport"), Some("websocket"));
    }

    #[test]
    fn invalid_websocket_upgrades_are_flagged_without_a_key() {
        let key = format!("Sec-WebSocket-Key: {WS_KEY}\r\n");
        let cases = [
            "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n".to_owned(),
            format!("Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 8\r\n{key}"),
            format!("Connection: keep-alive\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n{key}"),
            "Connection: Upgrade\r\nUpgrade: WebSocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: short==\r\n".to_owned(),
            format!("Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n{key}{key}"),
        ];
        for extra in &cases {
            let head = head(&upgrade(extra));
            assert!(head.upgrade_requested, "{extra:?}");
            assert_eq!(head.websocket_key, None, "{extra:?}");
        }
        let post = format!(
            "POST / HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n{key}\r\n"
        );
        let head = head(post.as_bytes());
        assert!(head.upgrade_requested);
        assert_eq!(head.websocket_key, None);
    }

    #[test]
    fn other_upgrades_are_not_websocket_upgrades() {
        let head = head(b"GET / HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n");
        assert!(!head.upgrade_requested);
        assert_eq!(head.websocket_key, None);
    }
}
