//! Socket.IO v5 packets: the text codec, its decoding limits and its errors.
//!
//! A packet is `<type>[<attachments>-][<nsp>,][<ack id>][<JSON data>]`, carried as one Engine.IO
//! message. The JSON data is kept as raw bytes: the decoder validates it and slices it out of the
//! input without copying, and the encoder copies it verbatim, so a relayed payload is never
//! re-serialised and a broadcast is encoded once.

use std::fmt;

use bytes::Bytes;
use serde::de::{self, Deserialize, Deserializer, IgnoredAny, SeqAccess, Visitor};
use serde_json::value::RawValue;

use super::binary::check_placeholders;

/// The type of a Socket.IO packet; its discriminant is the digit that starts the packet text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PacketKind {
    /// CONNECT (0): a client asks to join a namespace, or the server accepts it.
    Connect = 0,
    /// DISCONNECT (1): either side leaves a namespace.
    Disconnect = 1,
    /// EVENT (2): a named event with JSON arguments.
    Event = 2,
    /// ACK (3): the reply to an EVENT that carried an ack id.
    Ack = 3,
    /// CONNECT_ERROR (4): the server refuses a namespace CONNECT.
    ConnectError = 4,
    /// BINARY_EVENT (5): an EVENT whose arguments reference binary attachments.
    BinaryEvent = 5,
    /// BINARY_ACK (6): an ACK whose arguments reference binary attachments.
    BinaryAck = 6,
}

impl PacketKind {
    /// The kind whose type digit is `byte`, so that the decoder rejects anything outside `0`–`6`.
    pub fn from_digit(byte: u8) -> Option<Self> {
        match byte {
            b'0' => Some(Self::Connect),
            b'1' => Some(Self::Disconnect),
            b'2' => Some(Self::Event),
            b'3' => Some(Self::Ack),
            b'4' => Some(Self::ConnectError),
            b'5' => Some(Self::BinaryEvent),
            b'6' => Some(Self::BinaryAck),
            _ => None,
        }
    }

    /// Whether packets of this kind are followed by binary attachments, because only those kinds
    /// write an attachment count.
    pub fn is_binary(self) -> bool {
        matches!(self, Self::BinaryEvent | Self::BinaryAck)
    }

    fn digit(self) -> u8 {
        b'0' + self as u8
    }
}

/// A Socket.IO packet; `data` is raw JSON text kept as bytes so that a broadcast is encoded once
/// and relayed payloads are never re-serialised.
///
/// `nsp` starts with `/` and contains no `,` (the decoder guarantees both; the encoder relies on
/// them). `attachments` counts the binary attachments that follow a BINARY_EVENT or BINARY_ACK
/// and is ignored by the encoder for every other kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Packet {
    /// The packet type.
    pub kind: PacketKind,
    /// The namespace, `/` for the main one.
    pub nsp: String,
    /// The ack id of an EVENT that wants a reply, or the id an ACK answers.
    pub id: Option<u64>,
    /// The JSON data exactly as sent, if any.
    pub data: Option<Bytes>,
    /// The number of binary attachments that follow a BINARY_EVENT or BINARY_ACK.
    pub attachments: usize,
}

/// Limits applied while decoding, because every decoder is bounded by configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The largest attachment count accepted on a BINARY_EVENT or BINARY_ACK.
    pub max_attachments: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_attachments: 16,
        }
    }
}

/// Why a Socket.IO packet, its data or its attachments were rejected; the peer's fault, so the
/// engine turns it into a disconnect rather than an API error.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// The packet text is empty.
    Empty,
    /// The packet text or the JSON data is not UTF-8.
    NotUtf8,
    /// The first byte is not a packet type digit `0`–`6`.
    UnknownType(u8),
    /// A binary packet's attachment count is missing, zero, not a number or not followed by `-`.
    InvalidAttachmentCount,
    /// A binary packet announces more attachments than the limit allows.
    TooManyAttachments {
        /// The configured limit.
        max: usize,
    },
    /// The ack id has more than 20 digits or does not fit in a `u64`.
    AckIdTooLarge,
    /// A CONNECT, DISCONNECT or CONNECT_ERROR carries an ack id.
    UnexpectedAckId(PacketKind),
    /// An ACK or BINARY_ACK has no ack id.
    MissingAckId(PacketKind),
    /// A packet that needs JSON data has none.
    MissingData(PacketKind),
    /// A DISCONNECT carries data.
    UnexpectedData(PacketKind),
    /// The data is not exactly one JSON value.
    InvalidJson(String),
    /// The data is JSON of the wrong shape for its packet kind; the text says what was expected.
    InvalidData(&'static str),
    /// A binary placeholder refers to an attachment the packet does not announce.
    PlaceholderOutOfRange {
        /// The placeholder's `num`.
        num: u64,
        /// The announced attachment count.
        attachments: usize,
    },
    /// An object has `"_placeholder":true` but no non-negative integer `num`.
    MalformedPlaceholder,
    /// The attachments of one binary packet add up to more bytes than allowed.
    AttachmentsTooLarge {
        /// The configured limit on the sum of attachment lengths.
        max_bytes: usize,
    },
    /// A binary attachment arrived that the packet did not announce.
    UnexpectedAttachment,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("empty Socket.IO packet"),
            Self::NotUtf8 => f.write_str("Socket.IO packet is not valid UTF-8"),
            Self::UnknownType(b) => write!(f, "unknown Socket.IO packet type byte 0x{b:02x}"),
            Self::InvalidAttachmentCount => {
                f.write_str("binary packet needs a positive attachment count followed by '-'")
            }
            Self::TooManyAttachments { max } => {
                write!(f, "binary packet announces more than {max} attachments")
            }
            Self::AckIdTooLarge => f.write_str("ack id does not fit in 64 bits"),
            Self::UnexpectedAckId(kind) => write!(f, "{kind:?} packet must not carry an ack id"),
            Self::MissingAckId(kind) => write!(f, "{kind:?} packet needs an ack id"),
            Self::MissingData(kind) => write!(f, "{kind:?} packet needs JSON data"),
            Self::UnexpectedData(kind) => write!(f, "{kind:?} packet must not carry data"),
            Self::InvalidJson(reason) => write!(f, "packet data is not valid JSON: {reason}"),
            Self::InvalidData(expected) => write!(f, "invalid packet data: expected {expected}"),
            Self::PlaceholderOutOfRange { num, attachments } => write!(
                f,
                "binary placeholder {num} is out of range for {attachments} attachments"
            ),
            Self::MalformedPlaceholder => {
                f.write_str("binary placeholder needs a non-negative integer \"num\"")
            }
            Self::AttachmentsTooLarge { max_bytes } => {
                write!(f, "binary attachments exceed {max_bytes} bytes in total")
            }
            Self::UnexpectedAttachment => f.write_str("binary attachment was not announced"),
        }
    }
}

