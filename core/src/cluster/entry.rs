//! The stream entry format of `@socket.io/redis-streams-adapter` 0.3.x, written and read.
//!
//! An entry has the string fields `uid` (the writing server), `nsp` (the namespace), `type`
//! (a `MessageType` of `socket.io-adapter`'s cluster adapter, in decimal) and, for most
//! types, `data`: JSON text when it starts with `{`, else base64 of MessagePack (what the Node
//! adapter writes when the data holds binary). A broadcast (type 3) carries
//! `{"packet":{"type":2,"data":[name, args…],"nsp":…},"opts":{"rooms":[…],"except":[…],
//! "flags":{…}}}`, plus a `requestId` when the sender waits for acknowledgements.
//!
//! Why decoding is total and bounded: entries come from whoever can write to the stream.
//! [`decode`] never panics, reads MessagePack with a depth limit, and refuses entries
//! larger than the caller's limit before looking inside them.

use base64::Engine as _;
use serde::Deserialize;
use serde_json::value::RawValue;

/// `MessageType.BROADCAST` of the cluster adapter.
pub const BROADCAST: u32 = 3;
/// Nesting the MessagePack reader follows at most.
const MAX_DEPTH: usize = 64;

/// One entry's fields as the stream holds them: `(field, value)` pairs, in order.
pub type Fields = Vec<(String, Vec<u8>)>;

/// A decoded entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The writing server's id.
    pub uid: String,
    /// The namespace the message is for.
    pub nsp: String,
    /// The cluster adapter's message type.
    pub kind: u32,
    /// What a broadcast sends; `None` for every other type.
    pub broadcast: Option<Broadcast>,
}

/// A broadcast: the event and who gets it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broadcast {
    /// The event name (the first element of the packet's data).
    pub name: String,
    /// The arguments after the name, each as JSON text; binary values are placeholders
    /// (`{"_placeholder":true,"num":N}`) for [`Broadcast::attachments`].
    pub args: Vec<String>,
    /// The binary values, in placeholder order (only MessagePack data carries them).
    pub attachments: Vec<Vec<u8>>,
    /// Only sockets in one of these rooms (empty: every socket).
    pub rooms: Vec<String>,
    /// Never sockets in these rooms.
    pub except: Vec<String>,
    /// The sender waits for acknowledgements (`requestId`); such broadcasts are not kept for
    /// recovery.
    pub with_ack: bool,
    /// The sender marked it volatile.
    pub volatile: bool,
}

/// Why an entry could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError(pub String);

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The fields of a broadcast entry from server `uid` of event `name` with one argument,
/// `arg` (JSON text), to every socket of `nsp`: what the Node adapter writes for
/// `io.of(nsp).emit(name, arg)`.
#[must_use]
pub fn broadcast_fields(uid: &str, nsp: &str, name: &str, arg: &[u8]) -> Fields {
    let nsp_json = serde_json::to_string(nsp).unwrap_or_default();
    let name_json = serde_json::to_string(name).unwrap_or_default();
    let mut data = Vec::with_capacity(arg.len() + 96 + nsp_json.len() + name_json.len());
    data.extend_from_slice(b"{\"packet\":{\"type\":2,\"data\":[");
    data.extend_from_slice(name_json.as_bytes());
    data.push(b',');
    data.extend_from_slice(arg);
    data.extend_from_slice(b"],\"nsp\":");
    data.extend_from_slice(nsp_json.as_bytes());
    data.extend_from_slice(b"},\"opts\":{\"rooms\":[],\"except\":[],\"flags\":{}}}");
    vec![
        ("uid".to_owned(), uid.as_bytes().to_vec()),
        ("nsp".to_owned(), nsp.as_bytes().to_vec()),
        ("type".to_owned(), BROADCAST.to_string().into_bytes()),
        ("data".to_owned(), data),
    ]
}

