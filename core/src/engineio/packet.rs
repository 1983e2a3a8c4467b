//! Engine.IO v4 packets and the frames that carry them.
//!
//! A [`Frame`] is what one websocket message (or one segment of a polling payload, see
//! [`super::payload`]) holds; a [`Packet`] is its meaning. Text packets are one ASCII type digit
//! followed by their data (`"4hello"` is a message, `"2probe"` a ping); a binary frame is always a
//! [`Packet::Binary`] with no prefix, as Engine.IO v4 sends it over websocket.

use std::fmt;

use bytes::{BufMut, Bytes, BytesMut};

/// One Engine.IO packet as carried in one websocket message (and one polling payload segment).
///
/// The runtime maps it one-to-one onto websocket text and binary messages, so it never has to
/// look inside a packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame {
    /// A text frame: an encoded text packet, type digit first, valid UTF-8.
    Text(Bytes),
    /// A binary frame: the raw bytes of a [`Packet::Binary`], no prefix.
    Binary(Bytes),
}

impl Frame {
    /// The number of bytes in the frame, so runtimes can account for queued bytes.
    pub fn len(&self) -> usize {
        match self {
            Frame::Text(b) | Frame::Binary(b) => b.len(),
        }
    }

    /// Whether the frame holds no bytes, the companion of [`Frame::len`].
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Engine.IO v4 packet.
///
/// Data is kept as [`Bytes`] so a decoded packet shares the frame's buffer and an encoded
/// broadcast can be sent to many sessions without copying.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Packet {
    /// Type 0: the handshake; the data is the JSON text of the open packet.
    Open(Bytes),
    /// Type 1: the session is closing; carries no data.
    Close,
    /// Type 2: a heartbeat probe; the data is empty or `probe` during an upgrade.
    Ping(Bytes),
    /// Type 3: the answer to a ping, echoing its data.
    Pong(Bytes),
    /// Type 4: an application message; the data is UTF-8 text (a Socket.IO packet).
    Message(Bytes),
    /// A binary message, sent as a binary frame (or `b` + base64 in a polling payload).
    Binary(Bytes),
    /// Type 5: the client switches to the websocket transport; carries no data.
    Upgrade,
    /// Type 6: a no-op, used to end a pending poll during an upgrade; carries no data.
    Noop,
}

/// The type of an Engine.IO packet, with its wire digit as the discriminant.
///
/// [`Packet::Binary`] reports [`PacketType::Message`]: Engine.IO v4 treats binary data as a
/// message whose type is implied by the frame kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum PacketType {
    /// `0`: handshake.
    Open = 0,
    /// `1`: close.
    Close = 1,
    /// `2`: heartbeat probe.
    Ping = 2,
    /// `3`: heartbeat answer.
    Pong = 3,
    /// `4`: message (text or binary).
    Message = 4,
    /// `5`: transport upgrade.
    Upgrade = 5,
    /// `6`: no-op.
    Noop = 6,
}

impl Packet {
    /// The packet's type, so callers can dispatch without destructuring the data.
    pub fn packet_type(&self) -> PacketType {
        match self {
            Packet::Open(_) => PacketType::Open,
            Packet::Close => PacketType::Close,
            Packet::Ping(_) => PacketType::Ping,
            Packet::Pong(_) => PacketType::Pong,
            Packet::Message(_) | Packet::Binary(_) => PacketType::Message,
            Packet::Upgrade => PacketType::Upgrade,
            Packet::Noop => PacketType::Noop,
        }
    }

    /// Encode: text packets -> `Frame::Text(type digit + data)`; `Binary` -> `Frame::Binary(raw
    /// bytes)`, with no prefix as in v4 websocket.
    ///
    /// Text packets are copied once into a buffer sized up front; binary data is shared, not
    /// copied.
    pub fn encode(&self) -> Frame {
        let data: &[u8] = match self {
            Packet::Binary(b) => return Frame::Binary(b.clone()),
            Packet::Open(d) | Packet::Ping(d) | Packet::Pong(d) | Packet::Message(d) => d,
            Packet::Close | Packet::Upgrade | Packet::Noop => &[],
        };
        Frame::Text(prefixed(self.packet_type(), data))
    }