impl std::error::Error for DecodeError {}

impl Packet {
    /// A CONNECT accepting a client into `nsp` with data `{"sid":"<sid>"}`, the server's reply to
    /// a namespace CONNECT.
    pub fn connect_ok(nsp: &str, sid: &str) -> Packet {
        Packet::with_data(PacketKind::Connect, nsp, None, json_object(b"sid", sid), 0)
    }

    /// A CONNECT_ERROR with data `{"message":"<message>"}`, the server's refusal of a namespace
    /// CONNECT in the shape official clients surface to the application.
    pub fn connect_error(nsp: &str, message: &str) -> Packet {
        let data = json_object(b"message", message);
        Packet::with_data(PacketKind::ConnectError, nsp, None, data, 0)
    }

    /// A DISCONNECT from `nsp`, sent when the server closes a client's namespace session.
    pub fn disconnect(nsp: &str) -> Packet {
        Packet {
            kind: PacketKind::Disconnect,
            nsp: nsp.to_owned(),
            id: None,
            data: None,
            attachments: 0,
        }
    }

    /// An EVENT, or a BINARY_EVENT when `attachments > 0`, so the engine picks the kind from the
    /// attachment count alone; `data` is the JSON array `["name",…]`.
    pub fn event(nsp: &str, data: Bytes, id: Option<u64>, attachments: usize) -> Packet {
        let kind = if attachments > 0 {
            PacketKind::BinaryEvent
        } else {
            PacketKind::Event
        };
        Packet::with_data(kind, nsp, id, data, attachments)
    }

    /// An ACK, or a BINARY_ACK when `attachments > 0`, answering ack id `id` with the JSON array
    /// `data`.
    pub fn ack(nsp: &str, id: u64, data: Bytes, attachments: usize) -> Packet {
        let kind = if attachments > 0 {
            PacketKind::BinaryAck
        } else {
            PacketKind::Ack
        };
        Packet::with_data(kind, nsp, Some(id), data, attachments)
    }

    /// Encoded Socket.IO packet text, in one allocation of exactly the right size.
    pub fn encode(&self) -> Bytes {
        let mut out = Vec::with_capacity(self.encoded_len());
        self.write(&mut out);
        Bytes::from(out)
    }

    /// Same, prefixed with the Engine.IO message type '4', ready to send as one Engine.IO text
    /// frame; one allocation.
    pub fn encode_message(&self) -> Bytes {
        let mut out = Vec::with_capacity(1 + self.encoded_len());
        out.push(b'4');
        self.write(&mut out);
        Bytes::from(out)
    }

    /// Decodes one Socket.IO packet from Engine.IO message text (without the Engine.IO `4`); the
    /// data is a zero-copy slice of `text`.
    ///
    /// The namespace runs from a leading `/` to the first `,` or to the end of the text, as
    /// official clients read it. Binary packets have their placeholders checked against the
    /// attachment count.
    ///
    /// # Errors
    /// Every malformed input is an `Err` and nothing panics: an unknown type, a bad or excessive
    /// attachment count, an ack id that overflows `u64`, an ack id where none belongs or none
    /// where one is needed, data that is not exactly one JSON value, and data of the wrong shape
    /// (EVENT: non-empty array starting with a string; ACK: array; CONNECT: object;
    /// CONNECT_ERROR: object or string; DISCONNECT: none).
    pub fn decode(text: &Bytes, limits: &Limits) -> Result<Packet, DecodeError> {
        let all = std::str::from_utf8(text).map_err(|_| DecodeError::NotUtf8)?;
        let (&first, _) = all.as_bytes().split_first().ok_or(DecodeError::Empty)?;
        let kind = PacketKind::from_digit(first).ok_or(DecodeError::UnknownType(first))?;
        let mut rest = all.get(1..).unwrap_or_default();

        let mut attachments = 0;
        if kind.is_binary() {
            let (digits, after) = split_digits(rest);
            rest = after
                .strip_prefix('-')
                .ok_or(DecodeError::InvalidAttachmentCount)?;
            attachments = match parse_decimal(digits) {
                None | Some(Some(0)) => return Err(DecodeError::InvalidAttachmentCount),
                Some(count) => count
                    .and_then(|n| usize::try_from(n).ok())
                    .filter(|&n| n <= limits.max_attachments)
                    .ok_or(DecodeError::TooManyAttachments {
                        max: limits.max_attachments,
                    })?,
            };
        }

        let nsp = if rest.starts_with('/') {
            let (nsp, after) = rest.split_once(',').unwrap_or((rest, ""));
            rest = after;
            nsp
        } else {
            "/"
        };

        let (digits, after) = split_digits(rest);
        rest = after;
        let id = parse_decimal(digits)
            .map(|id| id.ok_or(DecodeError::AckIdTooLarge))
            .transpose()?;

        let data = (!rest.is_empty()).then_some(rest);
        validate(kind, id, data)?;
        if let (true, Some(data)) = (kind.is_binary(), data) {
            check_placeholders(data.as_bytes(), attachments)?;
        }
        Ok(Packet {
            kind,
            nsp: nsp.to_owned(),
            id,
            data: data.map(|d| text.slice_ref(d.as_bytes())),
            attachments,
        })
    }

