//! The write a driver makes itself instead of waking a connection's writer: a recipient's
//! queued websocket messages offered to one send that never waits. iorelay-std's driver makes
//! it at the end of every burst (`Outbound::wake_or_send`), iorelay's turn keeper when it ends
//! a held flush window (`OutboundQueue::send_or_wake`).
//!
//! Why: at a steady rate each broadcast found each recipient's writer thread asleep (or gone
//! idle), and waking a thread per recipient per event cost more than the write itself; a
//! non-blocking send from the driver needs no wake at all, and under a burst it carries every
//! message the flush window gathered, straight from the shared frames (no copy into a
//! writer's buffer). What the socket does not take stays queued, in order, for the writer.
//! The queue decides when it is safe (only messages queued, no writer mid-write, no close
//! queued, not congested).
//!
//! Why not from iorelay's connection tasks: there the driver runs in the turn of the task
//! that brought the event, and sending a broadcast to 1000 clients from it made the poster's
//! reply wait behind a thousand sends, 3x the CPU per message (docs/benchmarks.md).

use std::collections::VecDeque;
use std::io::{self, IoSlice};
use std::net::TcpStream;

use bytes::{Buf, Bytes};

/// Messages offered to one send at most.
const MAX_SLICES: usize = 64;

/// An item of an outbound queue that may be a ready-framed websocket message.
pub trait Queued {
    /// The message's bytes, written verbatim; `None` for anything else.
    fn message(&self) -> Option<&Bytes>;
    /// The same, to drop what a send took of it.
    fn message_mut(&mut self) -> Option<&mut Bytes>;
}

/// A chunk of bytes to write verbatim (iorelay's websocket writer writes its batches so).
impl Queued for Bytes {
    fn message(&self) -> Option<&Bytes> {
        Some(self)
    }

    fn message_mut(&mut self) -> Option<&mut Bytes> {
        Some(self)
    }
}

/// Whether every item queued is a message (and there is at least one).
pub fn only_messages<T: Queued>(items: &VecDeque<T>) -> bool {
    !items.is_empty() && items.iter().all(|item| item.message().is_some())
}

/// Offers the messages at the front of `items` to `send` and removes what it took (the rest
/// of a message it took in part stays first). Returns the bytes sent.
///
/// # Errors
/// What `send` returned (`WouldBlock` when the socket has no room); nothing is removed.
pub fn send_queued<T: Queued>(
    items: &mut VecDeque<T>,
    send: impl FnOnce(&[IoSlice<'_>]) -> io::Result<usize>,
) -> io::Result<usize> {
    let slices: Vec<IoSlice<'_>> = items
        .iter()
        .map_while(Queued::message)
        .take(MAX_SLICES)
        .map(|bytes| IoSlice::new(bytes))
        .collect();
    let sent = send(&slices)?;
    drop(slices);
    let mut left = sent;
    while let Some(bytes) = items.front_mut().and_then(Queued::message_mut) {
        if left < bytes.len() {
            bytes.advance(left);
            break;
        }
        left -= bytes.len();
        items.pop_front();
    }
    Ok(sent)
}

/// Writes what the socket takes without waiting; `WouldBlock` when it takes nothing.
///
/// # Errors
/// What the kernel's `sendmsg` returned.
#[cfg(unix)]
pub fn send(stream: &TcpStream, slices: &[IoSlice<'_>]) -> io::Result<usize> {
    use rustix::net::{sendmsg, SendAncillaryBuffer, SendFlags};
    // No SIGPIPE for a peer that hung up, where the flag exists; Apple's systems have none,
    // and there Rust's runtime already ignores SIGPIPE for the whole process.
    #[cfg(not(target_vendor = "apple"))]
    let flags = SendFlags::DONTWAIT | SendFlags::NOSIGNAL;
    #[cfg(target_vendor = "apple")]
    let flags = SendFlags::DONTWAIT;
    Ok(sendmsg(
        stream,
        slices,
        &mut SendAncillaryBuffer::default(),
        flags,
    )?)
}

/// Without a non-blocking send, every write is the writer's.
///
/// # Errors
/// Always `WouldBlock`.
#[cfg(not(unix))]
pub fn send(_: &TcpStream, _: &[IoSlice<'_>]) -> io::Result<usize> {
    Err(io::ErrorKind::WouldBlock.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq)]
    enum Item {
        Message(Bytes),
        Other,
    }

    impl Queued for Item {
        fn message(&self) -> Option<&Bytes> {
            match self {
                Item::Message(bytes) => Some(bytes),
                Item::Other => None,
            }
        }
        fn message_mut(&mut self) -> Option<&mut Bytes> {
            match self {
                Item::Message(bytes) => Some(bytes),
                Item::Other => None,
            }
        }
    }

    fn message(text: &'static str) -> Item {
        Item::Message(Bytes::from_static(text.as_bytes()))
    }

    #[test]
    fn a_send_takes_whole_messages_and_the_start_of_the_next() {
        let mut items = VecDeque::from([message("abc"), message("defg"), message("hi")]);
        let mut offered = Vec::new();
        let sent = send_queued(&mut items, |slices| {
            offered = slices.iter().map(|s| s.to_vec()).collect();
            Ok(5)
        });
        assert_eq!(sent.unwrap(), 5);
        assert_eq!(offered, [b"abc".to_vec(), b"defg".to_vec(), b"hi".to_vec()]);
        assert_eq!(items, [message("fg"), message("hi")]);
    }

    #[test]
    fn only_the_messages_before_anything_else_are_offered() {
        let mut items = VecDeque::from([message("abc"), Item::Other, message("d")]);
        assert!(!only_messages(&items));
        let sent = send_queued(&mut items, |slices| {
            assert_eq!(slices.len(), 1);
            Ok(3)
        });
        assert_eq!(sent.unwrap(), 3);
        assert_eq!(items, [Item::Other, message("d")]);
    }

    #[test]
    fn a_full_socket_leaves_the_queue_as_it_was() {
        let mut items = VecDeque::from([message("abc")]);
        assert!(only_messages(&items));
        let full = send_queued(&mut items, |_| Err(io::ErrorKind::WouldBlock.into()));
        assert!(full.is_err());
        assert_eq!(items, [message("abc")]);
    }
}
