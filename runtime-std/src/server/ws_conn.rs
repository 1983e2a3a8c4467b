//! The websocket side of a connection: tungstenite's protocol state machine run over an
//! in-memory stream, so either of the connection's threads can feed it bytes.
//!
//! # Why tungstenite over memory, and frames formatted by the writer
//!
//! A blocking `tungstenite::WebSocket<TcpStream>` wants one owner that both reads and writes,
//! but a connection here has a reader thread blocked in `read` and a writer thread sending
//! what the driver routes; a shared lock around one `WebSocket` would be held for as long as
//! the peer is silent. So the pieces are split:
//!
//! - **Reading**: a `WebSocket<MemStream>` in [`Role::Server`] decodes what the reader thread
//!   read from the socket (unmasking, fragment reassembly, UTF-8 checks, the
//!   `max_message_size`/`max_frame_size` limits, close handling). `MemStream::read` returns
//!   `WouldBlock` when the bytes run out, which tungstenite treats as "call again with more"
//!   and keeps partial frames buffered. Because nothing blocks inside tungstenite, the writer
//!   thread can also feed it the bytes that arrived behind the upgrade request, right after it
//!   wrote the 101.
//! - **Control replies**: tungstenite answers pings with pongs and a peer's close with a close
//!   reply by *writing* to its stream. `MemStream::write` only collects those bytes (always
//!   whole frames: tungstenite writes its whole out-buffer, and `flush` is called after each
//!   batch); they are queued as [`Item::Control`](super::outbound::Item::Control) and written
//!   by the writer thread in order with everything else.
//! - **Data frames**: the driver frames each engine message once per payload buffer
//!   (`iorelay_std::wsframe`; server frames are not masked), so the recipients of a broadcast
//!   share one framed `Bytes`, and the writer copies it out verbatim. One thread writes all
//!   bytes, each item whole, so frames never interleave.
//!
//! The reading `WebSocket` does not know about close frames the writer sent; when the peer
//! answers one, it queues a reply, which the writer drops (nothing is sent after a close).

use std::io;

use bytes::Bytes;
use iorelay_core::engineio::packet::Frame;
use iorelay_std::mem_stream::MemStream;
use tungstenite::error::Error;
use tungstenite::protocol::{Message, Role, WebSocket};

/// What decoding produced.
#[derive(Debug, Default)]
pub struct WsStep {
    /// Complete data messages, in order.
    pub messages: Vec<Frame>,
    /// Control frames to send (pongs, a close reply), already framed.
    pub control: Option<Bytes>,
    /// Why reading ends, if it does.
    pub end: Option<WsEnd>,
}

/// Why the websocket stops being read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WsEnd {
    /// The peer sent a close frame (answered in `control`): close the connection.
    PeerClosed,
    /// A message exceeded `max_payload`: tell the engine, which closes it.
    TooLarge,
    /// The peer broke the protocol: close with this code and reason.
    Failed {
        /// 1002 protocol error, 1007 invalid UTF-8 in a text message.
        code: u16,
        /// The reason for the close frame.
        reason: &'static str,
    },
}

/// One websocket connection's reading state.
#[derive(Debug)]
pub struct WsIn {
    socket: WebSocket<MemStream>,
}

impl WsIn {
    /// A websocket whose first bytes (read behind the upgrade request) are `first`; messages
    /// and frames over `max_payload` bytes are refused.
    pub fn new(first: Bytes, max_payload: usize) -> Self {
        let config = iorelay_std::wsframe::server_config(max_payload);
        let stream = MemStream::new(&first[..]);
        Self {
            socket: WebSocket::from_raw_socket(stream, Role::Server, Some(config)),
        }
    }

