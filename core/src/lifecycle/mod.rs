//! The relay running itself: the pure half of `start`, `logs`, autostart from hooks and the
//! user service.
//!
//! Why in core: what a log line looks like, when a hook may launch a relay, and what the
//! systemd unit and the launchd agent say are decisions worth testing on literal inputs; the
//! runtime crate does the IO around them (spawning, files, locks, the clock).

pub mod autostart;
pub mod log_line;
pub mod service;

pub use autostart::{autostart_due, AUTOSTART_INTERVAL_MS};
pub use log_line::{format_line, last_lines, message_of, LogFormat};
pub use service::{
    launchd_disable_command, launchd_enable_command, launchd_plist, systemd_disable_command,
    systemd_enable_command, systemd_unit, ServiceSpec, LAUNCHD_LABEL, SYSTEMD_UNIT,
};
