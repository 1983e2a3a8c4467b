//! Cutting a connection off with a reset rather than an orderly close.
//!
//! Why: a relay ends a connection on purpose when its peer stops reading (the outbound queue
//! overflowed, a close queued behind a full queue, a flood of pings). An orderly close queues
//! its FIN behind the bytes the peer never read, so the peer, whose receive window is shut,
//! never sees it; when the peer is itself blocked writing to us, our closed socket keeps
//! answering its zero-window probes and neither side learns anything until the kernel gives
//! up on the orphaned socket (about 100 s with Linux's defaults). A zero linger makes the
//! close send a reset: the unread output is dropped, as the relay meant, and the peer's
//! blocked read or write fails at once.

use std::net::TcpStream;

/// Makes the socket's close send a reset (`SO_LINGER` of zero), dropping whatever is still
/// unsent. The close itself happens when the last holder drops the stream.
pub fn on_close(stream: &TcpStream) {
    #[cfg(unix)]
    {
        // A failure leaves the orderly close, which still ends the connection eventually.
        let _ = rustix::net::sockopt::set_socket_linger(stream, Some(std::time::Duration::ZERO));
    }
    #[cfg(not(unix))]
    let _ = stream;
}
