//! The retry schedule on literal instants.

use super::*;
use crate::time::test_clock::t0;

const A: SocketId = SocketId(1);
const B: SocketId = SocketId(2);

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// Drives `queue` from `start` to `end` one deadline at a time, re-sending every due retry
/// with ack ids counting up from 100; returns the instants (as seconds after `start`) of the
/// re-sends.
fn run(queue: &mut RetryQueue<&'static str>, start: Instant, end: Instant) -> Vec<u64> {
    let mut sends = Vec::new();
    let mut ack = 100;
    while let Some(at) = queue.poll_timeout().filter(|at| *at <= end) {
        queue.handle_timeout(at);
        while let Some(retry) = queue.poll_retry() {
            queue.resent(retry.key, at, ack);
            ack += 1;
            sends.push((at - start).as_secs());
        }
    }
    sends
}

#[test]
fn the_default_policy_is_the_original_design() {
    let policy = RetryPolicy::default();
    assert_eq!(policy.retries, 3);
    let steps: Vec<Duration> = (1..=5).map(|n| policy.backoff(n)).collect();
    assert_eq!(steps, [secs(1), secs(2), secs(4), secs(8), secs(8)]);
    assert_eq!(policy.give_up_after, secs(30));
    assert_eq!(policy.max_queued, 1000);
}

#[test]
fn an_unacked_delivery_is_retried_after_1_2_and_4_seconds_then_abandoned_at_30() {
    let t = t0();
    let mut queue = RetryQueue::new(RetryPolicy::default());
    queue.track(t, A, 0, "e1");
    assert_eq!(queue.poll_timeout(), Some(t + secs(1)));
    queue.handle_timeout(t + Duration::from_millis(999));
    assert_eq!(queue.poll_retry(), None, "not before its instant");
    assert_eq!(run(&mut queue, t, t + secs(29)), [1, 3, 7]);
    assert_eq!(queue.poll_timeout(), Some(t + secs(30)));
    assert_eq!(queue.outstanding(), 1);
    queue.handle_timeout(t + secs(30));
    assert_eq!(queue.poll_retry(), None);
    assert_eq!(queue.outstanding(), 0);
    assert_eq!(queue.poll_timeout(), None);
    let stats = queue.stats();
    assert_eq!((stats.queued, stats.retried), (1, 3));
    assert_eq!((stats.succeeded, stats.abandoned), (0, 1));
}

#[test]
fn gaps_stop_doubling_at_the_cap() {
    let t = t0();
    let policy = RetryPolicy {
        retries: 6,
        give_up_after: secs(60),
        ..RetryPolicy::default()
    };
    let mut queue = RetryQueue::new(policy);
    queue.track(t, A, 0, "e1");
    assert_eq!(run(&mut queue, t, t + secs(60)), [1, 3, 7, 15, 23, 31]);
    assert_eq!(queue.stats().abandoned, 1);
}

#[test]
fn no_retry_is_sent_at_or_after_the_give_up_instant() {
    let t = t0();
    let policy = RetryPolicy {
        retries: 10,
        ..RetryPolicy::default()
    };
    let mut queue = RetryQueue::new(policy);
    queue.track(t, A, 0, "e1");
    assert_eq!(run(&mut queue, t, t + secs(100)), [1, 3, 7, 15, 23]);
    let stats = queue.stats();
    assert_eq!((stats.retried, stats.abandoned), (5, 1));
}

#[test]
fn an_ack_stops_the_retries() {
    let t = t0();
    let mut queue = RetryQueue::new(RetryPolicy::default());
    queue.track(t, A, 0, "e1");
    assert_eq!(run(&mut queue, t, t + secs(2)), [1]);
    assert!(queue.acked(A, 100), "the retry's ack");
    assert_eq!(queue.poll_timeout(), None);
    assert!(!queue.acked(A, 100), "a delivery ends once");
    assert!(
        !queue.acked(A, 0),
        "the first attempt's ack no longer counts"
    );
    let stats = queue.stats();
    assert_eq!((stats.queued, stats.retried, stats.succeeded), (1, 1, 1));
    assert_eq!(stats.abandoned, 0);
}

#[test]
fn a_late_ack_to_an_earlier_attempt_counts() {
    let t = t0();
    let mut queue = RetryQueue::new(RetryPolicy::default());
    queue.track(t, A, 0, "e1");
    assert_eq!(run(&mut queue, t, t + secs(4)), [1, 3]);
    assert!(queue.acked(A, 0));
    assert_eq!(queue.stats().succeeded, 1);
    assert_eq!(queue.outstanding(), 0);
}

#[test]
fn acks_are_per_socket() {
    let t = t0();
    let mut queue = RetryQueue::new(RetryPolicy::default());
    queue.track(t, A, 0, "for a");
    queue.track(t, B, 0, "for b");
    assert!(queue.acked(B, 0));
    queue.handle_timeout(t + secs(1));
    let retry = queue.poll_retry().expect("a's delivery is due");
    assert_eq!((retry.socket, retry.payload), (A, "for a"));
    assert_eq!(queue.poll_retry(), None);
}

#[test]
fn a_retry_carries_the_same_payload() {
    let t = t0();
    let mut queue = RetryQueue::new(RetryPolicy::default());
    queue.track(t, A, 7, "e1");
    queue.handle_timeout(t + secs(1));
    let retry = queue.poll_retry().unwrap();
    assert_eq!(retry.payload, "e1");
    queue.resent(retry.key, t + secs(1), 8);
    assert_eq!(queue.resend_ack_timeout(retry.key, t + secs(1)), secs(29));
}

#[test]
fn past_the_cap_the_oldest_delivery_of_that_client_is_abandoned() {
    let t = t0();
    let policy = RetryPolicy {
        max_queued: 1000,
        ..RetryPolicy::default()
    };
    let mut queue = RetryQueue::new(policy);
    queue.track(t, B, 0, "b");
    for ack in 0..1001 {
        queue.track(t, A, ack, "a");
    }
    assert_eq!(queue.outstanding(), 1001, "1000 for a, 1 for b");
    assert_eq!(queue.stats().abandoned, 1);
    assert!(!queue.acked(A, 0), "the oldest went");
    assert!(queue.acked(A, 1));
    assert!(queue.acked(A, 1000));
    assert!(queue.acked(B, 0), "another client's delivery stays");
}

#[test]
fn a_socket_that_leaves_abandons_its_deliveries() {
    let t = t0();
    let mut queue = RetryQueue::new(RetryPolicy::default());
    queue.track(t, A, 0, "a1");
    queue.track(t, A, 1, "a2");
    queue.track(t, B, 0, "b");
    assert_eq!(queue.forget_socket(A), 2);
    assert_eq!(queue.stats().abandoned, 2);
    queue.handle_timeout(t + secs(1));
    let retry = queue.poll_retry().unwrap();
    assert_eq!(retry.socket, B);
    assert_eq!(queue.poll_retry(), None);
}

#[test]
fn due_deliveries_come_out_in_the_order_they_fell_due() {
    let t = t0();
    let mut queue = RetryQueue::new(RetryPolicy::default());
    queue.track(t + Duration::from_millis(500), A, 0, "second");
    queue.track(t, B, 0, "first");
    queue.handle_timeout(t + secs(2));
    let order: Vec<&str> = std::iter::from_fn(|| queue.poll_retry())
        .map(|r| r.payload)
        .collect();
    assert_eq!(order, ["first", "second"]);
}
