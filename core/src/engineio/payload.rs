//! The Engine.IO v4 HTTP long-polling payload: several frames in one body.
//!
//! Segments are joined by the record separator `0x1E`. A text frame is written as-is; a binary
//! frame is written as `b` followed by its standard, padded base64. So the GET response
//! `4hello\x1e4€\x1ebAQIDBA==` carries two text messages and the bytes `[1, 2, 3, 4]`.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use bytes::{BufMut, Bytes, BytesMut};

use super::packet::{DecodeError, Frame};

/// The record separator that joins the segments of a polling payload.
pub const SEPARATOR: u8 = 0x1e;

/// The byte that marks a base64-encoded binary segment.
const BINARY_MARKER: u8 = b'b';

/// Encode frames into one polling response body, in a single allocation sized up front.
///
/// Text frames must be encoded Engine.IO packets (a type digit first, no `0x1E` inside) — what
/// [`super::packet::Packet::encode`] produces from JSON text — or the body will not split back
/// into the same frames. No frames give an empty body.
pub fn encode(frames: &[Frame]) -> Bytes {
    let mut body = BytesMut::with_capacity(encoded_len(frames));
    for (i, frame) in frames.iter().enumerate() {
        if i > 0 {
            body.put_u8(SEPARATOR);
        }
        match frame {
            Frame::Text(t) => body.extend_from_slice(t),
            Frame::Binary(b) => {
                body.put_u8(BINARY_MARKER);
                put_base64(&mut body, b);
            }
        }
    }
    body.freeze()
}

/// Split a POST body into frames; packet types are left to [`super::packet::Packet::decode`].
///
/// Text segments are validated as UTF-8 and returned as zero-copy slices of `body`; `b`
/// segments are base64-decoded into [`Frame::Binary`] (a lone `b` is an empty binary frame).
/// The work is linear in the body's length and bounded by `max_frames`, so a hostile body
/// costs no more than reading it.
///
/// # Errors
///
/// [`DecodeError::Empty`] for an empty body, [`DecodeError::TooManyPackets`] for more than
/// `max_frames` segments (checked before any segment is decoded),
/// [`DecodeError::EmptySegment`] for an empty segment (as in `4a\x1e\x1e4b` or a trailing
/// separator), [`DecodeError::InvalidUtf8`] for a text segment that is not UTF-8,
/// [`DecodeError::InvalidBase64`] for a `b` segment that is not padded standard base64.
pub fn decode(body: &Bytes, max_frames: usize) -> Result<Vec<Frame>, DecodeError> {
    if body.is_empty() {
        return Err(DecodeError::Empty);
    }
    let segments = body.iter().filter(|&&byte| byte == SEPARATOR).count() + 1;
    if segments > max_frames {
        return Err(DecodeError::TooManyPackets);
    }
    let mut frames = Vec::with_capacity(segments);
    let mut start = 0;
    for segment in body.split(|&byte| byte == SEPARATOR) {
        let end = start + segment.len();
        frames.push(decode_segment(body, start, end)?);
        start = end + 1;
    }
    Ok(frames)
}

/// Decode the segment `body[start..end]` into one frame.
fn decode_segment(body: &Bytes, start: usize, end: usize) -> Result<Frame, DecodeError> {
    let segment = &body[start..end];
    match segment.first() {
        None => Err(DecodeError::EmptySegment),
        Some(&BINARY_MARKER) => STANDARD
            .decode(&segment[1..])
            .map(|bytes| Frame::Binary(Bytes::from(bytes)))
            .map_err(|_| DecodeError::InvalidBase64),
        Some(_) => match std::str::from_utf8(segment) {
            Ok(_) => Ok(Frame::Text(body.slice(start..end))),
            Err(_) => Err(DecodeError::InvalidUtf8),
        },
    }
}

