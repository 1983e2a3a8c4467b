//! The per-connection outbound queue: what the driver routed to one connection and its task has
//! not written yet, counted in bytes.
//!
//! Why this shape: the driver must never wait on a socket, so pushing never blocks and never
//! fails; instead the queue reports when its unwritten bytes cross the bound (the driver turns
//! that into `Input::Congestion` and the engine decides what to drop or whom to disconnect).
//! Bytes count until the connection task has *written* them, not merely taken them, so a
//! batch stuck in a slow socket still counts. The connection task takes everything queued at
//! once, so several messages go out with one write. A hard cap far above the bound protects
//! the process if the engine's slow-consumer timeout has not fired yet.
//!
//! Broadcast messages usually do not wait for the connection's task at all: the turn keeper
//! offers them to the socket itself ([`OutboundQueue::send_or_wake`]) with a send that never
//! waits, and the task writes only what the socket did not take, replies, control and close
//! frames. The queue keeps the two from ever writing at the same time or out of order.

use std::collections::VecDeque;
use std::net::TcpStream;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Poll, Waker};

use async_io::Async;
use bytes::Bytes;
use iorelay_core::config::QUEUE_HARD_CAP_FACTOR;
use iorelay_core::http::Response;
use iorelay_std::send_now::{self, Queued};
use smol::channel::{Receiver, Sender};

/// Up to this many queued bytes are taken (and written) at once, as in the std runtime: a
/// burst costs one write, and a long backlog still reports progress to the bound in steps.
pub const MAX_BATCH_BYTES: usize = 256 * 1024;

/// One thing to write on a connection.
#[derive(Debug)]
pub enum Outbound {
    /// The HTTP reply to the request the connection is waiting on. Boxed: a reply is 64
    /// bytes, and every message queued for a client that is behind is an item as large as
    /// the largest kind (72 bytes unboxed, 40 boxed; at max rate to 1000 clients a backlog of
    /// a few hundred thousand messages is common).
    Reply(Box<Response>),
    /// Complete the websocket handshake (write 101) and switch to websocket framing.
    Accept,
    /// One websocket data message, already framed by the driver (header and payload, see
    /// `iorelay_std::wsframe`) and written verbatim; every recipient of a broadcast is
    /// queued the same `Bytes`.
    Message(Bytes),
    /// A websocket close frame; the connection ends after it.
    Close {
        /// Close code.
        code: u16,
        /// Close reason.
        reason: &'static str,
    },
    /// Already-framed websocket control bytes (pongs, close replies) from the reading side.
    Control(Bytes),
}

impl Queued for Outbound {
    fn message(&self) -> Option<&Bytes> {
        match self {
            Self::Message(framed) => Some(framed),
            _ => None,
        }
    }

    fn message_mut(&mut self) -> Option<&mut Bytes> {
        match self {
            Self::Message(framed) => Some(framed),
            _ => None,
        }
    }
}

impl Outbound {
    /// The bytes this item counts against the bound.
    pub fn cost(&self) -> usize {
        match self {
            Self::Reply(response) => response.body.len(),
            Self::Message(framed) => framed.len(),
            Self::Accept | Self::Close { .. } | Self::Control(_) => 0,
        }
    }
}

/// What a push did to the queue's pressure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pushed {
    /// Queued; no change to report.
    Queued,
    /// Queued, and the unwritten bytes just crossed above the bound: report congestion.
    Congested,
    /// The unwritten bytes passed the hard cap: the queue gave up and the connection ends.
    Overflowed,
}

/// A byte-bounded queue from the driver to one connection task.
#[derive(Debug)]
pub struct OutboundQueue {
    state: Mutex<State>,
    /// Never carries a message: closed once the connection should end soon (see `ending`).
    ending_tx: Sender<()>,
    ending_rx: Receiver<()>,
    bound: usize,
    hard_cap: usize,
}

#[derive(Debug, Default)]
struct State {
    items: VecDeque<Outbound>,
    unwritten: usize,
    congested: bool,
    closed: bool,
    aborted: bool,
    /// A close frame was queued: what follows it is never sent.
    closing: bool,
    /// The websocket writer took a batch and has not said it was written (see `written`).
    writing: bool,
    /// The turn keeper took the queued messages to send them (see `send_or_wake`).
    sending: bool,
    /// The websocket's socket, while its writer runs (see `attach`).
    socket: Option<Arc<Async<TcpStream>>>,
    /// Pushed to since the last wake (see `push_deferred`).
    wake_pending: bool,
    /// The connection task, while it waits for items.
    ///
    /// Why a waker under the queue's own lock rather than a channel: the wake is per
    /// recipient per burst, and a channel's notify (a listener allocated and linked per wait,
    /// a lock of its own) was a tenth of the server's CPU at 100 events/s to 1000 clients.
    waiting: Option<Waker>,
}

