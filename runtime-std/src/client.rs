//! A blocking HTTP/1.1 client for one request to a local relay, bounded by one deadline.
//!
//! Why here: `iorelay emit`, `iorelay status`/`stop` and the busy-port check all make one
//! short request to a relay and must never hang; they run in both binaries, and this crate is
//! the IO crate both share (DESIGN §1). A full HTTP client crate would bring TLS, pools and
//! async runtimes that a loopback request with a deadline does not need.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

/// Largest response head read before giving up.
const MAX_HEAD: usize = 16 * 1024;
/// Largest response body read before giving up.
const MAX_BODY: usize = 16 * 1024 * 1024;

/// One request to make.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    /// `GET`, `POST`, …
    pub method: &'a str,
    /// Path and query, e.g. `/api/hooks`.
    pub path: &'a str,
    /// JSON body, sent with `content-type: application/json` when present.
    pub body: Option<&'a [u8]>,
    /// Sent as `authorization: Bearer <token>` when present.
    pub token: Option<&'a str>,
}

/// A response: status and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// HTTP status code.
    pub status: u16,
    /// The body, exactly as sent.
    pub body: Vec<u8>,
}

impl Reply {
    /// The body as text (lossy).
    #[must_use]
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Makes `request` to `host:port` and reads the reply, all before `deadline`.
///
/// # Errors
/// The address does not resolve, the connection is refused, the deadline passes, or the reply
/// is not HTTP/1.1 with a readable body; the error says which.
pub fn send(host: &str, port: u16, request: &Request<'_>, deadline: Instant) -> io::Result<Reply> {
    let addr = resolve(host, port)?;
    let mut stream = TcpStream::connect_timeout(&addr, remaining(deadline)?)?;
    stream.set_nodelay(true)?;
    stream.set_write_timeout(Some(remaining(deadline)?))?;
    stream.write_all(&encode(host, port, request))?;
    read_reply(&mut stream, deadline)
}

pub(crate) fn resolve(host: &str, port: u16) -> io::Result<SocketAddr> {
    (host, port).to_socket_addrs()?.next().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::NotFound,
            format!("{host}:{port} does not resolve"),
        )
    })
}

fn remaining(deadline: Instant) -> io::Result<Duration> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        Err(io::Error::new(io::ErrorKind::TimedOut, "deadline passed"))
    } else {
        Ok(left)
    }
}

fn encode(host: &str, port: u16, request: &Request<'_>) -> Vec<u8> {
    let mut head = format!(
        "{} {} HTTP/1.1\r\nhost: {host}:{port}\r\nconnection: close\r\n",
        request.method, request.path
    );
    if let Some(token) = request.token {
        head.push_str(&format!("authorization: Bearer {token}\r\n"));
    }
    let body = request.body.unwrap_or_default();
    if request.body.is_some() {
        head.push_str("content-type: application/json\r\n");
    }
    head.push_str(&format!("content-length: {}\r\n\r\n", body.len()));
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

pub(crate) fn read_reply(stream: &mut TcpStream, deadline: Instant) -> io::Result<Reply> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 8192];
    loop {
        stream.set_read_timeout(Some(remaining(deadline)?))?;
        let n = stream.read(&mut chunk)?;
        buf.extend_from_slice(&chunk[..n]);
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut response = httparse::Response::new(&mut headers);
        let parsed = response.parse(&buf).map_err(invalid)?;
        if let httparse::Status::Complete(head_len) = parsed {
            let status = response.code.unwrap_or(0);
            let length = response
                .headers
                .iter()
                .find(|h| h.name.eq_ignore_ascii_case("content-length"))
                .and_then(|h| {
                    std::str::from_utf8(h.value)
                        .ok()?
                        .trim()
                        .parse::<usize>()
                        .ok()
                });
            return read_body(stream, buf.split_off(head_len), length, deadline)
                .map(|body| Reply { status, body });
        }
        if n == 0 {
            return Err(invalid("connection closed before the reply head"));
        }
        if buf.len() > MAX_HEAD {
            return Err(invalid("reply head too large"));
        }
    }
}

/// Reads the body: `length` bytes, or until the server closes when it sent no length.
fn read_body(
    stream: &mut TcpStream,
    mut body: Vec<u8>,
    length: Option<usize>,
    deadline: Instant,
) -> io::Result<Vec<u8>> {
    let want = length.unwrap_or(MAX_BODY);
    if want > MAX_BODY {
        return Err(invalid("reply body too large"));
    }
    let mut chunk = [0u8; 8192];
    while body.len() < want {
        stream.set_read_timeout(Some(remaining(deadline)?))?;
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            if length.is_some() {
                return Err(invalid("connection closed inside the reply body"));
            }
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    body.truncate(want);
    Ok(body)
}

fn invalid(error: impl std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    /// Serves one connection with `reply` and returns the request it read.
    fn serve_once(reply: &'static [u8]) -> (u16, std::thread::JoinHandle<Vec<u8>>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let handle = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            stream
                .set_read_timeout(Some(Duration::from_secs(5)))
                .unwrap();
            let mut request = vec![0u8; 4096];
            let n = stream.read(&mut request).unwrap();
            request.truncate(n);
            stream.write_all(reply).unwrap();
            request
        });
        (port, handle)
    }

    #[test]
    fn a_post_sends_its_body_and_token_and_reads_the_reply() {
        let (port, server) =
            serve_once(b"HTTP/1.1 202 Accepted\r\ncontent-length: 14\r\n\r\n{\"accepted\":1}");
        let request = Request {
            method: "POST",
            path: "/api/hooks",
            body: Some(b"{}"),
            token: Some("s3cret"),
        };
        let deadline = Instant::now() + Duration::from_secs(5);
        let reply = send("127.0.0.1", port, &request, deadline).unwrap();
        assert_eq!(reply.status, 202);
        assert_eq!(reply.text(), "{\"accepted\":1}");
        let sent = String::from_utf8(server.join().unwrap()).unwrap();
        assert!(sent.starts_with("POST /api/hooks HTTP/1.1\r\n"), "{sent}");
        assert!(sent.contains("authorization: Bearer s3cret\r\n"), "{sent}");
        assert!(sent.ends_with("content-length: 2\r\n\r\n{}"), "{sent}");
    }

    #[test]
    fn a_server_that_never_answers_is_given_up_at_the_deadline() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let request = Request {
            method: "GET",
            path: "/health",
            body: None,
            token: None,
        };
        let started = Instant::now();
        let result = send(
            "127.0.0.1",
            port,
            &request,
            started + Duration::from_millis(200),
        );
        assert!(result.is_err());
        assert!(started.elapsed() < Duration::from_secs(2));
        drop(listener);
    }

    #[test]
    fn a_closed_port_is_an_error() {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let request = Request {
            method: "GET",
            path: "/health",
            body: None,
            token: None,
        };
        let deadline = Instant::now() + Duration::from_secs(2);
        assert!(send("127.0.0.1", port, &request, deadline).is_err());
    }
}
