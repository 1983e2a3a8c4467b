//! The outbound queue's unit tests (`outbound.rs`).

use super::*;

/// Long enough that no test's writer goes idle unless it asks to.
const IDLE: Duration = Duration::from_secs(60);

impl Outbound {
    /// `push` for tests that only look at the queue's pressure.
    fn push_item(&self, item: Item) -> Pushed {
        self.push(item).0
    }
}

fn message(len: usize) -> Item {
    Item::Message(Bytes::from(vec![0; len]))
}

#[test]
fn congestion_is_reported_once_above_the_bound_and_once_back_under_half() {
    let queue = Outbound::new(100);
    assert_eq!(queue.push_item(message(60)), Pushed::Queued);
    assert_eq!(queue.push_item(message(60)), Pushed::NowCongested);
    assert_eq!(queue.push_item(message(60)), Pushed::Queued);
    assert!(queue.is_congested());
    let Wait::Items(items, weight) = queue.wait(None, usize::MAX, IDLE) else {
        panic!("expected items");
    };
    assert_eq!((items.len(), weight), (3, 180));
    assert!(
        !queue.written(100),
        "80 bytes left is still over half of 100"
    );
    assert!(queue.written(80));
    assert!(!queue.is_congested());
}

#[test]
fn a_burst_of_deferred_frames_asks_for_one_wake_and_the_writer_takes_them_together() {
    let queue = Outbound::new(1000);
    assert_eq!(queue.push_deferred(message(10)), (Pushed::Queued, true));
    assert_eq!(queue.push_deferred(message(10)), (Pushed::Queued, false));
    assert_eq!(queue.push_deferred(message(10)), (Pushed::Queued, false));
    assert!(!queue.wake_or_send(full_socket), "the writer runs");
    let Wait::Items(items, _) = queue.wait(None, usize::MAX, IDLE) else {
        panic!("expected items");
    };
    assert_eq!(items.len(), 3, "one batch for the burst");
    assert!(
        queue.push_deferred(message(10)).1,
        "after the wake, the next burst asks again"
    );
    let _ = queue.push(message(10));
    assert!(
        queue.push_deferred(message(10)).1,
        "a push that woke the writer covers what was deferred before it"
    );
}

#[test]
fn a_batch_stops_once_it_reaches_the_batch_size() {
    let queue = Outbound::new(1000);
    for _ in 0..5 {
        let _ = queue.push(message(10));
    }
    let Wait::Items(items, weight) = queue.wait(None, 25, IDLE) else {
        panic!("expected items");
    };
    assert_eq!((items.len(), weight), (3, 30));
}

#[test]
fn the_wait_ends_at_the_deadline_when_nothing_is_queued() {
    let queue = Outbound::new(1000);
    queue.set_deadline(Some(Instant::now() + Duration::from_millis(20)));
    assert!(matches!(queue.wait(None, 1, IDLE), Wait::Deadline));
    assert!(matches!(
        queue.wait(Some(Instant::now()), 1, IDLE),
        Wait::Deadline
    ));
}

#[test]
fn queued_items_are_still_written_after_the_reader_is_gone_then_the_wait_stops() {
    let queue = Outbound::new(1000);
    let _ = queue.push(Item::Finish);
    assert!(
        queue.reader_gone(),
        "the writer runs: it ends the connection"
    );
    assert!(matches!(queue.wait(None, 1, IDLE), Wait::Items(..)));
    assert!(matches!(queue.wait(None, 1, IDLE), Wait::Stop));
}