impl OutboundQueue {
    /// A queue that reports congestion above `bound` bytes (and its end below half of it),
    /// and gives up on the connection at `QUEUE_HARD_CAP_FACTOR` times the bound (what
    /// `Config::queue_hard_cap` says for the engine's bound).
    pub fn new(bound: usize) -> Self {
        let (ending_tx, ending_rx) = smol::channel::bounded(1);
        Self {
            state: Mutex::default(),
            ending_tx,
            ending_rx,
            bound,
            hard_cap: bound.saturating_mul(QUEUE_HARD_CAP_FACTOR),
        }
    }

    /// Appends an item and wakes the connection's task; never blocks.
    pub fn push(&self, item: Outbound) -> Pushed {
        let (pushed, _) = self.push_deferred(item);
        self.wake();
        pushed
    }

    /// Appends an item without waking the connection's task; never blocks. The second value
    /// is `true` for the first push since the last [`wake`](Self::wake): the caller must wake
    /// the queue once it has routed the rest of its burst.
    ///
    /// Why deferred: a driver that routes several broadcasts in one burst and wakes each
    /// recipient once at the end lets every connection write the whole burst with one
    /// `send` — the per-write kernel cost and the task wake-ups, not the copying, are what a
    /// fan-out spends its time on.
    pub fn push_deferred(&self, item: Outbound) -> (Pushed, bool) {
        let mut state = self.lock();
        if state.closed || state.aborted {
            return (Pushed::Queued, false);
        }
        if matches!(item, Outbound::Close { .. }) {
            state.closing = true;
            self.ending_tx.close();
        }
        // A queue within its bound takes any one item, however large (a history page may
        // pass the cap on its own): only a client already behind is cut off, so memory
        // stays under the cap plus one message.
        let behind = state.unwritten > self.bound;
        state.unwritten += item.cost();
        state.items.push_back(item);
        let first = !std::mem::replace(&mut state.wake_pending, true);
        let pushed = if behind && state.unwritten > self.hard_cap {
            state.aborted = true;
            state.items.clear();
            self.ending_tx.close();
            // The writer ends now, whoever would have woken it next (a task waiting for
            // items would otherwise wait behind a driver that has nothing more to give it).
            let waiting = state.waiting.take();
            drop(state);
            if let Some(task) = waiting {
                task.wake();
            }
            return (Pushed::Overflowed, first);
        } else if !state.congested && state.unwritten > self.bound {
            state.congested = true;
            Pushed::Congested
        } else {
            Pushed::Queued
        };
        (pushed, first)
    }

    /// Wakes the connection's task to write what was pushed.
    pub fn wake(&self) {
        self.change_and_wake(|state| state.wake_pending = false);
    }

    /// Sends what was pushed with a send that never waits (`iorelay_std::send_now`) when
    /// nothing can go out of order, and wakes the connection's task for whatever is left.
    ///
    /// Why: the turn keeper calls this for every recipient when it ends a held flush window
    /// (`Turns::keep`); waking a thousand writer tasks to copy the same frames into their
    /// buffers cost more than the sends themselves.
    ///
    /// The send runs outside the queue's lock: the driver, routing the next broadcast on
    /// another thread, pushes to the queues in the order the keeper sends to them, and a lock
    /// held across each send made it wait on nearly every one.
    pub fn send_or_wake(&self) {
        let taken = {
            let mut state = self.lock();
            state.wake_pending = false;
            state.take_sendable().ok_or_else(|| state.waiting.take())
        };
        let (mut messages, socket) = match taken {
            Ok(taken) => taken,
            Err(waiting) => {
                if let Some(task) = waiting {
                    task.wake();
                }
                return;
            }
        };
        let sent = send_now::send_queued(&mut messages, |slices| {
            send_now::send(socket.get_ref(), slices)
        });
        let waiting = {
            let mut state = self.lock();
            state.sending = false;
            if let Ok(sent) = sent {
                state.unwritten = state.unwritten.saturating_sub(sent);
            }
            let all_sent = messages.is_empty();
            if state.items.is_empty() {
                // Back with its room, so the next pushes allocate nothing.
                std::mem::swap(&mut state.items, &mut messages);
            } else {
                // What the socket did not take goes back in front of what came meanwhile.
                while let Some(message) = messages.pop_back() {
                    state.items.push_front(message);
                }
            }
            if state.aborted {
                state.items.clear();
            }
            // The writer is needed for a full socket, to end the connection, and for what was
            // pushed with a wake while it had to wait for this send: a control or close frame,
            // or a reply (messages pushed deferred are the driver's to release).
            let ending = state.closed || state.aborted;
            let pushed_with_a_wake = !state.items.is_empty()
                && (!state.wake_pending || !send_now::only_messages(&state.items));
            let needed = !all_sent || ending || pushed_with_a_wake;
            if !needed {
                return;
            }
            state.waiting.take()
        };
        if let Some(task) = waiting {
            task.wake();
        }
    }