    fn with_data(
        kind: PacketKind,
        nsp: &str,
        id: Option<u64>,
        data: Bytes,
        attachments: usize,
    ) -> Packet {
        Packet {
            kind,
            nsp: nsp.to_owned(),
            id,
            data: Some(data),
            attachments,
        }
    }

    fn writes_nsp(&self) -> bool {
        self.nsp != "/"
    }

    fn encoded_len(&self) -> usize {
        let mut len = 1;
        if self.kind.is_binary() {
            len += decimal_len(self.attachments as u64) + 1;
        }
        if self.writes_nsp() {
            len += self.nsp.len() + 1;
        }
        if let Some(id) = self.id {
            len += decimal_len(id);
        }
        len + self.data.as_ref().map_or(0, Bytes::len)
    }

    fn write(&self, out: &mut Vec<u8>) {
        out.push(self.kind.digit());
        if self.kind.is_binary() {
            push_decimal(out, self.attachments as u64);
            out.push(b'-');
        }
        if self.writes_nsp() {
            out.extend_from_slice(self.nsp.as_bytes());
            out.push(b',');
        }
        if let Some(id) = self.id {
            push_decimal(out, id);
        }
        if let Some(data) = &self.data {
            out.extend_from_slice(data);
        }
    }
}

/// Event name and arguments of an EVENT's data array, found without building a JSON tree
/// (serde_json `RawValue`), so the relay can route on the name and forward the arguments as
/// they came.
///
/// # Errors
/// [`DecodeError::NotUtf8`], [`DecodeError::InvalidJson`], or [`DecodeError::InvalidData`] when
/// `data` is not a non-empty array whose first element is a string.
pub fn split_event(data: &[u8]) -> Result<(String, Vec<&RawValue>), DecodeError> {
    let text = std::str::from_utf8(data).map_err(|_| DecodeError::NotUtf8)?;
    let EventParts { name, args } =
        serde_json::from_str(text).map_err(|e| json_error(e, EVENT_SHAPE))?;
    Ok((name, args))
}

/// Builds the JSON data array `["name",arg1,arg2,…]` from a name and raw JSON args (each already
/// valid JSON) with one allocation, so the relay emits events without a serialiser.
///
/// The name is escaped as a JSON string; the args are copied verbatim.
pub fn event_data(name: &str, args: &[&[u8]]) -> Bytes {
    let len = 2 + json_string_len(name) + args.iter().map(|a| a.len() + 1).sum::<usize>();
    let mut out = Vec::with_capacity(len);
    out.push(b'[');
    push_json_string(&mut out, name);
    for arg in args {
        out.push(b',');
        out.extend_from_slice(arg);
    }
    out.push(b']');
    Bytes::from(out)
}

const EVENT_SHAPE: &str = "a non-empty JSON array whose first element is the event name string";
const ACK_SHAPE: &str = "a JSON array of ack arguments";
const CONNECT_SHAPE: &str = "a JSON object of auth data";
const CONNECT_ERROR_SHAPE: &str = "a JSON object or string describing the error";

/// The most digits an ack id may have: `u64::MAX` has 20.
const MAX_DECIMAL_DIGITS: usize = 20;

fn validate(kind: PacketKind, id: Option<u64>, data: Option<&str>) -> Result<(), DecodeError> {
    match kind {
        PacketKind::Connect | PacketKind::Disconnect | PacketKind::ConnectError if id.is_some() => {
            return Err(DecodeError::UnexpectedAckId(kind));
        }
        PacketKind::Ack | PacketKind::BinaryAck if id.is_none() => {
            return Err(DecodeError::MissingAckId(kind));
        }
        _ => {}
    }
    let Some(data) = data else {
        return match kind {
            PacketKind::Connect | PacketKind::Disconnect => Ok(()),
            _ => Err(DecodeError::MissingData(kind)),
        };
    };
    match kind {
        PacketKind::Disconnect => Err(DecodeError::UnexpectedData(kind)),
        PacketKind::Event | PacketKind::BinaryEvent => serde_json::from_str::<EventShape>(data)
            .map(drop)
            .map_err(|e| json_error(e, EVENT_SHAPE)),
        PacketKind::Ack | PacketKind::BinaryAck => expect_json(data, b"[", ACK_SHAPE),
        PacketKind::Connect => expect_json(data, b"{", CONNECT_SHAPE),
        PacketKind::ConnectError => expect_json(data, b"{\"", CONNECT_ERROR_SHAPE),
    }
}

