//! The driver: the state that owns the `Engine` and routes its outputs.
//!
//! Why this shape (DESIGN §3): the engine is a plain state machine, fed one input at a time
//! and drained of `poll_output` until `Timeout`; each output goes to its connection's
//! outbound queue. Routing never waits on a socket: queues only report pressure, which
//! becomes `Input::Congestion` fed after the drain. Who runs the driver, and when, is
//! [`crate::turns`]'s business: the driver itself never waits.
//!
//! Websocket data messages are framed here, not by each connection task: a broadcast's
//! `Output::WsBroadcast` is framed once and every recipient gets a clone of that framed
//! `Bytes` (DESIGN §2 rule 6), which the keeper or the writer sends verbatim.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Instant;

use iorelay_core::relay::measure::Measurement;
use iorelay_core::{ConnId, Input, Output, Relay};
use iorelay_std::flush_window::{Routed, TASK_WINDOW};
use iorelay_std::log;
use iorelay_std::measurements::Measurements;
use iorelay_std::persist::Persistence;
use iorelay_std::wsframe::data_frame;

use crate::outbound::{Outbound, OutboundQueue, Pushed};

/// What connection tasks, the listener and other threads tell the driver.
#[derive(Debug)]
pub enum ToDriver {
    /// A connection was accepted; its task reads from `queue`. Sent before any input of `conn`.
    Opened {
        /// The new connection.
        conn: ConnId,
        /// Where the driver routes its outputs.
        queue: Arc<OutboundQueue>,
    },
    /// Something for the engine.
    Input(Input),
}

/// The owner of the engine and of the routing table from connections to their queues.
pub struct Driver {
    engine: Relay,
    /// The history store, in relay mode; closed (flushed) when the driver ends.
    persistence: Option<Persistence>,
    /// A client asked the relay to stop (`POST /api/shutdown`).
    stop_requested: bool,
    conns: HashMap<ConnId, Arc<OutboundQueue>>,
    /// The engine's next deadline, as its last drain said.
    deadline: Option<Instant>,
    pending: VecDeque<Input>,
    /// Queues routed broadcast messages since the turn keeper last sent to them: each is sent
    /// to once per burst, after every input of the burst was fed (see
    /// `OutboundQueue::push_deferred`), and at most once per flush window under load.
    routed: Routed<OutboundQueue>,
    /// The Redis threads, in cluster mode.
    cluster: Option<iorelay_std::cluster::ClusterLink>,
    /// Request measurements, fed at the start of every burst.
    measurements: Arc<Measurements>,
}

/// When the driver next needs a turn that no input brings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Due {
    /// The engine's next deadline (feed `Input::Timeout`).
    pub deadline: Option<Instant>,
    /// The end of the flush window (wake what was routed).
    pub flush: Option<Instant>,
    /// A client asked the relay to stop.
    pub stop: bool,
}

impl Driver {
    /// A driver for `engine`.
    pub fn new(
        engine: Relay,
        persistence: Option<Persistence>,
        measurements: Arc<Measurements>,
    ) -> Self {
        Self {
            engine,
            persistence,
            stop_requested: false,
            conns: HashMap::new(),
            deadline: None,
            pending: VecDeque::new(),
            routed: Routed::new(TASK_WINDOW),
            cluster: None,
            measurements,
        }
    }

    /// The Redis threads that run the relay's cluster commands.
    pub fn with_cluster(mut self, link: Option<iorelay_std::cluster::ClusterLink>) -> Self {
        self.cluster = link;
        self
    }

    /// Starts a burst: the request measurements recorded since the last one.
    pub fn begin_burst(&mut self) {
        for measured in self.measurements.take() {
            self.feed(measured);
        }
    }

    /// Ends a connection task's burst: says when the driver next needs a turn of its own,
    /// the turn keeper's (`flush` is `now` when a broadcast was routed after a quiet spell).
    ///
    /// Why the keeper sends every broadcast, not the task that routed it: sending to a
    /// thousand clients from a poster's turn makes its reply wait behind the sends, and waking
    /// a thousand writer tasks to copy the same frames cost more than the sends themselves.
    pub fn end_burst(&self, now: Instant) -> Due {
        Due {
            deadline: self.deadline,
            flush: self.routed.release_at(now),
            stop: self.stop_requested,
        }
    }

    /// Ends the turn keeper's burst: moves what the flush window releases to `to_send`, which
    /// the keeper sends to once it has let go of the driver (`OutboundQueue::send_or_wake`),
    /// and says when the driver next needs a turn of its own.
    pub fn end_keeper_burst(&mut self, now: Instant, to_send: &mut Vec<Arc<OutboundQueue>>) -> Due {
        Due {
            deadline: self.deadline,
            flush: self.routed.hand_over_or_hold(now, to_send),
            stop: self.stop_requested,
        }
    }

    /// The engine's deadline passed (or may have): feeds `Input::Timeout`.
    pub fn on_deadline(&mut self, now: Instant) {
        self.feed(Input::Timeout(now));
    }

