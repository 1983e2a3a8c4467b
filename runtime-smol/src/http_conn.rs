//! The HTTP phase of a connection: read one request, hand it to the engine, write its one
//! reply, repeat while keep-alive lasts.
//!
//! Why this shape: core's `RequestReader` does the parsing and decides framing; this file only
//! moves bytes and keeps time. Requests are strictly one at a time (the next is parsed only
//! after the reply is written), so a reply never needs to be matched to its request. While the
//! engine holds a long-poll GET the task keeps reading the socket, because a peer hanging up is
//! the only sign of an aborted poll. Two deadlines the engine cannot know of apply between
//! requests: a slow request head and an idle keep-alive connection.
//!
//! Each request is timed from its head being read to its reply (or 101) being written, and
//! recorded (`Measurements`, fed as `Input::Measured`) under the route label core gave for
//! its head.

use std::future::Future;
use std::io::Read;
use std::net::TcpStream;
use std::time::Instant;

use async_io::{Async, Timer};
use bytes::Bytes;
use iorelay_core::http::{HeadLimits, Method, ReadProgress, RequestReader, CONTINUE};
use iorelay_core::relay::measure::{Measurement, RouteLabel};
use iorelay_core::{Body, ConnId, Input};
use iorelay_std::log;
use iorelay_std::process::websocket_accept;
use smol::future::FutureExt;
use smol::io::{AsyncReadExt, AsyncWriteExt};

use crate::connection::Shared;
use crate::deadline::Deadline;
use crate::outbound::{Outbound, OutboundQueue};

/// Bytes read from the socket at a time.
const READ_CHUNK: usize = 8 * 1024;
/// Bytes a peer may send ahead while a reply is awaited before the task stops reading (and
/// so stops noticing a hang-up) until the reply is written.
const MAX_READ_AHEAD: usize = 64 * 1024;

/// How the HTTP phase ended.
pub enum HttpEnd {
    /// The connection is done.
    Closed,
    /// The engine accepted a websocket: the 101 is written; these bytes followed the request.
    Upgrade(Bytes),
}

/// Serves requests until the connection closes or becomes a websocket.
pub async fn serve(
    conn: ConnId,
    stream: &Async<TcpStream>,
    queue: &OutboundQueue,
    shared: &Shared,
) -> HttpEnd {
    let mut reader = RequestReader::new(HeadLimits::default());
    // The relay's rate limit is per address; read once, it is the same for every request.
    let peer = stream.get_ref().peer_addr().ok().map(|addr| addr.ip());
    let mut buf = vec![0u8; READ_CHUNK];
    let opened_at = Instant::now();
    let mut idle_since = opened_at;
    let mut head_since: Option<Instant> = None;
    let mut expiry = Deadline::new();
    loop {
        let progress = reader.next_request(|head| shared.config.body_limit(head));
        let (head, body) = match progress {
            ReadProgress::NeedMore => {
                let deadline = if reader.is_mid_request() {
                    *head_since.get_or_insert_with(Instant::now) + shared.deadlines.header
                } else {
                    idle_since + shared.deadlines.idle
                };
                let fresh = idle_since == opened_at && !reader.is_mid_request();
                match read_before(stream, &mut buf, expiry.until(deadline), queue, fresh).await {
                    Some(n) => reader.feed(&buf[..n]),
                    None => return HttpEnd::Closed,
                }
                continue;
            }
            ReadProgress::Failed(err) => {
                log!(Debug, "conn {}: bad request: {err}", conn.0);
                let (response, read_at) = (err.to_response(), Instant::now());
                if write(stream, &response.encode(false)).await.is_ok() {
                    let status = response.status;
                    shared
                        .measurements
                        .record(measured(RouteLabel::Other, status, read_at));
                }
                return HttpEnd::Closed;
            }
            ReadProgress::Continue => {
                if write(stream, CONTINUE).await.is_err() {
                    return HttpEnd::Closed;
                }
                continue;
            }
            ReadProgress::Request { head, body } => (head, body),
        };
        head_since = None;
        let keep_alive = head.keep_alive && matches!(body, Body::Complete(_));
        let head_only = head.method == Method::Head;
        let websocket_key = head.websocket_key.clone();
        let route = shared.config.route_label(&head);
        let read_at = Instant::now();
        let request = Input::Http {
            now: read_at,
            conn,
            peer,
            head,
            body,
        };
        if !shared.send(request).await {
            return HttpEnd::Closed;
        }
        let Some(item) = await_reply(stream, &mut buf, &mut reader, queue).await else {
            return HttpEnd::Closed;
        };
        match item {
            Outbound::Reply(response) => {
                let wire = if head_only {
                    response.encode_head(keep_alive)
                } else {
                    response.encode(keep_alive)
                };
                if write(stream, &wire).await.is_err() {
                    return HttpEnd::Closed;
                }
                shared
                    .measurements
                    .record(measured(route, response.status, read_at));
                if queue.written(response.body.len()) {
                    shared.send(congestion_ended(conn)).await;
                }
                if !keep_alive || reader.is_closed() {
                    return HttpEnd::Closed;
                }
                idle_since = Instant::now();
            }
            Outbound::Accept => {
                let Some(key) = websocket_key else {
                    log!(Warn, "conn {}: websocket accepted without a key", conn.0);
                    return HttpEnd::Closed;
                };
                if write(stream, &websocket_accept(&key).encode(true))
                    .await
                    .is_err()
                {
                    return HttpEnd::Closed;
                }
                shared.measurements.record(measured(route, 101, read_at));
                return HttpEnd::Upgrade(reader.take_buffered());
            }
            other => {
                log!(
                    Warn,
                    "conn {}: {other:?} while awaiting an HTTP reply",
                    conn.0
                );
                return HttpEnd::Closed;
            }
        }
    }
}