/// Reads an entry's fields; `max_bytes` bounds the sum of their sizes.
///
/// # Errors
/// A missing or non-text `uid`, `nsp` or `type`, a type that is not a number, data that is
/// neither JSON nor base64 MessagePack, a broadcast whose packet is not an event, or an entry
/// over `max_bytes`.
pub fn decode(fields: &[(String, Vec<u8>)], max_bytes: usize) -> Result<Message, DecodeError> {
    let size: usize = fields.iter().map(|(k, v)| k.len() + v.len()).sum();
    if size > max_bytes {
        return Err(err(format!(
            "entry of {size} bytes is over the {max_bytes}-byte limit"
        )));
    }
    let field = |name: &str| -> Result<Option<&str>, DecodeError> {
        match fields.iter().find(|(k, _)| k == name) {
            None => Ok(None),
            Some((_, v)) => std::str::from_utf8(v)
                .map(Some)
                .map_err(|_| err(format!("field {name} is not UTF-8"))),
        }
    };
    let uid = field("uid")?.ok_or_else(|| err("no uid field".into()))?;
    let nsp = field("nsp")?.filter(|n| !n.is_empty());
    let nsp = nsp.ok_or_else(|| err("no nsp field".into()))?;
    let kind = field("type")?.ok_or_else(|| err("no type field".into()))?;
    let kind: u32 = kind
        .parse()
        .map_err(|_| err(format!("type {kind:?} is not a number")))?;
    let data = field("data")?.filter(|d| !d.is_empty());
    let broadcast = match (kind, data) {
        (BROADCAST, Some(data)) => Some(broadcast(data)?),
        (BROADCAST, None) => return Err(err("a broadcast without data".into())),
        _ => None,
    };
    Ok(Message {
        uid: uid.to_owned(),
        nsp: nsp.to_owned(),
        kind,
        broadcast,
    })
}

fn err(message: String) -> DecodeError {
    DecodeError(message)
}

#[derive(Deserialize)]
struct RawBroadcast<'a> {
    #[serde(borrow)]
    packet: RawPacket<'a>,
    #[serde(default)]
    opts: Opts,
    #[serde(default, rename = "requestId")]
    request_id: Option<serde::de::IgnoredAny>,
}

#[derive(Deserialize)]
struct RawPacket<'a> {
    #[serde(rename = "type")]
    kind: u8,
    #[serde(borrow)]
    data: Vec<&'a RawValue>,
}

#[derive(Deserialize, Default)]
struct Opts {
    #[serde(default)]
    rooms: Vec<String>,
    #[serde(default)]
    except: Vec<String>,
    #[serde(default)]
    flags: Option<Flags>,
}

#[derive(Deserialize, Default)]
struct Flags {
    #[serde(default)]
    volatile: Option<serde::de::IgnoredAny>,
}

fn broadcast(data: &str) -> Result<Broadcast, DecodeError> {
    if data.starts_with('{') {
        let raw: RawBroadcast<'_> =
            serde_json::from_str(data).map_err(|e| err(format!("broadcast data: {e}")))?;
        let args: Vec<String> = raw.packet.data.iter().map(|a| a.get().to_owned()).collect();
        finish(
            raw.packet.kind,
            args,
            Vec::new(),
            raw.opts,
            raw.request_id.is_some(),
        )
    } else {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(data)
            .map_err(|e| err(format!("broadcast data is neither JSON nor base64: {e}")))?;
        let value = rmpv::decode::read_value_with_max_depth(&mut &bytes[..], MAX_DEPTH)
            .map_err(|e| err(format!("broadcast data is not MessagePack: {e}")))?;
        let mut attachments = Vec::new();
        let json = to_json(value, &mut attachments)?;
        let packet = json.get("packet").ok_or_else(|| err("no packet".into()))?;
        let kind = packet
            .get("type")
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(u64::MAX);
        let args = match packet.get("data") {
            Some(serde_json::Value::Array(items)) => {
                items.iter().map(ToString::to_string).collect()
            }
            _ => return Err(err("the packet's data is not an array".into())),
        };
        let opts = json
            .get("opts")
            .cloned()
            .map(serde_json::from_value::<Opts>)
            .transpose()
            .map_err(|e| err(format!("broadcast opts: {e}")))?
            .unwrap_or_default();
        let with_ack = json.get("requestId").is_some();
        finish(
            u8::try_from(kind).unwrap_or(u8::MAX),
            args,
            attachments,
            opts,
            with_ack,
        )
    }
}

