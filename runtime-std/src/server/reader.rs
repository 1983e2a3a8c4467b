//! A connection's reader thread: blocks in `read` on the socket and hands every chunk to the
//! connection's inbound state, which turns it into inputs for the driver.
//!
//! Why it always reads, even while a request waits for its reply: a held long-poll is
//! aborted by the peer closing the connection, and only a pending `read` notices that. The
//! reader is also how every connection ends: any close (the peer's, a deadline's, the
//! engine's) shuts the socket down, which ends the `read`, and the reader then reports
//! `Input::ConnClosed` exactly once.

use std::io::{ErrorKind, Read};
use std::sync::Arc;

use super::conn::Conn;

/// The read buffer a connection starts with. Why small: every connection has one for its
/// whole life, and an idle websocket (most connections) only ever reads pongs and small
/// messages; a buffer of [`MAX_CHUNK`] from the start was a third of an idle connection's
/// memory.
const FIRST_CHUNK: usize = 256;
/// Reads that fill the buffer double it, up to this (a large body then takes fewer calls).
const MAX_CHUNK: usize = 16 * 1024;

/// Runs the reader until the connection ends.
pub fn run(conn: &Arc<Conn>) {
    let mut buf = vec![0u8; FIRST_CHUNK];
    loop {
        conn.outbound.wait_resumed();
        match conn.stream().read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                conn.on_bytes(&buf[..n]);
                if n == buf.len() && buf.len() < MAX_CHUNK {
                    buf.resize(buf.len() * 2, 0);
                }
            }
            Err(err) if err.kind() == ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    conn.reader_ended();
}
