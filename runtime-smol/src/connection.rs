//! One accepted TCP connection's task: HTTP until the engine accepts a websocket, then
//! websocket, and `Input::ConnClosed` exactly once at the end.
//!
//! Why this shape: a connection is HTTP or websocket at different times of its life, but it
//! ends once, and the engine learns of aborted polls only from that end. So the end is reported
//! here, after either phase returns and even if a phase panicked, instead of inside each phase.

use std::future::Future;
use std::net::TcpStream;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use async_io::Async;
use iorelay_core::{Config, ConnId, Input};
use iorelay_std::log;
use smol::channel::{Sender, TrySendError};
use smol::future::FutureExt;
use tungstenite::protocol::WebSocketConfig;

use crate::driver::ToDriver;
use crate::outbound::OutboundQueue;
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

/// What every connection task needs, shared read-only.
pub struct Shared {
    /// The driver's inbox.
    pub inbox: Sender<ToDriver>,
    /// Request measurements, which the driver takes when it wakes.
    pub measurements: Arc<Measurements>,
    /// Connection deadlines.
    pub deadlines: Deadlines,
    /// Websocket framing limits (`max_payload` for messages and frames).
    pub websocket: WebSocketConfig,
    /// The engine's configuration: it answers `body_limit` for request heads without a round
    /// trip to the driver.
    pub config: Config,
}

impl Shared {
    /// Hands an input to the driver; resolves to `false` when the driver is gone (shutting
    /// down). The input goes into the channel at once when it has room (almost always), so
    /// the future a connection task holds across the await is a tag, not the input.
    pub fn send(&self, input: Input) -> Sending<'_> {
        match self.inbox.try_send(ToDriver::Input(input)) {
            Ok(()) => Sending::Done(true),
            Err(TrySendError::Closed(_)) => Sending::Done(false),
            Err(TrySendError::Full(message)) => {
                Sending::Waiting(Box::pin(self.inbox.send(message)))
            }
        }
    }
}

/// [`Shared::send`]'s future. Why not an `async fn`: that state machine holds the input (200
/// bytes) and the channel's send future (over 400), and every connection task holds the
/// largest state of each of its awaits for its whole life; boxing the rare full-channel case
/// keeps an idle connection's task about 900 bytes smaller.
pub enum Sending<'a> {
    /// Sent (`true`) or refused by a closed channel (`false`).
    Done(bool),
    /// The channel was full: waiting for room.
    Waiting(Pin<Box<smol::channel::Send<'a, ToDriver>>>),
}

impl Future for Sending<'_> {
    type Output = bool;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<bool> {
        match self.get_mut() {
            Sending::Done(sent) => Poll::Ready(*sent),
            Sending::Waiting(send) => send.as_mut().poll(cx).map(|sent| sent.is_ok()),
        }
    }
}

/// Serves one connection to its end, then reports `Input::ConnClosed`.
pub async fn run(
    conn: ConnId,
    stream: Async<TcpStream>,
    queue: Arc<OutboundQueue>,
    shared: Arc<Shared>,
) {
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

async fn serve(conn: ConnId, stream: &Async<TcpStream>, queue: &OutboundQueue, shared: &Shared) {
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