/// A request read at `read_at` whose reply with `status` was just written.
fn measured(route: RouteLabel, status: u16, read_at: Instant) -> Measurement {
    Measurement::Request {
        route,
        status,
        latency: read_at.elapsed(),
    }
}

fn congestion_ended(conn: ConnId) -> Input {
    Input::Congestion {
        now: Instant::now(),
        conn,
        congested: false,
    }
}

/// Reads bytes of the next request before `deadline` resolves. `None`: the peer hung up, the
/// deadline passed, or the queue ended (shutdown) — in each case the connection is done. A
/// `fresh` connection reads at once: its first request usually arrived with it.
async fn read_before(
    stream: &Async<TcpStream>,
    buf: &mut [u8],
    deadline: impl Future<Output = ()>,
    queue: &OutboundQueue,
    fresh: bool,
) -> Option<usize> {
    let read = async {
        let read = if fresh {
            (&*stream).read(buf).await
        } else {
            read_when_ready(stream, buf).await
        };
        match read {
            Ok(0) | Err(_) => None,
            Ok(n) => Some(n),
        }
    };
    let expire = async {
        deadline.await;
        None
    };
    // Nothing is routed to a connection with no request in flight, so anything from the queue
    // here means it was closed.
    let ended = async {
        let _ = queue.next().await;
        None
    };
    read.or(expire).or(ended).await
}

/// Waits for the reply to the request in flight while reading the socket, so that a peer
/// hanging up during a held poll ends the connection (`None`). Bytes that arrive meanwhile
/// are kept for the next request.
async fn await_reply(
    stream: &Async<TcpStream>,
    buf: &mut [u8],
    reader: &mut RequestReader,
    queue: &OutboundQueue,
) -> Option<Outbound> {
    let mut read_ahead = 0;
    loop {
        if read_ahead >= MAX_READ_AHEAD {
            return queue.next().await;
        }
        let reply = async { Ok(queue.next().await) };
        let read = async { Err(read_when_ready(stream, buf).await) };
        match reply.or(read).await {
            Ok(item) => return item,
            Err(Ok(0) | Err(_)) => return None,
            Err(Ok(n)) => {
                reader.feed(&buf[..n]);
                read_ahead += n;
            }
        }
    }
}

/// Reads once the socket is readable. Why not read at once: on a keep-alive connection the
/// next request (or, while a reply is awaited, anything at all) is rarely there yet, and an
/// optimistic read is a failed `recv` per request; readiness is the reactor's bookkeeping.
async fn read_when_ready(stream: &Async<TcpStream>, buf: &mut [u8]) -> std::io::Result<usize> {
    loop {
        stream.readable().await?;
        match stream.get_ref().read(buf) {
            Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
            done => return done,
        }
    }
}

/// How long writing one HTTP reply may take: a peer that stops reading must not hold the
/// connection (and its task) forever. The std runtime ends a write stuck as long.
const WRITE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

async fn write(stream: &Async<TcpStream>, bytes: &[u8]) -> std::io::Result<()> {
    let mut writer = stream;
    let send = async {
        writer.write_all(bytes).await?;
        writer.flush().await
    };
    let expire = async {
        Timer::after(WRITE_TIMEOUT).await;
        Err(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "the peer did not read the reply",
        ))
    };
    send.or(expire).await
}