/// A socket with no room: every write is the writer's.
fn full_socket(_: &[IoSlice<'_>]) -> io::Result<usize> {
    Err(io::ErrorKind::WouldBlock.into())
}

#[test]
fn a_wake_sends_queued_messages_itself_when_the_socket_takes_them() {
    let queue = Outbound::new(1000);
    let _ = queue.push_deferred(message(60));
    let _ = queue.push_deferred(message(60));
    let mut offered = Vec::new();
    let start = queue.wake_or_send(|slices| {
        offered = slices.iter().map(|slice| slice.len()).collect();
        Ok(120)
    });
    assert!(!start);
    assert_eq!(offered, [60, 60], "both messages in one send");
    assert!(queue.lock().items.is_empty());
    assert_eq!(queue.lock().bytes, 0, "nothing left to count");
}

#[test]
fn what_the_socket_did_not_take_is_left_to_the_writer_in_order() {
    let queue = Outbound::new(1000);
    let _ = queue.push_deferred(Item::Message(Bytes::from_static(b"0123456789")));
    let _ = queue.push_deferred(Item::Message(Bytes::from_static(b"abcdefghij")));
    assert!(!queue.wake_or_send(|_| Ok(15)), "the writer runs");
    let Wait::Items(items, weight) = queue.wait(None, usize::MAX, IDLE) else {
        panic!("expected items");
    };
    assert_eq!(weight, 5);
    match items.as_slice() {
        [Item::Message(rest)] => assert_eq!(&rest[..], b"fghij"),
        other => panic!("expected the rest of one message, got {other:?}"),
    }
}

#[test]
fn nothing_is_sent_past_a_writer_that_is_writing_or_a_queued_close() {
    let never = |_: &[IoSlice<'_>]| -> io::Result<usize> { panic!("offered to send") };
    let writing = Outbound::new(1000);
    let _ = writing.push(message(1));
    assert!(matches!(writing.wait(None, 1, IDLE), Wait::Items(..)));
    let _ = writing.push_deferred(message(1));
    assert!(!writing.wake_or_send(never));
    let closing = Outbound::new(1000);
    let _ = closing.push_own(Item::Close {
        code: 1000,
        reason: "",
    });
    let _ = closing.push_deferred(message(1));
    assert!(!closing.wake_or_send(never));
    let congested = Outbound::new(10);
    let _ = congested.push_deferred(message(20));
    assert!(!congested.wake_or_send(never));
}

#[test]
fn an_aborted_queue_drops_items_and_stops_the_writer() {
    let queue = Outbound::new(1000);
    let _ = queue.push(message(1));
    queue.abort();
    assert_eq!(queue.push_item(message(1)), Pushed::Queued);
    assert!(matches!(queue.wait(None, 1, IDLE), Wait::Stop));
}

#[test]
fn a_sleeping_writer_is_woken_by_a_push_or_a_wake_from_another_thread() {
    let queue = std::sync::Arc::new(Outbound::new(1000));
    for deferred in [false, true] {
        let other = std::sync::Arc::clone(&queue);
        let pusher = std::thread::spawn(move || {
            while !other.lock().writer_asleep {
                std::thread::yield_now();
            }
            if deferred {
                let _ = other.push_deferred(message(1));
                assert!(!other.wake_or_send(full_socket));
            } else {
                assert_eq!(other.push(message(1)), (Pushed::Queued, false));
            }
        });
        assert!(matches!(queue.wait(None, 1, IDLE), Wait::Items(..)));
        pusher.join().unwrap();
    }
}

#[test]
fn a_paused_reader_resumes_when_unpaused_from_another_thread() {
    let queue = std::sync::Arc::new(Outbound::new(1000));
    queue.set_paused(true);
    let other = std::sync::Arc::clone(&queue);
    let unpause = std::thread::spawn(move || other.set_paused(false));
    queue.wait_resumed();
    unpause.join().unwrap();
}

#[test]
fn a_queue_within_its_bound_takes_one_item_larger_than_the_cap() {
    let queue = Outbound::new(10);
    assert_eq!(queue.push_item(message(500)), Pushed::NowCongested);
    assert_eq!(queue.push_item(message(1)), Pushed::Overflow);
}

#[test]
fn own_frames_are_refused_far_over_the_bound() {
    let queue = Outbound::new(10);
    assert_eq!(
        queue.push_own(Item::Control(Bytes::from(vec![0; 81]))),
        Ok(false)
    );
    assert_eq!(
        queue.push_own(Item::Control(Bytes::from_static(b"x"))),
        Err(Refused)
    );
}

#[test]
fn an_idle_writer_ends_and_the_next_wake_asks_for_a_new_one_once() {
    let queue = Outbound::new(1000);
    let short = Duration::from_millis(5);
    assert!(matches!(queue.wait(None, 1, short), Wait::Idle));
    assert_eq!(queue.push(message(1)), (Pushed::Queued, true));
    assert_eq!(
        queue.push(message(1)),
        (Pushed::Queued, false),
        "the writer being started counts as running"
    );
    assert!(matches!(
        queue.wait(None, usize::MAX, short),
        Wait::Items(..)
    ));
    assert!(matches!(queue.wait(None, 1, short), Wait::Idle));
    assert_eq!(queue.push_deferred(message(1)), (Pushed::Queued, true));
    assert!(queue.wake_or_send(full_socket), "a burst's wake starts it");
    assert!(matches!(
        queue.wait(None, usize::MAX, short),
        Wait::Items(..)
    ));
    assert!(matches!(queue.wait(None, 1, short), Wait::Idle));
    assert_eq!(queue.push_own(Item::Finish), Ok(true));
}

#[test]
fn a_deadline_or_a_linger_keeps_the_writer_and_a_new_deadline_needs_one() {
    let queue = Outbound::new(1000);
    let short = Duration::from_millis(5);
    let soon = Instant::now() + Duration::from_millis(30);
    assert!(!queue.set_deadline(Some(soon)));
    assert!(matches!(queue.wait(None, 1, short), Wait::Deadline));
    assert!(!queue.set_deadline(None), "no deadline needs no writer");
    assert!(matches!(
        queue.wait(Some(Instant::now() + Duration::from_millis(30)), 1, short),
        Wait::Deadline
    ));
    assert!(matches!(queue.wait(None, 1, short), Wait::Idle));
    assert!(
        queue.set_deadline(Some(soon)),
        "the deadline needs a writer"
    );
}

#[test]
fn a_reader_ending_without_a_writer_ends_the_connection_itself() {
    let queue = Outbound::new(1000);
    assert!(matches!(
        queue.wait(None, 1, Duration::from_millis(1)),
        Wait::Idle
    ));
    assert!(!queue.reader_gone());
    queue.abort();
    assert_eq!(
        queue.push(message(1)),
        (Pushed::Queued, false),
        "nothing to start once aborted"
    );
}
