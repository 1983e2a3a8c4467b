//! Socket.IO binary packets: placeholder validation and attachment reassembly.
//!
//! A BINARY_EVENT or BINARY_ACK is sent as a text packet whose JSON data holds placeholders
//! `{"_placeholder":true,"num":N}`, followed by N binary Engine.IO messages. The relay forwards
//! attachments as opaque bytes, so it only checks that placeholders are in range and collects the
//! attachments, bounded in count, bytes and time.

use std::fmt;
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use super::packet::{DecodeError, Packet};

/// Checks that every placeholder `{"_placeholder":true,"num":N}` in data has N < attachments;
/// used on decode of BINARY_* packets, so that a packet never refers to an attachment that will
/// not arrive.
///
/// An object is a placeholder when its `_placeholder` member is `true`, wherever it is nested;
/// other members are ignored, as official clients do.
///
/// # Errors
/// [`DecodeError::PlaceholderOutOfRange`] when N ≥ `attachments`,
/// [`DecodeError::MalformedPlaceholder`] when `num` is missing or not a non-negative integer,
/// [`DecodeError::NotUtf8`] or [`DecodeError::InvalidJson`] when `data` is not one JSON value
/// (nesting deeper than serde_json's limit of 128 included).
pub fn check_placeholders(data: &[u8], attachments: usize) -> Result<(), DecodeError> {
    let text = std::str::from_utf8(data).map_err(|_| DecodeError::NotUtf8)?;
    let mut found = None;
    let mut de = serde_json::Deserializer::from_str(text);
    let walked = PlaceholderWalk {
        attachments,
        found: &mut found,
    }
    .deserialize(&mut de)
    .and_then(|_| de.end());
    match (found, walked) {
        (Some(error), _) => Err(error),
        (None, Err(e)) => Err(DecodeError::InvalidJson(e.to_string())),
        (None, Ok(())) => Ok(()),
    }
}

/// Reassembles a BINARY_EVENT/BINARY_ACK from its header packet and the binary Engine.IO messages
/// that follow, with a cap on the total attachment bytes and a deadline (no protocol state without
/// a deadline).
///
/// [`Reassembly::push`] consumes the value and hands it back in [`Progress::NeedMore`] until the
/// last attachment arrives, so a finished or failed reassembly cannot be pushed to again. The
/// owner keeps it in an `Option`, and drops it with an error when [`Reassembly::deadline`] passes.
#[derive(Debug)]
pub struct Reassembly {
    packet: Packet,
    received: Vec<Bytes>,
    received_bytes: usize,
    max_bytes: usize,
    deadline: Instant,
}

/// The outcome of pushing one attachment into a [`Reassembly`].
#[derive(Debug)]
pub enum Progress {
    /// More attachments are announced; keep the reassembly and push the next one.
    NeedMore(Reassembly),
    /// The header packet and all its attachments, in arrival order (attachment N is index N).
    Complete(Packet, Vec<Bytes>),
}

impl Reassembly {
    /// Starts collecting the `packet.attachments` attachments of a decoded binary packet; they
    /// must all arrive by `now + timeout` and add up to at most `max_bytes`.
    ///
    /// [`Packet::decode`] guarantees `packet.attachments >= 1` for binary kinds. With 0, every
    /// push is [`DecodeError::UnexpectedAttachment`]. A `timeout` too large to add to `now` makes
    /// the deadline `now`, so the state still expires.
    pub fn start(packet: Packet, now: Instant, timeout: Duration, max_bytes: usize) -> Self {
        const MAX_PREALLOCATED: usize = 64;
        Reassembly {
            received: Vec::with_capacity(packet.attachments.min(MAX_PREALLOCATED)),
            packet,
            received_bytes: 0,
            max_bytes,
            deadline: now.checked_add(timeout).unwrap_or(now),
        }
    }

    /// Adds the next binary attachment, returning the reassembly back until the last one arrives.
    ///
    /// # Errors
    /// [`DecodeError::AttachmentsTooLarge`] when the attachments so far exceed `max_bytes`;
    /// [`DecodeError::UnexpectedAttachment`] when the packet announces no (more) attachments.
    pub fn push(mut self, attachment: Bytes) -> Result<Progress, DecodeError> {
        if self.received.len() >= self.packet.attachments {
            return Err(DecodeError::UnexpectedAttachment);
        }
        self.received_bytes = self.received_bytes.saturating_add(attachment.len());
        if self.received_bytes > self.max_bytes {
            return Err(DecodeError::AttachmentsTooLarge {
                max_bytes: self.max_bytes,
            });
        }
        self.received.push(attachment);
        if self.received.len() == self.packet.attachments {
            Ok(Progress::Complete(self.packet, self.received))
        } else {
            Ok(Progress::NeedMore(self))
        }
    }

