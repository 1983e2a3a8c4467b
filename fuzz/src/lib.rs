//! Fuzz target bodies for iorelay-core, one plain function per target.
//!
//! Each `fuzz_targets/<target>.rs` only forwards libFuzzer's input to the function of the same
//! name here, and the stable test `tests/tests/fuzz_corpus.rs` includes this file with
//! `#[path]` and replays every committed corpus file through the same functions. So this crate
//! depends on nothing but `iorelay_core`, `bytes`, `serde_json` and `std`.
//!
//! A body never panics on its own account: it panics only when the code under test breaks an
//! invariant it promises (a decoder panics or loops, a round trip loses or changes data, the
//! engine stops draining, answers a request twice, or holds a session without a deadline).

mod client;
mod cluster;
mod cursor;
mod eio;
mod engine_run;
mod http1;
mod relay;
mod sio;

pub use client::client;
pub use cluster::cluster_entry;
pub use eio::{engineio_packet, engineio_payload};
pub use engine_run::engine;
pub use http1::{http_chunked, http_head, http_reader};
pub use relay::relay_ingest;
pub use sio::{socketio_binary, socketio_packet};
