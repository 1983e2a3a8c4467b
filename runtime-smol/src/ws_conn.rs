//! The websocket phase of a connection: tungstenite frames, this task moves the bytes.
//!
//! Why this shape: tungstenite's `WebSocketContext` takes the stream per call, so it is driven
//! sans-io here over an in-memory [`Wire`]: received bytes go in, framed bytes come out, and
//! no lock is ever held across a socket operation. A reading half (in the connection's task) and
//! a writing half (a task on the writers' executor, see `main`) run concurrently, the first
//! to finish ends the connection, and they share the context behind a mutex held only to
//! frame or parse. The reading half forwards whole messages to the driver
//! (tungstenite reassembles fragments, checks UTF-8 and the size limit, and answers pings and
//! closes; those control replies travel through the outbound queue so they never split a
//! frame). The writing half takes everything queued and writes it with vectored sends: data
//! messages arrive already framed by the driver (once per broadcast, `iorelay_std::wsframe`)
//! and go out as they are, never copied; close frames go through tungstenite so it knows the
//! connection is closing. While it runs it lends the socket to the outbound queue, so the
//! turn keeper can send broadcasts without waking it (`OutboundQueue::send_or_wake`).

use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use async_io::{Async, Timer};
use bytes::Bytes;
use iorelay_core::engineio::packet::Frame;
use iorelay_core::{ConnId, Input};
use iorelay_std::{log, send_now};
use smol::future::{self, FutureExt};
use tungstenite::error::Error as WsError;
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::protocol::{CloseFrame, Role, WebSocketContext};
use tungstenite::{Message, Utf8Bytes};

use crate::connection::Shared;
use crate::outbound::{Outbound, OutboundQueue, MAX_BATCH_BYTES};

/// Bytes read from the socket at a time.
const READ_CHUNK: usize = 16 * 1024;

/// Serves a websocket until either side closes it. `first_bytes` arrived behind the upgrade
/// request and are the start of the websocket stream. The writing half is spawned on the
/// writers' executor and cancelled when the reading half ends first.
pub async fn serve(
    conn: ConnId,
    stream: &Arc<Async<TcpStream>>,
    queue: &Arc<OutboundQueue>,
    shared: &Arc<Shared>,
    first_bytes: Bytes,
) {
    let context = Arc::new(Mutex::new(WebSocketContext::new(
        Role::Server,
        Some(shared.websocket),
    )));
    let writing = shared.writers.spawn({
        let (stream, context, queue, shared) = (
            Arc::clone(stream),
            Arc::clone(&context),
            Arc::clone(queue),
            Arc::clone(shared),
        );
        async move { write_half(conn, &stream, &context, &queue, &shared).await }
    });
    let reading = read_half(conn, stream, &context, queue, shared, first_bytes);
    reading.or(writing).await;
}

/// Reads until the peer hangs up; after a fatal framing error or an over-large message it
/// only waits for that, so the close the writing half sends can complete.
async fn read_half(
    conn: ConnId,
    stream: &Async<TcpStream>,
    context: &Mutex<WebSocketContext>,
    queue: &OutboundQueue,
    shared: &Shared,
    first_bytes: Bytes,
) {
    let (messages, stop) = absorb(&first_bytes, context, queue);
    // It may share the HTTP phase's read buffer: let that go before the connection idles.
    drop(first_bytes);
    let mut parsing = forward(conn, messages, stop, shared).await;
    loop {
        // Wait for readiness before reading: this half shares its task with the writing
        // half, and an optimistic `read` would cost a failed `recv` on every wake-up a
        // broadcast causes. Readiness is the reactor's bookkeeping, no system call.
        if stream.readable().await.is_err() {
            return;
        }
        // Read and parse with no await in between, into the executor thread's buffer: an
        // idle connection holds no read buffer of its own (it was most of its memory).
        let read = READ_BUFFER.with_borrow_mut(|buf| match stream.get_ref().read(buf) {
            Ok(0) => Err(()),
            Ok(n) if parsing => Ok(Some(absorb(&buf[..n], context, queue))),
            Ok(_) => Ok(None),
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => Ok(None),
            Err(err) if err.kind() == io::ErrorKind::Interrupted => Ok(None),
            Err(_) => Err(()),
        });
        match read {
            Err(_) => return,
            Ok(Some((messages, stop))) => parsing = forward(conn, messages, stop, shared).await,
            Ok(None) => {}
        }
    }
}

thread_local! {
    /// The read buffer of the connections this executor thread serves, one at a time.
    static READ_BUFFER: RefCell<Vec<u8>> = RefCell::new(vec![0; READ_CHUNK]);
}

/// Why parsing stopped.
enum Stop {
    /// A message exceeded `max_payload`: the engine decides how to close.
    TooLarge,
    /// The close handshake finished, or the stream is broken and a close was sent.
    Ended,
}

