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

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Poll, Waker};

use bytes::Bytes;
use iorelay_core::config::QUEUE_HARD_CAP_FACTOR;
use iorelay_core::http::Response;
use iorelay_std::flush_window::Writer;
use smol::channel::{Receiver, Sender};

/// Up to this many queued bytes are taken (and written) at once, as in the std runtime: a
/// burst costs one write, and a long backlog still reports progress to the bound in steps.
pub const MAX_BATCH_BYTES: usize = 256 * 1024;

/// One thing to write on a connection.
#[derive(Debug)]
pub enum Outbound {
    /// The HTTP reply to the request the connection is waiting on.
    Reply(Response),
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
            Pushed::Overflowed
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

    /// The next item, waiting for one; `None` once the queue is closed and empty, or aborted.
    pub async fn next(&self) -> Option<Outbound> {
        self.wait_for(|items| items.pop_front()).await
    }

    /// What is queued, oldest first, up to about `max_bytes` (at least one item), waiting for
    /// at least one; `None` once the queue is closed and empty, or aborted.
    ///
    /// Why a byte budget: the writer copies a batch into one buffer for one write, so a batch
    /// of everything queued would double the memory of a client that is behind (its stuck
    /// write holding a copy of the whole queue).
    pub async fn next_batch(&self, max_bytes: usize) -> Option<Vec<Outbound>> {
        self.wait_for(|items| Some(take_batch(items, max_bytes)))
            .await
    }

