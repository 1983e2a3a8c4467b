//! The driver taken in turns: whoever brings an input runs the engine.
//!
//! Why: with the driver on a thread of its own, every request crossed threads twice (the
//! connection task hands the request over, the driver hands the reply back), and those two
//! wake-ups were most of a request's time and a third of the relay's CPU on keep-alive
//! ingest. Now the task that read an input feeds it itself, under a lock, and usually finds
//! its reply queued when it returns. Inputs that arrive while another thread holds the lock
//! wait in the inbox; the holder feeds them before it lets go, so a busy relay still feeds
//! in bursts.
//!
//! What no connection task brings — the engine's deadlines, the end of a held flush window,
//! inputs from other threads (the store writer, the Redis threads), a flood the current
//! holder should not feed alone, shutdown — is the turn keeper's, a task on the main thread
//! ([`Turns::keep`]) that sleeps until one of them is due or it is poked. So is sending what
//! the bursts routed to websockets: a task's turn that routed a broadcast pokes the keeper,
//! which sends each recipient's messages itself once it has let go of the driver (at most
//! once per flush window, `OutboundQueue::send_or_wake`). Sent from the poster's turn, they
//! made its reply wait behind a thousand sends; left to each recipient's writer task, the
//! wake-ups and the copying into each writer's buffer cost more than the sends.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{fence, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError, TryLockError};
use std::task::{Context, Poll};
use std::time::Instant;

use async_io::Timer;
use iorelay_std::log;
use smol::channel::{Receiver, Sender, TrySendError};
use smol::future::{self, FutureExt};

use crate::driver::{Driver, Due, ToDriver};

/// Messages a connection task feeds in one turn beyond its own before it leaves the rest
/// to the turn keeper: a task feeding others' inputs is not reading or writing its socket.
const TURN: usize = 64;

/// Where other threads and connection tasks put messages for the driver.
#[derive(Clone, Debug)]
pub struct Inbox {
    messages: Sender<ToDriver>,
    poke: Sender<()>,
}

impl Inbox {
    /// From a thread that is not a connection task: queues `message` and pokes the turn
    /// keeper to feed it. False when the inbox is full or closed (the message is dropped).
    pub fn post(&self, message: ToDriver) -> bool {
        let queued = self.messages.try_send(message).is_ok();
        self.poke();
        queued
    }

    /// As `post`, but waits while the inbox is full. False once the driver is gone.
    pub fn post_blocking(&self, message: ToDriver) -> bool {
        let queued = self.messages.send_blocking(message).is_ok();
        self.poke();
        queued
    }

    fn poke(&self) {
        // A full poke channel already has a poke waiting.
        let _ = self.poke.try_send(());
    }
}

/// The driver, its lock and its inbox.
pub struct Turns {
    driver: Mutex<Held>,
    inbox: Inbox,
    messages: Receiver<ToDriver>,
    pokes: Receiver<()>,
}

/// An inbox and what reads it, before the driver exists (the store and the Redis threads,
/// which the driver owns, report through the inbox).
pub fn inbox(capacity: usize) -> (Inbox, Receiver<ToDriver>, Receiver<()>) {
    let (messages, messages_rx) = smol::channel::bounded(capacity);
    let (poke, pokes) = smol::channel::bounded(1);
    (Inbox { messages, poke }, messages_rx, pokes)
}

impl Turns {
    /// Turns at `driver`, fed from `inbox` (made with [`inbox`]).
    pub fn new(
        driver: Driver,
        inbox: Inbox,
        messages: Receiver<ToDriver>,
        pokes: Receiver<()>,
    ) -> Self {
        Self {
            driver: Mutex::new(Held {
                driver,
                armed: Due::default(),
            }),
            inbox,
            messages,
            pokes,
        }
    }

