use std::time::Duration;

use proptest::prelude::*;

use super::*;

fn ms(n: u64) -> UnixMillis {
    UnixMillis(n)
}

fn breaker() -> Breaker<UnixMillis> {
    Breaker::new(BreakerPolicy::default())
}

#[test]
fn a_new_breaker_is_closed_and_calls() {
    let mut b = breaker();
    assert_eq!(b.allow(ms(0)), Decision::Call);
    assert_eq!(b.poll_timeout(), None);
}

#[test]
fn four_failures_keep_it_closed_and_the_fifth_opens_it() {
    let mut b = breaker();
    for t in 0..4 {
        b.on_failure(ms(t));
    }
    assert_eq!(b.state(), BreakerState::Closed { failures: 4 });
    assert_eq!(b.allow(ms(4)), Decision::Call);
    b.on_failure(ms(1_000));
    assert_eq!(b.state(), BreakerState::Open { since: ms(1_000) });
    assert_eq!(b.allow(ms(1_001)), Decision::Skip);
    assert_eq!(b.poll_timeout(), Some(ms(31_000)));
}

#[test]
fn a_success_resets_the_failure_count() {
    let mut b = breaker();
    for t in 0..4 {
        b.on_failure(ms(t));
    }
    b.on_success(ms(5));
    b.on_failure(ms(6));
    assert_eq!(b.state(), BreakerState::Closed { failures: 1 });
}

#[test]
fn thirty_seconds_after_opening_exactly_one_caller_probes() {
    let mut b = Breaker::from_state(
        BreakerPolicy::default(),
        BreakerState::Open { since: ms(1_000) },
    );
    assert_eq!(b.allow(ms(30_999)), Decision::Skip);
    assert_eq!(b.allow(ms(31_000)), Decision::Probe);
    assert_eq!(b.state(), BreakerState::HalfOpen { since: ms(31_000) });
    assert_eq!(b.allow(ms(31_001)), Decision::Skip);
    assert_eq!(b.poll_timeout(), Some(ms(41_000)));
}

#[test]
fn a_successful_probe_closes_the_breaker() {
    let mut b = Breaker::from_state(
        BreakerPolicy::default(),
        BreakerState::HalfOpen { since: ms(31_000) },
    );
    b.on_success(ms(31_050));
    assert_eq!(b.state(), BreakerState::Closed { failures: 0 });
    assert_eq!(b.allow(ms(31_051)), Decision::Call);
}

#[test]
fn a_failed_probe_reopens_it_for_another_thirty_seconds() {
    let mut b = Breaker::from_state(
        BreakerPolicy::default(),
        BreakerState::HalfOpen { since: ms(31_000) },
    );
    b.on_failure(ms(31_500));
    assert_eq!(b.state(), BreakerState::Open { since: ms(31_500) });
    assert_eq!(b.allow(ms(61_499)), Decision::Skip);
    assert_eq!(b.allow(ms(61_500)), Decision::Probe);
}

#[test]
fn a_probe_that_never_reports_lets_another_caller_probe_after_the_probe_timeout() {
    let mut b = Breaker::from_state(
        BreakerPolicy::default(),
        BreakerState::HalfOpen { since: ms(31_000) },
    );
    assert_eq!(b.allow(ms(40_999)), Decision::Skip);
    assert_eq!(b.allow(ms(41_000)), Decision::Probe);
    assert_eq!(b.state(), BreakerState::HalfOpen { since: ms(41_000) });
}

#[test]
fn a_late_failure_while_open_does_not_extend_the_cool_down() {
    let mut b = Breaker::from_state(
        BreakerPolicy::default(),
        BreakerState::Open { since: ms(1_000) },
    );
    b.on_failure(ms(20_000));
    assert_eq!(b.state(), BreakerState::Open { since: ms(1_000) });
}

#[test]
fn it_works_on_instants_too() {
    let t0 = crate::time::test_clock::t0();
    let mut b = Breaker::new(BreakerPolicy {
        failure_threshold: 1,
        open_for: Duration::from_secs(30),
        probe_timeout: Duration::from_secs(10),
    });
    b.on_failure(t0);
    assert_eq!(b.allow(t0 + Duration::from_secs(29)), Decision::Skip);
    assert_eq!(b.allow(t0 + Duration::from_secs(30)), Decision::Probe);
}

#[test]
fn the_persisted_state_is_small_json_that_round_trips() {
    let state = BreakerState::Open {
        since: ms(1_700_000_000_000),
    };
    let json = serde_json::to_string(&state).unwrap();
    assert_eq!(json, r#"{"state":"open","since":1700000000000}"#);
    assert_eq!(
        serde_json::from_str::<BreakerState<UnixMillis>>(&json).unwrap(),
        state
    );
    let closed = serde_json::to_string(&BreakerState::<UnixMillis>::default()).unwrap();
    assert_eq!(closed, r#"{"state":"closed","failures":0}"#);
}

#[derive(Debug, Clone, Copy)]
enum Op {
    Allow,
    Success,
    Failure,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![Just(Op::Allow), Just(Op::Success), Just(Op::Failure)]
}

proptest! {
    /// Every step is a legal transition: Call only when closed, Probe only after the
    /// cool-down (or probe timeout) and always into half-open, opening only from the
    /// threshold-th consecutive failure or a failed probe, and success always closes.
    #[test]
    fn every_transition_is_legal(steps in proptest::collection::vec((op(), 0u64..20_000), 1..200)) {
        let policy = BreakerPolicy::default();
        let mut b = breaker();
        let mut now = 0u64;
        for (op, advance) in steps {
            now += advance;
            let before = b.state();
            match op {
                Op::Allow => {
                    let decision = b.allow(ms(now));
                    let after = b.state();
                    match (before, decision) {
                        (BreakerState::Closed { .. }, d) => {
                            prop_assert_eq!(d, Decision::Call);
                            prop_assert_eq!(after, before);
                        }
                        (BreakerState::Open { since }, Decision::Probe) => {
                            prop_assert!(now >= since.0 + 30_000);
                            prop_assert_eq!(after, BreakerState::HalfOpen { since: ms(now) });
                        }
                        (BreakerState::HalfOpen { since }, Decision::Probe) => {
                            prop_assert!(now >= since.0 + 10_000);
                            prop_assert_eq!(after, BreakerState::HalfOpen { since: ms(now) });
                        }
                        (_, Decision::Skip) => prop_assert_eq!(after, before),
                        (_, Decision::Call) => prop_assert!(false, "call while not closed"),
                    }
                }
                Op::Success => {
                    b.on_success(ms(now));
                    prop_assert_eq!(b.state(), BreakerState::Closed { failures: 0 });
                }
                Op::Failure => {
                    b.on_failure(ms(now));
                    let after = b.state();
                    match before {
                        BreakerState::Closed { failures } if failures + 1 >= policy.failure_threshold => {
                            prop_assert_eq!(after, BreakerState::Open { since: ms(now) });
                        }
                        BreakerState::Closed { failures } => {
                            prop_assert_eq!(after, BreakerState::Closed { failures: failures + 1 });
                        }
                        BreakerState::HalfOpen { .. } => {
                            prop_assert_eq!(after, BreakerState::Open { since: ms(now) });
                        }
                        BreakerState::Open { .. } => prop_assert_eq!(after, before),
                    }
                }
            }
        }
    }
}
