//! One accepted TCP connection's task: HTTP until the engine accepts a websocket, then
//! websocket, and `Input::ConnClosed` exactly once at the end.
//!
//! Why this shape: a connection is HTTP or websocket at different times of its life, but it
//! ends once, and the engine learns of aborted polls only from that end. So the end is reported
//! here, after either phase returns and even if a phase panicked, instead of inside each phase.

use std::net::TcpStream;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_io::Async;
use iorelay_core::{Config, ConnId, Input};
use iorelay_std::log;
use smol::future::FutureExt;
use smol::Executor;
use tungstenite::protocol::WebSocketConfig;

use crate::driver::ToDriver;
use crate::outbound::OutboundQueue;
use crate::turns::{Sending, Turns};
use crate::{http_conn, ws_conn};
use iorelay_std::measurements::Measurements;

/// How long a connection may take over things the engine does not time.
#[derive(Debug, Clone, Copy)]
pub struct Deadlines {
    /// From the first byte of a request head to the complete request.
    pub header: Duration,
    /// A keep-alive connection with no request in progress.
    pub idle: Duration,
    /// After a websocket close frame is sent, how long to wait for the peer to hang up.
    pub close_linger: Duration,
}

/// What every connection task needs, shared.
pub struct Shared {
    /// The driver, run by whichever task brings it an input.
    pub turns: Turns,
    /// The executor of websocket writers (see `main`).
    pub writers: Arc<Executor<'static>>,
    /// Request measurements, which the driver takes at the start of every burst.
    pub measurements: Arc<Measurements>,
    /// Connection deadlines.
    pub deadlines: Deadlines,
    /// Websocket framing limits (`max_payload` for messages and frames).
    pub websocket: WebSocketConfig,
    /// The engine's configuration: it answers `body_limit` for request heads without taking
    /// the driver.
    pub config: Config,
}

impl Shared {
    /// Feeds an input to the driver (see [`Turns::send`]); resolves to `false` when the
    /// driver is gone (shutting down).
    pub fn send(&self, input: Input) -> Sending<'_> {
        self.turns.send(ToDriver::Input(input))
    }
}

/// Serves one connection to its end, then reports `Input::ConnClosed`.
pub async fn run(
    conn: ConnId,
    stream: Async<TcpStream>,
    queue: Arc<OutboundQueue>,
    shared: Arc<Shared>,
) {
    let stream = Arc::new(stream);
    let served = AssertUnwindSafe(serve(conn, &stream, &queue, &shared))
        .catch_unwind()
        .await;
    if served.is_err() {
        log!(Error, "conn {}: task panicked; closing it", conn.0);
    }
    drop(stream);
    shared
        .send(Input::ConnClosed {
            now: Instant::now(),
            conn,
        })
        .await;
    log!(Debug, "conn {}: closed", conn.0);
}

async fn serve(
    conn: ConnId,
    stream: &Arc<Async<TcpStream>>,
    queue: &Arc<OutboundQueue>,
    shared: &Arc<Shared>,
) {
    // The HTTP phase is boxed: its state (request reader, a reply being written) is larger
    // than the websocket phase's, and unboxed it would size the task a websocket then holds
    // for hours. The box goes when the phase ends.
    let http = Box::pin(http_conn::serve(conn, stream, queue, shared)).await;
    match http {
        http_conn::HttpEnd::Closed => {}
        http_conn::HttpEnd::Upgrade(first_bytes) => {
            ws_conn::serve(conn, stream, queue, shared, first_bytes).await;
        }
    }
}