    /// From a connection task (or the listener): `message` is fed by the time this resolves,
    /// by this thread or by the one holding the driver; `false` once the driver is gone. It
    /// resolves at once unless the inbox is full: then the turn keeper is feeding a flood and
    /// the task waits for room, which stops it reading its socket (backpressure).
    pub fn send(&self, message: ToDriver) -> Sending<'_> {
        match self.inbox.messages.try_send(message) {
            Ok(()) => {
                self.take_turns();
                Sending::Done(true)
            }
            Err(TrySendError::Closed(_)) => Sending::Done(false),
            Err(TrySendError::Full(message)) => {
                self.inbox.poke();
                Sending::Waiting(self, Box::pin(self.inbox.messages.send(message)))
            }
        }
    }

    /// Feeds what waits in the inbox, unless another thread holds the driver (it feeds what
    /// waits before it lets go, and looks again after).
    fn take_turns(&self) {
        loop {
            // Why the fence: a sender pushes then tries the lock, a holder unlocks then looks
            // at the inbox; each must see the other's first step, or a message could wait
            // with nobody to feed it.
            fence(Ordering::SeqCst);
            if self.messages.is_empty() {
                return;
            }
            let mut held = match self.driver.try_lock() {
                Ok(held) => held,
                Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
                Err(TryLockError::WouldBlock) => return,
            };
            held.driver.begin_burst();
            let emptied = self.feed_waiting(&mut held.driver);
            self.end_burst(&mut held);
            if !emptied {
                // A flood: the turn keeper feeds the rest; this task has a socket to serve.
                self.inbox.poke();
                return;
            }
        }
    }

    /// Feeds at most `TURN` waiting messages; true when none was left waiting.
    fn feed_waiting(&self, driver: &mut Driver) -> bool {
        for _ in 0..TURN {
            match self.messages.try_recv() {
                Ok(message) => driver.on_message(message),
                Err(_) => return true,
            }
        }
        self.messages.is_empty()
    }

    /// Ends a burst; pokes the turn keeper when it must wake sooner than it will.
    fn end_burst(&self, held: &mut Held) {
        let due = held.driver.end_burst(Instant::now());
        if held.sooner(due) {
            self.inbox.poke();
        }
    }

    /// The turn keeper: feeds the engine's deadlines, wakes what the flush window held, feeds
    /// what other threads posted, until a shutdown signal or a stop request; then shuts the
    /// engine down and closes every queue so connections flush and end.
    pub async fn keep(&self, shutdown: Receiver<()>) {
        let mut deadline = Timer::never();
        let mut flush = Timer::never();
        // What the relay wants done before any input (cluster mode's first connect).
        let mut wake = Wake::Deadline;
        // The writers the flush window released in this turn, sent to once the driver is free.
        let mut to_send = Vec::new();
        loop {
            let (due, flood) = {
                let mut held = self.lock();
                held.driver.begin_burst();
                match wake {
                    Wake::Shutdown => break,
                    Wake::Deadline => held.driver.on_deadline(Instant::now()),
                    Wake::Poked | Wake::Flush => {}
                }
                let flood = !self.feed_waiting(&mut held.driver);
                let due = held.driver.end_keeper_burst(Instant::now(), &mut to_send);
                held.armed = due;
                (due, flood)
            };
            // Off the driver's lock, so connection tasks keep feeding it meanwhile; and off
            // their threads, so no poster's reply waits behind a thousand sends. In a flood
            // this comes every `TURN` messages, so broadcasts keep going out while it lasts.
            for queue in to_send.drain(..) {
                queue.send_or_wake();
            }
            if due.stop {
                log!(Info, "stop requested over HTTP");
                break;
            }
            if flood {
                wake = Wake::Poked;
                continue;
            }
            match due.deadline {
                Some(at) => deadline.set_at(at),
                None => deadline = Timer::never(),
            }
            match due.flush {
                Some(at) => flush.set_at(at),
                None => flush = Timer::never(),
            }
            // A sender that found the driver held while this turn ran left its message to it:
            // look again now that the lock is free (`take_turns` says why the fence).
            fence(Ordering::SeqCst);
            if !self.messages.is_empty() {
                wake = Wake::Poked;
                continue;
            }
            wake = self.wait(&shutdown, &mut deadline, &mut flush).await;
        }
        self.lock().driver.shut_down();
        self.messages.close();
        while let Ok(message) = self.messages.try_recv() {
            if let ToDriver::Opened { queue, .. } = message {
                queue.close();
            }
        }
    }

    /// Shutdown first, then pokes, then the deadline (every input moves the engine's clock,
    /// so a busy inbox never starves its timers), then the held flush.
    async fn wait(&self, shutdown: &Receiver<()>, deadline: &mut Timer, flush: &mut Timer) -> Wake {
        let stop = async {
            if shutdown.recv().await.is_err() {
                // No signal handling could be installed: only a stop request ends the relay.
                future::pending::<()>().await;
            }
            Wake::Shutdown
        };
        let poked = async {
            if self.pokes.recv().await.is_err() {
                future::pending::<()>().await;
            }
            Wake::Poked
        };
        let deadline = async {
            deadline.await;
            Wake::Deadline
        };
        let flush = async {
            flush.await;
            Wake::Flush
        };
        stop.or(poked).or(deadline).or(flush).await
    }

    fn lock(&self) -> MutexGuard<'_, Held> {
        self.driver.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The driver and what the turn keeper's timers are set for.
