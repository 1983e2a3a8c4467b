//! The outbound queue's unit tests (`outbound.rs`).

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};

use super::*;

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
    assert!(matches!(wait.as_mut().poll(&mut cx), Poll::Ready(Some(batch)) if batch.len() == 1));
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

/// A connected loopback pair: the server's end as the relay holds it, the client's with
/// a read deadline.
fn loopback() -> (Arc<Async<TcpStream>>, TcpStream) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    client
        .set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .unwrap();
    let (server, _) = listener.accept().unwrap();
    (Arc::new(Async::new(server).unwrap()), client)
}

fn read_exactly(client: &mut TcpStream, len: usize) -> Vec<u8> {
    let mut got = vec![0; len];
    std::io::Read::read_exact(client, &mut got).unwrap();
    got
}

/// A writer task's wait on `queue`, polled once, and whether it was woken since.
fn waiting_writer(queue: &OutboundQueue) -> Arc<Woken> {
    let woken = Arc::new(Woken::default());
    let waker = std::task::Waker::from(Arc::clone(&woken));
    let mut wait = std::pin::pin!(queue.next_batch(usize::MAX));
    let polled = wait
        .as_mut()
        .poll(&mut std::task::Context::from_waker(&waker));
    assert!(polled.is_pending(), "nothing queued yet");
    woken
}

fn bytes_message(text: &'static str) -> Outbound {
    Outbound::Message(Bytes::from_static(text.as_bytes()))
}

#[test]
fn the_keeper_sends_queued_messages_itself_and_the_writer_sleeps_on() {
    let (socket, mut client) = loopback();
    let queue = OutboundQueue::new(10);
    let _attached = queue.attach(socket);
    let woken = waiting_writer(&queue);
    queue.push_deferred(bytes_message("abcdef"));
    queue.push_deferred(bytes_message("ghi"));
    queue.send_or_wake();
    assert_eq!(read_exactly(&mut client, 9), b"abcdefghi");
    assert!(
        !woken.0.load(Ordering::SeqCst),
        "nothing left for the writer"
    );
    assert_eq!(
        queue.push_deferred(bytes_message("jklmnopq")),
        (Pushed::Queued, true),
        "what was sent no longer counts against the bound"
    );
}

#[test]
fn the_keeper_leaves_the_socket_to_a_writer_mid_batch_or_with_a_control_frame_queued() {
    let (socket, _client) = loopback();
    let queue = OutboundQueue::new(100);
    let _attached = queue.attach(socket);
    queue.push(bytes_message("a"));
    let batch = smol::block_on(queue.next_batch(usize::MAX)).unwrap();
    queue.push_deferred(bytes_message("b"));
    queue.send_or_wake();
    queue.written(batch[0].cost());
    let rest = smol::block_on(queue.next_batch(usize::MAX)).unwrap();
    assert!(matches!(rest.as_slice(), [Outbound::Message(b)] if &b[..] == b"b"));
    queue.written(1);

    let woken = waiting_writer(&queue);
    queue.push_deferred(bytes_message("c"));
    queue.push_deferred(Outbound::Control(Bytes::from_static(b"pong")));
    queue.send_or_wake();
    assert!(woken.0.load(Ordering::SeqCst), "the writer frames in order");
    let both = smol::block_on(queue.next_batch(usize::MAX)).unwrap();
    assert_eq!(both.len(), 2, "nothing was sent");
}

#[test]
fn the_writer_waits_while_the_keeper_sends() {
    let queue = OutboundQueue::new(100);
    let woken = waiting_writer(&queue);
    queue.lock().sending = true;
    queue.push(bytes_message("a"));
    assert!(woken.0.load(Ordering::SeqCst));
    let mut wait = std::pin::pin!(queue.next_batch(usize::MAX));
    let waker = std::task::Waker::from(Arc::clone(&woken));
    let mut cx = std::task::Context::from_waker(&waker);
    assert!(
        wait.as_mut().poll(&mut cx).is_pending(),
        "the socket is taken"
    );
    queue.lock().sending = false;
    assert!(matches!(wait.as_mut().poll(&mut cx), Poll::Ready(Some(_))));
}

#[test]
fn without_a_socket_the_keeper_wakes_the_writer() {
    let queue = OutboundQueue::new(100);
    let woken = waiting_writer(&queue);
    queue.push_deferred(bytes_message("a"));
    queue.send_or_wake();
    assert!(woken.0.load(Ordering::SeqCst));
}

/// A waker that records that it was woken.
#[derive(Default)]
struct Woken(AtomicBool);

impl std::task::Wake for Woken {
    fn wake(self: Arc<Self>) {
        self.0.store(true, Ordering::SeqCst);
    }
}

#[test]
fn a_queued_item_is_no_larger_than_a_message_needs() {
    // A shared frame (`Bytes`, 32 bytes) and the variant's tag: replies are boxed.
    assert_eq!(std::mem::size_of::<Outbound>(), 40);
}

#[test]
fn a_queue_that_gives_up_wakes_its_waiting_writer_to_end() {
    let queue = OutboundQueue::new(10);
    let woken = waiting_writer(&queue);
    queue.lock().sending = true;
    assert_eq!(queue.push_deferred(message(11)).0, Pushed::Congested);
    assert_eq!(queue.push_deferred(message(90)).0, Pushed::Overflowed);
    assert!(woken.0.load(Ordering::SeqCst), "woken without a wake");
    assert!(smol::block_on(queue.next_batch(usize::MAX)).is_none());
}

#[test]
fn after_a_close_frame_the_keeper_sends_nothing() {
    let (socket, _client) = loopback();
    let queue = OutboundQueue::new(100);
    let _attached = queue.attach(socket);
    // The writer took a batch whose close frame tungstenite made (a reply to the peer's close).
    queue.push(Outbound::Control(Bytes::from_static(b"\x88\x00")));
    let batch = smol::block_on(queue.next_batch(usize::MAX)).unwrap();
    queue.close_frame_sent();
    queue.written(batch[0].cost());
    queue.push_deferred(bytes_message("late"));
    queue.send_or_wake();
    let left = smol::block_on(smol::future::poll_once(queue.next_batch(usize::MAX)));
    assert!(
        matches!(left, Some(Some(items)) if items.len() == 1),
        "left to the writer, which drops it"
    );
}
