//! The client driver's connections: one thread per connection, like the server's readers,
//! turning socket bytes into what the client state machine hears.
//!
//! An HTTP exchange (a handshake, a poll, a post) is one request on its own connection,
//! answered by [`crate::client::read_reply`]. A websocket is opened with an upgrade request
//! this module writes and checks; from then on tungstenite in the client role, run over an
//! in-memory stream as the server does (`server::ws_conn`), decodes what the reader thread
//! read and masks and frames what the driver sends. Both threads write through one lock, so
//! a pong tungstenite owes and a message the driver sends never interleave.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::mem_stream::MemStream;
use bytes::Bytes;
use iorelay_core::client::ClientRequest;
use iorelay_core::engineio::packet::Frame;
use iorelay_core::ConnId;
use tungstenite::handshake::client::generate_key;
use tungstenite::handshake::derive_accept_key;
use tungstenite::protocol::{Message, Role, WebSocket, WebSocketConfig};

/// How long connecting may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one HTTP exchange may take at most (a held poll lasts up to the ping interval;
/// the state machine closes it earlier when its own deadline passes).
const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(120);
/// How long a write may stall before the peer counts as gone.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest response head of a websocket upgrade.
const MAX_UPGRADE_HEAD: usize = 16 * 1024;

/// What a connection thread reports to the driver (which stamps the time).
#[derive(Debug)]
pub enum Net {
    /// The HTTP reply, or the refusal of an upgrade.
    Reply {
        /// The connection.
        conn: ConnId,
        /// Its status.
        status: u16,
        /// Its body.
        body: Bytes,
    },
    /// The websocket is open.
    WsOpened(ConnId),
    /// A websocket message.
    WsMessage(ConnId, Frame),
    /// The connection ended or could not be made.
    Closed(ConnId),
}

/// Where the relay is and what to send it on every connection.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// Host to connect to.
    pub host: String,
    /// Port.
    pub port: u16,
    /// Bearer token, sent on every request.
    pub token: Option<String>,
    /// The most bytes one message or reply may hold.
    pub max_payload: usize,
}

/// The driver's handle on one connection.
#[derive(Debug, Default)]
pub struct Conn {
    stream: Mutex<Option<TcpStream>>,
    ws: Mutex<Option<WsOut>>,
    closed: AtomicBool,
}

#[derive(Debug)]
struct WsOut {
    socket: WebSocket<MemStream>,
    stream: TcpStream,
}

impl Conn {
    /// Sends one message on an open websocket; false when it is not open or the write failed.
    pub fn send(&self, frame: Frame) -> bool {
        let message = match frame {
            Frame::Text(text) => match String::from_utf8(text.to_vec()) {
                Ok(text) => Message::text(text),
                Err(_) => return false,
            },
            Frame::Binary(data) => Message::binary(data),
        };
        let mut ws = self.ws.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(out) = ws.as_mut() else {
            return false;
        };
        out.socket.send(message).is_ok() && out.flush().is_ok()
    }

    /// Closes the connection (a websocket with a close frame first); the reader thread then
    /// ends.
    pub fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        if let Some(out) = self
            .ws
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_mut()
        {
            let _ = out.socket.close(None);
            let _ = out.flush();
        }
        if let Some(stream) = self
            .stream
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
        {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }

    fn keep(&self, stream: &TcpStream) -> io::Result<()> {
        *self.stream.lock().unwrap_or_else(PoisonError::into_inner) = Some(stream.try_clone()?);
        if self.closed.load(Ordering::SeqCst) {
            let _ = stream.shutdown(Shutdown::Both);
            return Err(io::ErrorKind::ConnectionAborted.into());
        }
        Ok(())
    }
}

impl WsOut {
    fn flush(&mut self) -> io::Result<()> {
        let _ = self.socket.flush();
        let bytes = std::mem::take(&mut self.socket.get_mut().outgoing);
        if bytes.is_empty() {
            return Ok(());
        }
        self.stream.write_all(&bytes)
    }
}

/// Starts the thread of an HTTP exchange on `conn`.
pub fn spawn_http(
    endpoint: &Endpoint,
    conn: ConnId,
    request: ClientRequest,
    handle: Arc<Conn>,
    tx: Sender<Net>,
) {
    let endpoint = endpoint.clone();
    let failed = tx.clone();
    let spawned = std::thread::Builder::new()
        .name(format!("client-{}", conn.0))
        .spawn(move || {
            let reply = exchange(&endpoint, &request, &handle);
            let _ = tx.send(match reply {
                Ok((status, body)) => Net::Reply { conn, status, body },
                Err(_) => Net::Closed(conn),
            });
        });
    if spawned.is_err() {
        let _ = failed.send(Net::Closed(conn));
    }
}

fn exchange(
    endpoint: &Endpoint,
    request: &ClientRequest,
    handle: &Conn,
) -> io::Result<(u16, Bytes)> {
    let mut stream = connect(endpoint)?;
    handle.keep(&stream)?;
    let mut head = format!(
        "{} {} HTTP/1.1\r\nhost: {}:{}\r\nconnection: close\r\n",
        request.method.as_str(),
        request.target,
        endpoint.host,
        endpoint.port
    );
    if let Some(token) = &endpoint.token {
        head.push_str(&format!("authorization: Bearer {token}\r\n"));
    }
    if !request.body.is_empty() {
        head.push_str("content-type: text/plain;charset=UTF-8\r\n");
    }
    head.push_str(&format!("content-length: {}\r\n\r\n", request.body.len()));
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(&request.body);
    stream.write_all(&bytes)?;
    let reply = crate::client::read_reply(&mut stream, Instant::now() + EXCHANGE_TIMEOUT)?;
    if reply.body.len() > endpoint.max_payload {
        return Err(io::ErrorKind::InvalidData.into());
    }
    Ok((reply.status, Bytes::from(reply.body)))
}

