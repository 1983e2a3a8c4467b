//! Server→client websocket data frames, built once per payload and shared by every recipient.
//!
//! Why: DESIGN §2 rule 6 says a broadcast is encoded once, websocket frame included. The
//! engine already hands every recipient of a broadcast a clone of one `Bytes` payload, in
//! consecutive `Output::WsSend`s; both runtimes' drivers pass each of those through a
//! [`FrameMemo`], which frames a payload buffer once (header and payload in one `Bytes`) and
//! hands every recipient a clone of that framed buffer. A connection's writer then writes the
//! bytes verbatim: per recipient a broadcast costs a refcount, not a copy and a header.
//!
//! Server frames are never masked (RFC 6455 §5.1) and never fragmented here, so the frame is
//! FIN, the opcode, the 7/16/64-bit payload length, the payload. This lives in the shared
//! crate because both runtimes frame this way and it does no IO.

use bytes::{BufMut, Bytes, BytesMut};
use iorelay_core::engineio::packet::Frame;
use tungstenite::protocol::WebSocketConfig;

/// How both servers configure tungstenite for a client's websocket: messages and frames over
/// `max_payload` are refused, and nothing is buffered for writing (frames are built here).
///
/// Why a 256-byte read buffer: tungstenite reserves it per connection up front and reads
/// that much at a time from the bytes it is handed; clients send little (pongs, a CONNECT,
/// acks), a larger message only grows it while it is read, and the default 128 KiB (or the
/// 16 KiB iorelay-std used) was most of an idle connection's memory.
#[must_use]
pub fn server_config(max_payload: usize) -> WebSocketConfig {
    WebSocketConfig::default()
        .max_message_size(Some(max_payload))
        .max_frame_size(Some(max_payload))
        .read_buffer_size(256)
        .write_buffer_size(0)
}

/// The first header byte of a final text frame.
const FIN_TEXT: u8 = 0x81;
/// The first header byte of a final binary frame.
const FIN_BINARY: u8 = 0x82;

/// One complete, unmasked, final websocket frame carrying `frame`'s payload: a text frame for
/// [`Frame::Text`], a binary frame for [`Frame::Binary`].
pub fn data_frame(frame: &Frame) -> Bytes {
    let (first, payload) = match frame {
        Frame::Text(payload) => (FIN_TEXT, payload),
        Frame::Binary(payload) => (FIN_BINARY, payload),
    };
    let len = payload.len();
    let mut out = BytesMut::with_capacity(header_len(len) + len);
    out.put_u8(first);
    match len {
        0..=125 => out.put_u8(len as u8),
        126..=0xffff => {
            out.put_u8(126);
            out.put_u16(len as u16);
        }
        _ => {
            out.put_u8(127);
            out.put_u64(len as u64);
        }
    }
    out.extend_from_slice(payload);
    out.freeze()
}

/// The length of a server frame's header for a payload of `len` bytes.
fn header_len(len: usize) -> usize {
    match len {
        0..=125 => 2,
        126..=0xffff => 4,
        _ => 10,
    }
}

/// The last payload a driver framed, so the recipients of one broadcast share one frame.
///
/// The key is the payload buffer's identity (pointer and length) and its kind. The memo keeps
/// a clone of the payload, so that buffer stays alive while it is remembered and no other
/// buffer can take its address: the same key always means the same bytes. The engine emits a
/// broadcast's `WsSend`s one after another, so remembering only the last payload is enough;
/// [`FrameMemo::forget`] at the end of each drain keeps it from holding memory afterwards.
#[derive(Debug, Default)]
pub struct FrameMemo {
    last: Option<Framed>,
}

#[derive(Debug)]
struct Framed {
    payload: Bytes,
    text: bool,
    frame: Bytes,
}

impl FrameMemo {
    /// An empty memo.
    pub fn new() -> Self {
        Self::default()
    }

    /// The framed bytes for `frame`: the frame built for the previous call when `frame` holds
    /// the same payload buffer (a clone of the same `Bytes`), otherwise a new one.
    pub fn frame(&mut self, frame: &Frame) -> Bytes {
        let (payload, text) = match frame {
            Frame::Text(payload) => (payload, true),
            Frame::Binary(payload) => (payload, false),
        };
        if let Some(last) = &self.last {
            if last.text == text
                && last.payload.len() == payload.len()
                && last.payload.as_ptr() == payload.as_ptr()
            {
                return last.frame.clone();
            }
        }
        let framed = data_frame(frame);
        self.last = Some(Framed {
            payload: payload.clone(),
            text,
            frame: framed.clone(),
        });
        framed
    }