    /// Decode one frame into a packet, sharing the frame's buffer (zero-copy).
    ///
    /// A text frame's first byte must be an ASCII digit `0`..=`6` and the rest, the data, valid
    /// UTF-8. Close (`1`), Upgrade (`5`) and Noop (`6`) carry no data: trailing bytes after
    /// them are rejected rather than silently dropped, since no conforming peer sends them. A
    /// binary frame, even an empty one, is a [`Packet::Binary`].
    ///
    /// # Errors
    ///
    /// [`DecodeError::Empty`] for an empty text frame, [`DecodeError::UnknownPacketType`] for a
    /// first byte that is not `0`..=`6`, [`DecodeError::InvalidUtf8`] for data that is not UTF-8,
    /// [`DecodeError::TrailingData`] for data after Close, Upgrade or Noop.
    pub fn decode(frame: Frame) -> Result<Packet, DecodeError> {
        let text = match frame {
            Frame::Binary(b) => return Ok(Packet::Binary(b)),
            Frame::Text(t) => t,
        };
        let Some(&first) = text.first() else {
            return Err(DecodeError::Empty);
        };
        let packet_type = packet_type_from_digit(first)?;
        let data = text.slice(1..);
        if std::str::from_utf8(&data).is_err() {
            return Err(DecodeError::InvalidUtf8);
        }
        let without_data = |packet: Packet| {
            if data.is_empty() {
                Ok(packet)
            } else {
                Err(DecodeError::TrailingData(packet_type))
            }
        };
        match packet_type {
            PacketType::Open => Ok(Packet::Open(data)),
            PacketType::Close => without_data(Packet::Close),
            PacketType::Ping => Ok(Packet::Ping(data)),
            PacketType::Pong => Ok(Packet::Pong(data)),
            PacketType::Message => Ok(Packet::Message(data)),
            PacketType::Upgrade => without_data(Packet::Upgrade),
            PacketType::Noop => without_data(Packet::Noop),
        }
    }

    /// Encode a text message packet directly to the frame bytes `"4"` + `text` with one
    /// allocation, skipping the intermediate [`Packet`] on the hot path.
    ///
    /// `text` must be UTF-8 (a Socket.IO packet is); it is not checked here.
    pub fn message_frame(text: &[u8]) -> Frame {
        Frame::Text(prefixed(PacketType::Message, text))
    }
}

/// Why a frame or polling payload could not be decoded.
///
/// Every variant is the peer's fault; the engine turns it into a close or an HTTP 400, never a
/// panic.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeError {
    /// The text frame or payload body held no bytes.
    Empty,
    /// The first byte of a text packet is not a type digit `0`..=`6`; holds that byte.
    UnknownPacketType(u8),
    /// Text data is not valid UTF-8.
    InvalidUtf8,
    /// A `b` segment of a polling payload is not padded standard base64.
    InvalidBase64,
    /// A packet that carries no data (Close, Upgrade, Noop) was followed by bytes.
    TrailingData(PacketType),
    /// A polling payload has an empty segment (two separators in a row, or one at an end).
    EmptySegment,
    /// A polling payload has more segments than the configured limit.
    TooManyPackets,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Empty => f.write_str("empty packet"),
            DecodeError::UnknownPacketType(byte) if byte.is_ascii_graphic() => {
                write!(f, "unknown packet type '{}'", char::from(*byte))
            }
            DecodeError::UnknownPacketType(byte) => {
                write!(f, "unknown packet type byte 0x{byte:02x}")
            }
            DecodeError::InvalidUtf8 => f.write_str("packet data is not valid UTF-8"),
            DecodeError::InvalidBase64 => {
                f.write_str("binary payload segment is not valid padded base64")
            }
            DecodeError::TrailingData(t) => {
                write!(f, "{t:?} packet must not carry data")
            }
            DecodeError::EmptySegment => f.write_str("payload contains an empty packet"),
            DecodeError::TooManyPackets => {
                f.write_str("payload contains more packets than allowed")
            }
        }
    }
}

