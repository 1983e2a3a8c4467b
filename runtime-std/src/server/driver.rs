//! The driver: the one thread that owns the `Engine`. It waits for the earlier of "a message
//! from a connection thread" and "the engine's next deadline", feeds the engine one input
//! with one `Instant::now()`, drains `poll_output` until `Timeout`, and routes each output to
//! the connection's outbound queue.
//!
//! Why no lock around the engine: only this thread touches it, so every decision is made in
//! one place in a total order, exactly as the simulator drives it.
//!
//! Websocket data messages are framed here, not by each connection's writer: a broadcast's
//! `Output::WsBroadcast` is framed once and every recipient gets a clone of that framed
//! `Bytes` (DESIGN §2 rule 6), which each writer copies out verbatim.

use std::collections::{HashMap, VecDeque};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use iorelay_core::engineio::packet::Frame;
use iorelay_core::http::RequestHead;
use iorelay_core::relay::measure::Measurement;
use iorelay_core::{Body, ConnId, Input, Output, Relay};
use iorelay_std::flush_window::{Routed, WINDOW};
use iorelay_std::log;
use iorelay_std::measurements::Measurements;
use iorelay_std::persist::Persistence;
use iorelay_std::wsframe::data_frame;

use super::conn::Conn;
use super::outbound::{Item, Pushed};

/// How long shutdown waits for connections to flush what they were sent.
const SHUTDOWN_FLUSH: Duration = Duration::from_secs(2);

/// What connection threads, the acceptor and the signal handler tell the driver.
#[derive(Debug)]
pub enum Msg {
    /// A connection was accepted (sent before its threads start).
    Opened(Arc<Conn>),
    /// A complete HTTP request.
    Http {
        /// The connection.
        conn: ConnId,
        /// Its head.
        head: RequestHead,
        /// Its body.
        body: Body,
    },
    /// A websocket message.
    WsMessage {
        /// The connection.
        conn: ConnId,
        /// The message.
        frame: Frame,
    },
    /// A websocket message over the size limit.
    WsTooLarge {
        /// The connection.
        conn: ConnId,
    },
    /// The connection's outbound queue drained back under half its bound.
    Drained {
        /// The connection.
        conn: ConnId,
    },
    /// The connection ended (sent once, by its reader, last).
    Closed {
        /// The connection.
        conn: ConnId,
    },
    /// A measurement from elsewhere than a connection's writer (a store commit, a refused
    /// connection); request latencies go through `Measurements`.
    Measured(Measurement),
    /// SIGINT or SIGTERM.
    Shutdown,
    /// The outcome of a cluster command (cluster mode).
    Cluster(iorelay_core::cluster::Report),
}

/// The engine's owner.
#[derive(Debug)]
pub struct Driver {
    engine: Relay,
    /// The history store, in relay mode.
    persistence: Option<Persistence>,
    /// A client asked the relay to stop (`POST /api/shutdown`).
    stop_requested: bool,
    conns: HashMap<ConnId, Arc<Conn>>,
    inbox: Receiver<Msg>,
    deadline: Option<Instant>,
    /// The Redis threads, in cluster mode.
    cluster: Option<iorelay_std::cluster::ClusterLink>,
    /// Connections given websocket frames without a wake-up, woken when the burst ends (at
    /// most once per flush window under load).
    routed: Routed<Conn>,
    /// Request latencies the writers recorded, fed at every wake-up before what woke it.
    measurements: Arc<Measurements>,
}

/// Most inputs a burst takes from the inbox before the writers it fed are woken (or held, see
/// `FlushWindow`): bounds the delay the first frame of a burst waits for its writer.
const BURST: usize = 64;

/// What the run loop does after a message.
enum Flow {
    Go,
    Stop,
}