/// The exact length of the body [`encode`] produces for `frames`.
fn encoded_len(frames: &[Frame]) -> usize {
    let separators = frames.len().saturating_sub(1);
    frames.iter().fold(separators, |size, frame| {
        size.saturating_add(match frame {
            Frame::Text(t) => t.len(),
            Frame::Binary(b) => base64_len(b.len()).saturating_add(1),
        })
    })
}

/// The length of the padded standard base64 of `len` bytes.
fn base64_len(len: usize) -> usize {
    base64::encoded_len(len, true).unwrap_or(usize::MAX)
}

/// Append the padded standard base64 of `bytes` to `body`, writing in place.
fn put_base64(body: &mut BytesMut, bytes: &[u8]) {
    let start = body.len();
    body.resize(start.saturating_add(base64_len(bytes.len())), 0);
    match STANDARD.encode_slice(bytes, &mut body[start..]) {
        Ok(written) => body.truncate(start + written),
        // Unreachable with the exact length above; fall back to an owned encoding anyway.
        Err(_) => {
            body.truncate(start);
            body.extend_from_slice(STANDARD.encode(bytes).as_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engineio::packet::Packet;
    use proptest::prelude::*;

    fn text(s: &'static str) -> Frame {
        Frame::Text(Bytes::from_static(s.as_bytes()))
    }

    fn binary(b: &'static [u8]) -> Frame {
        Frame::Binary(Bytes::from_static(b))
    }

    fn spec_frames() -> Vec<Frame> {
        vec![text("4hello"), text("4€"), binary(&[1, 2, 3, 4])]
    }

    const SPEC_BODY: &[u8] = "4hello\x1e4€\x1ebAQIDBA==".as_bytes();

    #[test]
    fn spec_example_encodes_text_as_is_and_binary_as_b_base64() {
        assert_eq!(encode(&spec_frames()), Bytes::from_static(SPEC_BODY));
    }

    #[test]
    fn spec_example_decodes_into_text_and_binary_frames() {
        let body = Bytes::from_static(SPEC_BODY);
        assert_eq!(decode(&body, 16), Ok(spec_frames()));
    }

    #[test]
    fn single_packet_payload_has_no_separator() {
        assert_eq!(encode(&[text("2")]), Bytes::from_static(b"2"));
        assert_eq!(decode(&Bytes::from_static(b"6"), 1), Ok(vec![text("6")]));
    }

    #[test]
    fn encode_of_no_frames_is_empty_and_allocation_is_exact() {
        assert_eq!(encode(&[]), Bytes::new());
        let frames = [binary(&[0xff; 5]), text("4ab"), binary(&[])];
        let body = encode(&frames);
        assert_eq!(body, Bytes::from_static(b"b//////8=\x1e4ab\x1eb"));
        assert_eq!(encoded_len(&frames), body.len());
        assert_eq!(decode(&body, 3), Ok(frames.to_vec()));
    }

    #[test]
    fn decoded_text_frames_share_the_body_buffer() {
        let body = Bytes::from_static(b"4a\x1e4bc");
        let frames = decode(&body, 2).unwrap_or_default();
        let Some(Frame::Text(second)) = frames.get(1) else {
            panic!("expected two text frames, got {frames:?}");
        };
        assert_eq!(second.as_ptr(), body[3..].as_ptr());
    }

    #[test]
    fn decoded_segments_become_packets() {
        let body = Bytes::from_static(b"2probe\x1e4hi\x1ebAA==");
        let packets: Vec<_> = decode(&body, 3)
            .unwrap_or_default()
            .into_iter()
            .map(Packet::decode)
            .collect();
        assert_eq!(
            packets,
            vec![
                Ok(Packet::Ping(Bytes::from_static(b"probe"))),
                Ok(Packet::Message(Bytes::from_static(b"hi"))),
                Ok(Packet::Binary(Bytes::from_static(&[0]))),
            ]
        );
    }

    #[test]
    fn empty_body_is_rejected() {
        assert_eq!(decode(&Bytes::new(), 16), Err(DecodeError::Empty));
    }

    #[test]
    fn empty_segment_is_rejected_anywhere() {
        for body in [&b"4a\x1e\x1e4b"[..], b"\x1e4a", b"4a\x1e", b"\x1e"] {
            assert_eq!(
                decode(&Bytes::copy_from_slice(body), 16),
                Err(DecodeError::EmptySegment),
                "{body:?}"
            );
        }
    }

    #[test]
    fn bad_base64_is_rejected() {
        for body in [&b"bAQID!A=="[..], b"bAQIDBA", b"bAQIDBA=\x1e4a", b"b\xff"] {
            assert_eq!(
                decode(&Bytes::copy_from_slice(body), 16),
                Err(DecodeError::InvalidBase64),
                "{body:?}"
            );
        }
    }

    #[test]
    fn invalid_utf8_text_segment_is_rejected() {
        let body = Bytes::from_static(b"4ok\x1e4\xc3\x28");
        assert_eq!(decode(&body, 16), Err(DecodeError::InvalidUtf8));
    }

    #[test]
    fn more_segments_than_the_limit_are_rejected() {
        let body = Bytes::from_static(b"4a\x1e4b\x1e4c");
        assert_eq!(decode(&body, 2), Err(DecodeError::TooManyPackets));
        assert_eq!(decode(&body, 3).map(|f| f.len()), Ok(3));
        assert_eq!(
            decode(&Bytes::from_static(b"6"), 0),
            Err(DecodeError::TooManyPackets)
        );
    }

    #[test]
    fn one_mebibyte_of_hostile_bytes_never_panics() {
        const MIB: usize = 1 << 20;
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let noise: Vec<u8> = (0..MIB)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state.to_le_bytes()[0]
            })
            .collect();
        let separators = vec![SEPARATOR; MIB];
        let mut long_base64 = vec![b'A'; MIB];
        long_base64[0] = b'b';
        let mut many_small: Vec<u8> = b"4a\x1e".repeat(MIB / 3);
        many_small.pop();
        for body in [noise, separators, long_base64, many_small] {
            let body = Bytes::from(body);
            for limit in [0, 16, usize::MAX] {
                let _ = decode(&body, limit);
            }
            let _ = Packet::decode(Frame::Text(body.clone()));
        }
        let ones = Bytes::from(b"4a\x1e".repeat(MIB / 3));
        assert_eq!(decode(&ones, usize::MAX), Err(DecodeError::EmptySegment));
    }

    fn arb_frame() -> impl Strategy<Value = Frame> {
        prop_oneof![
            ("[0-6]", "[^\u{1e}]{0,64}")
                .prop_map(|(digit, data)| Frame::Text(Bytes::from(digit + &data))),
            proptest::collection::vec(any::<u8>(), 0..128)
                .prop_map(|v| Frame::Binary(Bytes::from(v))),
        ]
    }

    proptest! {
        #[test]
        fn any_frame_list_round_trips_through_payload(
            frames in proptest::collection::vec(arb_frame(), 1..16)
        ) {
            let body = encode(&frames);
            prop_assert_eq!(encoded_len(&frames), body.len());
            prop_assert_eq!(decode(&body, frames.len()), Ok(frames));
        }

        #[test]
        fn arbitrary_bytes_never_panic_payload_decode(
            bytes in proptest::collection::vec(any::<u8>(), 0..65_536),
            limit in 0usize..64,
        ) {
            let _ = decode(&Bytes::from(bytes), limit);
        }

        #[test]
        fn separator_heavy_bytes_never_panic_payload_decode(
            bytes in proptest::collection::vec(
                proptest::sample::select(&b"\x1eb4=A/+\xc3\xa9\xff"[..]),
                0..4096,
            )
        ) {
            let _ = decode(&Bytes::from(bytes), usize::MAX);
        }
    }
}
