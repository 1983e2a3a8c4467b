//! The in-memory stream tungstenite is driven over: bytes read from the socket go in, the
//! frames tungstenite writes (pongs, close replies, a client's frames) come out.
//!
//! Why: the connection owns the socket and its deadlines; tungstenite only frames. Driving it
//! over memory keeps every socket operation in the caller's hands, for the server's websocket
//! connections and the terminal clients' alike.

use std::io::{self, Read, Write};

use bytes::{Buf, BytesMut};

/// Socket bytes not yet parsed, and framed bytes not yet written.
#[derive(Debug, Default)]
pub struct MemStream {
    /// Received bytes tungstenite has not read yet.
    pub incoming: BytesMut,
    /// Bytes tungstenite wrote, for the caller to send.
    pub outgoing: Vec<u8>,
}

impl MemStream {
    /// A stream whose first received bytes are `first` (what followed the upgrade's head).
    #[must_use]
    pub fn new(first: &[u8]) -> Self {
        Self {
            incoming: BytesMut::from(first),
            outgoing: Vec::new(),
        }
    }
}

impl Read for MemStream {
    /// Hands out received bytes; with none left, `WouldBlock` (tungstenite's "need more").
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.incoming.is_empty() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let n = buf.len().min(self.incoming.len());
        buf[..n].copy_from_slice(&self.incoming[..n]);
        self.incoming.advance(n);
        Ok(n)
    }
}

impl Write for MemStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.outgoing.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_came_in_then_would_block_and_keeps_what_was_written() {
        let mut stream = MemStream::new(b"abc");
        let mut buf = [0u8; 2];
        assert_eq!(stream.read(&mut buf).unwrap(), 2);
        assert_eq!(&buf, b"ab");
        assert_eq!(stream.read(&mut buf).unwrap(), 1);
        let err = stream.read(&mut buf).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
        stream.write_all(b"out").unwrap();
        assert_eq!(stream.outgoing, b"out");
    }
}
