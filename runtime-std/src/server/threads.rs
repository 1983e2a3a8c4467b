//! A connection's threads: how they start, and how many connections this runtime can hold.
//! Each connection has a reader thread and, while it has something to write, a writer thread;
//! every thread costs the process memory mappings (its stack, a guard page, a signal stack
//! and its guard), which Linux bounds per process with `vm.max_map_count`.
//!
//! Why the bound matters: past it a new thread cannot set up its signal stack and the whole
//! process aborts, dropping every client (seen at 8 182 connections with the default 65 530).
//! Lowering the connection cap to what the mappings allow (counting both threads, as a
//! broadcast wakes every writer at once) turns that into refused connections, which the gate
//! answers like any other over-the-cap connection.

use std::sync::Arc;
use std::{fs, io, thread};

use super::conn::Conn;

/// Stack of each connection thread: they parse and frame, nothing deep.
const CONN_STACK: usize = 256 * 1024;

/// Starts one of `conn`'s threads, named after the connection and its `role`.
///
/// # Errors
/// The system refused a thread.
pub fn spawn(conn: &Arc<Conn>, role: &str, body: fn(&Arc<Conn>)) -> io::Result<()> {
    let conn = Arc::clone(conn);
    thread::Builder::new()
        .name(format!("conn-{}-{role}", conn.id.0))
        .stack_size(CONN_STACK)
        .spawn(move || body(&conn))
        .map(drop)
}

/// Memory mappings one connection's two threads take.
const MAPS_PER_CONNECTION: usize = 8;
/// Mappings left for everything else: the binary and its libraries, heap arenas, the store.
const MAPS_RESERVED: usize = 2048;

/// The most connections `max_map_count` mappings allow, if the system says (Linux).
#[must_use]
pub fn connection_limit() -> Option<usize> {
    let text = fs::read_to_string("/proc/sys/vm/max_map_count").ok()?;
    limit_for(text.trim().parse().ok()?)
}

fn limit_for(max_map_count: usize) -> Option<usize> {
    Some(max_map_count.checked_sub(MAPS_RESERVED)? / MAPS_PER_CONNECTION).filter(|&n| n > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_mapping_bound_allows_just_under_eight_thousand_connections() {
        assert_eq!(limit_for(65_530), Some(7_935));
    }

    #[test]
    fn a_bound_below_the_reserve_gives_no_limit_rather_than_zero() {
        assert_eq!(limit_for(1000), None);
        assert_eq!(limit_for(2048), None);
    }
}
