//! The open packet as the client reads it, and the request targets of a session.
//!
//! Why here: the engine writes the open packet (`engineio::handshake::OpenPacket`); this is
//! its reader, as lenient as socket.io-client about key order and extra keys and strict about
//! what it needs (a sid; numbers that are numbers).

use std::time::Duration;

use serde::Deserialize;

/// What the server said in its open packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenInfo {
    /// The session id to send back.
    pub sid: String,
    /// Transports the session may upgrade to.
    pub upgrades: Vec<String>,
    /// How often the server pings.
    pub ping_interval: Duration,
    /// How long after a ping the server waits for the pong.
    pub ping_timeout: Duration,
    /// The largest polling body the server accepts (`None`: it did not say).
    pub max_payload: Option<u64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct OpenJson {
    sid: String,
    #[serde(default)]
    upgrades: Vec<String>,
    ping_interval: u64,
    ping_timeout: u64,
    max_payload: Option<u64>,
}

impl OpenInfo {
    /// Reads the JSON after the open packet's `0`; `None` when it is not an open packet a
    /// client can use (not JSON, no sid, no heartbeat numbers).
    #[must_use]
    pub fn parse(json: &[u8]) -> Option<Self> {
        let open: OpenJson = serde_json::from_slice(json).ok()?;
        if open.sid.is_empty() {
            return None;
        }
        Some(Self {
            sid: open.sid,
            upgrades: open.upgrades,
            ping_interval: Duration::from_millis(open.ping_interval),
            ping_timeout: Duration::from_millis(open.ping_timeout),
            max_payload: open.max_payload,
        })
    }

    /// Whether the server offers an upgrade to websocket.
    #[must_use]
    pub fn offers_websocket(&self) -> bool {
        self.upgrades.iter().any(|u| u == "websocket")
    }
}

/// The target of a request of the session `sid` (`None`: the handshake) over `transport`
/// at `path`: `/socket.io/?EIO=4&transport=polling&sid=abc`.
#[must_use]
pub fn target(path: &str, transport: &str, sid: Option<&str>) -> String {
    let mut target = format!("{path}?EIO=4&transport={transport}");
    if let Some(sid) = sid {
        target.push_str("&sid=");
        for byte in sid.bytes() {
            if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
                target.push(char::from(byte));
            } else {
                target.push_str(&format!("%{byte:02X}"));
            }
        }
    }
    target
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_engines_open_packet_reads_back() {
        let json = br#"{"sid":"abc","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#;
        let open = OpenInfo::parse(json).unwrap();
        assert_eq!(open.sid, "abc");
        assert!(open.offers_websocket());
        assert_eq!(open.ping_interval, Duration::from_secs(25));
        assert_eq!(open.ping_timeout, Duration::from_secs(20));
        assert_eq!(open.max_payload, Some(1_000_000));
    }

    #[test]
    fn an_open_packet_without_sid_or_numbers_is_refused() {
        assert_eq!(
            OpenInfo::parse(br#"{"pingInterval":1,"pingTimeout":1}"#),
            None
        );
        assert_eq!(
            OpenInfo::parse(br#"{"sid":"","pingInterval":1,"pingTimeout":1}"#),
            None
        );
        assert_eq!(
            OpenInfo::parse(br#"{"sid":"a","pingInterval":"1","pingTimeout":1}"#),
            None
        );
        assert_eq!(OpenInfo::parse(b"not json"), None);
    }

    #[test]
    fn targets_name_the_transport_and_an_escaped_sid() {
        assert_eq!(
            target("/socket.io/", "websocket", None),
            "/socket.io/?EIO=4&transport=websocket"
        );
        assert_eq!(
            target("/socket.io/", "polling", Some("a b&c")),
            "/socket.io/?EIO=4&transport=polling&sid=a%20b%26c"
        );
    }
}
