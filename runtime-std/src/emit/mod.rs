//! `iorelay emit`: deliver one Claude Code hook event to the relay, silently, within a
//! deadline, without ever losing it.
//!
//! Why it looks like this: Claude Code runs the hook for every prompt, tool call and stop,
//! and waits for it. So emit always exits 0, never writes to stdout (Claude Code feeds some
//! hooks' stdout to the model), and finishes within its deadline (500 ms by default) whatever
//! the relay does. What it cannot deliver it spools ([`spool`]); a circuit breaker
//! ([`breaker_file`]) stops it from waiting on a relay that is down; the next emit that
//! reaches the relay delivers the spool.
//!
//! One run:
//! 1. read stdin (until EOF or the deadline), make it an object with an `id` and `client_ts`
//!    ([`input`]);
//! 2. ask the breaker: closed → POST the event to `/api/hooks`; half-open → the same, as the
//!    one probe; open → skip the network;
//! 3. not delivered → append it to the spool and report a failure to the breaker;
//!    delivered → report success and drain the spool with the time left.

pub mod autostart;
pub mod breaker_file;
pub mod input;
pub mod lock;
pub mod log_file;
pub mod options;
pub mod run;
pub mod spool;
pub mod time;

pub use options::EmitOptions;
pub use run::{emit, main, Outcome};

use std::path::Path;

/// For `serve` at start, before it drains the spool with [`spool::drain_into`]: the local
/// relay is up, so the hook side's breaker closes and the next emit calls it at once instead
/// of skipping the network for the rest of a cool-down.
///
/// # Errors
/// The breaker's files in `state_dir` cannot be used.
pub fn relay_started(state_dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(state_dir)?;
    breaker_file::BreakerFile::new(
        state_dir,
        iorelay_core::relay::breaker::BreakerPolicy::default(),
    )
    .record(time::unix_millis(), true)
}