/// Starts the thread of a websocket on `conn`: the upgrade, then reading until it ends.
pub fn spawn_ws(
    endpoint: &Endpoint,
    conn: ConnId,
    target: String,
    handle: Arc<Conn>,
    tx: Sender<Net>,
) {
    let endpoint = endpoint.clone();
    let failed = tx.clone();
    let spawned = std::thread::Builder::new()
        .name(format!("client-ws-{}", conn.0))
        .spawn(move || {
            if let Err(net) = run_ws(&endpoint, conn, &target, &handle, &tx) {
                let _ = tx.send(net);
            }
            let _ = tx.send(Net::Closed(conn));
        });
    if spawned.is_err() {
        let _ = failed.send(Net::Closed(conn));
    }
}

fn run_ws(
    endpoint: &Endpoint,
    conn: ConnId,
    target: &str,
    handle: &Conn,
    tx: &Sender<Net>,
) -> Result<(), Net> {
    let closed = || Net::Closed(conn);
    let mut stream = connect(endpoint).map_err(|_| closed())?;
    handle.keep(&stream).map_err(|_| closed())?;
    let key = generate_key();
    let mut head = format!(
        "GET {target} HTTP/1.1\r\nhost: {}:{}\r\nupgrade: websocket\r\nconnection: Upgrade\r\n\
         sec-websocket-version: 13\r\nsec-websocket-key: {key}\r\n",
        endpoint.host, endpoint.port
    );
    if let Some(token) = &endpoint.token {
        head.push_str(&format!("authorization: Bearer {token}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).map_err(|_| closed())?;
    let (status, accept, rest) = read_upgrade(&mut stream).map_err(|_| closed())?;
    if status != 101 {
        return Err(Net::Reply {
            conn,
            status,
            body: Bytes::new(),
        });
    }
    if accept.as_deref() != Some(derive_accept_key(key.as_bytes()).as_str()) {
        return Err(closed());
    }
    stream.set_read_timeout(None).map_err(|_| closed())?;
    let config = WebSocketConfig::default()
        .max_message_size(Some(endpoint.max_payload))
        .max_frame_size(Some(endpoint.max_payload));
    let memory = MemStream::new(&rest[..]);
    let writer = stream.try_clone().map_err(|_| closed())?;
    *handle.ws.lock().unwrap_or_else(PoisonError::into_inner) = Some(WsOut {
        socket: WebSocket::from_raw_socket(memory, Role::Client, Some(config)),
        stream: writer,
    });
    let _ = tx.send(Net::WsOpened(conn));
    let mut buf = vec![0u8; 16 * 1024];
    let mut fresh = 0;
    loop {
        let messages = {
            let mut ws = handle.ws.lock().unwrap_or_else(PoisonError::into_inner);
            let Some(out) = ws.as_mut() else {
                return Ok(());
            };
            out.socket
                .get_mut()
                .incoming
                .extend_from_slice(&buf[..fresh]);
            let (messages, ended) = decode(&mut out.socket);
            if out.flush().is_err() || ended {
                drop(ws);
                send_all(tx, conn, messages);
                return Ok(());
            }
            messages
        };
        send_all(tx, conn, messages);
        fresh = match stream.read(&mut buf) {
            Ok(0) | Err(_) => return Ok(()),
            Ok(n) => n,
        };
    }
}

fn send_all(tx: &Sender<Net>, conn: ConnId, messages: Vec<Frame>) {
    for frame in messages {
        let _ = tx.send(Net::WsMessage(conn, frame));
    }
}

/// Every complete message buffered so far, and whether the websocket ended.
fn decode(socket: &mut WebSocket<MemStream>) -> (Vec<Frame>, bool) {
    let mut messages = Vec::new();
    loop {
        match socket.read() {
            Ok(Message::Text(text)) => messages.push(Frame::Text(text.into())),
            Ok(Message::Binary(data)) => messages.push(Frame::Binary(data)),
            Ok(Message::Close(_)) => return (messages, true),
            Ok(_) => {}
            Err(tungstenite::Error::Io(err)) if err.kind() == io::ErrorKind::WouldBlock => {
                return (messages, false);
            }
            Err(_) => return (messages, true),
        }
    }
}

/// Reads the upgrade reply's head: status, `Sec-WebSocket-Accept`, and the bytes after it.
fn read_upgrade(stream: &mut TcpStream) -> io::Result<(u16, Option<String>, Vec<u8>)> {
    let deadline = Instant::now() + CONNECT_TIMEOUT;
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::ErrorKind::TimedOut.into());
        }
        stream.set_read_timeout(Some(left))?;
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut response = httparse::Response::new(&mut headers);
        let parsed = response
            .parse(&buf)
            .map_err(|_| io::Error::from(io::ErrorKind::InvalidData))?;
        if let httparse::Status::Complete(len) = parsed {
            let accept = response
                .headers
                .iter()
                .find(|h| h.name.eq_ignore_ascii_case("sec-websocket-accept"))
                .and_then(|h| std::str::from_utf8(h.value).ok())
                .map(|v| v.trim().to_owned());
            return Ok((response.code.unwrap_or(0), accept, buf.split_off(len)));
        }
        if buf.len() > MAX_UPGRADE_HEAD {
            return Err(io::ErrorKind::InvalidData.into());
        }
    }
}

fn connect(endpoint: &Endpoint) -> io::Result<TcpStream> {
    let addr = crate::client::resolve(&endpoint.host, endpoint.port)?;
    let stream = TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT)?;
    stream.set_nodelay(true)?;
    stream.set_write_timeout(Some(WRITE_TIMEOUT))?;
    Ok(stream)
}