struct Held {
    driver: Driver,
    armed: Due,
}

impl Held {
    /// Whether `due` needs the turn keeper sooner than its timers wake it. A later deadline
    /// needs no poke: the keeper wakes early, finds nothing due, and sets its timers again.
    fn sooner(&self, due: Due) -> bool {
        let sooner = |new: Option<Instant>, armed: Option<Instant>| match (new, armed) {
            (Some(new), Some(armed)) => new < armed,
            (new, _) => new.is_some(),
        };
        (due.stop && !self.armed.stop)
            || sooner(due.deadline, self.armed.deadline)
            || sooner(due.flush, self.armed.flush)
    }
}

/// [`Turns::send`]'s future. Why not an `async fn`: that state machine holds the message (200
/// bytes) and the channel's send future (over 400), and every connection task holds the
/// largest state of each of its awaits for its whole life; boxing the rare full-inbox case
/// keeps an idle connection's task about 900 bytes smaller.
pub enum Sending<'a> {
    /// Fed or queued (`true`), or refused by a driver that is gone (`false`).
    Done(bool),
    /// The inbox was full: waiting for room.
    Waiting(&'a Turns, Pin<Box<smol::channel::Send<'a, ToDriver>>>),
}

impl Future for Sending<'_> {
    type Output = bool;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<bool> {
        match self.get_mut() {
            Sending::Done(sent) => Poll::Ready(*sent),
            Sending::Waiting(turns, send) => send.as_mut().poll(cx).map(|sent| {
                if sent.is_ok() {
                    turns.take_turns();
                }
                sent.is_ok()
            }),
        }
    }
}

/// Why the turn keeper woke.
enum Wake {
    Poked,
    Deadline,
    Flush,
    Shutdown,
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use iorelay_core::http::{HeadLimits, ReadProgress, RequestReader};
    use iorelay_core::{Config, ConnId, Input, Relay};

    use super::*;
    use crate::outbound::{Outbound, OutboundQueue};

    fn turns() -> Turns {
        let engine = Relay::new(Config::default(), Instant::now(), [7; 32]);
        let driver = Driver::new(engine, None, Arc::default());
        let (inbox, messages, pokes) = inbox(16);
        Turns::new(driver, inbox, messages, pokes)
    }

    fn get_health(conn: ConnId) -> ToDriver {
        let mut reader = RequestReader::new(HeadLimits::default());
        reader.feed(b"GET /health HTTP/1.1\r\nHost: relay\r\n\r\n");
        let ReadProgress::Request { head, body } = reader.next_request(|_| 0) else {
            panic!("a whole request")
        };
        ToDriver::Input(Input::Http {
            now: Instant::now(),
            conn,
            peer: None,
            head,
            body,
        })
    }