fn finish(
    kind: u8,
    mut args: Vec<String>,
    attachments: Vec<Vec<u8>>,
    opts: Opts,
    with_ack: bool,
) -> Result<Broadcast, DecodeError> {
    // 2 EVENT, 5 BINARY_EVENT (what socket.io-parser would send for a binary argument).
    if kind != 2 && kind != 5 {
        return Err(err(format!("the packet is of type {kind}, not an event")));
    }
    if args.is_empty() {
        return Err(err("the event has no name".into()));
    }
    let name: String = serde_json::from_str(&args.remove(0))
        .map_err(|_| err("the event name is not a string".into()))?;
    Ok(Broadcast {
        name,
        args,
        attachments,
        rooms: opts.rooms,
        except: opts.except,
        with_ack,
        volatile: opts.flags.is_some_and(|f| f.volatile.is_some()),
    })
}

/// A MessagePack value as JSON; binary values become Socket.IO placeholders.
pub(crate) fn to_json(
    value: rmpv::Value,
    attachments: &mut Vec<Vec<u8>>,
) -> Result<serde_json::Value, DecodeError> {
    use serde_json::Value as J;
    Ok(match value {
        rmpv::Value::Nil => J::Null,
        rmpv::Value::Boolean(b) => J::Bool(b),
        rmpv::Value::Integer(i) => match (i.as_u64(), i.as_i64()) {
            (Some(u), _) => J::from(u),
            (None, Some(s)) => J::from(s),
            (None, None) => J::Null,
        },
        rmpv::Value::F32(f) => {
            serde_json::Number::from_f64(f64::from(f)).map_or(J::Null, J::Number)
        }
        rmpv::Value::F64(f) => serde_json::Number::from_f64(f).map_or(J::Null, J::Number),
        rmpv::Value::String(s) => match s.into_str() {
            Some(s) => J::String(s),
            None => return Err(err("a MessagePack string is not UTF-8".into())),
        },
        rmpv::Value::Binary(bytes) => {
            attachments.push(bytes);
            serde_json::json!({"_placeholder": true, "num": attachments.len() - 1})
        }
        rmpv::Value::Array(items) => J::Array(
            items
                .into_iter()
                .map(|item| to_json(item, attachments))
                .collect::<Result<_, _>>()?,
        ),
        rmpv::Value::Map(pairs) => {
            let mut map = serde_json::Map::new();
            for (key, value) in pairs {
                let key = match key {
                    rmpv::Value::String(s) => s.into_str().unwrap_or_default(),
                    other => other.to_string(),
                };
                map.insert(key, to_json(value, attachments)?);
            }
            J::Object(map)
        }
        rmpv::Value::Ext(..) => return Err(err("a MessagePack extension type".into())),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> Fields {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.as_bytes().to_vec()))
            .collect()
    }

    #[test]
    fn a_written_broadcast_is_the_node_adapters_format_and_reads_back() {
        let written = broadcast_fields("node-a", "/", "claude_event", br#"{"id":"e1"}"#);
        let data = std::str::from_utf8(&written[3].1).unwrap();
        assert_eq!(
            data,
            r#"{"packet":{"type":2,"data":["claude_event",{"id":"e1"}],"nsp":"/"},"opts":{"rooms":[],"except":[],"flags":{}}}"#
        );
        let keys: Vec<_> = written.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["uid", "nsp", "type", "data"]);
        let message = decode(&written, 1 << 20).unwrap();
        assert_eq!(
            (message.uid.as_str(), message.nsp.as_str(), message.kind),
            ("node-a", "/", 3)
        );
        let broadcast = message.broadcast.unwrap();
        assert_eq!(broadcast.name, "claude_event");
        assert_eq!(broadcast.args, [r#"{"id":"e1"}"#]);
        assert!(!broadcast.with_ack && !broadcast.volatile);
    }

    #[test]
    fn a_node_broadcast_with_rooms_and_flags_is_read() {
        let data = r#"{"packet":{"type":2,"data":["news",1,"two"],"nsp":"/"},"opts":{"rooms":["r1"],"except":["x"],"flags":{"volatile":true}}}"#;
        let message = decode(
            &fields(&[("uid", "abc"), ("nsp", "/"), ("type", "3"), ("data", data)]),
            1 << 20,
        )
        .unwrap();
        let broadcast = message.broadcast.unwrap();
        assert_eq!(broadcast.args, ["1", "\"two\""]);
        assert_eq!(
            (broadcast.rooms, broadcast.except),
            (vec!["r1".to_owned()], vec!["x".to_owned()])
        );
        assert!(broadcast.volatile);
    }

    #[test]
    fn a_heartbeat_has_no_data_and_no_broadcast() {
        let message = decode(
            &fields(&[("uid", "abc"), ("nsp", "/"), ("type", "2")]),
            1 << 20,
        )
        .unwrap();
        assert_eq!((message.kind, message.broadcast), (2, None));
    }

    #[test]
    fn base64_messagepack_data_is_read_with_binary_as_placeholders() {
        // {"packet":{"type":2,"data":["bin",<bin 01 02>],"nsp":"/"},"opts":{"rooms":[],"except":[]}}
        let value = rmpv::Value::Map(vec![
            (
                "packet".into(),
                rmpv::Value::Map(vec![
                    ("type".into(), 2.into()),
                    (
                        "data".into(),
                        rmpv::Value::Array(vec!["bin".into(), rmpv::Value::Binary(vec![1, 2])]),
                    ),
                    ("nsp".into(), "/".into()),
                ]),
            ),
            (
                "opts".into(),
                rmpv::Value::Map(vec![
                    ("rooms".into(), rmpv::Value::Array(vec![])),
                    ("except".into(), rmpv::Value::Array(vec![])),
                ]),
            ),
        ]);
        let mut bytes = Vec::new();
        rmpv::encode::write_value(&mut bytes, &value).unwrap();
        let data = base64::engine::general_purpose::STANDARD.encode(bytes);
        let message = decode(
            &fields(&[("uid", "n"), ("nsp", "/"), ("type", "3"), ("data", &data)]),
            1 << 20,
        )
        .unwrap();
        let broadcast = message.broadcast.unwrap();
        assert_eq!(broadcast.name, "bin");
        assert_eq!(broadcast.args, [r#"{"_placeholder":true,"num":0}"#]);
        assert_eq!(broadcast.attachments, [vec![1, 2]]);
    }

    #[test]
    fn malformed_entries_say_why() {
        let no_nsp = decode(&fields(&[("uid", "a"), ("type", "3")]), 1 << 20).unwrap_err();
        assert!(no_nsp.0.contains("nsp"), "{no_nsp}");
        let bad_type = decode(
            &fields(&[("uid", "a"), ("nsp", "/"), ("type", "x")]),
            1 << 20,
        )
        .unwrap_err();
        assert!(bad_type.0.contains("type"), "{bad_type}");
        let not_event = r#"{"packet":{"type":0,"data":[]}}"#;
        let e = decode(
            &fields(&[
                ("uid", "a"),
                ("nsp", "/"),
                ("type", "3"),
                ("data", not_event),
            ]),
            1 << 20,
        )
        .unwrap_err();
        assert!(e.0.contains("not an event"), "{e}");
        let garbage = decode(
            &fields(&[("uid", "a"), ("nsp", "/"), ("type", "3"), ("data", "%%%")]),
            1 << 20,
        )
        .unwrap_err();
        assert!(garbage.0.contains("base64"), "{garbage}");
        let big = decode(&fields(&[("uid", "a"), ("nsp", "/"), ("type", "2")]), 5).unwrap_err();
        assert!(big.0.contains("limit"), "{big}");
    }
}