    /// Lets go of the remembered payload and frame.
    pub fn forget(&mut self) {
        self.last = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tungstenite::protocol::frame::coding::{Data, OpCode};
    use tungstenite::protocol::frame::Frame as WsFrame;

    fn text(len: usize) -> Frame {
        Frame::Text(Bytes::from(vec![b'a'; len]))
    }

    fn binary(len: usize) -> Frame {
        Frame::Binary(Bytes::from(vec![7u8; len]))
    }

    /// The header of `data_frame`, checked against the payload that must follow it.
    fn header_of(frame: &Frame) -> Vec<u8> {
        let framed = data_frame(frame);
        let header = framed.len() - frame.len();
        let (Frame::Text(payload) | Frame::Binary(payload)) = frame;
        assert_eq!(
            &framed[header..],
            &payload[..],
            "the payload follows the header"
        );
        framed[..header].to_vec()
    }

    #[test]
    fn lengths_up_to_125_fit_the_second_byte() {
        assert_eq!(header_of(&text(0)), [0x81, 0]);
        assert_eq!(header_of(&binary(0)), [0x82, 0]);
        assert_eq!(header_of(&text(125)), [0x81, 125]);
        assert_eq!(header_of(&binary(125)), [0x82, 125]);
    }

    #[test]
    fn lengths_from_126_to_65535_take_16_bits() {
        assert_eq!(header_of(&text(126)), [0x81, 126, 0x00, 0x7e]);
        assert_eq!(header_of(&binary(126)), [0x82, 126, 0x00, 0x7e]);
        assert_eq!(header_of(&text(65535)), [0x81, 126, 0xff, 0xff]);
        assert_eq!(header_of(&binary(65535)), [0x82, 126, 0xff, 0xff]);
    }

    #[test]
    fn lengths_from_65536_take_64_bits() {
        let long = [0x81, 127, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00];
        assert_eq!(header_of(&text(65536)), long);
        let mut long = long;
        long[0] = 0x82;
        assert_eq!(header_of(&binary(65536)), long);
    }

    #[test]
    fn frames_match_what_tungstenite_formats() {
        for len in [0, 1, 125, 126, 127, 65535, 65536, 70000] {
            for (frame, data) in [(text(len), Data::Text), (binary(len), Data::Binary)] {
                let (Frame::Text(payload) | Frame::Binary(payload)) = &frame;
                let mut expected = Vec::new();
                WsFrame::message(payload.clone(), OpCode::Data(data), true)
                    .format(&mut expected)
                    .unwrap();
                assert_eq!(data_frame(&frame), expected, "length {len}");
            }
        }
    }

    #[test]
    fn clones_of_one_payload_share_one_frame() {
        let mut memo = FrameMemo::new();
        let payload = Bytes::from_static(b"42[\"event\",1]");
        let first = memo.frame(&Frame::Text(payload.clone()));
        let second = memo.frame(&Frame::Text(payload.clone()));
        assert_eq!(first.as_ptr(), second.as_ptr());
        assert_eq!(&first[..], b"\x81\x0d42[\"event\",1]");
    }

    #[test]
    fn another_buffer_or_kind_gets_its_own_frame() {
        let mut memo = FrameMemo::new();
        let payload = Bytes::from(b"4hello".to_vec());
        let equal_bytes_elsewhere = Bytes::from(b"4hello".to_vec());
        let first = memo.frame(&Frame::Text(payload.clone()));
        let elsewhere = memo.frame(&Frame::Text(equal_bytes_elsewhere));
        assert_ne!(first.as_ptr(), elsewhere.as_ptr());
        let as_binary = memo.frame(&Frame::Binary(payload.clone()));
        assert_eq!(as_binary[0], 0x82);
        let prefix = memo.frame(&Frame::Binary(payload.slice(..2)));
        assert_eq!(&prefix[..], b"\x82\x024h");
    }

    #[test]
    fn a_forgotten_memo_frames_again_and_holds_nothing() {
        let mut memo = FrameMemo::new();
        let payload = Bytes::from(b"4x".to_vec());
        let first = memo.frame(&Frame::Text(payload.clone()));
        memo.forget();
        assert!(memo.last.is_none());
        let again = memo.frame(&Frame::Text(payload));
        assert_ne!(first.as_ptr(), again.as_ptr());
        assert_eq!(first, again);
    }
}
