//! One TCP connection as its threads share it: the socket, what has been read (HTTP or
//! websocket), and the outbound queue. A reader thread runs for the connection's life; a
//! writer thread runs while there is something to write or a deadline to keep, started by
//! whoever queues work for it (`Conn::start_writer_if`).
//!
//! Locks: `inbound` is taken by the reader (bytes arrived) and the writer (a reply or the 101
//! was written), never by the driver; while holding it a thread may take the outbound queue's
//! lock and send to the driver, so inputs from one connection reach the driver in the order
//! they were read. The driver only touches the outbound queue and the socket, so it never
//! waits on a connection thread.

use std::net::{IpAddr, Shutdown, TcpStream};
use std::sync::mpsc::SyncSender;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use bytes::Bytes;
use iorelay_core::http::CONTINUE;
use iorelay_core::relay::measure::Measurement;
use iorelay_core::ConnId;
use iorelay_std::flush_window::Writer;
use iorelay_std::measurements::Measurements;
use iorelay_std::protect::Ticket;

use super::driver::Msg;
use super::http_conn::{HttpIn, HttpStep, Pending};
use super::outbound::{Item, Outbound, Pushed, StartWriter};
use super::ws_conn::{WsEnd, WsIn, WsStep};
use super::{threads, writer, Settings};

/// A connection shared by its reader thread, its writer thread (when one runs) and the driver.
#[derive(Debug)]
pub struct Conn {
    /// The id the engine knows it by.
    pub id: ConnId,
    /// What the writer sends.
    pub outbound: Outbound,
    /// Its place under the connection caps, freed when the last holder drops the connection.
    ticket: Ticket,
    stream: TcpStream,
    inbound: Mutex<Inbound>,
    to_driver: SyncSender<Msg>,
    /// Where the writer records request latencies (no driver wake-up of their own).
    measurements: Arc<Measurements>,
    settings: Arc<Settings>,
}

/// How the bytes read are understood.
#[derive(Debug)]
enum Inbound {
    Http(HttpIn),
    WebSocket(WsIn),
    /// Nothing more is read as requests or messages (after a closing reply, a close, or a
    /// websocket error): bytes are dropped until the connection ends.
    Discard,
}

impl Conn {
    /// A new HTTP connection.
    pub fn new(
        id: ConnId,
        stream: TcpStream,
        ticket: Ticket,
        to_driver: SyncSender<Msg>,
        measurements: Arc<Measurements>,
        settings: Arc<Settings>,
    ) -> Self {
        let now = Instant::now();
        let http = HttpIn::new(now);
        let outbound = Outbound::new(settings.queue_bound);
        // The acceptor starts the first writer with the connection: no start to ask for.
        let _ = outbound.set_deadline(http.deadline(&settings));
        Self {
            id,
            outbound,
            ticket,
            stream,
            inbound: Mutex::new(Inbound::Http(http)),
            to_driver,
            measurements,
            settings,
        }
    }

    /// The peer's address.
    pub fn peer(&self) -> IpAddr {
        self.ticket.peer()
    }

    /// The socket, for reading and writing (`&TcpStream` implements both).
    pub fn stream(&self) -> &TcpStream {
        &self.stream
    }

    /// Sends a message to the driver (blocking while its channel is full).
    pub fn send(&self, msg: Msg) {
        // The driver only goes away when the process exits.
        let _ = self.to_driver.send(msg);
    }

    /// Writer: a request's latency (or another measurement), for the driver's next wake-up.
    pub fn measured(&self, measurement: Measurement) {
        self.measurements.record(measurement);
    }

    /// Driver: queues `item` and wakes the writer (starting one if none runs).
    pub fn push(self: &Arc<Self>, item: Item) -> Pushed {
        let (pushed, start) = self.outbound.push(item);
        self.start_writer_if(start);
        pushed
    }

    /// Starts a writer thread when the queue says none runs; a connection whose writer cannot
    /// start is aborted (its reader then reports the close).
    pub fn start_writer_if(self: &Arc<Self>, start: StartWriter) {
        if !start {
            return;
        }
        if let Err(err) = threads::spawn(self, "w", writer::run) {
            iorelay_std::log!(Warn, "conn {}: cannot start its writer: {err}", self.id.0);
            self.abort();
        }
    }

    /// Reader: `data` arrived from the peer.
    pub fn on_bytes(self: &Arc<Self>, data: &[u8]) {
        let now = Instant::now();
        let mut inbound = self.lock();
        match &mut *inbound {
            Inbound::Http(http) => {
                let step = http.on_bytes(data, now, &self.settings);
                self.apply_http(http, step);
            }
            Inbound::WebSocket(ws) => {
                let step = ws.on_bytes(data);
                self.apply_ws(&mut inbound, step);
            }
            Inbound::Discard => {}
        }
    }

