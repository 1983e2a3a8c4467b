//! Claude Code's settings.json and iorelay's hooks in it: pure text-to-text functions that
//! `iorelay hooks install|uninstall|status` (in the runtime crate, which does the file IO)
//! apply, and the line diff `--dry-run` prints.
//!
//! Why pure and in core: both binaries install hooks, and the merge is the part worth testing
//! exhaustively; reading and writing the file is a few lines around it.

pub mod diff;
pub mod edit;
pub mod install;
pub mod spans;

pub use install::{hook_command, install, status, uninstall, EVENTS, MARKER};