/// Checks that `data` is one JSON value whose first byte is one of `starts`.
fn expect_json(data: &str, starts: &[u8], shape: &'static str) -> Result<(), DecodeError> {
    serde_json::from_str::<IgnoredAny>(data).map_err(|e| json_error(e, shape))?;
    let first = data
        .bytes()
        .find(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'));
    match first {
        Some(b) if starts.contains(&b) => Ok(()),
        _ => Err(DecodeError::InvalidData(shape)),
    }
}

fn json_error(e: serde_json::Error, shape: &'static str) -> DecodeError {
    if e.is_data() {
        DecodeError::InvalidData(shape)
    } else {
        DecodeError::InvalidJson(e.to_string())
    }
}

/// Splits the leading ASCII digits off `s`.
fn split_digits(s: &str) -> (&str, &str) {
    let n = s.bytes().take_while(u8::is_ascii_digit).count();
    s.split_at_checked(n).unwrap_or(("", s))
}

/// Parses ASCII digits: `None` when there are none, `Some(None)` when the number is longer than
/// 20 digits or overflows `u64`.
fn parse_decimal(digits: &str) -> Option<Option<u64>> {
    if digits.is_empty() {
        return None;
    }
    if digits.len() > MAX_DECIMAL_DIGITS {
        return Some(None);
    }
    Some(digits.bytes().try_fold(0u64, |n, d| {
        n.checked_mul(10)?
            .checked_add(u64::from(d.wrapping_sub(b'0')))
    }))
}

fn decimal_len(mut n: u64) -> usize {
    let mut len = 1;
    while n >= 10 {
        n /= 10;
        len += 1;
    }
    len
}

fn push_decimal(out: &mut Vec<u8>, mut n: u64) {
    let mut buf = [0u8; MAX_DECIMAL_DIGITS];
    let mut start = buf.len();
    for slot in buf.iter_mut().rev() {
        *slot = b'0' + (n % 10) as u8;
        n /= 10;
        start -= 1;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(buf.get(start..).unwrap_or_default());
}

/// `{"<key>":"<value>"}` with `value` escaped; `key` must need no escaping.
fn json_object(key: &[u8], value: &str) -> Bytes {
    let mut out = Vec::with_capacity(key.len() + json_string_len(value) + 5);
    out.extend_from_slice(b"{\"");
    out.extend_from_slice(key);
    out.extend_from_slice(b"\":");
    push_json_string(&mut out, value);
    out.push(b'}');
    Bytes::from(out)
}

/// How a byte is written inside a JSON string.
enum Escape {
    /// As itself.
    Verbatim,
    /// As this two-byte escape sequence.
    Short(&'static [u8; 2]),
    /// As `\u00XX`.
    Unicode,
}

fn json_escape(b: u8) -> Escape {
    match b {
        b'"' => Escape::Short(b"\\\""),
        b'\\' => Escape::Short(b"\\\\"),
        b'\n' => Escape::Short(b"\\n"),
        b'\r' => Escape::Short(b"\\r"),
        b'\t' => Escape::Short(b"\\t"),
        0x08 => Escape::Short(b"\\b"),
        0x0c => Escape::Short(b"\\f"),
        0..=0x1f => Escape::Unicode,
        _ => Escape::Verbatim,
    }
}

fn json_string_len(s: &str) -> usize {
    let escaped: usize = s
        .bytes()
        .map(|b| match json_escape(b) {
            Escape::Verbatim => 1,
            Escape::Short(_) => 2,
            Escape::Unicode => 6,
        })
        .sum();
    escaped + 2
}

fn push_json_string(out: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    for b in s.bytes() {
        match json_escape(b) {
            Escape::Verbatim => out.push(b),
            Escape::Short(seq) => out.extend_from_slice(seq),
            Escape::Unicode => {
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(b >> 4)]);
                out.push(HEX[usize::from(b & 0xf)]);
            }
        }
    }
    out.push(b'"');
}

/// Accepts an EVENT data array without allocating: non-empty, first element a string.
struct EventShape;

impl<'de> Deserialize<'de> for EventShape {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_seq(EventShape)
    }
}

impl<'de> Visitor<'de> for EventShape {
    type Value = EventShape;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(EVENT_SHAPE)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        if seq.next_element::<EventNameShape>()?.is_none() {
            return Err(de::Error::invalid_length(0, &self));
        }
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(EventShape)
    }
}

/// Accepts any JSON string without copying it.
struct EventNameShape;

impl<'de> Deserialize<'de> for EventNameShape {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(EventNameShape)
    }
}

impl<'de> Visitor<'de> for EventNameShape {
    type Value = EventNameShape;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an event name string")
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(EventNameShape)
    }
}

/// The name and raw arguments of an EVENT data array.
struct EventParts<'a> {
    name: String,
    args: Vec<&'a RawValue>,
}

impl<'de> Deserialize<'de> for EventParts<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_seq(EventPartsVisitor)
    }
}

struct EventPartsVisitor;

