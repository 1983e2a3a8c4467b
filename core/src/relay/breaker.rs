//! A circuit breaker for outbound calls: closed → open after a run of failures → one half-open
//! probe after a cool-down → closed again on success.
//!
//! Why: a hook process runs for every prompt and tool call; when the relay is down, each one
//! waiting for a refused or hung connection slows the agent for nothing. After
//! [`BreakerPolicy::failure_threshold`] consecutive failures the breaker opens and callers skip
//! the network for [`BreakerPolicy::open_for`]; then exactly one caller probes.
//!
//! Pure and generic over the time type: the server's outbound connections use `Instant`; the
//! hook client, whose state must survive across short-lived processes, uses [`UnixMillis`]
//! and persists [`BreakerState`] (serde) between runs. Nothing happens at a deadline by
//! itself: [`Breaker::poll_timeout`] says when [`Breaker::allow`] would next answer
//! differently, so a caller that wants to act then can.

use std::ops::Add;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// When the breaker opens and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerPolicy {
    /// Consecutive failures that open the breaker.
    pub failure_threshold: u32,
    /// How long an open breaker skips calls before allowing one probe.
    pub open_for: Duration,
    /// How long a probe may stay unanswered before another caller may probe (the prober may
    /// have died without reporting).
    pub probe_timeout: Duration,
}

impl Default for BreakerPolicy {
    /// 5 failures, 30 s open, 10 s for a probe to report.
    fn default() -> Self {
        Self {
            failure_threshold: 5,
            open_for: Duration::from_secs(30),
            probe_timeout: Duration::from_secs(10),
        }
    }
}

/// Where the breaker is; the part that is persisted between processes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum BreakerState<T> {
    /// Calls go through; `failures` in a row so far.
    Closed {
        /// Consecutive failures since the last success.
        failures: u32,
    },
    /// Calls are skipped until `since + open_for`.
    Open {
        /// When it opened.
        since: T,
    },
    /// One probe is out since `since`; everyone else skips.
    HalfOpen {
        /// When the probe was allowed.
        since: T,
    },
}

impl<T> Default for BreakerState<T> {
    fn default() -> Self {
        Self::Closed { failures: 0 }
    }
}

/// What a caller should do now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Make the call (the breaker is closed).
    Call,
    /// Make the call as the one probe; report its outcome.
    Probe,
    /// Do not call; the breaker is open or another caller is probing.
    Skip,
}

/// A point in time as milliseconds since the Unix epoch: the time type of a breaker whose state
/// outlives the process (an `Instant` means nothing to the next process).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UnixMillis(pub u64);

impl Add<Duration> for UnixMillis {
    type Output = Self;

    fn add(self, rhs: Duration) -> Self {
        let ms = u64::try_from(rhs.as_millis()).unwrap_or(u64::MAX);
        Self(self.0.saturating_add(ms))
    }
}

/// The breaker: a policy and a state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Breaker<T> {
    policy: BreakerPolicy,
    state: BreakerState<T>,
}

impl<T: Copy + Ord + Add<Duration, Output = T>> Breaker<T> {
    /// A closed breaker.
    #[must_use]
    pub fn new(policy: BreakerPolicy) -> Self {
        Self::from_state(policy, BreakerState::default())
    }

    /// A breaker resumed from a persisted state.
    #[must_use]
    pub fn from_state(policy: BreakerPolicy, state: BreakerState<T>) -> Self {
        Self { policy, state }
    }

    /// The state, to persist.
    #[must_use]
    pub fn state(&self) -> BreakerState<T> {
        self.state
    }

    /// Whether to call now. `Probe` moves the breaker to half-open: ask once per call.
    #[must_use]
    pub fn allow(&mut self, now: T) -> Decision {
        match self.state {
            BreakerState::Closed { .. } => Decision::Call,
            BreakerState::Open { since } if now >= since + self.policy.open_for => {
                self.state = BreakerState::HalfOpen { since: now };
                Decision::Probe
            }
            BreakerState::HalfOpen { since } if now >= since + self.policy.probe_timeout => {
                self.state = BreakerState::HalfOpen { since: now };
                Decision::Probe
            }
            BreakerState::Open { .. } | BreakerState::HalfOpen { .. } => Decision::Skip,
        }
    }

    /// A call succeeded: the relay is reachable, so the breaker closes.
    pub fn on_success(&mut self, _now: T) {
        self.state = BreakerState::Closed { failures: 0 };
    }

    /// A call failed. A failed probe reopens the breaker; a failure reported while it is
    /// already open (a call that started before it opened) does not extend the cool-down.
    pub fn on_failure(&mut self, now: T) {
        self.state = match self.state {
            BreakerState::Closed { failures } => {
                let failures = failures.saturating_add(1);
                if failures >= self.policy.failure_threshold {
                    BreakerState::Open { since: now }
                } else {
                    BreakerState::Closed { failures }
                }
            }
            BreakerState::HalfOpen { .. } => BreakerState::Open { since: now },
            open @ BreakerState::Open { .. } => open,
        };
    }

    /// When [`Breaker::allow`] would next answer differently: the end of the cool-down or of
    /// the probe's time to report; `None` while closed.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<T> {
        match self.state {
            BreakerState::Closed { .. } => None,
            BreakerState::Open { since } => Some(since + self.policy.open_for),
            BreakerState::HalfOpen { since } => Some(since + self.policy.probe_timeout),
        }
    }
}

#[cfg(test)]
#[path = "breaker_tests.rs"]
mod tests;
