//! The accept loop: every accepted socket gets a `ConnId`, an outbound queue the driver knows
//! of, and its own task on the executor.
//!
//! Why this shape: the driver must know a connection's queue before any input of that
//! connection arrives, so `Opened` is sent from here, before the task that produces inputs
//! exists. Ids are numbered here, the one place connections are born.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use async_io::{Async, Timer};
use iorelay_core::relay::measure::Measurement;
use iorelay_core::{ConnId, Input};
use iorelay_std::log;
use iorelay_std::protect::{self, Gate};
use smol::channel::Sender;
use smol::Executor;

use crate::connection::{self, Shared};
use crate::driver::ToDriver;
use crate::outbound::OutboundQueue;

/// How long to back off after a failed accept (out of file descriptors, say).
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// Accepts connections until the driver is gone. Each connection task holds a clone of
/// `alive`, so its receiver sees the channel close once every connection has ended.
pub async fn run(
    listener: Async<TcpListener>,
    executor: Arc<Executor<'static>>,
    shared: Arc<Shared>,
    queue_bound: usize,
    alive: Sender<()>,
    gate: Arc<Gate>,
) {
    let mut next_id = 0u64;
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(err) => {
                log!(Warn, "accept failed: {err}");
                Timer::after(ACCEPT_BACKOFF).await;
                continue;
            }
        };
        let ticket = match gate.admit(peer.ip()) {
            Ok(ticket) => ticket,
            Err(reason) => {
                protect::refuse(stream.get_ref(), reason);
                let refused = Input::Measured {
                    now: std::time::Instant::now(),
                    measurement: Measurement::ConnectionRefused { reason },
                };
                if !shared.send(refused).await {
                    return;
                }
                continue;
            }
        };
        if let Err(err) = stream.get_ref().set_nodelay(true) {
            log!(Debug, "TCP_NODELAY on {peer}: {err}");
        }
        next_id += 1;
        let conn = ConnId(next_id);
        let queue = Arc::new(OutboundQueue::new(queue_bound));
        let opened = ToDriver::Opened {
            conn,
            queue: Arc::clone(&queue),
        };
        if !shared.turns.send(opened).await {
            return;
        }
        log!(Debug, "conn {}: accepted from {peer}", conn.0);
        let shared = Arc::clone(&shared);
        let alive = alive.clone();
        executor
            .spawn(async move {
                connection::run(conn, stream, queue, shared).await;
                drop(ticket);
                drop(alive);
            })
            .detach();
    }
}
