//! Socket.IO v5 packets: the text codec, its decoding limits and its errors.
//!
//! A packet is `<type>[<attachments>-][<nsp>,][<ack id>][<JSON data>]`, carried as one Engine.IO
//! message. The JSON data is kept as raw bytes: the decoder validates it and slices it out of the
//! input without copying, and the encoder copies it verbatim, so a relayed payload is never
//! re-serialised and a broadcast is encoded once.

use std::fmt;

use bytes::Bytes;
use serde::de::IgnoredAny;

use super::binary::check_placeholders;
use super::event::EventShape;
use super::json::json_object;

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

    /// A CONNECT reply `{"sid":…,"pid":…}`: the private id a client sends back to recover
    /// its socket after losing its transport (connection state recovery).
    pub fn connect_ok_recoverable(nsp: &str, sid: &str, pid: &str) -> Packet {
        let mut data = Vec::with_capacity(sid.len() + pid.len() + 20);
        data.extend_from_slice(b"{\"sid\":");
        super::json::push_json_string(&mut data, sid);
        data.extend_from_slice(b",\"pid\":");
        super::json::push_json_string(&mut data, pid);
        data.push(b'}');
        Packet::with_data(PacketKind::Connect, nsp, None, Bytes::from(data), 0)
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

pub(super) const EVENT_SHAPE: &str =
    "a non-empty JSON array whose first element is the event name string";
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

pub(super) fn json_error(e: serde_json::Error, shape: &'static str) -> DecodeError {
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

#[cfg(test)]
#[path = "packet_tests.rs"]
mod tests;
