//! The driver of the client state machine: one thread owns the [`Client`], reads the clock
//! once per input, executes every output (connection threads for requests and websockets),
//! and hands the application the client's events one at a time.
//!
//! It mirrors the server's driver: inputs arrive over one channel from connection threads;
//! the driver waits for the earlier of an input and the client's next deadline, drains
//! `poll_output` until `Timeout` after every input and command, and never looks inside an
//! Engine.IO or Socket.IO packet.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

use iorelay_core::client::{Client, ClientConfig, ClientEvent, ClientInput, ClientOutput};
use iorelay_core::ConnId;

use super::conn::{spawn_http, spawn_ws, Conn, Endpoint, Net};

/// The longest the driver sleeps without looking at the interrupt flag.
const TICK: Duration = Duration::from_millis(100);

/// What [`Driver::next`] came back with.
#[derive(Debug)]
pub enum Step {
    /// The client reported something.
    Event(ClientEvent),
    /// The time asked for passed with nothing to report.
    Idle,
    /// SIGINT or SIGTERM arrived.
    Interrupted,
}

/// The client, its connections and its clock.
pub struct Driver {
    client: Client,
    endpoint: Endpoint,
    tx: Sender<Net>,
    rx: Receiver<Net>,
    conns: HashMap<ConnId, Arc<Conn>>,
    events: VecDeque<ClientEvent>,
    stop: Arc<AtomicBool>,
}

impl Driver {
    /// A driver for a client with `config`, talking to `endpoint`; SIGINT and SIGTERM set
    /// `stop`.
    #[must_use]
    pub fn new(config: ClientConfig, endpoint: Endpoint, stop: Arc<AtomicBool>) -> Self {
        let (tx, rx) = channel();
        let client = Client::new(config, Instant::now(), crate::process::random_seed());
        Self {
            client,
            endpoint,
            tx,
            rx,
            conns: HashMap::new(),
            events: VecDeque::new(),
            stop,
        }
    }

    /// The state machine, for commands (`connect`, `emit`, …); the next call to
    /// [`Driver::next`] drains what they produced.
    pub fn client(&mut self) -> &mut Client {
        &mut self.client
    }

    /// The next event, waiting at most until `until`.
    pub fn next(&mut self, until: Instant) -> Step {
        loop {
            self.drain();
            if let Some(event) = self.events.pop_front() {
                return Step::Event(event);
            }
            if self.stop.load(Ordering::SeqCst) {
                return Step::Interrupted;
            }
            let now = Instant::now();
            if now >= until {
                return Step::Idle;
            }
            let deadline = self.client.poll_timeout();
            if deadline.is_some_and(|at| at <= now) {
                let _ = self.client.handle_input(ClientInput::Timeout(now));
                continue;
            }
            let wake = [deadline, Some(until), Some(now + TICK)]
                .into_iter()
                .flatten()
                .min()
                .unwrap_or(now + TICK);
            match self.rx.recv_timeout(wake.saturating_duration_since(now)) {
                Ok(net) => {
                    let input = self.input(net, Instant::now());
                    let _ = self.client.handle_input(input);
                }
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => {}
            }
        }
    }

    /// Closes the client and every connection (the close frames written first).
    pub fn close(&mut self) {
        self.client.close(Instant::now());
        self.drain();
        for (_, conn) in self.conns.drain() {
            conn.close();
        }
    }

    fn input(&mut self, net: Net, now: Instant) -> ClientInput {
        match net {
            Net::Reply { conn, status, body } => {
                self.conns.remove(&conn);
                ClientInput::HttpReply {
                    now,
                    conn,
                    status,
                    body,
                }
            }
            Net::WsOpened(conn) => ClientInput::WsOpened { now, conn },
            Net::WsMessage(conn, frame) => ClientInput::WsMessage { now, conn, frame },
            Net::Closed(conn) => {
                self.conns.remove(&conn);
                ClientInput::ConnClosed { now, conn }
            }
        }
    }

    fn drain(&mut self) {
        loop {
            match self.client.poll_output() {
                ClientOutput::Timeout(_) => return,
                ClientOutput::HttpRequest { conn, request } => {
                    let handle = Arc::new(Conn::default());
                    self.conns.insert(conn, Arc::clone(&handle));
                    spawn_http(&self.endpoint, conn, request, handle, self.tx.clone());
                }
                ClientOutput::WsOpen { conn, target } => {
                    let handle = Arc::new(Conn::default());
                    self.conns.insert(conn, Arc::clone(&handle));
                    spawn_ws(&self.endpoint, conn, target, handle, self.tx.clone());
                }
                ClientOutput::WsSend { conn, frame } => {
                    let sent = self.conns.get(&conn).is_some_and(|c| c.send(frame));
                    if !sent {
                        let _ = self.tx.send(Net::Closed(conn));
                    }
                }
                ClientOutput::Close { conn } => {
                    if let Some(handle) = self.conns.remove(&conn) {
                        handle.close();
                    }
                }
                ClientOutput::Event(event) => self.events.push_back(event),
                _ => {}
            }
        }
    }
}
