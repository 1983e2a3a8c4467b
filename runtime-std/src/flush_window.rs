//! When a driver (either runtime's) wakes the connections a broadcast was queued for: at once
//! after a quiet spell, at most once per window while broadcasts come back to back.
//!
//! Why: each wake makes every recipient's writer send what it has with one `send`, and on a
//! loopback the kernel's work per `send` is most of a fan-out's CPU. While events arrive
//! faster than the window, holding the wake lets each connection write several messages at
//! once; a lone event (a dashboard's usual traffic) is never held. The cost is at most one
//! window of latency, and only under a load that already queues.

use std::sync::Arc;
use std::time::{Duration, Instant};

/// iorelay-std's wakes are at least this far apart while broadcasts keep coming. Why 2 ms: at
/// max rate to 100 clients (perf stat) 1 ms cut the sends per message from 0.26 to 0.24, 2 ms
/// to 0.16 and 3 ms to 0.11, with the median delivery 2.4 -> 3.0-3.4 -> 4.3 ms; events 10 ms
/// apart (100 a second) are never held. Since its driver sends a burst itself (send_now), 4 ms
/// bought it nothing (the suite, one run: keep-alive ingest 29.1 -> 25.7 k events/s, max rate
/// to 1000 clients 1.0 -> 1.1 us per message).
pub const WINDOW: Duration = Duration::from_millis(2);

/// iorelay's (smol) window. Why 4 ms there: measured when its writers were tasks woken per
/// window (before its turn keeper sent broadcasts itself, and not measured again since): at
/// max rate to 100 clients 4 ms cut the CPU per message from 1.4 to 1.1 us (the suite, A/B
/// twice, `results/20261206T140209Z`; 0.09 -> 0.05 sends per message by perf stat) with the
/// median delivery 2.0 -> 3.3 ms; to 1000 clients, where one round of writes already outlasts
/// the window, and at 100 events a second it changed nothing beyond the noise.
pub const TASK_WINDOW: Duration = Duration::from_millis(4);

/// A connection's writer, which a driver wakes to send what it queued for it.
pub trait Writer {
    /// Wakes the writer (or starts it) to send what is queued.
    fn wake_writer(self: &Arc<Self>);
}

/// The writers given broadcast messages since their last wake, and the window that says when
/// to wake them: what both drivers hold between their bursts.
#[derive(Debug)]
pub struct Routed<T> {
    writers: Vec<Arc<T>>,
    window: FlushWindow,
}

impl<T> Routed<T> {
    /// Nothing routed yet; wakes at least `window` apart while broadcasts keep coming.
    pub fn new(window: Duration) -> Self {
        Self {
            writers: Vec::new(),
            window: FlushWindow::new(window),
        }
    }

    /// `writer` was given its first message since its last wake.
    pub fn add(&mut self, writer: Arc<T>) {
        self.writers.push(writer);
    }

    /// As [`wake_or_hold`](Self::wake_or_hold), but moves the writers to `to` instead of
    /// waking them: iorelay's turn keeper sends to them itself once it has let go of the
    /// driver (`iorelay_std::send_now`).
    pub fn hand_over_or_hold(&mut self, now: Instant, to: &mut Vec<Arc<T>>) -> Option<Instant> {
        let held = self.hold(now);
        if held.is_none() {
            to.append(&mut self.writers);
        }
        held
    }

    /// When what was added may be released: `now` after a quiet spell, else the end of the
    /// window; `None` when nothing was added. Records nothing: iorelay's connection tasks ask
    /// it at the end of their turns, and only its turn keeper releases (`hand_over_or_hold`).
    pub fn release_at(&self, now: Instant) -> Option<Instant> {
        if self.writers.is_empty() {
            return None;
        }
        Some(self.window.held_until(now).unwrap_or(now))
    }

    /// When the window holds what was added: `None` to release it now (the release is
    /// recorded), also when nothing was added.
    fn hold(&mut self, now: Instant) -> Option<Instant> {
        if self.writers.is_empty() {
            return None;
        }
        self.window.wake_at(now)
    }
}

/// Waking the writers, for iorelay-std's driver; iorelay's turn keeper has its writers handed
/// over instead (`hand_over_or_hold`).
impl<T: Writer> Routed<T> {
    /// Wakes every writer added since the last wake, unless the window holds them: then
    /// returns the instant to call again at. `None` also when nothing was added.
    pub fn wake_or_hold(&mut self, now: Instant) -> Option<Instant> {
        let held = self.hold(now);
        if held.is_none() {
            self.wake_all();
        }
        held
    }

    /// Wakes every writer added since the last wake, window or not (at shutdown).
    pub fn wake_all(&mut self) {
        for writer in self.writers.drain(..) {
            writer.wake_writer();
        }
    }
}

