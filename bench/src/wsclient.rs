//! A minimal Engine.IO v4 websocket client, just enough to join a room and count what arrives.
//!
//! Why not tungstenite: a thousand clients share one thread here, so the client must cost as
//! little CPU as possible next to the server under test. It writes masked client frames by
//! hand and parses the server's unmasked frames in place, without copying payloads. Every wait
//! is bounded by a timeout.

use std::io;
use std::net::{SocketAddr, TcpStream};
use std::ops::Range;
use std::time::Duration;

use smol::future::FutureExt;
use smol::io::{AsyncReadExt, AsyncWriteExt};
use smol::{Async, Timer};

/// Largest read buffer a client grows to (a frame larger than this is an error).
const MAX_BUFFER: usize = 16 * 1024 * 1024;

/// Largest upgrade reply accepted.
const MAX_HEAD: usize = 8 * 1024;

/// The initial size of a client's read buffer (it grows for a larger frame).
const READ_BUFFER: usize = 16 * 1024;

/// Websocket opcodes the benchmark cares about.
pub mod opcode {
    /// A text message.
    pub const TEXT: u8 = 0x1;
    /// A close frame.
    pub const CLOSE: u8 = 0x8;
}

/// One Engine.IO websocket connection.
pub struct WsClient {
    stream: Async<TcpStream>,
    /// Read buffer; only `start..end` holds unparsed bytes. Kept at its full length so a read
    /// never has to zero memory.
    buf: Vec<u8>,
    start: usize,
    end: usize,
}

impl WsClient {
    /// Connects, upgrades to a websocket, and waits for the Engine.IO open packet, all
    /// within `timeout`.
    ///
    /// # Errors
    /// Connection, upgrade or protocol failures, or the timeout.
    pub async fn open(addr: SocketAddr, timeout: Duration) -> io::Result<Self> {
        within(timeout, async {
            let stream = Async::<TcpStream>::connect(addr).await?;
            stream.get_ref().set_nodelay(true)?;
            let request = format!(
                "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: {addr}\r\n\
                 Upgrade: websocket\r\nConnection: Upgrade\r\n\
                 Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
            );
            (&stream).write_all(request.as_bytes()).await?;
            let mut client = WsClient {
                stream,
                buf: vec![0; READ_BUFFER],
                start: 0,
                end: 0,
            };
            let head_end = loop {
                if let Some(at) = find(&client.buf[..client.end], b"\r\n\r\n") {
                    break at + 4;
                }
                if client.end > MAX_HEAD || client.fill().await? == 0 {
                    return Err(protocol("no upgrade reply"));
                }
            };
            if !client.buf.starts_with(b"HTTP/1.1 101") {
                return Err(protocol("upgrade refused"));
            }
            client.start = head_end;
            client.expect(b"0{").await?;
            Ok(client)
        })
        .await
    }

