//! A connection's deadline timer, registered with the reactor only when it must fire sooner.
//!
//! Why: async-io wakes the thread polling the reactor whenever a timer is registered from
//! another thread (an eventfd write, then a context switch on each side). A keep-alive HTTP
//! connection made a fresh timer for each request's idle deadline, so that happened for every
//! request: 0.5 eventfd writes per event and the reactor thread's wake-ups on keep-alive ingest
//! (perf stat). Between requests a deadline only moves later, so one timer, armed once, may
//! fire early: it then looks at the deadline it now waits for and is armed again only if that
//! is still ahead. A deadline sooner than the armed one (a slow request head after an idle
//! wait) re-arms it at once.

use std::time::Instant;

use async_io::Timer;

/// One timer for a connection's successive deadlines.
#[derive(Debug)]
pub struct Deadline {
    timer: Timer,
    /// When the timer is registered to fire; `None` when it is not registered.
    armed: Option<Instant>,
}

impl Deadline {
    /// Not armed.
    pub fn new() -> Self {
        Self {
            timer: Timer::never(),
            armed: None,
        }
    }

    /// Resolves once `at` has passed. Dropped before then, the timer stays armed for the next
    /// call (a wake-up of the task when it fires meanwhile is spurious and harmless).
    pub async fn until(&mut self, at: Instant) {
        loop {
            if self.armed.is_none_or(|armed| armed > at) {
                self.timer.set_at(at);
                self.armed = Some(at);
            }
            (&mut self.timer).await;
            self.armed = None;
            if Instant::now() >= at {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use smol::future;
    use std::time::Duration;

    const MS: Duration = Duration::from_millis(1);

    /// Waits `until(t0 + wait)` on a timer first armed for `t0 + armed` (a wait polled once and
    /// dropped, as a request that arrived in time leaves it), and checks when it resolved.
    fn assert_waits(armed: Option<Duration>, wait: Duration) {
        let t0 = Instant::now();
        let mut deadline = Deadline::new();
        if let Some(armed) = armed {
            let first = future::poll_once(deadline.until(t0 + armed));
            assert!(future::block_on(first).is_none(), "not due yet");
        }
        future::block_on(deadline.until(t0 + wait));
        let waited = t0.elapsed();
        assert!(waited >= wait && waited < wait + 2000 * MS, "{waited:?}");
    }

    #[test]
    fn it_resolves_once_its_instant_has_passed() {
        assert_waits(None, 30 * MS);
    }

    #[test]
    fn a_sooner_instant_re_arms_the_timer() {
        assert_waits(Some(Duration::from_secs(60)), 30 * MS);
    }

    #[test]
    fn a_later_instant_waits_past_the_armed_one() {
        assert_waits(Some(20 * MS), 80 * MS);
    }
}