/// The last wake, and the window that follows it.
#[derive(Debug)]
struct FlushWindow {
    window: Duration,
    last: Option<Instant>,
}

impl FlushWindow {
    /// A window of `window` after each wake.
    fn new(window: Duration) -> Self {
        Self { window, last: None }
    }

    /// Whether routed messages may be woken `now` (the wake is then recorded), or the
    /// instant to wake them at.
    fn wake_at(&mut self, now: Instant) -> Option<Instant> {
        let held = self.held_until(now);
        if held.is_none() {
            self.last = Some(now);
        }
        held
    }

    /// The end of the window if it holds a wake `now`.
    fn held_until(&self, now: Instant) -> Option<Instant> {
        self.last
            .map(|last| last + self.window)
            .filter(|&end| now < end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[derive(Default)]
    struct Counted(AtomicUsize);

    impl Writer for Counted {
        fn wake_writer(self: &Arc<Self>) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    #[test]
    fn routed_writers_are_woken_once_at_once_or_at_the_window_s_end() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let (a, b) = (Arc::new(Counted::default()), Arc::new(Counted::default()));
        let mut routed = Routed::new(ms(2));
        assert_eq!(
            routed.wake_or_hold(t0),
            None,
            "nothing routed, nothing to do"
        );
        routed.add(Arc::clone(&a));
        assert_eq!(
            routed.wake_or_hold(t0),
            None,
            "after a quiet spell: at once"
        );
        assert_eq!(a.0.load(Ordering::Relaxed), 1);
        routed.add(Arc::clone(&a));
        routed.add(Arc::clone(&b));
        assert_eq!(routed.wake_or_hold(t0 + ms(1)), Some(t0 + ms(2)), "held");
        assert_eq!(a.0.load(Ordering::Relaxed), 1);
        assert_eq!(routed.wake_or_hold(t0 + ms(2)), None);
        assert_eq!(
            (a.0.load(Ordering::Relaxed), b.0.load(Ordering::Relaxed)),
            (2, 1)
        );
        routed.add(Arc::clone(&b));
        assert!(routed.wake_or_hold(t0 + ms(3)).is_some());
        routed.wake_all();
        assert_eq!(
            b.0.load(Ordering::Relaxed),
            2,
            "shutdown wakes whatever the window says"
        );
    }

    #[test]
    fn handed_over_writers_are_released_as_woken_ones_would_be() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let a = Arc::new(Counted::default());
        let mut routed = Routed::new(ms(2));
        let mut to = Vec::new();
        routed.add(Arc::clone(&a));
        assert_eq!(routed.hand_over_or_hold(t0, &mut to), None);
        assert_eq!(to.len(), 1, "after a quiet spell: at once");
        routed.add(Arc::clone(&a));
        assert_eq!(
            routed.hand_over_or_hold(t0 + ms(1), &mut to),
            Some(t0 + ms(2))
        );
        assert_eq!(to.len(), 1, "held");
        assert_eq!(routed.hand_over_or_hold(t0 + ms(2), &mut to), None);
        assert_eq!(to.len(), 2);
        assert_eq!(a.0.load(Ordering::Relaxed), 0, "handed over, never woken");
        routed.add(Arc::clone(&a));
        assert_eq!(
            routed.release_at(t0 + ms(3)),
            Some(t0 + ms(4)),
            "asked while held"
        );
        assert_eq!(
            routed.release_at(t0 + ms(5)),
            Some(t0 + ms(5)),
            "asked after"
        );
        assert_eq!(
            routed.hand_over_or_hold(t0 + ms(3), &mut to),
            Some(t0 + ms(4)),
            "asking recorded nothing"
        );
    }

    #[test]
    fn a_broadcast_after_a_quiet_spell_wakes_at_once() {
        let t0 = Instant::now();
        let mut window = FlushWindow::new(Duration::from_millis(1));
        assert_eq!(window.wake_at(t0), None);
        assert_eq!(window.wake_at(t0 + Duration::from_millis(5)), None);
    }

    #[test]
    fn broadcasts_within_the_window_wait_for_its_end() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut window = FlushWindow::new(ms(1));
        assert_eq!(window.wake_at(t0), None);
        assert_eq!(
            window.wake_at(t0 + Duration::from_micros(200)),
            Some(t0 + ms(1))
        );
        assert_eq!(
            window.wake_at(t0 + Duration::from_micros(900)),
            Some(t0 + ms(1))
        );
        assert_eq!(window.wake_at(t0 + ms(1)), None, "the window's end wakes");
        assert_eq!(
            window.wake_at(t0 + Duration::from_micros(1500)),
            Some(t0 + ms(2))
        );
    }
}