    /// Lends the websocket's socket to [`send_or_wake`](Self::send_or_wake) while the
    /// returned guard lives (the writer's life).
    pub fn attach(&self, socket: Arc<Async<TcpStream>>) -> Attached<'_> {
        self.lock().socket = Some(socket);
        Attached(self)
    }

    /// The next item, waiting for one; `None` once the queue is closed and empty, or aborted.
    pub async fn next(&self) -> Option<Outbound> {
        self.wait_for(|state| state.items.pop_front()).await
    }

    /// What is queued, oldest first, up to about `max_bytes` (at least one item), waiting for
    /// at least one; `None` once the queue is closed and empty, or aborted.
    ///
    /// Why a byte budget: a client that is behind then reports progress to the bound in steps
    /// (its congestion ends as soon as half is written), not only once its whole backlog is.
    ///
    /// The caller is then writing: no [`send_or_wake`](Self::send_or_wake) sends until it
    /// reports the batch [`written`](Self::written).
    pub async fn next_batch(&self, max_bytes: usize) -> Option<Vec<Outbound>> {
        self.wait_for(|state| {
            state.writing = true;
            Some(take_batch(&mut state.items, max_bytes))
        })
        .await
    }

    /// What `take` takes from the state once it has items (it is only called then); `None`
    /// once the queue is closed and empty, or aborted. Waits with the task's waker in
    /// `waiting`, which the next wake (or close) takes and wakes.
    async fn wait_for<T>(&self, mut take: impl FnMut(&mut State) -> Option<T>) -> Option<T> {
        std::future::poll_fn(|cx| {
            let mut state = self.lock();
            if state.aborted {
                return Poll::Ready(None);
            }
            // While the turn keeper sends, the socket is its: it wakes this task when done.
            if !state.sending {
                if !state.items.is_empty() {
                    return Poll::Ready(take(&mut state));
                }
                if state.closed {
                    return Poll::Ready(None);
                }
            }
            match &mut state.waiting {
                Some(waker) => waker.clone_from(cx.waker()),
                empty => *empty = Some(cx.waker().clone()),
            }
            Poll::Pending
        })
        .await
    }

    /// Resolves once the connection should end whatever it is writing: a close frame was
    /// queued (`false`: allow a short linger for it), or the queue gave up (`true`: end now).
    /// A writer races its socket writes against this, so a peer that stopped reading cannot
    /// keep a connection alive after the engine or the cap let go of it.
    pub async fn ending(&self) -> bool {
        let _ = self.ending_rx.recv().await;
        self.lock().aborted
    }

    /// The writer sent a close frame (one it was queued, or tungstenite's reply to the peer's
    /// close or to a protocol error, which come as `Control`): nothing may follow it, so the
    /// turn keeper sends no more. Called before [`written`](Self::written) ends the batch.
    pub fn close_frame_sent(&self) {
        self.lock().closing = true;
    }

    /// Records that `bytes` of taken items reached the socket. Returns `true` when that ends
    /// congestion (the unwritten bytes fell to half the bound or below): report it.
    pub fn written(&self, bytes: usize) -> bool {
        let mut state = self.lock();
        state.writing = false;
        state.unwritten = state.unwritten.saturating_sub(bytes);
        if state.congested && state.unwritten <= self.bound / 2 {
            state.congested = false;
            return true;
        }
        false
    }

    /// No more items will come: the connection writes what is queued, then ends.
    pub fn close(&self) {
        self.change_and_wake(|state| state.closed = true);
    }

    /// Applies `change` under the lock, then wakes the waiting task once the lock is let go
    /// (so the task, if it runs at once on another thread, does not find the lock held).
    fn change_and_wake(&self, change: impl FnOnce(&mut State)) {
        let waiting = {
            let mut state = self.lock();
            change(&mut state);
            state.waiting.take()
        };
        if let Some(task) = waiting {
            task.wake();
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl State {
    /// Takes the queued messages and the socket to send them with (then `sending`), unless
    /// something could go out of order or the writer should keep its work (it is then woken,
    /// which is also how it learns that its queue gave up): only messages are
    /// queued, the writer holds no batch of its own, no close is queued, the client is not
    /// behind, and the writer lent its socket.
    fn take_sendable(&mut self) -> Option<(VecDeque<Outbound>, Arc<Async<TcpStream>>)> {
        if self.writing || self.sending || self.closing || self.aborted || self.congested {
            return None;
        }
        if !send_now::only_messages(&self.items) {
            return None;
        }
        let socket = self.socket.clone()?;
        self.sending = true;
        Some((std::mem::take(&mut self.items), socket))
    }
}

/// The socket lent by [`OutboundQueue::attach`], taken back when dropped.
pub struct Attached<'a>(&'a OutboundQueue);

impl Drop for Attached<'_> {
    fn drop(&mut self) {
        self.0.lock().socket = None;
    }
}

/// Takes items from the front of `items` while their cost stays within `max_bytes`; always
/// at least one.
fn take_batch(items: &mut VecDeque<Outbound>, max_bytes: usize) -> Vec<Outbound> {
    let mut bytes = 0;
    let mut count = 0;
    for item in items.iter() {
        if count > 0 && bytes + item.cost() > max_bytes {
            break;
        }
        bytes += item.cost();
        count += 1;
    }
    items.drain(..count).collect()
}

#[cfg(test)]
#[path = "outbound_tests.rs"]
mod tests;