impl Driver {
    /// A driver for `engine` receiving from `inbox` and taking `measurements`.
    pub fn new(
        engine: Relay,
        persistence: Option<Persistence>,
        inbox: Receiver<Msg>,
        measurements: Arc<Measurements>,
    ) -> Self {
        let deadline = engine.next_deadline();
        Self {
            engine,
            persistence,
            stop_requested: false,
            conns: HashMap::new(),
            inbox,
            deadline,
            cluster: None,
            routed: Routed::new(WINDOW),
            measurements,
        }
    }

    /// The Redis threads that run the relay's cluster commands.
    pub fn with_cluster(mut self, link: Option<iorelay_std::cluster::ClusterLink>) -> Self {
        self.cluster = link;
        self
    }

    /// Runs until a shutdown message, then shuts the engine down and lets connections flush
    /// (at most [`SHUTDOWN_FLUSH`]).
    pub fn run(mut self) {
        // What the relay wants done before any input (cluster mode's first connect).
        self.feed(Input::Timeout(Instant::now()));
        loop {
            let held = self.routed.wake_or_hold(Instant::now());
            let until = match (self.deadline, held) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            let msg = match until {
                Some(at) => {
                    let left = at.saturating_duration_since(Instant::now());
                    match self.inbox.recv_timeout(left) {
                        Ok(msg) => Some(msg),
                        // The engine's deadline, or only the held wake's (the loop's top).
                        Err(RecvTimeoutError::Timeout) => match self.deadline {
                            Some(due) if due <= Instant::now() => None,
                            _ => continue,
                        },
                        Err(RecvTimeoutError::Disconnected) => return,
                    }
                }
                None => match self.inbox.recv() {
                    Ok(msg) => Some(msg),
                    Err(_) => return,
                },
            };
            for measured in self.measurements.take() {
                self.feed(measured);
            }
            if let Flow::Stop = self.handle(msg) {
                return self.shutdown(Instant::now());
            }
            // The rest of the burst; the loop's top wakes the writers it fed.
            for _ in 1..BURST {
                let Ok(msg) = self.inbox.try_recv() else {
                    break;
                };
                if let Flow::Stop = self.handle(Some(msg)) {
                    return self.shutdown(Instant::now());
                }
            }
        }
    }

    /// Feeds one message (`None`: the deadline passed) to the engine.
    fn handle(&mut self, msg: Option<Msg>) -> Flow {
        let now = Instant::now();
        let input = match msg {
            None => Input::Timeout(now),
            Some(Msg::Shutdown) => return Flow::Stop,
            Some(Msg::Measured(measurement)) => {
                if let (Measurement::StoreCommit { .. }, Some(persistence)) =
                    (&measurement, &self.persistence)
                {
                    self.engine.set_store_health(persistence.health());
                }
                Input::Measured { now, measurement }
            }
            Some(Msg::Opened(conn)) => {
                self.conns.insert(conn.id, conn);
                return Flow::Go;
            }
            Some(Msg::Cluster(report)) => Input::Cluster { now, report },
            Some(Msg::Closed { conn }) => {
                if self.conns.remove(&conn).is_none() {
                    return Flow::Go;
                }
                Input::ConnClosed { now, conn }
            }
            Some(msg) => match self.live_input(msg, now) {
                Some(input) => input,
                None => return Flow::Go,
            },
        };
        self.feed(input);
        if self.stop_requested {
            return Flow::Stop;
        }
        Flow::Go
    }

    /// The input for a message about a live connection; `None` when the connection already
    /// closed (a late message from its writer).
    fn live_input(&self, msg: Msg, now: Instant) -> Option<Input> {
        let (conn, input) = match msg {
            Msg::Http { conn, head, body } => (
                conn,
                Input::Http {
                    now,
                    conn,
                    peer: self.conns.get(&conn).map(|c| c.peer()),
                    head,
                    body,
                },
            ),
            Msg::WsMessage { conn, frame } => (conn, Input::WsMessage { now, conn, frame }),
            Msg::WsTooLarge { conn } => (conn, Input::WsTooLarge { now, conn }),
            Msg::Drained { conn } => (
                conn,
                Input::Congestion {
                    now,
                    conn,
                    congested: false,
                },
            ),
            Msg::Opened(_)
            | Msg::Closed { .. }
            | Msg::Measured(_)
            | Msg::Shutdown
            | Msg::Cluster(_) => return None,
        };
        self.conns.contains_key(&conn).then_some(input)
    }

