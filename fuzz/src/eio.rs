//! Engine.IO codec targets: one packet, and a polling payload.

use bytes::Bytes;
use iorelay_core::engineio::packet::{Frame, Packet};
use iorelay_core::engineio::payload;

/// Engine.IO packet: decode the input as a text frame and as a binary frame; whatever decodes
/// must encode back to the very same frame and decode again to the same packet.
pub fn engineio_packet(data: &[u8]) {
    let bytes = Bytes::copy_from_slice(data);
    for frame in [Frame::Text(bytes.clone()), Frame::Binary(bytes)] {
        let Ok(packet) = Packet::decode(frame.clone()) else {
            assert!(
                matches!(frame, Frame::Text(_)),
                "a binary frame always decodes"
            );
            continue;
        };
        let encoded = packet.encode();
        assert_eq!(encoded, frame, "decode then encode changed the frame");
        assert_eq!(encoded.len(), frame.len());
        assert_eq!(
            Packet::decode(encoded),
            Ok(packet.clone()),
            "encode then decode changed the packet"
        );
        if let Packet::Message(text) = &packet {
            assert_eq!(Packet::message_frame(text), frame);
        }
    }
}

/// Engine.IO polling payload: the first byte picks the frame limit, the rest is the POST body.
///
/// A body that decodes must (1) respect the limit, (2) hold only non-empty frames whose text is
/// UTF-8 without separators, (3) encode back to the same bytes (the base64 decoder accepts only
/// canonical padded base64, so the encoding is unique) and (4) decode again to the same frames.
pub fn engineio_payload(data: &[u8]) {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let max_frames = match selector {
        0xff => usize::MAX,
        n => usize::from(n & 0x3f),
    };
    let body = Bytes::copy_from_slice(body);
    let Ok(frames) = payload::decode(&body, max_frames) else {
        return;
    };
    assert!(
        !frames.is_empty(),
        "a decoded payload holds at least one frame"
    );
    assert!(
        frames.len() <= max_frames,
        "decoded more frames than allowed"
    );
    for frame in &frames {
        if let Frame::Text(text) = frame {
            assert!(!text.is_empty(), "empty text segment accepted");
            assert!(std::str::from_utf8(text).is_ok(), "non-UTF-8 text segment");
            assert!(
                !text.contains(&payload::SEPARATOR),
                "separator inside a frame"
            );
        }
        // Each frame is then a packet candidate; packet decode must be total on it too.
        if let Ok(packet) = Packet::decode(frame.clone()) {
            assert_eq!(
                &packet.encode(),
                frame,
                "payload frame changed by packet round trip"
            );
        }
    }
    let encoded = payload::encode(&frames);
    assert_eq!(
        encoded, body,
        "decode then encode changed the payload bytes"
    );
    assert_eq!(
        payload::decode(&encoded, frames.len()),
        Ok(frames),
        "encode then decode changed the frames"
    );
}
