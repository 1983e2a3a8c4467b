//! The Engine.IO v4 handshake: the open packet's JSON and the request error bodies.
//!
//! Both are byte-exact so official clients, and tests that compare transcripts, see the same
//! bytes the reference server sends.

use bytes::Bytes;

/// The open packet's JSON: exactly the keys sid, upgrades, pingInterval, pingTimeout, maxPayload,
/// in that order.
///
/// The fixed order keeps the handshake byte-for-byte reproducible; borrowed fields let the
/// session build it without cloning its id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpenPacket<'a> {
    /// The session id the client must send back as `sid`.
    pub sid: &'a str,
    /// The transports the client may upgrade to, e.g. `["websocket"]` on polling, `[]` on
    /// websocket.
    pub upgrades: &'a [&'a str],
    /// How often the server pings, in milliseconds.
    pub ping_interval_ms: u64,
    /// How long the server waits for a pong after a ping, in milliseconds.
    pub ping_timeout_ms: u64,
    /// The largest polling payload the server accepts, in bytes.
    pub max_payload: u64,
}

impl OpenPacket<'_> {
    /// The JSON text that follows the `0` of the open packet, e.g.
    /// `{"sid":"abc","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`.
    ///
    /// Strings are escaped by serde_json, so any session id or transport name yields valid JSON.
    pub fn to_json(&self) -> Bytes {
        let mut json = String::with_capacity(128 + self.sid.len());
        json.push_str("{\"sid\":");
        json.push_str(&json_string(self.sid));
        json.push_str(",\"upgrades\":[");
        for (i, upgrade) in self.upgrades.iter().enumerate() {
            if i > 0 {
                json.push(',');
            }
            json.push_str(&json_string(upgrade));
        }
        json.push_str("],\"pingInterval\":");
        json.push_str(&self.ping_interval_ms.to_string());
        json.push_str(",\"pingTimeout\":");
        json.push_str(&self.ping_timeout_ms.to_string());
        json.push_str(",\"maxPayload\":");
        json.push_str(&self.max_payload.to_string());
        json.push('}');
        Bytes::from(json)
    }
}

/// Engine.IO handshake/request error codes.
///
/// The server answers a bad request with HTTP 400 and [`ErrorCode::body`]; clients recognise the
/// code, so the numbers and messages are fixed by the protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
#[repr(u8)]
pub enum ErrorCode {
    /// `0`: the `transport` query parameter is missing or not polling/websocket.
    UnknownTransport = 0,
    /// `1`: the `sid` names no live session.
    UnknownSid = 1,
    /// `2`: a handshake request used a method other than GET.
    BadHandshakeMethod = 2,
    /// `3`: the request is malformed (bad payload, wrong transport for the session, ...).
    BadRequest = 3,
    /// `4`: the request was refused by policy.
    Forbidden = 4,
    /// `5`: the `EIO` query parameter is not `4`.
    UnsupportedProtocolVersion = 5,
}

impl ErrorCode {
    /// The numeric code sent as `"code"`, which clients match on.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// The message sent as `"message"`, worded exactly as the reference server words it.
    pub fn message(self) -> &'static str {
        match self {
            ErrorCode::UnknownTransport => "Transport unknown",
            ErrorCode::UnknownSid => "Session ID unknown",
            ErrorCode::BadHandshakeMethod => "Bad handshake method",
            ErrorCode::BadRequest => "Bad request",
            ErrorCode::Forbidden => "Forbidden",
            ErrorCode::UnsupportedProtocolVersion => "Unsupported protocol version",
        }
    }

    /// The JSON body of the HTTP 400 reply, e.g. `{"code":0,"message":"Transport unknown"}`.
    ///
    /// The bodies are static, so replying to a flood of bad requests allocates nothing.
    pub fn body(self) -> Bytes {
        Bytes::from_static(match self {
            ErrorCode::UnknownTransport => br#"{"code":0,"message":"Transport unknown"}"#,
            ErrorCode::UnknownSid => br#"{"code":1,"message":"Session ID unknown"}"#,
            ErrorCode::BadHandshakeMethod => br#"{"code":2,"message":"Bad handshake method"}"#,
            ErrorCode::BadRequest => br#"{"code":3,"message":"Bad request"}"#,
            ErrorCode::Forbidden => br#"{"code":4,"message":"Forbidden"}"#,
            ErrorCode::UnsupportedProtocolVersion => {
                br#"{"code":5,"message":"Unsupported protocol version"}"#
            }
        })
    }
}