    /// What `take` takes from the items once there are some (it is only called on a queue
    /// that has items); `None` once the queue is closed and empty, or aborted. Waits with the
    /// task's waker in `waiting`, which the next wake (or close) takes and wakes.
    async fn wait_for<T>(
        &self,
        mut take: impl FnMut(&mut VecDeque<Outbound>) -> Option<T>,
    ) -> Option<T> {
        std::future::poll_fn(|cx| {
            let mut state = self.lock();
            if state.aborted {
                return Poll::Ready(None);
            }
            if !state.items.is_empty() {
                return Poll::Ready(take(&mut state.items));
            }
            if state.closed {
                return Poll::Ready(None);
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

    /// Records that `bytes` of taken items reached the socket. Returns `true` when that ends
    /// congestion (the unwritten bytes fell to half the bound or below): report it.
    pub fn written(&self, bytes: usize) -> bool {
        let mut state = self.lock();
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

impl Writer for OutboundQueue {
    fn wake_writer(self: &Arc<Self>) {
        self.wake();
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
mod tests {
    use super::*;
    use std::future::Future;
    use std::sync::atomic::{AtomicBool, Ordering};

    fn message(len: usize) -> Outbound {
        Outbound::Message(Bytes::from(vec![0u8; len]))
    }

    #[test]
    fn congestion_is_reported_once_above_the_bound_and_ends_at_half() {
        let queue = OutboundQueue::new(100);
        assert_eq!(queue.push(message(60)), Pushed::Queued);
        assert_eq!(queue.push(message(60)), Pushed::Congested);
        assert_eq!(queue.push(message(10)), Pushed::Queued);
        let batch = smol::block_on(queue.next_batch(usize::MAX)).unwrap();
        assert_eq!(batch.len(), 3);
        assert!(!queue.written(60), "70 unwritten is still above half");
        assert!(queue.written(60), "10 unwritten is below half");
        assert!(!queue.written(10));
    }

    #[test]
    fn a_batch_stops_at_its_byte_budget_but_takes_at_least_one_item() {
        let queue = OutboundQueue::new(1000);
        for len in [30, 30, 30, 200] {
            queue.push(message(len));
        }
        let first = smol::block_on(queue.next_batch(70)).unwrap();
        assert_eq!(first.len(), 2);
        let second = smol::block_on(queue.next_batch(70)).unwrap();
        assert_eq!(second.len(), 1);
        let third = smol::block_on(queue.next_batch(70)).unwrap();
        assert_eq!(third.len(), 1, "one item larger than the budget");
    }

    #[test]
    fn a_batch_takes_everything_in_order() {
        let queue = OutboundQueue::new(100);
        queue.push(Outbound::Accept);
        queue.push(message(1));
        queue.push(Outbound::Close {
            code: 1000,
            reason: "bye",
        });
        let batch = smol::block_on(queue.next_batch(usize::MAX)).unwrap();
        assert!(matches!(
            batch.as_slice(),
            [
                Outbound::Accept,
                Outbound::Message(_),
                Outbound::Close { code: 1000, .. }
            ]
        ));
    }

    #[test]
    fn a_batch_stops_before_the_batch_size_but_takes_at_least_one_item() {
        let mut items: VecDeque<Outbound> = [100, 100, 100].map(message).into();
        let batch = take_batch(&mut items, 250);
        assert_eq!(batch.len(), 2);
        assert_eq!(items.len(), 1);
        let mut items: VecDeque<Outbound> = [400, 1].map(message).into();
        assert_eq!(
            take_batch(&mut items, 250).len(),
            1,
            "an item over the size alone"
        );
        assert_eq!(take_batch(&mut items, 250).len(), 1);
    }

    #[test]
    fn a_closed_queue_yields_what_was_queued_then_ends() {
        let queue = OutboundQueue::new(100);
        queue.push(message(1));
        queue.close();
        assert_eq!(queue.push(message(1)), Pushed::Queued);
        assert!(smol::block_on(queue.next()).is_some());
        assert!(smol::block_on(queue.next()).is_none());
    }

    #[test]
    fn passing_the_hard_cap_aborts_and_drops_everything() {
        let queue = OutboundQueue::new(10);
        assert_eq!(queue.push(message(11)), Pushed::Congested);
        assert_eq!(queue.push(message(70)), Pushed::Overflowed);
        assert!(smol::block_on(queue.next_batch(usize::MAX)).is_none());
    }

    #[test]
    fn a_queue_within_its_bound_takes_one_item_larger_than_the_cap() {
        let queue = OutboundQueue::new(10);
        assert_eq!(queue.push(message(500)), Pushed::Congested);
        assert_eq!(queue.push(message(1)), Pushed::Overflowed);
    }

    #[test]
    fn ending_resolves_on_a_queued_close_or_an_overflow() {
        let queue = OutboundQueue::new(10);
        queue.push(Outbound::Close {
            code: 1000,
            reason: "bye",
        });
        assert!(!smol::block_on(queue.ending()));
        let queue = OutboundQueue::new(10);
        queue.push(message(11));
        queue.push(message(90));
        assert!(smol::block_on(queue.ending()));
    }

    #[test]
    fn a_waiting_task_is_woken_by_a_push_from_another_thread() {
        let queue = std::sync::Arc::new(OutboundQueue::new(100));
        let pusher = std::sync::Arc::clone(&queue);
        let thread = std::thread::spawn(move || {
            pusher.push(message(5));
        });
        let batch = smol::block_on(queue.next_batch(usize::MAX)).unwrap();
        thread.join().unwrap();
        assert_eq!(batch.len(), 1);
    }

    #[test]
    fn a_waiting_task_is_woken_by_a_deferred_push_only_at_the_wake() {
        let queue = OutboundQueue::new(100);
        let mut wait = std::pin::pin!(queue.next_batch(usize::MAX));
        let woken = Arc::new(Woken::default());
        let waker = std::task::Waker::from(Arc::clone(&woken));
        let mut cx = std::task::Context::from_waker(&waker);
        assert!(wait.as_mut().poll(&mut cx).is_pending());
        assert_eq!(queue.push_deferred(message(5)), (Pushed::Queued, true));
        assert!(
            !woken.0.load(Ordering::SeqCst),
            "a deferred push does not wake"
        );
        queue.wake();
        assert!(woken.0.load(Ordering::SeqCst));
        assert!(
            matches!(wait.as_mut().poll(&mut cx), Poll::Ready(Some(batch)) if batch.len() == 1)
        );
    }

    #[test]
    fn a_waiting_task_is_woken_by_a_close_and_ends() {
        let queue = OutboundQueue::new(100);
        let mut wait = std::pin::pin!(queue.next());
        let woken = Arc::new(Woken::default());
        let waker = std::task::Waker::from(Arc::clone(&woken));
        let mut cx = std::task::Context::from_waker(&waker);
        assert!(wait.as_mut().poll(&mut cx).is_pending());
        queue.close();
        assert!(woken.0.load(Ordering::SeqCst));
        assert!(matches!(wait.as_mut().poll(&mut cx), Poll::Ready(None)));
    }

    /// A waker that records that it was woken.
    #[derive(Default)]
    struct Woken(AtomicBool);

    impl std::task::Wake for Woken {
        fn wake(self: Arc<Self>) {
            self.0.store(true, Ordering::SeqCst);
        }
    }
}
