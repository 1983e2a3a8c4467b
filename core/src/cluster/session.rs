//! Parked sessions in Redis, as the Node adapter keeps them for connection state recovery:
//! under `session_key_prefix + pid`, with an expiry of the recovery window, the value base64
//! of MessagePack `{sid, pid, rooms, data}` (Socket.IO's `SessionToPersist`). A client whose
//! connection dropped on one node can so recover on another: the node it reconnects to takes
//! the session (`GETDEL`) when the pid is not parked locally.
//!
//! `data` holds what an iorelay node needs besides the ids: the namespace and the client's
//! subscription and delivery options (a Node.js server restoring it sets it as
//! `socket.data`).

use base64::Engine as _;

/// A parked socket as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredSession {
    /// The socket's public id.
    pub sid: String,
    /// The private id that recovers it.
    pub pid: String,
    /// Its rooms (its own `sid` room included).
    pub rooms: Vec<String>,
    /// The application's data (iorelay: the namespace, subscription and options).
    pub data: serde_json::Value,
}

/// Deepest nesting read back.
const MAX_DEPTH: usize = 32;

impl StoredSession {
    /// The value to `SET`: base64 of MessagePack.
    #[must_use]
    pub fn encode(&self) -> String {
        let value = rmpv::Value::Map(vec![
            ("sid".into(), self.sid.as_str().into()),
            ("pid".into(), self.pid.as_str().into()),
            (
                "rooms".into(),
                rmpv::Value::Array(self.rooms.iter().map(|r| r.as_str().into()).collect()),
            ),
            ("data".into(), from_json(&self.data)),
        ]);
        let mut bytes = Vec::new();
        // Writing to a Vec cannot fail.
        let _ = rmpv::encode::write_value(&mut bytes, &value);
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    /// Reads a stored value; `None` when it is not a session.
    #[must_use]
    pub fn decode(text: &[u8]) -> Option<Self> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text.trim_ascii())
            .ok()?;
        let value = rmpv::decode::read_value_with_max_depth(&mut &bytes[..], MAX_DEPTH).ok()?;
        let json = super::entry::to_json(value, &mut Vec::new()).ok()?;
        let text = |key: &str| json.get(key)?.as_str().map(str::to_owned);
        let rooms = json
            .get("rooms")?
            .as_array()?
            .iter()
            .filter_map(|r| r.as_str().map(str::to_owned))
            .collect();
        Some(Self {
            sid: text("sid")?,
            pid: text("pid")?,
            rooms,
            data: json.get("data").cloned().unwrap_or(serde_json::Value::Null),
        })
    }
}

/// A JSON value as MessagePack.
fn from_json(value: &serde_json::Value) -> rmpv::Value {
    use serde_json::Value as J;
    match value {
        J::Null => rmpv::Value::Nil,
        J::Bool(b) => rmpv::Value::Boolean(*b),
        J::Number(n) => match (n.as_u64(), n.as_i64(), n.as_f64()) {
            (Some(u), _, _) => rmpv::Value::from(u),
            (None, Some(i), _) => rmpv::Value::from(i),
            (None, None, Some(f)) => rmpv::Value::F64(f),
            _ => rmpv::Value::Nil,
        },
        J::String(s) => s.as_str().into(),
        J::Array(items) => rmpv::Value::Array(items.iter().map(from_json).collect()),
        J::Object(map) => rmpv::Value::Map(
            map.iter()
                .map(|(k, v)| (k.as_str().into(), from_json(v)))
                .collect(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_reads_back_as_written() {
        let session = StoredSession {
            sid: "s1".into(),
            pid: "p1".into(),
            rooms: vec!["s1".into(), "room".into()],
            data: serde_json::json!({"nsp": "/", "subscription": {"types": ["stop"]}, "n": -3}),
        };
        assert_eq!(
            StoredSession::decode(session.encode().as_bytes()),
            Some(session)
        );
        assert_eq!(StoredSession::decode(b"not base64!"), None);
        assert_eq!(StoredSession::decode(b"AAAA"), None);
    }

    #[test]
    fn a_session_the_node_adapter_wrote_is_read() {
        // msgpack {sid: "a", pid: "b", rooms: ["a"], data: {}} as @msgpack/msgpack writes it.
        let bytes: &[u8] = &[
            0x84, 0xa3, b's', b'i', b'd', 0xa1, b'a', 0xa3, b'p', b'i', b'd', 0xa1, b'b', 0xa5,
            b'r', b'o', b'o', b'm', b's', 0x91, 0xa1, b'a', 0xa4, b'd', b'a', b't', b'a', 0x80,
        ];
        let text = base64::engine::general_purpose::STANDARD.encode(bytes);
        let session = StoredSession::decode(text.as_bytes()).unwrap();
        assert_eq!((session.sid.as_str(), session.pid.as_str()), ("a", "b"));
        assert_eq!(session.rooms, vec!["a".to_owned()]);
        assert_eq!(session.data, serde_json::json!({}));
    }
}
