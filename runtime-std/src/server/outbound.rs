//! A connection's outbound queue: what the driver (and the connection's own reader) hands the
//! connection's writer thread, bounded in bytes so the engine can be told about congestion.
//!
//! Why a `Mutex` + `Condvar` and not a channel: the writer must wait for the earliest of "an
//! item arrived", "the connection's HTTP deadline passed" (a deadline the reader moves while
//! the writer sleeps) and "the reader is gone", and must take everything queued at once so a
//! burst of messages goes out in one write. The byte count includes items the writer has taken
//! but not yet written, so a peer that stops reading shows up as a growing count.
//!
//! The writer thread runs only while it has work: with nothing queued and no deadline or
//! linger to keep, it exits after an idle spell (see [`Outbound::wait`]), and whoever queues
//! the next item starts a new one (the methods that wake the writer say when). Why: an idle
//! websocket, most of what a dashboard server holds, then costs one thread (its reader)
//! instead of two, which halves its memory (thread stacks are most of it) and the mappings
//! `vm.max_map_count` bounds.

use std::collections::VecDeque;
use std::io::{self, IoSlice};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use iorelay_core::config::QUEUE_HARD_CAP_FACTOR;
use iorelay_core::http::Response;
use iorelay_std::send_now::{self, Queued};

/// One thing for the writer to do, in order.
#[derive(Debug)]
pub enum Item {
    /// The engine's reply to the connection's pending HTTP request.
    Reply(Response),
    /// Complete the pending websocket upgrade request (101) and switch to websocket.
    Accept,
    /// One websocket data message, already framed by the driver (header and payload, see
    /// `iorelay_std::wsframe`) and written verbatim; every recipient of a broadcast is
    /// queued the same `Bytes`.
    Message(Bytes),
    /// Bytes the connection itself must send, already framed, written verbatim: websocket
    /// control frames tungstenite produced while reading (pongs, the reply to a peer's
    /// close), or HTTP's `100 Continue`.
    Control(Bytes),
    /// Send a websocket close frame, then wait (bounded) for the peer to answer it.
    Close {
        /// The close code.
        code: u16,
        /// The close reason.
        reason: &'static str,
    },
    /// Write everything queued before this, then end the connection.
    Finish,
}

impl Queued for Item {
    fn message(&self) -> Option<&Bytes> {
        match self {
            Item::Message(bytes) => Some(bytes),
            _ => None,
        }
    }

    fn message_mut(&mut self) -> Option<&mut Bytes> {
        match self {
            Item::Message(bytes) => Some(bytes),
            _ => None,
        }
    }
}

impl Item {
    /// Bytes this item counts against the queue's bound.
    fn weight(&self) -> usize {
        match self {
            Item::Reply(response) => response.body.len(),
            Item::Message(bytes) | Item::Control(bytes) => bytes.len(),
            Item::Accept | Item::Close { .. } | Item::Finish => 0,
        }
    }
}

/// What became of an item the driver queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pushed {
    /// Queued (or dropped because the connection is already ending).
    Queued,
    /// Queued, and the queue just went over its bound: report congestion to the engine.
    NowCongested,
    /// Not queued: the queue would pass its hard cap (`QUEUE_HARD_CAP_FACTOR` times its
    /// bound), so the peer reads nothing; the caller aborts the connection and reports
    /// `Input::QueueOverflow`, which keeps memory bounded whatever the peer does.
    Overflow,
}

/// What the writer's wait ended with.
#[derive(Debug)]
pub enum Wait {
    /// Items to write, oldest first, and their total weight (pass it to [`Outbound::written`]).
    Items(Vec<Item>, usize),
    /// The connection's deadline (or the writer's own linger deadline) passed with nothing queued.
    Deadline,
    /// Nothing queued and nothing more will come: the reader ended or the connection was aborted.
    Stop,
    /// Nothing to do for the idle spell: the writer thread ends, the connection stays, and the
    /// next wake starts a writer again.
    Idle,
}

/// A producer's wake found no writer thread running: the caller must start one (and the
/// queue counts it as running from now on).
pub type StartWriter = bool;

/// The connection's own item was refused: its queue is far past the hard cap (a peer flooding
/// pings without reading); the caller aborts the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused;

/// The queue shared by a connection's writer (consumer) and the driver and reader (producers).
#[derive(Debug)]
pub struct Outbound {
    state: Mutex<State>,
    /// Wakes the writer: an item, a new deadline, the end.
    ready: Condvar,
    /// Wakes a paused reader: the pending reply was written, or the end.
    resumed: Condvar,
    bound: usize,
}