    /// Shuts the engine down, routes its last outputs and closes every queue so connections
    /// flush and end; closes (flushes) the history store.
    pub fn shut_down(&mut self) {
        log!(Info, "shutting down");
        self.engine.shutdown(Instant::now());
        self.drain();
        for queue in self.conns.values() {
            queue.close();
        }
        if let Some(persistence) = self.persistence.take() {
            persistence.close();
        }
    }

    /// One message: a connection to route to, or an input to feed.
    pub fn on_message(&mut self, message: ToDriver) {
        match message {
            ToDriver::Opened { conn, queue } => {
                self.conns.insert(conn, queue);
            }
            ToDriver::Input(input) => {
                let closed = match &input {
                    Input::ConnClosed { conn, .. } => Some(*conn),
                    _ => None,
                };
                if let (
                    Input::Measured {
                        measurement: Measurement::StoreCommit { .. },
                        ..
                    },
                    Some(persistence),
                ) = (&input, &self.persistence)
                {
                    self.engine.set_store_health(persistence.health());
                }
                self.feed(input);
                if let Some(queue) = closed.and_then(|conn| self.conns.remove(&conn)) {
                    queue.close();
                }
            }
        }
    }

    /// Feeds one input, then everything the drain produced for the engine to hear.
    fn feed(&mut self, input: Input) {
        let mut next = Some(input);
        while let Some(input) = next {
            if let Err(misuse) = self.engine.handle_input(input) {
                log!(Error, "engine refused an input: {misuse}");
            }
            self.drain();
            next = self.pending.pop_front();
        }
    }

    /// Drains `poll_output` until `Timeout`, executing each output.
    fn drain(&mut self) {
        loop {
            match self.engine.poll_output() {
                Output::Timeout(at) => {
                    self.deadline = at;
                    return;
                }
                output => self.execute(output),
            }
        }
    }

    /// Executes one output other than `Timeout`: routes it to its connection's queue.
    fn execute(&mut self, output: Output) {
        match output {
            Output::HttpReply { conn, response } => {
                self.route(conn, Outbound::Reply(Box::new(response)))
            }
            Output::WsAccept { conn } => self.route(conn, Outbound::Accept),
            Output::WsSend { conn, frame } => {
                self.route(conn, Outbound::Message(data_frame(&frame)));
            }
            Output::WsBroadcast { conns, frame } => {
                let framed = data_frame(&frame);
                for conn in conns {
                    self.route(conn, Outbound::Message(framed.clone()));
                }
            }
            Output::WsClose { conn, code, reason } => {
                self.route(conn, Outbound::Close { code, reason });
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
            other => log!(Debug, "unhandled output {other:?}"),
        }
    }

    fn route(&mut self, conn: ConnId, item: Outbound) {
        let Some(queue) = self.conns.get(&conn) else {
            log!(Debug, "conn {}: gone, dropping {item:?}", conn.0);
            return;
        };
        // A broadcast's messages wait for the end of the burst; anything else (an HTTP reply
        // a poster waits on before it sends the next event) goes out at once, ahead of them.
        let deferred = matches!(item, Outbound::Message(_));
        let (pushed, first) = queue.push_deferred(item);
        if !deferred {
            queue.wake();
        } else if first {
            self.routed.add(Arc::clone(queue));
        }
        match pushed {
            Pushed::Queued => {}
            Pushed::Congested => self.pending.push_back(Input::Congestion {
                now: Instant::now(),
                conn,
                congested: true,
            }),
            Pushed::Overflowed => {
                log!(Warn, "conn {}: outbound queue overflowed, closing", conn.0);
                // The engine closes the session as a slow consumer (and counts it).
                self.pending.push_back(Input::QueueOverflow {
                    now: Instant::now(),
                    conn,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use iorelay_core::engineio::packet::Frame;
    use iorelay_core::Config;

    /// The one item queued on `queue`, which must be a message.
    fn queued(queue: &OutboundQueue) -> Bytes {
        let batch = smol::block_on(queue.next_batch(usize::MAX)).expect("an item");
        match <[Outbound; 1]>::try_from(batch) {
            Ok([Outbound::Message(framed)]) => framed,
            other => panic!("expected one message, got {other:?}"),
        }
    }

    #[test]
    fn the_recipients_of_a_broadcast_are_queued_one_shared_frame() {
        let engine = Relay::new(Config::default(), Instant::now(), [7; 32]);
        let mut driver = Driver::new(engine, None, Arc::default());
        let queues = [ConnId(1), ConnId(2)].map(|conn| {
            let queue = Arc::new(OutboundQueue::new(1024));
            let opened = ToDriver::Opened {
                conn,
                queue: Arc::clone(&queue),
            };
            driver.on_message(opened);
            (conn, queue)
        });

        let payload = Bytes::from(br#"42["news",1]"#.to_vec());
        driver.execute(Output::WsBroadcast {
            conns: queues.iter().map(|(conn, _)| *conn).collect(),
            frame: Frame::Text(payload),
        });

        let [(_, a), (_, b)] = &queues;
        let (to_a, to_b) = (queued(a), queued(b));
        assert_eq!(to_a.as_ptr(), to_b.as_ptr(), "one frame, shared");
        assert_eq!(&to_a[..], b"\x81\x0c42[\"news\",1]");
        assert!(driver.pending.is_empty());
        assert!(!a.written(to_a.len()), "the framed length was counted");
    }
}
