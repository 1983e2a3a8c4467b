//! iorelay-core: a sans-io Engine.IO v4 / Socket.IO v5 state machine.
//!
//! (The manual — run loop, drain rule, time, errors, backpressure — is written with the engine.)
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod engineio;
pub mod http;
pub mod socketio;