/// `s` as a quoted, escaped JSON string.
fn json_string(s: &str) -> String {
    serde_json::Value::String(s.to_owned()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL_CODES: [ErrorCode; 6] = [
        ErrorCode::UnknownTransport,
        ErrorCode::UnknownSid,
        ErrorCode::BadHandshakeMethod,
        ErrorCode::BadRequest,
        ErrorCode::Forbidden,
        ErrorCode::UnsupportedProtocolVersion,
    ];

    #[test]
    fn open_packet_json_has_the_five_keys_in_order() {
        let open = OpenPacket {
            sid: "abc",
            upgrades: &["websocket"],
            ping_interval_ms: 25_000,
            ping_timeout_ms: 20_000,
            max_payload: 1_000_000,
        };
        assert_eq!(
            open.to_json(),
            Bytes::from_static(
                br#"{"sid":"abc","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#
            )
        );
    }

    #[test]
    fn open_packet_json_with_no_upgrades_has_an_empty_array() {
        let open = OpenPacket {
            sid: "lv_VI97HAXpY6yYWAAAC",
            upgrades: &[],
            ping_interval_ms: 300,
            ping_timeout_ms: 200,
            max_payload: 0,
        };
        assert_eq!(
            open.to_json(),
            Bytes::from_static(
                br#"{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":[],"pingInterval":300,"pingTimeout":200,"maxPayload":0}"#
            )
        );
    }

    #[test]
    fn open_packet_json_escapes_strings() {
        let open = OpenPacket {
            sid: "a\"b\\c\u{1e}",
            upgrades: &["websocket", "x\ny"],
            ping_interval_ms: 1,
            ping_timeout_ms: 2,
            max_payload: u64::MAX,
        };
        let json = open.to_json();
        assert_eq!(
            json,
            Bytes::from_static(
                br#"{"sid":"a\"b\\c\u001e","upgrades":["websocket","x\ny"],"pingInterval":1,"pingTimeout":2,"maxPayload":18446744073709551615}"#
            )
        );
        let parsed: serde_json::Value = serde_json::from_slice(&json).unwrap_or_default();
        assert_eq!(parsed["sid"], "a\"b\\c\u{1e}");
    }

    #[test]
    fn error_codes_and_messages_match_the_protocol() {
        let expected = [
            (0, "Transport unknown"),
            (1, "Session ID unknown"),
            (2, "Bad handshake method"),
            (3, "Bad request"),
            (4, "Forbidden"),
            (5, "Unsupported protocol version"),
        ];
        for (code, (number, message)) in ALL_CODES.into_iter().zip(expected) {
            assert_eq!((code.code(), code.message()), (number, message));
        }
    }

    #[test]
    fn error_bodies_are_byte_exact() {
        let expected: [&[u8]; 6] = [
            br#"{"code":0,"message":"Transport unknown"}"#,
            br#"{"code":1,"message":"Session ID unknown"}"#,
            br#"{"code":2,"message":"Bad handshake method"}"#,
            br#"{"code":3,"message":"Bad request"}"#,
            br#"{"code":4,"message":"Forbidden"}"#,
            br#"{"code":5,"message":"Unsupported protocol version"}"#,
        ];
        for (code, body) in ALL_CODES.into_iter().zip(expected) {
            assert_eq!(code.body(), Bytes::from_static(body), "{code:?}");
        }
    }

    #[test]
    fn error_bodies_agree_with_code_and_message() {
        for code in ALL_CODES {
            let body = serde_json::json!({"code": code.code(), "message": code.message()});
            assert_eq!(code.body(), Bytes::from(body.to_string()), "{code:?}");
        }
    }
}