/// Feeds received bytes to tungstenite: queues its control replies and returns the messages
/// they complete, and why parsing stopped, if it did.
fn absorb(
    bytes: &[u8],
    context: &Mutex<WebSocketContext>,
    queue: &OutboundQueue,
) -> (Vec<Frame>, Option<Stop>) {
    let mut control = Vec::new();
    let parsed = parse(&mut lock(context), bytes, &mut control);
    if !control.is_empty() {
        queue.push(Outbound::Control(Bytes::from(control)));
    }
    parsed
}

/// Hands the messages to the driver, and the end of parsing if it ended. Returns whether
/// parsing should go on.
async fn forward(conn: ConnId, messages: Vec<Frame>, stop: Option<Stop>, shared: &Shared) -> bool {
    for frame in messages {
        let input = Input::WsMessage {
            now: Instant::now(),
            conn,
            frame,
        };
        if !shared.send(input).await {
            return false;
        }
    }
    match stop {
        None => true,
        Some(Stop::TooLarge) => {
            let input = Input::WsTooLarge {
                now: Instant::now(),
                conn,
            };
            shared.send(input).await;
            false
        }
        Some(Stop::Ended) => false,
    }
}

/// Runs tungstenite over `bytes` until it needs more, collecting whole messages and writing
/// its control replies (pong, close) to `control`.
fn parse(
    context: &mut WebSocketContext,
    bytes: &[u8],
    control: &mut Vec<u8>,
) -> (Vec<Frame>, Option<Stop>) {
    let mut wire = Wire {
        input: bytes,
        output: control,
    };
    let mut messages = Vec::new();
    let stop = loop {
        match context.read(&mut wire) {
            Ok(Message::Text(text)) => messages.push(Frame::Text(Bytes::from(text))),
            Ok(Message::Binary(data)) => messages.push(Frame::Binary(data)),
            Ok(_) => {}
            Err(WsError::Io(err)) if err.kind() == io::ErrorKind::WouldBlock => break None,
            Err(WsError::Capacity(_)) => break Some(Stop::TooLarge),
            Err(WsError::ConnectionClosed | WsError::AlreadyClosed) => break Some(Stop::Ended),
            Err(WsError::Utf8(_)) => {
                fail(context, &mut wire, CloseCode::Invalid, "invalid UTF-8");
                break Some(Stop::Ended);
            }
            Err(_) => {
                fail(context, &mut wire, CloseCode::Protocol, "protocol error");
                break Some(Stop::Ended);
            }
        }
    };
    let _ = context.flush(&mut wire);
    (messages, stop)
}

fn fail(
    context: &mut WebSocketContext,
    wire: &mut Wire<'_>,
    code: CloseCode,
    reason: &'static str,
) {
    let frame = CloseFrame {
        code,
        reason: Utf8Bytes::from_static(reason),
    };
    let _ = context.close(wire, Some(frame));
}

/// Writes what the driver queues, a batch at a time, until the queue ends or a close frame
/// went out (then it half-closes and lingers so the peer can hang up first). A write still
/// stuck on a peer that does not read is abandoned once the queue is ending, and the
/// connection reset (`iorelay_std::reset`).
async fn write_half(
    conn: ConnId,
    stream: &Arc<Async<TcpStream>>,
    context: &Mutex<WebSocketContext>,
    queue: &OutboundQueue,
    shared: &Shared,
) {
    // While this task writes, the turn keeper may send queued messages itself.
    let _attached = queue.attach(Arc::clone(stream));
    let mut chunks = VecDeque::new();
    while let Some(batch) = queue.next_batch(MAX_BATCH_BYTES).await {
        chunks.clear();
        let (cost, closing) = frame_batch(conn, &mut lock(context), batch, &mut chunks);
        let mut write = std::pin::pin!(write_chunks(stream, &mut chunks));
        // Most writes complete at once (the socket buffer has room); only one that has to
        // wait races the shutdown deadline, so the common case sets up no listener.
        let written = match future::poll_once(&mut write).await {
            Some(result) => result,
            None => {
                let give_up = async {
                    if !queue.ending().await {
                        Timer::after(shared.deadlines.close_linger).await;
                    }
                    // The peer stopped reading: an orderly close would wait behind what it
                    // never read, so the connection ends with a reset.
                    iorelay_std::reset::on_close(stream.get_ref());
                    Err(io::ErrorKind::TimedOut.into())
                };
                write.or(give_up).await
            }
        };
        if written.is_err() {
            return;
        }
        if closing {
            queue.close_frame_sent();
        }
        if queue.written(cost) {
            let input = Input::Congestion {
                now: Instant::now(),
                conn,
                congested: false,
            };
            shared.send(input).await;
        }
        if closing {
            let _ = stream.get_ref().shutdown(Shutdown::Write);
            Timer::after(shared.deadlines.close_linger).await;
            return;
        }
    }
}

/// Writes `chunks` in order with vectored sends, straight from the frames the driver shared
/// among a broadcast's recipients.
///
/// Why not one buffer: copying every batch into a buffer of the connection's own cost a
/// memmove per message, and at max rate to 1000 clients each writer's buffer grew to the
/// 256 KiB batch and stayed (a quarter of a gigabyte of buffers).
async fn write_chunks(stream: &Async<TcpStream>, chunks: &mut VecDeque<Bytes>) -> io::Result<()> {
    while !chunks.is_empty() {
        stream
            .write_with(|socket| {
                match send_now::send_queued(chunks, |slices| send_now::send(socket, slices)) {
                    Ok(0) => Err(io::ErrorKind::WriteZero.into()),
                    sent => sent,
                }
            })
            .await?;
    }
    Ok(())
}