    /// The instant by which every attachment must have arrived, for the owner's timer table.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// The header packet being completed, so the owner can name its namespace when it fails.
    pub fn packet(&self) -> &Packet {
        &self.packet
    }
}

/// What a walked JSON value was, as far as placeholder detection cares.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Seen {
    True,
    Unsigned(u64),
    Other,
}

/// Which member of an object a key names.
enum Member {
    Placeholder,
    Num,
    Other,
}

/// Walks a JSON value, checking every placeholder object it contains; the first bad one is stored
/// in `found` and aborts the walk.
struct PlaceholderWalk<'s> {
    attachments: usize,
    found: &'s mut Option<DecodeError>,
}

impl PlaceholderWalk<'_> {
    fn child(&mut self) -> PlaceholderWalk<'_> {
        PlaceholderWalk {
            attachments: self.attachments,
            found: self.found,
        }
    }

    fn fail<E: de::Error>(self, error: DecodeError) -> Result<Seen, E> {
        let message = error.to_string();
        *self.found = Some(error);
        Err(E::custom(message))
    }
}

impl<'de> DeserializeSeed<'de> for PlaceholderWalk<'_> {
    type Value = Seen;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Seen, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for PlaceholderWalk<'_> {
    type Value = Seen;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Seen, E> {
        Ok(if v { Seen::True } else { Seen::Other })
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Seen, E> {
        Ok(Seen::Unsigned(v))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Seen, E> {
        Ok(Seen::Other)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Seen, E> {
        Ok(Seen::Other)
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Seen, E> {
        Ok(Seen::Other)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Seen, E> {
        Ok(Seen::Other)
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<Seen, A::Error> {
        while seq.next_element_seed(self.child())?.is_some() {}
        Ok(Seen::Other)
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<Seen, A::Error> {
        let mut placeholder = false;
        let mut num = None;
        while let Some(member) = map.next_key_seed(MemberName)? {
            let value = map.next_value_seed(self.child())?;
            match member {
                Member::Placeholder => placeholder = value == Seen::True,
                Member::Num => num = Some(value),
                Member::Other => {}
            }
        }
        if !placeholder {
            return Ok(Seen::Other);
        }
        match num {
            Some(Seen::Unsigned(n)) if n < self.attachments as u64 => Ok(Seen::Other),
            Some(Seen::Unsigned(n)) => {
                let attachments = self.attachments;
                self.fail(DecodeError::PlaceholderOutOfRange {
                    num: n,
                    attachments,
                })
            }
            _ => self.fail(DecodeError::MalformedPlaceholder),
        }
    }
}

/// Reads an object key (escapes resolved) as a [`Member`].
struct MemberName;

impl<'de> DeserializeSeed<'de> for MemberName {
    type Value = Member;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Member, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for MemberName {
    type Value = Member;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<Member, E> {
        Ok(match key {
            "_placeholder" => Member::Placeholder,
            "num" => Member::Num,
            _ => Member::Other,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::socketio::packet::PacketKind;

    /// Tests need one arbitrary origin instant and only add durations to it.
    #[allow(clippy::disallowed_methods)]
    fn t0() -> Instant {
        Instant::now()
    }

    fn binary_event(attachments: usize) -> Packet {
        let data = r#"["up",{"_placeholder":true,"num":0}]"#;
        Packet::event("/", Bytes::from_static(data.as_bytes()), None, attachments)
    }

    #[test]
    fn placeholders_within_the_attachment_count_are_accepted() {
        let data = br#"["ev",{"_placeholder":true,"num":0},[{"num":1,"_placeholder":true}]]"#;
        assert_eq!(check_placeholders(data, 2), Ok(()));
        assert_eq!(check_placeholders(br#"["ev","no binary here"]"#, 1), Ok(()));
    }

    #[test]
    fn a_placeholder_beyond_the_attachment_count_is_rejected_however_deeply_nested() {
        let data = br#"["ev",{"a":[{"b":{"_placeholder":true,"num":3}}]}]"#;
        assert_eq!(
            check_placeholders(data, 2),
            Err(DecodeError::PlaceholderOutOfRange {
                num: 3,
                attachments: 2
            })
        );
        let inside_num = br#"[{"_placeholder":false,"num":{"_placeholder":true,"num":9}}]"#;
        assert_eq!(
            check_placeholders(inside_num, 1),
            Err(DecodeError::PlaceholderOutOfRange {
                num: 9,
                attachments: 1
            })
        );
    }

    #[test]
    fn a_placeholder_without_a_non_negative_integer_num_is_malformed() {
        let cases = [
            r#"[{"_placeholder":true}]"#,
            r#"[{"_placeholder":true,"num":"0"}]"#,
            r#"[{"_placeholder":true,"num":-1}]"#,
            r#"[{"_placeholder":true,"num":0.5}]"#,
            r#"[{"_placeholder":true,"num":null}]"#,
        ];
        for data in cases {
            let result = check_placeholders(data.as_bytes(), 4);
            assert_eq!(result, Err(DecodeError::MalformedPlaceholder), "{data}");
        }
    }

    #[test]
    fn only_a_true_placeholder_flag_makes_an_object_a_placeholder() {
        let data = br#"[{"_placeholder":false,"num":99},{"_placeholder":"true","num":99}]"#;
        assert_eq!(check_placeholders(data, 1), Ok(()));
    }

    #[test]
    fn placeholder_keys_are_compared_after_unescaping() {
        let data = br#"[{"_place\u0068older":true,"n\u0075m":5}]"#;
        assert_eq!(
            check_placeholders(data, 5),
            Err(DecodeError::PlaceholderOutOfRange {
                num: 5,
                attachments: 5
            })
        );
    }

    #[test]
    fn placeholder_check_rejects_invalid_or_too_deep_json() {
        for data in [&b"[{\"_placeholder\":true"[..], b"[] []", b""] {
            assert!(matches!(
                check_placeholders(data, 1),
                Err(DecodeError::InvalidJson(_))
            ));
        }
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        assert!(matches!(
            check_placeholders(deep.as_bytes(), 1),
            Err(DecodeError::InvalidJson(_))
        ));
        assert_eq!(
            check_placeholders(b"[\"\xff\"]", 1),
            Err(DecodeError::NotUtf8)
        );
    }

    #[test]
    fn reassembly_completes_with_attachments_in_arrival_order() {
        let r = Reassembly::start(binary_event(3), t0(), Duration::from_secs(5), 100);
        let Ok(Progress::NeedMore(r)) = r.push(Bytes::from_static(b"a")) else {
            panic!("first of three needs more");
        };
        let Ok(Progress::NeedMore(r)) = r.push(Bytes::from_static(b"bb")) else {
            panic!("second of three needs more");
        };
        assert_eq!(r.packet().kind, PacketKind::BinaryEvent);
        match r.push(Bytes::from_static(b"ccc")) {
            Ok(Progress::Complete(packet, attachments)) => {
                assert_eq!(packet, binary_event(3));
                assert_eq!(attachments, [&b"a"[..], b"bb", b"ccc"]);
            }
            other => panic!("third of three completes, got {other:?}"),
        }
    }

    #[test]
    fn reassembly_accepts_exactly_max_bytes_and_rejects_one_more() {
        let start = || Reassembly::start(binary_event(2), t0(), Duration::from_secs(5), 4);
        let Ok(Progress::NeedMore(r)) = start().push(Bytes::from_static(b"12")) else {
            panic!("two bytes of four fit");
        };
        assert!(matches!(
            r.push(Bytes::from_static(b"34")),
            Ok(Progress::Complete(..))
        ));
        let Ok(Progress::NeedMore(r)) = start().push(Bytes::from_static(b"12")) else {
            panic!("two bytes of four fit");
        };
        assert_eq!(
            r.push(Bytes::from_static(b"345")).err(),
            Some(DecodeError::AttachmentsTooLarge { max_bytes: 4 })
        );
        let huge = Reassembly::start(binary_event(1), t0(), Duration::ZERO, 4);
        assert_eq!(
            huge.push(Bytes::from(vec![0; 5])).err(),
            Some(DecodeError::AttachmentsTooLarge { max_bytes: 4 })
        );
    }

    #[test]
    fn reassembly_deadline_is_start_plus_timeout() {
        let now = t0();
        let r = Reassembly::start(binary_event(1), now, Duration::from_secs(30), 10);
        assert_eq!(r.deadline(), now + Duration::from_secs(30));
        let unbounded = Reassembly::start(binary_event(1), now, Duration::MAX, 10);
        assert_eq!(unbounded.deadline(), now);
    }

    #[test]
    fn reassembly_of_a_packet_without_attachments_rejects_every_push() {
        let mut packet = binary_event(1);
        packet.attachments = 0;
        let r = Reassembly::start(packet, t0(), Duration::from_secs(1), 10);
        assert_eq!(
            r.push(Bytes::from_static(b"x")).err(),
            Some(DecodeError::UnexpectedAttachment)
        );
    }
}
