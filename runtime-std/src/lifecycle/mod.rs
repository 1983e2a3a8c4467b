//! Running the relay in the background: `start`, `restart`, `open`, `logs`, `service`, and the
//! launch a hook makes when autostart is on.
//!
//! Why here: spawning, files and locks are IO, and both binaries run these commands the same
//! way (DESIGN §1); the decisions and texts are core's ([`iorelay_core::lifecycle`]).

pub mod logs;
pub mod service;
pub mod start;

pub use start::{ensure_running, launch_in_background, open, restart, start, Running};