    /// Feeds one input and drains; congestion and overflows found while routing are fed the
    /// same way.
    fn feed(&mut self, input: Input) {
        let mut pressure = VecDeque::new();
        let mut next = Some(input);
        while let Some(input) = next {
            if let Err(err) = self.engine.handle_input(input) {
                log!(Error, "engine refused an input: {err}");
            }
            self.drain(&mut pressure);
            next = pressure.pop_front();
        }
    }

    /// Executes outputs until `Output::Timeout`, which sets the next deadline.
    fn drain(&mut self, pressure: &mut VecDeque<Input>) {
        loop {
            match self.engine.poll_output() {
                Output::Timeout(at) => {
                    self.deadline = at;
                    return;
                }
                output => self.execute(output, pressure),
            }
        }
    }

    /// Executes one output other than `Timeout`: routes it to its connection's queue.
    fn execute(&mut self, output: Output, pressure: &mut VecDeque<Input>) {
        match output {
            Output::HttpReply { conn, response } => {
                self.route(conn, Item::Reply(response), pressure);
            }
            Output::WsAccept { conn } => self.route(conn, Item::Accept, pressure),
            Output::WsSend { conn, frame } => {
                self.route_deferred(conn, Item::Message(data_frame(&frame)), pressure);
            }
            Output::WsBroadcast { conns, frame } => {
                let framed = data_frame(&frame);
                for conn in conns {
                    self.route_deferred(conn, Item::Message(framed.clone()), pressure);
                }
            }
            Output::WsClose { conn, code, reason } => {
                self.route(conn, Item::Close { code, reason }, pressure);
                // A peer that does not read would keep the close frame queued forever.
                if let Some(conn) = self.conns.get(&conn) {
                    if conn.outbound.is_congested() {
                        conn.cut_off();
                    }
                }
            }
            Output::Persist(event) => {
                if let Some(persistence) = &self.persistence {
                    persistence.persist(event);
                }
            }
            Output::Outbox(change) => {
                if let Some(persistence) = &self.persistence {
                    persistence.change_outbox(change);
                }
            }
            Output::StopRequested => {
                log!(Info, "stop requested over HTTP");
                self.stop_requested = true;
            }
            Output::Cluster(command) => {
                if let Some(link) = &self.cluster {
                    link.run(command);
                }
            }
            Output::Event(event) => log!(Debug, "{event:?}"),
            other => log!(Warn, "unhandled engine output {other:?}"),
        }
    }

    /// Queues a websocket frame; its writer is woken when the burst ends.
    fn route_deferred(&mut self, conn: ConnId, item: Item, pressure: &mut VecDeque<Input>) {
        let Some(target) = self.conns.get(&conn) else {
            log!(Debug, "conn {}: closed, output dropped", conn.0);
            return;
        };
        let (pushed, first) = target.outbound.push_deferred(item);
        if first {
            self.routed.add(Arc::clone(target));
        }
        Self::pushed(target, pushed, pressure);
    }

    /// Queues an item and wakes its writer at once (replies, accepts, closes).
    fn route(&self, conn: ConnId, item: Item, pressure: &mut VecDeque<Input>) {
        match self.conns.get(&conn) {
            Some(target) => Self::pushed(target, target.push(item), pressure),
            None => log!(Debug, "conn {}: closed, output dropped", conn.0),
        }
    }