    fn opened(conn: ConnId) -> (ToDriver, Arc<OutboundQueue>) {
        let queue = Arc::new(OutboundQueue::new(1 << 20));
        let message = ToDriver::Opened {
            conn,
            queue: Arc::clone(&queue),
        };
        (message, queue)
    }

    /// What `queue` holds now, without waiting: `Some(None)` once it is closed.
    fn queued(queue: &OutboundQueue) -> Option<Option<Outbound>> {
        smol::block_on(future::poll_once(queue.next()))
    }

    fn status(item: Option<Option<Outbound>>) -> Option<u16> {
        match item {
            Some(Some(Outbound::Reply(response))) => Some(response.status),
            _ => None,
        }
    }

    #[test]
    fn the_task_that_sends_a_request_finds_its_reply_queued() {
        let turns = turns();
        let (open, queue) = opened(ConnId(1));
        assert!(smol::block_on(turns.send(open)));
        assert!(smol::block_on(turns.send(get_health(ConnId(1)))));
        // Nothing else runs the driver here: the send fed it.
        assert_eq!(status(queued(&queue)), Some(200));
    }

    #[test]
    fn what_arrives_while_the_driver_is_held_is_fed_by_the_next_turn() {
        let turns = turns();
        let (open_a, a) = opened(ConnId(1));
        let (open_b, b) = opened(ConnId(2));
        assert!(smol::block_on(turns.send(open_a)));
        assert!(smol::block_on(turns.send(open_b)));
        {
            let _held = turns.lock();
            assert!(smol::block_on(turns.send(get_health(ConnId(1)))));
            assert!(queued(&a).is_none(), "queued behind the holder");
        }
        assert!(smol::block_on(turns.send(get_health(ConnId(2)))));
        assert_eq!(status(queued(&a)), Some(200), "fed first");
        assert_eq!(status(queued(&b)), Some(200));
    }

    #[test]
    fn the_keeper_feeds_what_other_threads_post_and_closes_every_queue_at_shutdown() {
        let turns = turns();
        let (open, queue) = opened(ConnId(1));
        assert!(turns.inbox.post(open));
        assert!(turns.inbox.post(get_health(ConnId(1))));
        assert!(queued(&queue).is_none(), "a post waits for the keeper");
        // Its first turn comes before it looks at the signal.
        let (stop, shutdown) = smol::channel::bounded(1);
        stop.try_send(()).expect("room for the signal");
        let keeping = async {
            turns.keep(shutdown).await;
            true
        };
        let bounded = async {
            Timer::after(Duration::from_secs(5)).await;
            false
        };
        assert!(smol::block_on(keeping.or(bounded)), "ended");
        assert_eq!(status(queued(&queue)), Some(200));
        assert!(matches!(queued(&queue), Some(None)), "closed at shutdown");
        assert!(
            !smol::block_on(turns.send(get_health(ConnId(1)))),
            "driver gone"
        );
    }

    #[test]
    fn the_keeper_is_poked_only_when_it_must_wake_sooner() {
        let now = Instant::now();
        let later = now + Duration::from_secs(1);
        let held = |armed: Due| Held {
            driver: Driver::new(
                Relay::new(Config::default(), now, [7; 32]),
                None,
                Arc::default(),
            ),
            armed,
        };
        let idle = held(Due::default());
        assert!(!idle.sooner(Due::default()));
        assert!(idle.sooner(Due {
            deadline: Some(later),
            ..Due::default()
        }));
        let armed = held(Due {
            deadline: Some(now),
            flush: Some(now),
            stop: false,
        });
        let later_only = Due {
            deadline: Some(later),
            flush: Some(later),
            stop: false,
        };
        assert!(!armed.sooner(later_only), "it wakes early and sets again");
        assert!(armed.sooner(Due {
            stop: true,
            ..later_only
        }));
    }
}