impl<'de> Visitor<'de> for EventPartsVisitor {
    type Value = EventParts<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(EVENT_SHAPE)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let Some(name) = seq.next_element::<String>()? else {
            return Err(de::Error::invalid_length(0, &self));
        };
        let mut args = Vec::new();
        while let Some(arg) = seq.next_element::<&'de RawValue>()? {
            args.push(arg);
        }
        Ok(EventParts { name, args })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn decode(text: &[u8]) -> Result<Packet, DecodeError> {
        Packet::decode(&Bytes::copy_from_slice(text), &Limits::default())
    }

    fn packet(kind: PacketKind, nsp: &str, id: Option<u64>, data: Option<&str>) -> Packet {
        Packet {
            kind,
            nsp: nsp.to_owned(),
            id,
            data: data.map(|d| Bytes::copy_from_slice(d.as_bytes())),
            attachments: usize::from(kind.is_binary()),
        }
    }

    const PLACEHOLDER_EVENT: &str = r#"["ev",{"_placeholder":true,"num":0}]"#;

    #[test]
    fn event_encodes_namespace_comma_then_ack_id_then_data() {
        let data = Bytes::from_static(br#"["ev",1]"#);
        let p = Packet::event("/nsp", data, Some(1), 0);
        assert_eq!(p.encode(), &br#"2/nsp,1["ev",1]"#[..]);
        let p = Packet::event("/nsp", Bytes::from_static(br#"["ev"]"#), Some(1), 0);
        assert_eq!(p.encode(), &br#"2/nsp,1["ev"]"#[..]);
    }

    #[test]
    fn binary_event_encodes_attachment_count_and_dash_first() {
        let p = Packet::event(
            "/",
            Bytes::from_static(PLACEHOLDER_EVENT.as_bytes()),
            None,
            1,
        );
        assert_eq!(p.kind, PacketKind::BinaryEvent);
        assert_eq!(
            p.encode(),
            &br#"51-["ev",{"_placeholder":true,"num":0}]"#[..]
        );
        assert_eq!(
            p.encode_message(),
            &br#"451-["ev",{"_placeholder":true,"num":0}]"#[..]
        );
    }

    #[test]
    fn ack_on_main_namespace_encodes_id_then_data() {
        let p = Packet::ack("/", 456, Bytes::from_static(br#"["ok"]"#), 0);
        assert_eq!(p.kind, PacketKind::Ack);
        assert_eq!(p.encode(), &br#"3456["ok"]"#[..]);
        assert_eq!(p.encode_message(), &br#"43456["ok"]"#[..]);
    }

    #[test]
    fn binary_ack_encodes_count_dash_then_id() {
        let data = Bytes::from_static(br#"[{"_placeholder":true,"num":1}]"#);
        let p = Packet::ack("/", 789, data, 2);
        assert_eq!(p.kind, PacketKind::BinaryAck);
        assert_eq!(
            p.encode_message(),
            &br#"462-789[{"_placeholder":true,"num":1}]"#[..]
        );
    }

    #[test]
    fn connect_encodes_with_and_without_namespace_and_auth() {
        let auth = Some(r#"{"token":"x"}"#);
        let cases = [
            (packet(PacketKind::Connect, "/", None, None), "0"),
            (
                packet(PacketKind::Connect, "/admin", None, None),
                "0/admin,",
            ),
            (
                packet(PacketKind::Connect, "/", None, auth),
                r#"0{"token":"x"}"#,
            ),
            (
                packet(PacketKind::Connect, "/admin", None, auth),
                r#"0/admin,{"token":"x"}"#,
            ),
        ];
        for (p, text) in cases {
            assert_eq!(p.encode(), text.as_bytes());
        }
    }

    #[test]
    fn disconnect_encodes_type_and_namespace_only() {
        assert_eq!(Packet::disconnect("/").encode(), &b"1"[..]);
        assert_eq!(Packet::disconnect("/admin").encode(), &b"1/admin,"[..]);
        assert_eq!(
            Packet::disconnect("/admin").encode_message(),
            &b"41/admin,"[..]
        );
    }

    #[test]
    fn connect_ok_and_connect_error_build_escaped_json_objects() {
        let ok = Packet::connect_ok("/admin", "Ab-_9");
        assert_eq!(ok.encode(), &br#"0/admin,{"sid":"Ab-_9"}"#[..]);
        let err = Packet::connect_error("/", "Not authorized");
        assert_eq!(err.encode(), &br#"4{"message":"Not authorized"}"#[..]);
        let odd = Packet::connect_error("/", "a\"b\\c\nd\u{1}é");
        assert_eq!(
            odd.encode(),
            r#"4{"message":"a\"b\\c\nd\u0001é"}"#.as_bytes()
        );
    }

    #[test]
    fn decode_reads_every_kind_with_and_without_namespace_id_and_data() {
        use PacketKind::*;
        let auth = Some(r#"{"token":"x"}"#);
        let cases = [
            ("0", packet(Connect, "/", None, None)),
            ("0/admin,", packet(Connect, "/admin", None, None)),
            ("0/admin", packet(Connect, "/admin", None, None)),
            (r#"0{"token":"x"}"#, packet(Connect, "/", None, auth)),
            (
                r#"0/admin,{"token":"x"}"#,
                packet(Connect, "/admin", None, auth),
            ),
            ("1", packet(Disconnect, "/", None, None)),
            ("1/admin,", packet(Disconnect, "/admin", None, None)),
            (r#"2["ev"]"#, packet(Event, "/", None, Some(r#"["ev"]"#))),
            (
                r#"2/nsp,1["ev",1]"#,
                packet(Event, "/nsp", Some(1), Some(r#"["ev",1]"#)),
            ),
            (
                r#"3456["ok"]"#,
                packet(Ack, "/", Some(456), Some(r#"["ok"]"#)),
            ),
            ("3/a,7[]", packet(Ack, "/a", Some(7), Some("[]"))),
            (
                r#"4{"message":"Not authorized"}"#,
                packet(
                    ConnectError,
                    "/",
                    None,
                    Some(r#"{"message":"Not authorized"}"#),
                ),
            ),
            (
                r#"4/a,"nope""#,
                packet(ConnectError, "/a", None, Some(r#""nope""#)),
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(decode(text.as_bytes()), Ok(expected), "{text}");
        }
    }

    #[test]
    fn decode_reads_binary_kinds_with_their_attachment_count() {
        let event = decode(br#"51-["ev",{"_placeholder":true,"num":0}]"#);
        let mut expected = packet(PacketKind::BinaryEvent, "/", None, Some(PLACEHOLDER_EVENT));
        assert_eq!(event, Ok(expected.clone()));
        expected.attachments = 2;
        expected.nsp = "/a".to_owned();
        expected.id = Some(5);
        assert_eq!(
            decode(br#"52-/a,5["ev",{"_placeholder":true,"num":0}]"#),
            Ok(expected)
        );
        let ack = decode(br#"62-789[{"_placeholder":true,"num":1}]"#);
        assert_eq!(
            ack.map(|p| (p.kind, p.id, p.attachments)),
            Ok((PacketKind::BinaryAck, Some(789), 2))
        );
    }

    #[test]
    fn decode_slices_data_out_of_the_input_without_copying() {
        let text = Bytes::from_static(br#"2/nsp,1["ev",1]"#);
        let p = Packet::decode(&text, &Limits::default()).expect("valid");
        let data = p.data.expect("has data");
        assert_eq!(data.as_ptr(), text[7..].as_ptr());
        assert_eq!(data, &br#"["ev",1]"#[..]);
    }

    #[test]
    fn decode_keeps_data_verbatim_including_surrounding_whitespace() {
        let p = decode(b"2 [\"a\" , 1] \n").expect("valid");
        assert_eq!(p.data.as_deref(), Some(&b" [\"a\" , 1] \n"[..]));
        assert_eq!(p.encode(), &b"2 [\"a\" , 1] \n"[..]);
    }

    #[test]
    fn decode_accepts_the_largest_ack_id_and_rejects_one_more() {
        let max = decode(b"318446744073709551615[]").expect("u64::MAX fits");
        assert_eq!(max.id, Some(u64::MAX));
        assert_eq!(max.encode(), &b"318446744073709551615[]"[..]);
        assert_eq!(
            decode(b"318446744073709551616[]"),
            Err(DecodeError::AckIdTooLarge)
        );
        assert_eq!(
            decode(b"2123456789012345678901[\"a\"]"),
            Err(DecodeError::AckIdTooLarge)
        );
        assert_eq!(
            decode(b"2000000000000000000000001[\"a\"]"),
            Err(DecodeError::AckIdTooLarge)
        );
    }

    #[test]
    fn decode_rejects_empty_text_and_unknown_types() {
        assert_eq!(decode(b""), Err(DecodeError::Empty));
        assert_eq!(decode(b"abc"), Err(DecodeError::UnknownType(b'a')));
        assert_eq!(decode(b"7[\"a\"]"), Err(DecodeError::UnknownType(b'7')));
    }

    #[test]
    fn decode_expects_the_engineio_message_prefix_already_stripped() {
        let unstripped = decode(b"42[\"a\"]");
        assert_eq!(
            unstripped,
            Err(DecodeError::UnexpectedAckId(PacketKind::ConnectError))
        );
    }

    #[test]
    fn decode_rejects_event_data_that_is_not_an_array_starting_with_a_name() {
        for text in [
            "2{}",
            "2[1]",
            "2[]",
            "2\"ev\"",
            "2[null,\"ev\"]",
            "2/nsp,[{}]",
        ] {
            assert_eq!(
                decode(text.as_bytes()),
                Err(DecodeError::InvalidData(EVENT_SHAPE)),
                "{text}"
            );
        }
    }

    #[test]
    fn decode_rejects_data_that_is_not_exactly_one_json_value() {
        let texts = [
            "2abc[\"ev\"]",
            "2[\"a\"",
            "2[\"a\"]x",
            "2[\"a\"][\"b\"]",
            "2[\"a\",1,]",
            "2[\"a\",{\"b\":1]",
            "2[\"a\u{1}\"]",
            "21-[\"a\"]",
            "31{",
            "0{\"a\":}",
            "4\"unterminated",
        ];
        for text in texts {
            assert!(
                matches!(decode(text.as_bytes()), Err(DecodeError::InvalidJson(_))),
                "{text}"
            );
        }
    }

    #[test]
    fn decode_rejects_bad_attachment_counts() {
        let bad = Err(DecodeError::InvalidAttachmentCount);
        for text in [
            "51[\"a\"]",
            "5x-[\"a\"]",
            "5-[\"a\"]",
            "50-[\"a\"]",
            "5",
            "61",
        ] {
            assert_eq!(decode(text.as_bytes()), bad, "{text}");
        }
        let too_many = Err(DecodeError::TooManyAttachments { max: 16 });
        assert_eq!(decode(b"517-[\"a\"]"), too_many);
        assert_eq!(decode(b"599999999999999999999999-[\"a\"]"), too_many);
    }

    #[test]
    fn decode_honours_the_configured_attachment_limit() {
        let limits = Limits { max_attachments: 2 };
        let text = |s: &'static str| Bytes::from_static(s.as_bytes());
        assert!(Packet::decode(&text(r#"52-["a"]"#), &limits).is_ok());
        assert_eq!(
            Packet::decode(&text(r#"53-["a"]"#), &limits),
            Err(DecodeError::TooManyAttachments { max: 2 })
        );
    }

    #[test]
    fn decode_reads_a_namespace_without_comma_to_the_end_of_the_text() {
        assert_eq!(
            decode(b"2/nsp[\"a\"]"),
            Err(DecodeError::MissingData(PacketKind::Event))
        );
        let p = decode(b"0/nsp{\"a\":1}").expect("odd but valid namespace");
        assert_eq!((p.nsp.as_str(), p.data), ("/nsp{\"a\":1}", None));
        let no_slash = decode(b"2nsp,[\"a\"]");
        assert!(
            matches!(no_slash, Err(DecodeError::InvalidJson(_))),
            "{no_slash:?}"
        );
    }

    #[test]
    fn decode_requires_ack_ids_only_where_they_belong() {
        use DecodeError::*;
        assert_eq!(decode(b"3[\"a\"]"), Err(MissingAckId(PacketKind::Ack)));
        assert_eq!(
            decode(b"61-[\"a\"]"),
            Err(MissingAckId(PacketKind::BinaryAck))
        );
        assert_eq!(decode(b"01"), Err(UnexpectedAckId(PacketKind::Connect)));
        assert_eq!(
            decode(b"1/a,2"),
            Err(UnexpectedAckId(PacketKind::Disconnect))
        );
        assert_eq!(
            decode(b"43{}"),
            Err(UnexpectedAckId(PacketKind::ConnectError))
        );
    }

    #[test]
    fn decode_checks_data_presence_and_shape_per_kind() {
        use DecodeError::*;
        use PacketKind::*;
        assert_eq!(decode(b"2"), Err(MissingData(Event)));
        assert_eq!(decode(b"2/a,4"), Err(MissingData(Event)));
        assert_eq!(decode(b"31"), Err(MissingData(Ack)));
        assert_eq!(decode(b"4"), Err(MissingData(ConnectError)));
        assert_eq!(decode(b"51-"), Err(MissingData(BinaryEvent)));
        assert_eq!(decode(b"1{}"), Err(UnexpectedData(Disconnect)));
        assert_eq!(decode(b"31{}"), Err(InvalidData(ACK_SHAPE)));
        assert_eq!(decode(b"0[]"), Err(InvalidData(CONNECT_SHAPE)));
        assert_eq!(decode(b"0\"x\""), Err(InvalidData(CONNECT_SHAPE)));
        assert_eq!(decode(b"4[1]"), Err(InvalidData(CONNECT_ERROR_SHAPE)));
        assert_eq!(decode(b"4 7"), Err(InvalidData(CONNECT_ERROR_SHAPE)));
    }

    #[test]
    fn decode_checks_placeholders_of_binary_packets_only() {
        let out_of_range = br#"51-["a",{"_placeholder":true,"num":1}]"#;
        assert_eq!(
            decode(out_of_range),
            Err(DecodeError::PlaceholderOutOfRange {
                num: 1,
                attachments: 1
            })
        );
        let plain = br#"2["a",{"_placeholder":true,"num":1}]"#;
        assert!(decode(plain).is_ok());
    }

    #[test]
    fn decode_rejects_text_that_is_not_utf8() {
        assert_eq!(decode(b"2[\"\xff\"]"), Err(DecodeError::NotUtf8));
        assert_eq!(decode(b"\xff"), Err(DecodeError::NotUtf8));
    }

    #[test]
    fn split_event_returns_the_name_and_raw_arguments() {
        let (name, args) = split_event(br#"["chat", {"a":1},[2,3] ,"x",null]"#).expect("valid");
        assert_eq!(name, "chat");
        let raw: Vec<&str> = args.iter().map(|a| a.get()).collect();
        assert_eq!(raw, [r#"{"a":1}"#, "[2,3]", r#""x""#, "null"]);
        let (name, args) = split_event(br#"["a\"b\u00e9"]"#).expect("escaped name");
        assert_eq!((name.as_str(), args.len()), ("a\"bé", 0));
    }

    #[test]
    fn split_event_rejects_what_is_not_an_event_array() {
        for data in [&b"[]"[..], b"{}", b"[1,\"a\"]", b"\"a\""] {
            assert_eq!(
                split_event(data).err(),
                Some(DecodeError::InvalidData(EVENT_SHAPE))
            );
        }
        assert!(matches!(
            split_event(b"[\"a\""),
            Err(DecodeError::InvalidJson(_))
        ));
        assert!(matches!(
            split_event(b"[\"a\"] 1"),
            Err(DecodeError::InvalidJson(_))
        ));
        assert_eq!(split_event(b"[\"\xff\"]").err(), Some(DecodeError::NotUtf8));
    }

    #[test]
    fn event_data_joins_an_escaped_name_and_verbatim_arguments() {
        assert_eq!(event_data("ping", &[]), &br#"["ping"]"#[..]);
        let data = event_data("chat", &[b"1", br#"{"a":2}"#, b"\"x\""]);
        assert_eq!(data, &br#"["chat",1,{"a":2},"x"]"#[..]);
        let odd = event_data("q\"\\\t\u{1f}", &[b"[]"]);
        assert_eq!(odd, &br#"["q\"\\\t\u001f",[]]"#[..]);
        let (name, args) = split_event(&odd).expect("event_data output is an event");
        assert_eq!((name.as_str(), args.len()), ("q\"\\\t\u{1f}", 1));
    }

    #[test]
    fn decode_errors_read_as_sentences() {
        assert_eq!(
            DecodeError::UnknownType(b'x').to_string(),
            "unknown Socket.IO packet type byte 0x78"
        );
        assert_eq!(
            DecodeError::MissingAckId(PacketKind::Ack).to_string(),
            "Ack packet needs an ack id"
        );
        assert_eq!(
            DecodeError::InvalidData(ACK_SHAPE).to_string(),
            "invalid packet data: expected a JSON array of ack arguments"
        );
    }

    #[test]
    fn decode_rejects_a_mebibyte_of_garbage_without_panicking() {
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let noise: Vec<u8> = (0..1 << 20)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state.to_be_bytes()[0]
            })
            .collect();
        for prefix in [&b""[..], b"2", b"51-", b"3/a,1", b"0", b"4"] {
            let text = [prefix, &noise].concat();
            assert!(decode(&text).is_err());
        }
        let nested = [&b"51-[\"a\","[..], &vec![b'['; 1 << 20]].concat();
        assert!(matches!(decode(&nested), Err(DecodeError::InvalidJson(_))));
        let deep_ok = format!("2[\"a\",{}{}]", "[".repeat(1 << 19), "]".repeat(1 << 19));
        assert!(decode(deep_ok.as_bytes()).is_ok());
        let deep_binary = format!("51-[\"a\",{}{}]", "[".repeat(200), "]".repeat(200));
        assert!(matches!(
            decode(deep_binary.as_bytes()),
            Err(DecodeError::InvalidJson(_))
        ));
    }

    fn arb_json() -> impl Strategy<Value = serde_json::Value> {
        use serde_json::Value;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(Value::from),
            any::<String>().prop_map(Value::String),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map("[a-z_]{0,6}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    fn arb_packet() -> impl Strategy<Value = Packet> {
        let nsp = prop_oneof![Just("/".to_owned()), "/[a-zA-Z0-9_/.-]{1,12}"];
        (
            0u8..7,
            nsp,
            any::<u64>(),
            any::<bool>(),
            any::<String>(),
            prop::collection::vec(arb_json(), 0..4),
            1usize..=16,
        )
            .prop_map(|(digit, nsp, id, flag, name, args, attachments)| {
                let kind = PacketKind::from_digit(b'0' + digit).unwrap_or(PacketKind::Event);
                let mut args: Vec<Vec<u8>> =
                    args.iter().map(|a| a.to_string().into_bytes()).collect();
                if kind.is_binary() {
                    args.extend(
                        (0..attachments)
                            .map(|n| format!(r#"{{"_placeholder":true,"num":{n}}}"#).into_bytes()),
                    );
                }
                let args: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
                let array = Bytes::from([b"[", &args.join(&b","[..])[..], b"]"].concat());
                let object = Bytes::from(serde_json::json!({ "k": name }).to_string());
                let (id, data) = match kind {
                    PacketKind::Connect => (None, flag.then_some(object)),
                    PacketKind::Disconnect => (None, None),
                    PacketKind::ConnectError if flag => (None, Some(object)),
                    PacketKind::ConnectError => (
                        None,
                        Some(Bytes::from(serde_json::Value::String(name).to_string())),
                    ),
                    PacketKind::Event | PacketKind::BinaryEvent => {
                        (flag.then_some(id), Some(event_data(&name, &args)))
                    }
                    PacketKind::Ack | PacketKind::BinaryAck => (Some(id), Some(array)),
                };
                Packet {
                    kind,
                    nsp,
                    id,
                    data,
                    attachments: if kind.is_binary() { attachments } else { 0 },
                }
            })
    }

    proptest! {
        #[test]
        fn every_valid_packet_round_trips_through_encode_and_decode(p in arb_packet()) {
            let limits = Limits::default();
            prop_assert_eq!(Packet::decode(&p.encode(), &limits), Ok(p.clone()));
            let message = p.encode_message();
            prop_assert_eq!(Packet::decode(&message.slice(1..), &limits), Ok(p));
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..65536)) {
            let _ = decode(&bytes);
            let _ = split_event(&bytes);
            let _ = crate::socketio::binary::check_placeholders(&bytes, 3);
        }

        #[test]
        fn arbitrary_bytes_after_a_valid_header_never_panic(
            header in prop::sample::select(vec!["0", "0/a,", "2", "2/a,1", "31", "51-", "62-/a,9", "4"]),
            tail in prop::collection::vec(any::<u8>(), 0..4096),
        ) {
            let _ = decode(&[header.as_bytes(), &tail].concat());
        }

        #[test]
        fn arbitrary_json_after_a_valid_header_never_panics(
            header in prop::sample::select(vec!["0", "2", "31", "52-", "62-1", "4"]),
            json in arb_json(),
        ) {
            let _ = decode(format!("{header}{json}").as_bytes());
        }
    }
}