impl std::error::Error for DecodeError {}

/// Map a wire type digit to its packet type.
fn packet_type_from_digit(byte: u8) -> Result<PacketType, DecodeError> {
    match byte {
        b'0' => Ok(PacketType::Open),
        b'1' => Ok(PacketType::Close),
        b'2' => Ok(PacketType::Ping),
        b'3' => Ok(PacketType::Pong),
        b'4' => Ok(PacketType::Message),
        b'5' => Ok(PacketType::Upgrade),
        b'6' => Ok(PacketType::Noop),
        other => Err(DecodeError::UnknownPacketType(other)),
    }
}

/// The type digit followed by `data`, in one exactly sized allocation.
fn prefixed(packet_type: PacketType, data: &[u8]) -> Bytes {
    let mut buf = BytesMut::with_capacity(1 + data.len());
    buf.put_u8(b'0' + packet_type as u8);
    buf.extend_from_slice(data);
    buf.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn text(s: &'static str) -> Frame {
        Frame::Text(Bytes::from_static(s.as_bytes()))
    }

    fn b(s: &'static str) -> Bytes {
        Bytes::from_static(s.as_bytes())
    }

    #[test]
    fn every_text_packet_type_decodes_from_its_digit() {
        let cases = [
            (
                text(r#"0{"sid":"abc"}"#),
                Packet::Open(b(r#"{"sid":"abc"}"#)),
            ),
            (text("1"), Packet::Close),
            (text("2"), Packet::Ping(Bytes::new())),
            (text("2probe"), Packet::Ping(b("probe"))),
            (text("3probe"), Packet::Pong(b("probe"))),
            (text("4hello"), Packet::Message(b("hello"))),
            (text("4"), Packet::Message(Bytes::new())),
            (text("5"), Packet::Upgrade),
            (text("6"), Packet::Noop),
        ];
        for (frame, packet) in cases {
            assert_eq!(Packet::decode(frame.clone()), Ok(packet), "{frame:?}");
        }
    }

    #[test]
    fn every_text_packet_type_encodes_to_its_digit_and_data() {
        let cases = [
            (
                Packet::Open(b(r#"{"sid":"abc"}"#)),
                text(r#"0{"sid":"abc"}"#),
            ),
            (Packet::Close, text("1")),
            (Packet::Ping(b("probe")), text("2probe")),
            (Packet::Pong(Bytes::new()), text("3")),
            (Packet::Message(b("hello €")), text("4hello €")),
            (Packet::Upgrade, text("5")),
            (Packet::Noop, text("6")),
        ];
        for (packet, frame) in cases {
            assert_eq!(packet.encode(), frame, "{packet:?}");
        }
    }

    #[test]
    fn binary_frame_decodes_to_binary_packet_without_prefix() {
        let frame = Frame::Binary(Bytes::from_static(&[1, 2, 3, 4]));
        assert_eq!(
            Packet::decode(frame),
            Ok(Packet::Binary(Bytes::from_static(&[1, 2, 3, 4])))
        );
        assert_eq!(
            Packet::decode(Frame::Binary(Bytes::new())),
            Ok(Packet::Binary(Bytes::new()))
        );
    }

    #[test]
    fn binary_packet_encodes_to_raw_binary_frame() {
        let packet = Packet::Binary(Bytes::from_static(&[0, 0x34, 0xff]));
        assert_eq!(
            packet.encode(),
            Frame::Binary(Bytes::from_static(&[0, 0x34, 0xff]))
        );
    }

    #[test]
    fn packet_type_of_binary_is_message() {
        assert_eq!(
            Packet::Binary(Bytes::new()).packet_type(),
            PacketType::Message
        );
        assert_eq!(Packet::Noop.packet_type(), PacketType::Noop);
        assert_eq!(PacketType::Upgrade as u8, 5);
    }

    #[test]
    fn decoded_data_shares_the_frame_buffer() {
        let body = Bytes::from_static(b"4hello");
        let Ok(Packet::Message(data)) = Packet::decode(Frame::Text(body.clone())) else {
            panic!("expected a message");
        };
        assert_eq!(data.as_ptr(), body[1..].as_ptr());
    }

    #[test]
    fn message_frame_is_four_followed_by_text() {
        assert_eq!(Packet::message_frame(b"2[\"ev\"]"), text("42[\"ev\"]"));
        assert_eq!(Packet::message_frame(b""), text("4"));
    }

    #[test]
    fn empty_text_frame_is_rejected() {
        assert_eq!(Packet::decode(text("")), Err(DecodeError::Empty));
    }

    #[test]
    fn unknown_type_digit_or_letter_is_rejected_with_the_byte() {
        assert_eq!(
            Packet::decode(text("7")),
            Err(DecodeError::UnknownPacketType(b'7'))
        );
        assert_eq!(
            Packet::decode(text("xhello")),
            Err(DecodeError::UnknownPacketType(b'x'))
        );
        assert_eq!(
            Packet::decode(text("bAQID")),
            Err(DecodeError::UnknownPacketType(b'b'))
        );
    }

    #[test]
    fn invalid_utf8_data_is_rejected() {
        let frame = Frame::Text(Bytes::from_static(b"4\xff\xfe"));
        assert_eq!(Packet::decode(frame), Err(DecodeError::InvalidUtf8));
        let first_byte_invalid = Frame::Text(Bytes::from_static(b"\xc3\xa9"));
        assert_eq!(
            Packet::decode(first_byte_invalid),
            Err(DecodeError::UnknownPacketType(0xc3))
        );
    }

    #[test]
    fn data_after_close_upgrade_or_noop_is_rejected() {
        assert_eq!(
            Packet::decode(text("1x")),
            Err(DecodeError::TrailingData(PacketType::Close))
        );
        assert_eq!(
            Packet::decode(text("5probe")),
            Err(DecodeError::TrailingData(PacketType::Upgrade))
        );
        assert_eq!(
            Packet::decode(text("6 ")),
            Err(DecodeError::TrailingData(PacketType::Noop))
        );
    }

    #[test]
    fn decode_errors_read_as_sentences() {
        let cases = [
            (DecodeError::Empty, "empty packet"),
            (
                DecodeError::UnknownPacketType(b'7'),
                "unknown packet type '7'",
            ),
            (
                DecodeError::UnknownPacketType(0),
                "unknown packet type byte 0x00",
            ),
            (DecodeError::InvalidUtf8, "packet data is not valid UTF-8"),
            (
                DecodeError::TrailingData(PacketType::Noop),
                "Noop packet must not carry data",
            ),
            (
                DecodeError::TooManyPackets,
                "payload contains more packets than allowed",
            ),
        ];
        for (error, message) in cases {
            assert_eq!(error.to_string(), message);
        }
    }

    #[test]
    fn frame_len_counts_bytes() {
        assert_eq!(text("4€").len(), 4);
        assert!(Frame::Binary(Bytes::new()).is_empty());
        assert!(!text("6").is_empty());
    }

    fn arb_packet() -> impl Strategy<Value = Packet> {
        let data = || any::<String>().prop_map(Bytes::from);
        prop_oneof![
            data().prop_map(Packet::Open),
            Just(Packet::Close),
            data().prop_map(Packet::Ping),
            data().prop_map(Packet::Pong),
            data().prop_map(Packet::Message),
            proptest::collection::vec(any::<u8>(), 0..256)
                .prop_map(|v| Packet::Binary(Bytes::from(v))),
            Just(Packet::Upgrade),
            Just(Packet::Noop),
        ]
    }

    proptest! {
        #[test]
        fn any_packet_round_trips_through_encode_and_decode(packet in arb_packet()) {
            prop_assert_eq!(Packet::decode(packet.encode()), Ok(packet));
        }

        #[test]
        fn arbitrary_bytes_never_panic_packet_decode(
            bytes in proptest::collection::vec(any::<u8>(), 0..65_536)
        ) {
            let bytes = Bytes::from(bytes);
            let _ = Packet::decode(Frame::Text(bytes.clone()));
            let _ = Packet::decode(Frame::Binary(bytes));
        }
    }
}