    /// What a push's outcome means: congestion to report, or an overflow that aborts.
    fn pushed(target: &Conn, pushed: Pushed, pressure: &mut VecDeque<Input>) {
        let conn = target.id;
        match pushed {
            Pushed::Queued => {}
            Pushed::NowCongested => pressure.push_back(Input::Congestion {
                now: Instant::now(),
                conn,
                congested: true,
            }),
            Pushed::Overflow => {
                log!(Warn, "conn {}: outbound queue overflow, closing", conn.0);
                target.cut_off();
                // The engine closes the session as a slow consumer (and counts it).
                pressure.push_back(Input::QueueOverflow {
                    now: Instant::now(),
                    conn,
                });
            }
        }
    }

    fn shutdown(mut self, now: Instant) {
        log!(Info, "shutting down");
        self.engine.shutdown(now);
        self.drain(&mut VecDeque::new());
        self.routed.wake_all();
        for conn in self.conns.values() {
            conn.push(Item::Finish);
        }
        let until = now + SHUTDOWN_FLUSH;
        while !self.conns.is_empty() {
            let left = until.saturating_duration_since(Instant::now());
            match self.inbox.recv_timeout(left) {
                Ok(Msg::Closed { conn }) => {
                    self.conns.remove(&conn);
                }
                Ok(Msg::Opened(conn)) => conn.abort(),
                Ok(_) => {}
                Err(_) => break,
            }
        }
        if !self.conns.is_empty() {
            log!(
                Warn,
                "{} connections did not flush in time",
                self.conns.len()
            );
        }
        if let Some(persistence) = self.persistence.take() {
            persistence.close();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::outbound::Wait;
    use super::super::Settings;
    use super::*;
    use bytes::Bytes;
    use iorelay_core::Config;
    use std::net::{TcpListener, TcpStream};
    use std::sync::mpsc::{self, SyncSender};

    fn open(
        id: u64,
        listener: &TcpListener,
        to_driver: &SyncSender<Msg>,
        settings: &Arc<Settings>,
    ) -> Arc<Conn> {
        let stream = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let gate = iorelay_std::protect::Gate::new(&Config::default().relay.protection);
        let ticket = gate.admit(stream.local_addr().unwrap().ip()).unwrap();
        let conn = Conn::new(
            ConnId(id),
            stream,
            ticket,
            to_driver.clone(),
            Arc::default(),
            Arc::clone(settings),
        );
        Arc::new(conn)
    }

    /// The one item queued for `conn` and the weight it counts.
    fn queued(conn: &Conn) -> (Bytes, usize) {
        match conn
            .outbound
            .wait(None, usize::MAX, Duration::from_secs(60))
        {
            Wait::Items(mut items, weight) if items.len() == 1 => match items.pop() {
                Some(Item::Message(framed)) => (framed, weight),
                other => panic!("expected a message, got {other:?}"),
            },
            other => panic!("expected one item, got {other:?}"),
        }
    }

    #[test]
    fn the_recipients_of_a_broadcast_are_queued_one_shared_frame() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let (to_driver, inbox) = mpsc::sync_channel(8);
        let settings = Arc::new(Settings::for_tests());
        let engine = Relay::new(Config::default(), Instant::now(), [7; 32]);
        let mut driver = Driver::new(engine, None, inbox, Arc::default());
        let a = open(1, &listener, &to_driver, &settings);
        let b = open(2, &listener, &to_driver, &settings);
        driver.conns.insert(a.id, Arc::clone(&a));
        driver.conns.insert(b.id, Arc::clone(&b));

        let payload = Bytes::from(br#"42["news",1]"#.to_vec());
        let mut congested = VecDeque::new();
        let broadcast = Output::WsBroadcast {
            conns: vec![a.id, b.id],
            frame: Frame::Text(payload),
        };
        driver.execute(broadcast, &mut congested);

        let (to_a, weight_a) = queued(&a);
        let (to_b, weight_b) = queued(&b);
        assert_eq!(to_a.as_ptr(), to_b.as_ptr(), "one frame, shared");
        assert_eq!(&to_a[..], b"\x81\x0c42[\"news\",1]");
        assert_eq!((weight_a, weight_b), (14, 14), "the framed length counts");
        assert!(congested.is_empty());
    }
}