#[derive(Debug, Default)]
struct State {
    items: VecDeque<Item>,
    /// Weight queued or taken but not yet written.
    bytes: usize,
    congested: bool,
    /// When the reader's HTTP header or idle deadline closes the connection.
    deadline: Option<Instant>,
    /// The reader stops reading until the pending HTTP reply is written.
    paused: bool,
    reader_gone: bool,
    aborted: bool,
    /// Items were queued without waking the writer; the driver wakes it after its burst.
    wake_pending: bool,
    /// No writer thread is running (it went idle); the next wake must start one.
    writer_idle: bool,
    /// The writer sleeps on `ready`. Why track it: a notify is a system call even with no
    /// one asleep, and a busy writer checks the queue before it sleeps anyway.
    writer_asleep: bool,
    /// The writer took items it has not finished writing.
    writing: bool,
    /// A close frame or the end was queued: no message may be written after it.
    closing: bool,
}

impl State {
    /// Queues `item` and counts it (the caller has checked the bounds).
    fn append(&mut self, item: Item) {
        self.bytes += item.weight();
        self.closing |= matches!(item, Item::Close { .. } | Item::Finish);
        self.items.push_back(item);
    }
}

impl Outbound {
    /// An empty queue that reports congestion above `bound` bytes.
    pub fn new(bound: usize) -> Self {
        Self {
            state: Mutex::new(State::default()),
            ready: Condvar::new(),
            resumed: Condvar::new(),
            bound,
        }
    }

    /// Queues `item` and wakes the writer, saying whether the queue just went over its bound
    /// or would overflow (see [`Pushed`]) and whether a writer must be started. Dropped when
    /// the connection was aborted.
    pub fn push(&self, item: Item) -> (Pushed, StartWriter) {
        let mut state = self.lock();
        let pushed = self.enqueue(&mut state, item, false).0;
        (pushed, self.notify(state))
    }

    /// Queues `item` like [`Self::push`] but leaves the writer asleep: the second value is
    /// true when this is the first such item since the writer was last woken, so the caller
    /// knows to [`Self::wake_or_send`] this queue once its burst is over. Why: a broadcast burst then
    /// costs each writer one wake-up and one write for all its frames, instead of a thread
    /// switch per frame (the writer used to wake at the first frame and race the driver for
    /// the rest).
    pub fn push_deferred(&self, item: Item) -> (Pushed, bool) {
        self.enqueue(&mut self.lock(), item, true)
    }

    fn enqueue(&self, state: &mut State, item: Item, defer: bool) -> (Pushed, bool) {
        if state.aborted {
            return (Pushed::Queued, false);
        }
        // A queue within its bound takes any one item, however large (a history page may pass
        // the cap on its own): only a client already behind is cut off, so memory stays under
        // the cap plus one message.
        if state.bytes > self.bound
            && state.bytes.saturating_add(item.weight())
                > self.bound.saturating_mul(QUEUE_HARD_CAP_FACTOR)
        {
            return (Pushed::Overflow, false);
        }
        state.append(item);
        let first = if defer {
            !std::mem::replace(&mut state.wake_pending, true)
        } else {
            state.wake_pending = false;
            false
        };
        if !state.congested && state.bytes > self.bound {
            state.congested = true;
            return (Pushed::NowCongested, first);
        }
        (Pushed::Queued, first)
    }