    /// Reader: the connection ended (peer close, error, or an abort woke the read).
    pub fn reader_ended(&self) {
        if !self.outbound.reader_gone() {
            // No writer runs to end the connection once it has flushed: end it here.
            self.abort();
        }
        self.send(Msg::Closed { conn: self.id });
    }

    /// Writer: how to write the reply to the pending request.
    pub fn pending(&self) -> Option<Pending> {
        match &*self.lock() {
            Inbound::Http(http) => http.pending().cloned(),
            _ => None,
        }
    }

    /// Writer: the reply to the pending request is written. False when the connection must
    /// close now (the request did not keep it alive).
    pub fn reply_written(self: &Arc<Self>) -> bool {
        let now = Instant::now();
        let mut inbound = self.lock();
        let Inbound::Http(http) = &mut *inbound else {
            return false;
        };
        match http.reply_written(now, &self.settings) {
            Some(step) => {
                self.apply_http(http, step);
                true
            }
            None => {
                *inbound = Inbound::Discard;
                let _ = self.outbound.set_deadline(None);
                self.outbound.set_paused(false);
                false
            }
        }
    }

    /// Writer: the 101 is written; from here on the connection speaks websocket, starting
    /// with the bytes that arrived behind the upgrade request.
    pub fn accept_written(self: &Arc<Self>) {
        let mut inbound = self.lock();
        let Inbound::Http(http) = &mut *inbound else {
            return;
        };
        let mut ws = WsIn::new(http.take_buffered(), self.settings.max_payload);
        let step = ws.on_bytes(&[]);
        *inbound = Inbound::WebSocket(ws);
        let _ = self.outbound.set_deadline(None);
        self.outbound.set_paused(false);
        self.apply_ws(&mut inbound, step);
    }

    /// Ends the connection now: queued output is dropped, the socket is shut down (which
    /// wakes the reader, which reports the close) and the writer stops.
    pub fn abort(&self) {
        self.outbound.abort();
        let _ = self.stream.shutdown(Shutdown::Both);
    }

    /// Aborts a connection whose peer stopped reading, with a reset: its unread output is
    /// dropped and the peer learns at once (see `iorelay_std::reset`).
    pub fn cut_off(&self) {
        iorelay_std::reset::on_close(&self.stream);
        self.abort();
    }

    fn apply_http(self: &Arc<Self>, http: &HttpIn, step: HttpStep) {
        match step {
            HttpStep::Nothing => {}
            HttpStep::Request { head, body } => self.send(Msg::Http {
                conn: self.id,
                head,
                body,
            }),
            HttpStep::Reject(response) => self.push_own(Item::Reply(response)),
            HttpStep::Continue => self.push_own(Item::Control(Bytes::from_static(CONTINUE))),
        }
        let start = self.outbound.set_deadline(http.deadline(&self.settings));
        self.start_writer_if(start);
        self.outbound.set_paused(http.is_paused());
    }

    /// Queues what the connection itself sends; a peer flooding pings without reading (the
    /// queue far past its cap) is cut off.
    fn push_own(self: &Arc<Self>, item: Item) {
        match self.outbound.push_own(item) {
            Ok(start) => self.start_writer_if(start),
            Err(_) => {
                iorelay_std::log!(Warn, "conn {}: flooded with pings, closing", self.id.0);
                self.cut_off();
            }
        }
    }

    fn apply_ws(self: &Arc<Self>, inbound: &mut Inbound, step: WsStep) {
        for frame in step.messages {
            self.send(Msg::WsMessage {
                conn: self.id,
                frame,
            });
        }
        if let Some(control) = step.control {
            self.push_own(Item::Control(control));
        }
        let Some(end) = step.end else {
            return;
        };
        *inbound = Inbound::Discard;
        match end {
            WsEnd::PeerClosed => self.push_own(Item::Finish),
            WsEnd::TooLarge => self.send(Msg::WsTooLarge { conn: self.id }),
            WsEnd::Failed { code, reason } => {
                iorelay_std::log!(Debug, "conn {}: websocket {reason}, closing", self.id.0);
                self.push_own(Item::Close { code, reason });
            }
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inbound> {
        self.inbound.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Writer for Conn {
    /// Driver: sends what was queued with `Outbound::push_deferred` if the socket takes it
    /// at once, else wakes (or starts) the writer for it.
    fn wake_writer(self: &Arc<Self>) {
        let start = self
            .outbound
            .wake_or_send(|slices| iorelay_std::send_now::send(&self.stream, slices));
        self.start_writer_if(start);
    }
}
