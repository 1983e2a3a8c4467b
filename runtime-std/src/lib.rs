//! iorelay on blocking std threads, and the IO helpers both runtimes share (logging, signals,
//! seeds, the websocket handshake reply).
//!
//! Why the shared helpers live here: they do IO, so they cannot live in core, and this crate
//! depends on no async crate, so the smol runtime can reuse them (DESIGN §1).

pub mod log;
pub mod process;
