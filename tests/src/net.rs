//! The network target: a real server binary started with `serve --conformance --port 0`
//! (or, for the relay scenarios, `serve --port 0`; see [`crate::process`]),
//! spoken to over loopback with raw HTTP/1.1 and tungstenite websockets.
//!
//! Each request runs on its own connection and thread, so a held poll can be outstanding while
//! the scenario does something else; every wait is bounded.

use std::collections::BTreeMap;
use std::io::Write;
use std::net::{Shutdown, TcpStream};
use std::path::PathBuf;
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use tungstenite::protocol::WebSocket;
use tungstenite::Message;

use crate::process::Server;
use crate::raw::Client;
use crate::target::{HttpId, HttpReply, KeepAliveId, Msg, Target, WsEvent, WsId};

/// A running server binary.
pub struct Net {
    label: &'static str,
    server: Server,
    next_id: u64,
    http: BTreeMap<u64, (TcpStream, Receiver<Option<HttpReply>>)>,
    ws: BTreeMap<u64, WsConn>,
    keep_alive: BTreeMap<u64, Client>,
}

struct WsConn {
    socket: Arc<Mutex<WebSocket<TcpStream>>>,
    events: Receiver<WsEvent>,
}

/// The path of a workspace binary built next to the running test executable.
#[must_use]
pub fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target directory");
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} not found: build it first (cargo build -p iorelay-smol -p iorelay-std)",
        path.display()
    );
    path
}

impl Net {
    /// Starts `binary` in conformance mode on a free port and waits (at most 10 s) for its
    /// listening line.
    #[must_use]
    pub fn start(label: &'static str, binary: PathBuf, extra_args: &[&str]) -> Self {
        let mut args = vec!["--conformance"];
        args.extend_from_slice(extra_args);
        Self::start_relay(label, binary, &args)
    }

    /// Starts `binary` as a relay (no `--conformance`: the relay's routes and namespaces)
    /// with `args` on a free port and waits (at most 10 s) for its listening line.
    #[must_use]
    pub fn start_relay(label: &'static str, binary: PathBuf, args: &[&str]) -> Self {
        Self {
            label,
            server: Server::start(label, binary, args, &[]),
            next_id: 1,
            http: BTreeMap::new(),
            ws: BTreeMap::new(),
            keep_alive: BTreeMap::new(),
        }
    }

    /// `host:port` the server listens on.
    #[must_use]
    pub fn addr(&self) -> &str {
        self.server.addr()
    }

    fn connect(&self) -> TcpStream {
        let stream = TcpStream::connect(self.addr()).expect("connect to the server under test");
        stream.set_nodelay(true).ok();
        stream
    }
}

fn spawn_reader(stream: TcpStream, tx: Sender<Option<HttpReply>>) {
    thread::spawn(move || {
        let reply = Client::from_stream(stream, Duration::from_secs(30)).try_response();
        let _ = tx.send(reply);
    });
}

impl Target for Net {
    fn label(&self) -> &'static str {
        self.label
    }

    fn send_http(&mut self, method: &str, target: &str, body: &[u8]) -> HttpId {
        let mut stream = self.connect();
        let head = format!(
            "{method} {target} HTTP/1.1\r\nHost: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            self.addr(),
            body.len()
        );
        let mut request = head.into_bytes();
        request.extend_from_slice(body);
        // A server may refuse an over-large body and close before reading it all.
        let _ = stream.write_all(&request);
        let (tx, rx) = channel();
        spawn_reader(stream.try_clone().expect("clone stream"), tx);
        let id = self.next_id;
        self.next_id += 1;
        self.http.insert(id, (stream, rx));
        HttpId(id)
    }

    fn wait_http(&mut self, id: HttpId, within: Duration) -> Option<HttpReply> {
        let (_, rx) = self.http.get(&id.0)?;
        match rx.recv_timeout(within) {
            Ok(reply) => {
                self.http.remove(&id.0);
                reply
            }
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => None,
        }
    }

    fn abort_http(&mut self, id: HttpId) {
        if let Some((stream, _)) = self.http.remove(&id.0) {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }

    fn open_ws(&mut self, target: &str) -> Result<WsId, HttpReply> {
        let stream = self.connect();
        let url = format!("ws://{}{target}", self.addr());
        let socket = match tungstenite::client(url.as_str(), stream) {
            Ok((socket, _)) => socket,
            Err(tungstenite::HandshakeError::Failure(tungstenite::Error::Http(response))) => {
                return Err(HttpReply {
                    status: response.status().as_u16(),
                    headers: Vec::new(),
                    body: response.body().clone().unwrap_or_default(),
                })
            }
            Err(e) => panic!(
                "[{}] websocket handshake to {target} failed: {e}",
                self.label
            ),
        };
        socket
            .get_ref()
            .set_read_timeout(Some(Duration::from_millis(5)))
            .expect("read timeout");
        let socket = Arc::new(Mutex::new(socket));
        let (tx, events) = channel();
        let reader = Arc::clone(&socket);
        thread::spawn(move || loop {
            let result = reader.lock().expect("ws lock").read();
            match result {
                Ok(Message::Text(t)) => {
                    if tx
                        .send(WsEvent::Msg(Msg::Text(t.as_str().to_owned())))
                        .is_err()
                    {
                        return;
                    }
                }
                Ok(Message::Binary(b)) => {
                    if tx.send(WsEvent::Msg(Msg::Binary(b.to_vec()))).is_err() {
                        return;
                    }
                }
                Ok(Message::Close(frame)) => {
                    let _ = tx.send(WsEvent::Closed(frame.map(|f| u16::from(f.code))));
                    return;
                }
                Ok(_) => {}
                Err(tungstenite::Error::Io(e))
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    thread::sleep(Duration::from_millis(1));
                }
                Err(_) => {
                    let _ = tx.send(WsEvent::Closed(None));
                    return;
                }
            }
        });
        let id = self.next_id;
        self.next_id += 1;
        self.ws.insert(id, WsConn { socket, events });
        Ok(WsId(id))
    }

    fn ws_send(&mut self, ws: WsId, msg: Msg) {
        let Some(conn) = self.ws.get(&ws.0) else {
            return;
        };
        let message = match msg {
            Msg::Text(t) => Message::text(t),
            Msg::Binary(b) => Message::binary(b),
        };
        let _ = conn.socket.lock().expect("ws lock").send(message);
    }

    fn ws_recv(&mut self, ws: WsId, within: Duration) -> Option<WsEvent> {
        self.ws.get(&ws.0)?.events.recv_timeout(within).ok()
    }

    fn pass(&mut self, duration: Duration) {
        let end = Instant::now() + duration;
        while Instant::now() < end {
            thread::sleep(end.saturating_duration_since(Instant::now()));
        }
    }

    fn open_keep_alive(&mut self) -> KeepAliveId {
        let id = self.next_id;
        self.next_id += 1;
        self.keep_alive.insert(id, Client::connect(self.addr()));
        KeepAliveId(id)
    }

    fn keep_alive_request(
        &mut self,
        conn: KeepAliveId,
        method: &str,
        target: &str,
        body: &[u8],
        within: Duration,
    ) -> Option<HttpReply> {
        let client = self.keep_alive.get_mut(&conn.0)?;
        client.set_read_timeout(within);
        client.send_request(method, target, body);
        client.try_response()
    }
}