    /// Wakes the writer for what [`Self::push_deferred`] queued, after offering it to `send`,
    /// a write that never waits (`iorelay_std::send_now`), when only websocket messages are
    /// queued and nothing can go out of order: no writer mid-write, no close queued, not
    /// congested (a slow peer's writer keeps its work). What `send` takes needs no writer.
    pub fn wake_or_send(
        &self,
        send: impl FnOnce(&[IoSlice<'_>]) -> io::Result<usize>,
    ) -> StartWriter {
        let mut state = self.lock();
        state.wake_pending = false;
        let busy = state.aborted || state.writing || state.closing || state.congested;
        if busy || !send_now::only_messages(&state.items) {
            return self.notify(state);
        }
        if let Ok(sent) = send_now::send_queued(&mut state.items, send) {
            state.bytes = state.bytes.saturating_sub(sent);
            if state.items.is_empty() {
                return false;
            }
        }
        // The writer meets the error (or the full socket) and deals with it.
        self.notify(state)
    }

    /// Queues what the connection itself must send (control frames, an error reply, a close)
    /// and wakes the writer.
    ///
    /// # Errors
    /// [`Refused`] when the item has bytes and the queue is already past its hard cap.
    pub fn push_own(&self, item: Item) -> Result<StartWriter, Refused> {
        let mut state = self.lock();
        if state.aborted {
            return Ok(false);
        }
        if item.weight() > 0 && state.bytes > self.bound.saturating_mul(QUEUE_HARD_CAP_FACTOR) {
            return Err(Refused);
        }
        state.append(item);
        Ok(self.notify(state))
    }

    /// Releases the lock, then wakes the writer; or says it must be started (none runs and
    /// the connection is live). Why after the lock: a writer woken while the lock is still
    /// held wakes only to block on it, a second sleep and thread switch per wake.
    fn notify(&self, mut state: MutexGuard<'_, State>) -> StartWriter {
        let start = state.writer_idle && !state.aborted;
        state.writer_idle &= !start;
        let asleep = state.writer_asleep;
        drop(state);
        if asleep {
            self.ready.notify_one();
        }
        start
    }

    /// Whether the queue is over its bound (and not yet back under half of it).
    pub fn is_congested(&self) -> bool {
        self.lock().congested
    }

    /// Sets the instant the writer closes an idle or stalled-request connection at (the
    /// writer keeps it, so a deadline may need a writer started).
    pub fn set_deadline(&self, deadline: Option<Instant>) -> StartWriter {
        let mut state = self.lock();
        if state.deadline == deadline {
            return false;
        }
        state.deadline = deadline;
        self.notify(state)
    }

    /// Pauses or resumes the reader (see [`Outbound::wait_resumed`]).
    pub fn set_paused(&self, paused: bool) {
        let was = std::mem::replace(&mut self.lock().paused, paused);
        // Outside the lock, as in `notify`; only a pause that ends has a reader to wake.
        if was && !paused {
            self.resumed.notify_all();
        }
    }

    /// The reader's wait while paused; returns at once when not paused or aborted.
    pub fn wait_resumed(&self) {
        let mut state = self.lock();
        while state.paused && !state.aborted {
            state = self
                .resumed
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// The reader has ended: the writer flushes what is queued and stops, ending the
    /// connection. False when no writer runs (nothing is queued): the caller ends it.
    pub fn reader_gone(&self) -> bool {
        let mut state = self.lock();
        state.reader_gone = true;
        self.ready.notify_one();
        !state.writer_idle
    }

    /// The connection is being torn down: drop everything queued and refuse new items.
    pub fn abort(&self) {
        let mut state = self.lock();
        state.aborted = true;
        state.items.clear();
        self.ready.notify_one();
        self.resumed.notify_all();
    }

    /// The writer's wait: all queued items up to about `max_batch` bytes (at least one), or the
    /// earlier of the connection's deadline and `linger` passing, or the end of the connection;
    /// with neither a deadline nor a linger, [`Wait::Idle`] once `idle` passes with nothing
    /// queued (the writer then ends and the queue counts it gone).
    pub fn wait(&self, linger: Option<Instant>, max_batch: usize, idle: Duration) -> Wait {
        let idle_until = Instant::now() + idle;
        let mut state = self.lock();
        loop {
            if state.aborted {
                return Wait::Stop;
            }
            if !state.items.is_empty() {
                let mut batch = Vec::new();
                let mut weight = 0;
                while let Some(item) = state.items.pop_front() {
                    weight += item.weight();
                    batch.push(item);
                    if weight >= max_batch {
                        break;
                    }
                }
                state.writing = true;
                return Wait::Items(batch, weight);
            }
            if state.reader_gone {
                return Wait::Stop;
            }
            let deadline = match (state.deadline, linger) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            let now = Instant::now();
            match deadline {
                Some(at) if at <= now => return Wait::Deadline,
                None if idle_until <= now => {
                    state.writer_idle = true;
                    return Wait::Idle;
                }
                _ => {}
            }
            let until = deadline.unwrap_or(idle_until);
            state.writer_asleep = true;
            state = self
                .ready
                .wait_timeout(state, until - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
            state.writer_asleep = false;
        }
    }

    /// The writer finished writing items of total `weight`; true when this took a congested
    /// queue back under half its bound (report `Input::Congestion { congested: false }`).
    pub fn written(&self, weight: usize) -> bool {
        let mut state = self.lock();
        state.writing = false;
        state.bytes = state.bytes.saturating_sub(weight);
        if state.congested && state.bytes <= self.bound / 2 {
            state.congested = false;
            return true;
        }
        false
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
#[path = "outbound_tests.rs"]
mod tests;
