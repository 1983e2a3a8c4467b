//! A raw HTTP/1.1 client over one TCP connection with byte-level control: write any bytes,
//! read responses framed by Content-Length, read exact bytes, observe a close.
//!
//! Every read has a timeout, so no test can hang.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use crate::process::WAIT;
use crate::target::HttpReply;

/// The most bytes a response head may take before the client gives up on it.
const MAX_HEAD: usize = 64 * 1024;

/// One raw TCP connection speaking HTTP/1.1.
pub struct Client {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Client {
    /// Connects to `addr` with a read timeout of [`WAIT`].
    ///
    /// # Panics
    /// If the connection is refused.
    #[must_use]
    pub fn connect(addr: &str) -> Self {
        let stream = TcpStream::connect(addr).expect("connect to the server under test");
        stream.set_nodelay(true).expect("nodelay");
        Self::from_stream(stream, WAIT)
    }

    /// A client on a connection already open, whose reads give up after `read_timeout`.
    ///
    /// # Panics
    /// If the timeout cannot be set.
    #[must_use]
    pub fn from_stream(stream: TcpStream, read_timeout: Duration) -> Self {
        stream
            .set_read_timeout(Some(read_timeout))
            .expect("read timeout");
        Self {
            stream,
            buf: Vec::new(),
        }
    }

    /// Reads from now on give up after `within`.
    ///
    /// # Panics
    /// If the timeout cannot be set.
    pub fn set_read_timeout(&mut self, within: Duration) {
        self.stream
            .set_read_timeout(Some(within))
            .expect("read timeout");
    }

    /// Writes raw bytes.
    ///
    /// # Panics
    /// If the write fails.
    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write");
    }

    /// Writes raw bytes, ignoring a failure (the server may have closed already).
    pub fn try_send(&mut self, bytes: &[u8]) {
        let _ = self.stream.write_all(bytes);
    }

    /// Sends a request with a Content-Length and reads its response.
    pub fn request(&mut self, method: &str, path: &str, body: &[u8]) -> HttpReply {
        self.send_request(method, path, body);
        if method == "HEAD" {
            self.response_head_only()
        } else {
            self.response()
        }
    }

    /// Sends a request with a Content-Length without reading the response.
    pub fn send_request(&mut self, method: &str, path: &str, body: &[u8]) {
        let mut raw = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .into_bytes();
        raw.extend_from_slice(body);
        self.send(&raw);
    }

    /// Reads one response (Content-Length framed).
    ///
    /// # Panics
    /// If the connection closes or times out first, or the response does not parse.
    pub fn response(&mut self) -> HttpReply {
        self.try_response()
            .expect("a complete response before the connection closed or timed out")
    }

    /// Reads one response, or `None` when the connection closes or times out first (an
    /// aborted poll).
    ///
    /// # Panics
    /// If the response does not parse.
    pub fn try_response(&mut self) -> Option<HttpReply> {
        let mut response = self.try_response_head()?;
        let length: usize = response
            .header("content-length")
            .map_or(0, |v| v.parse().expect("content-length"));
        while self.buf.len() < length {
            if !self.try_fill() {
                return None;
            }
        }
        response.body = self.buf.drain(..length).collect();
        Some(response)
    }

    /// Reads the head of a response to HEAD: no body follows, whatever Content-Length says.
    ///
    /// # Panics
    /// If the connection closes or times out first, or the head does not parse.
    pub fn response_head_only(&mut self) -> HttpReply {
        self.try_response_head()
            .expect("a response head before the connection closed or timed out")
    }

    fn try_response_head(&mut self) -> Option<HttpReply> {
        let head_end = loop {
            if let Some(at) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break at + 4;
            }
            assert!(
                self.buf.len() < MAX_HEAD,
                "no response head in {MAX_HEAD} bytes"
            );
            if !self.try_fill() {
                return None;
            }
        };
        let head: Vec<u8> = self.buf.drain(..head_end).collect();
        let head = String::from_utf8(head).expect("UTF-8 head");
        let mut lines = head.split("\r\n");
        let status = lines
            .next()
            .and_then(|line| line.split(' ').nth(1))
            .and_then(|code| code.parse().ok())
            .expect("status line");
        let headers = lines
            .filter_map(|line| line.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        Some(HttpReply {
            status,
            headers,
            body: Vec::new(),
        })
    }

    /// Reads exactly `n` bytes (after whatever a response left buffered).
    pub fn read_bytes(&mut self, n: usize) -> Vec<u8> {
        while self.buf.len() < n {
            self.fill();
        }
        self.buf.drain(..n).collect()
    }

    /// Whether the server closes the connection (EOF or reset) within `within`.
    ///
    /// # Panics
    /// If the server sends anything instead.
    pub fn closed_within(&mut self, within: Duration) -> bool {
        assert!(self.buf.is_empty(), "unread bytes {:?}", self.buf);
        self.stream
            .set_read_timeout(Some(within))
            .expect("read timeout");
        let mut chunk = [0u8; 1024];
        let closed = match self.stream.read(&mut chunk) {
            Ok(0) => true,
            Ok(n) => panic!(
                "unexpected bytes {:?} from the server",
                String::from_utf8_lossy(&chunk[..n])
            ),
            Err(err) => !matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
        };
        self.stream
            .set_read_timeout(Some(WAIT))
            .expect("read timeout");
        closed
    }

    fn fill(&mut self) {
        assert!(
            self.try_fill(),
            "connection closed or timed out before a complete response"
        );
    }

    /// Reads what arrives next into the buffer; false on close, error or timeout.
    fn try_fill(&mut self) -> bool {
        let mut chunk = [0u8; 16 * 1024];
        match self.stream.read(&mut chunk) {
            Ok(0) | Err(_) => false,
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                true
            }
        }
    }
}