/// Turns a batch into the chunks to write, in queue order: data messages as they are, close
/// frames through tungstenite. Returns the bytes it counted against the queue's bound and
/// whether a close frame has been sent (by this batch or an earlier one).
fn frame_batch(
    conn: ConnId,
    context: &mut WebSocketContext,
    batch: Vec<Outbound>,
    chunks: &mut VecDeque<Bytes>,
) -> (usize, bool) {
    // What tungstenite frames (close frames, and anything it still had to flush).
    let mut framed = Vec::new();
    let mut cost = 0;
    for item in batch {
        cost += item.cost();
        let mut wire = Wire {
            input: &[],
            output: &mut framed,
        };
        let written = match item {
            // Nothing is left unflushed in the context here (reading flushes its replies into
            // `Control` before it lets go of the context, and a close is never followed by
            // data), so the frame goes out in queue order; after a close, data is dropped.
            Outbound::Message(frame) => {
                if context.can_write() {
                    chunks.push_back(frame);
                }
                Ok(())
            }
            Outbound::Close { code, reason } => {
                let frame = CloseFrame {
                    code: CloseCode::from(code),
                    reason: Utf8Bytes::from_static(reason),
                };
                context.close(&mut wire, Some(frame))
            }
            Outbound::Control(bytes) => {
                let flushed = context.flush(&mut wire);
                move_framed(&mut framed, chunks);
                chunks.push_back(bytes);
                flushed
            }
            other @ (Outbound::Reply(_) | Outbound::Accept) => {
                log!(Warn, "conn {}: {other:?} on a websocket", conn.0);
                Ok(())
            }
        };
        move_framed(&mut framed, chunks);
        if let Err(err) = written {
            log!(Debug, "conn {}: websocket write refused: {err}", conn.0);
        }
    }
    let _ = context.flush(&mut Wire {
        input: &[],
        output: &mut framed,
    });
    move_framed(&mut framed, chunks);
    (cost, !context.can_write())
}

/// Appends what tungstenite framed, if anything, to the chunks to write.
fn move_framed(framed: &mut Vec<u8>, chunks: &mut VecDeque<Bytes>) {
    if !framed.is_empty() {
        chunks.push_back(Bytes::from(std::mem::take(framed)));
    }
}

fn lock(context: &Mutex<WebSocketContext>) -> MutexGuard<'_, WebSocketContext> {
    context.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The in-memory stream tungstenite reads from and writes to: received bytes in, framed bytes
/// out. An empty input reads as `WouldBlock`, which tungstenite treats as "need more".
struct Wire<'a> {
    input: &'a [u8],
    output: &'a mut Vec<u8>,
}

impl Read for Wire<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.input.is_empty() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        Read::read(&mut self.input, buf)
    }
}

impl Write for Wire<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.output.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use iorelay_std::send_now::Queued;

    fn context() -> WebSocketContext {
        WebSocketContext::new(Role::Server, None)
    }

    /// The chunks as one byte string, and how many there were.
    fn joined(chunks: &VecDeque<Bytes>) -> (Vec<u8>, usize) {
        (chunks.iter().flatten().copied().collect(), chunks.len())
    }

    #[test]
    fn a_batch_of_queued_frames_becomes_chunks_in_queue_order_without_copies() {
        let mut out = VecDeque::new();
        let batch = vec![
            Outbound::Message(Bytes::from_static(b"\x81\x02ab")),
            Outbound::Control(Bytes::from_static(b"\x8a\x00")),
            Outbound::Message(Bytes::from_static(b"\x81\x01c")),
        ];
        let first = batch[0].message().map(|frame| frame.as_ptr());
        let (cost, closing) = frame_batch(ConnId(1), &mut context(), batch, &mut out);
        assert_eq!(joined(&out), (b"\x81\x02ab\x8a\x00\x81\x01c".to_vec(), 3));
        assert_eq!(Some(out[0].as_ptr()), first, "the shared frame itself");
        assert_eq!(
            cost, 7,
            "messages count against the bound, control frames do not"
        );
        assert!(!closing);
    }

    #[test]
    fn a_close_ends_the_batch_and_later_messages_are_dropped() {
        let mut out = VecDeque::new();
        let batch = vec![
            Outbound::Message(Bytes::from_static(b"\x81\x01a")),
            Outbound::Close {
                code: 1000,
                reason: "bye",
            },
            Outbound::Message(Bytes::from_static(b"\x81\x01b")),
        ];
        let (_, closing) = frame_batch(ConnId(1), &mut context(), batch, &mut out);
        assert_eq!(joined(&out), (b"\x81\x01a\x88\x05\x03\xe8bye".to_vec(), 2));
        assert!(closing);
    }
}