    /// Decodes as much as `data` (and earlier partial frames) allows.
    pub fn on_bytes(&mut self, data: &[u8]) -> WsStep {
        self.socket.get_mut().incoming.extend_from_slice(data);
        let mut step = WsStep::default();
        while step.end.is_none() {
            match self.socket.read() {
                Ok(Message::Text(text)) => step.messages.push(Frame::Text(text.into())),
                Ok(Message::Binary(bytes)) => step.messages.push(Frame::Binary(bytes)),
                Ok(Message::Close(_)) | Err(Error::ConnectionClosed | Error::AlreadyClosed) => {
                    step.end = Some(WsEnd::PeerClosed);
                }
                Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_)) => {}
                Err(Error::Io(err)) if err.kind() == io::ErrorKind::WouldBlock => break,
                Err(Error::Capacity(_)) => step.end = Some(WsEnd::TooLarge),
                Err(Error::Utf8(_)) => {
                    step.end = Some(WsEnd::Failed {
                        code: 1007,
                        reason: "invalid utf-8",
                    });
                }
                Err(_) => {
                    step.end = Some(WsEnd::Failed {
                        code: 1002,
                        reason: "protocol error",
                    });
                }
            }
        }
        // Writes pending pongs or the close reply into `outgoing`; after a peer's close it
        // reports the (expected) end of the connection, which `end` already says.
        let _ = self.socket.flush();
        let outgoing = std::mem::take(&mut self.socket.get_mut().outgoing);
        if !outgoing.is_empty() {
            step.control = Some(Bytes::from(outgoing));
        }
        step
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A masked client frame (mask 0, so the payload is sent as is).
    fn client_frame(first_byte: u8, payload: &[u8]) -> Vec<u8> {
        assert!(payload.len() < 126);
        let mut frame = vec![first_byte, 0x80 | payload.len() as u8, 0, 0, 0, 0];
        frame.extend_from_slice(payload);
        frame
    }

    #[test]
    fn text_and_binary_messages_arrive_across_split_reads_and_first_bytes() {
        let mut wire = client_frame(0x81, b"4hello");
        wire.extend(client_frame(0x82, &[1, 2, 3]));
        let mut ws = WsIn::new(Bytes::copy_from_slice(&wire[..3]), 100);
        let first = ws.on_bytes(&wire[3..9]);
        assert!(first.messages.is_empty());
        let rest = ws.on_bytes(&wire[9..]);
        assert_eq!(
            rest.messages,
            vec![
                Frame::Text(Bytes::from_static(b"4hello")),
                Frame::Binary(Bytes::from_static(&[1, 2, 3]))
            ]
        );
        assert_eq!(rest.end, None);
    }

    #[test]
    fn fragmented_messages_are_reassembled() {
        let mut wire = client_frame(0x01, b"4hel");
        wire.extend(client_frame(0x80, b"lo"));
        let step = WsIn::new(Bytes::new(), 100).on_bytes(&wire);
        assert_eq!(
            step.messages,
            vec![Frame::Text(Bytes::from_static(b"4hello"))]
        );
    }

    #[test]
    fn a_ping_is_answered_with_a_pong() {
        let step = WsIn::new(Bytes::new(), 100).on_bytes(&client_frame(0x89, b"hi"));
        assert_eq!(step.control, Some(Bytes::from_static(b"\x8a\x02hi")));
    }

    #[test]
    fn a_close_is_answered_and_ends_reading() {
        let step = WsIn::new(Bytes::new(), 100).on_bytes(&client_frame(0x88, &[0x03, 0xe8]));
        assert_eq!(step.end, Some(WsEnd::PeerClosed));
        assert_eq!(step.control, Some(Bytes::from_static(b"\x88\x02\x03\xe8")));
    }

    #[test]
    fn a_message_over_the_limit_is_too_large() {
        let step = WsIn::new(Bytes::new(), 4).on_bytes(&client_frame(0x81, b"4hello"));
        assert_eq!(step.end, Some(WsEnd::TooLarge));
    }

    #[test]
    fn an_unmasked_frame_is_a_protocol_error_and_bad_utf8_is_1007() {
        let step = WsIn::new(Bytes::new(), 100).on_bytes(b"\x81\x02hi");
        assert!(matches!(step.end, Some(WsEnd::Failed { code: 1002, .. })));
        let step = WsIn::new(Bytes::new(), 100).on_bytes(&client_frame(0x81, &[0xff, 0xfe]));
        assert!(matches!(step.end, Some(WsEnd::Failed { code: 1007, .. })));
    }
}