    /// Sends CONNECT to namespace `/` and waits for the reply and the conformance app's
    /// `auth` event, within `timeout`.
    ///
    /// # Errors
    /// Socket or protocol failures, or the timeout.
    pub async fn connect_namespace(&mut self, timeout: Duration) -> io::Result<()> {
        within(timeout, async {
            self.send_text(b"40").await?;
            self.expect(b"40{").await?;
            self.expect(br#"42["auth""#).await
        })
        .await
    }

    /// Sends one masked text frame.
    ///
    /// # Errors
    /// Socket write failures.
    pub async fn send_text(&self, payload: &[u8]) -> io::Result<()> {
        let mut frame = Vec::with_capacity(payload.len() + 14);
        encode_text(payload, &mut frame);
        (&self.stream).write_all(&frame).await
    }

    /// Reads what the socket has into the buffer (dropping frames already parsed); 0 at the
    /// end of the stream.
    ///
    /// # Errors
    /// Socket read failures.
    pub async fn fill(&mut self) -> io::Result<usize> {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.end == self.buf.len() {
            if self.buf.len() >= MAX_BUFFER {
                return Err(protocol("frame larger than the read buffer cap"));
            }
            self.buf.resize(self.buf.len() * 2, 0);
        }
        let read = (&self.stream).read(&mut self.buf[self.end..]).await?;
        self.end += read;
        Ok(read)
    }

    /// The next complete frame in the buffer: its opcode and where its payload is (see
    /// [`WsClient::payload`]); `None` when more bytes are needed.
    ///
    /// # Errors
    /// A frame no server may send (masked, fragmented).
    pub fn next_frame(&mut self) -> io::Result<Option<(u8, Range<usize>)>> {
        let Some(frame) = parse_frame(&self.buf[self.start..self.end])? else {
            return Ok(None);
        };
        let payload = self.start + frame.header..self.start + frame.header + frame.len;
        self.start = payload.end;
        Ok(Some((frame.opcode, payload)))
    }

    /// The bytes of a payload [`WsClient::next_frame`] returned.
    pub fn payload(&self, range: Range<usize>) -> &[u8] {
        &self.buf[range]
    }

    /// The socket, for the sender thread's blocking writes.
    ///
    /// # Errors
    /// When the socket cannot be switched back to blocking mode.
    pub fn into_blocking(self) -> io::Result<TcpStream> {
        let stream = self.stream.into_inner()?;
        stream.set_nonblocking(false)?;
        Ok(stream)
    }

    /// Reads text messages until one starts with `prefix`, skipping others.
    async fn expect(&mut self, prefix: &[u8]) -> io::Result<()> {
        loop {
            while let Some((op, range)) = self.next_frame()? {
                if op == opcode::TEXT && self.payload(range).starts_with(prefix) {
                    return Ok(());
                }
                if op == opcode::CLOSE {
                    return Err(protocol("closed by the server"));
                }
            }
            if self.fill().await? == 0 {
                return Err(protocol("the server hung up"));
            }
        }
    }
}

/// A server frame's header, parsed.
#[derive(Debug, PartialEq, Eq)]
pub struct FrameHead {
    /// The opcode (low four bits of the first byte).
    pub opcode: u8,
    /// Header length in bytes.
    pub header: usize,
    /// Payload length in bytes.
    pub len: usize,
}

/// Parses the unmasked, unfragmented frame at the start of `buf`; `None` until it is complete.
///
/// # Errors
/// A masked or fragmented frame (a server sends neither).
pub fn parse_frame(buf: &[u8]) -> io::Result<Option<FrameHead>> {
    let [first, second, ..] = *buf else {
        return Ok(None);
    };
    if second & 0x80 != 0 {
        return Err(protocol("masked server frame"));
    }
    if first & 0x80 == 0 {
        return Err(protocol("fragmented server frame"));
    }
    let (header, len) = match second & 0x7f {
        126 => match buf.get(2..4) {
            Some(&[a, b]) => (4, usize::from(u16::from_be_bytes([a, b]))),
            _ => return Ok(None),
        },
        127 => match buf.get(2..10).and_then(|b| <[u8; 8]>::try_from(b).ok()) {
            Some(bytes) => {
                let len = usize::try_from(u64::from_be_bytes(bytes))
                    .map_err(|_| protocol("frame too long"))?;
                (10, len)
            }
            None => return Ok(None),
        },
        short => (2, usize::from(short)),
    };
    if buf.len() - header < len {
        return Ok(None);
    }
    Ok(Some(FrameHead {
        opcode: first & 0x0f,
        header,
        len,
    }))
}

/// Appends a final, masked text frame holding `payload` to `out`.
pub fn encode_text(payload: &[u8], out: &mut Vec<u8>) {
    const MASK: [u8; 4] = [0x5a, 0x17, 0xc3, 0x8e];
    out.push(0x81);
    match payload.len() {
        len @ 0..=125 => out.push(0x80 | len as u8),
        len @ 126..=0xffff => {
            out.push(0x80 | 126);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        }
        len => {
            out.push(0x80 | 127);
            out.extend_from_slice(&(len as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(&MASK);
    out.extend(payload.iter().zip(MASK.iter().cycle()).map(|(b, m)| b ^ m));
}

async fn within<T>(
    timeout: Duration,
    work: impl std::future::Future<Output = io::Result<T>>,
) -> io::Result<T> {
    work.or(async {
        Timer::after(timeout).await;
        Err(io::ErrorKind::TimedOut.into())
    })
    .await
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn protocol(what: &'static str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_frames_parse_once_complete() {
        assert_eq!(parse_frame(b"\x81").unwrap(), None);
        assert_eq!(parse_frame(b"\x81\x03ab").unwrap(), None);
        assert_eq!(
            parse_frame(b"\x81\x03abc").unwrap(),
            Some(FrameHead {
                opcode: 1,
                header: 2,
                len: 3
            })
        );
        let mut long = vec![0x81, 126, 0x01, 0x00];
        long.resize(4 + 256, b'x');
        assert_eq!(parse_frame(&long).unwrap().unwrap().len, 256);
        assert_eq!(parse_frame(&long[..100]).unwrap(), None);
        assert!(parse_frame(b"\x01\x01a").is_err());
        assert!(parse_frame(b"\x81\x81abcde").is_err());
    }

    #[test]
    fn client_frames_are_masked() {
        let mut out = Vec::new();
        encode_text(b"40", &mut out);
        assert_eq!(out[..2], [0x81, 0x82]);
        let mask = &out[2..6];
        assert_eq!([out[6] ^ mask[0], out[7] ^ mask[1]], *b"40");
        let mut out = Vec::new();
        encode_text(&[b'x'; 300], &mut out);
        assert_eq!(out[..4], [0x81, 0x80 | 126, 0x01, 0x2c]);
        assert_eq!(out.len(), 4 + 4 + 300);
    }
}
