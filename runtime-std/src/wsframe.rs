//! Server→client websocket data frames, built once per payload and shared by every recipient.
//!
//! Why: DESIGN §2 rule 6 says a broadcast is encoded once, websocket frame included. The
//! engine hands a broadcast's websocket recipients one `Output::WsBroadcast`; both runtimes'
//! drivers frame its payload once with [`data_frame`] (header and payload in one `Bytes`) and
//! queue a clone of that framed buffer for every recipient. A connection's writer then writes
//! the bytes verbatim: per recipient a broadcast costs a refcount, not a copy and a header.
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
}
