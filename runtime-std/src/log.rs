//! One line per notable thing on stderr, filtered by level (the `log` setting: `--log`,
//! `IORELAY_LOG` or the config file).

use std::fmt;
use std::io::Write;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// How much to log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Failures.
    Error = 0,
    /// Things that went wrong but were handled.
    Warn = 1,
    /// Start, stop, and other notable events.
    Info = 2,
    /// Per-connection detail.
    Debug = 3,
}

impl Level {
    /// Parses `error`, `warn`, `info` or `debug` (case-insensitive).
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        match text.to_ascii_lowercase().as_str() {
            "error" => Some(Self::Error),
            "warn" | "warning" => Some(Self::Warn),
            "info" => Some(Self::Info),
            "debug" | "trace" => Some(Self::Debug),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Error => "ERROR",
            Self::Warn => "WARN",
            Self::Info => "INFO",
            Self::Debug => "DEBUG",
        }
    }
}

static LEVEL: AtomicU8 = AtomicU8::new(Level::Info as u8);

/// Sets the level from the resolved `log` setting (info if it names no level).
pub fn init(level: &str) {
    let level = Level::parse(level).unwrap_or(Level::Info);
    LEVEL.store(level as u8, Ordering::Relaxed);
}

/// Whether messages at `level` are written.
#[must_use]
pub fn enabled(level: Level) -> bool {
    level as u8 <= LEVEL.load(Ordering::Relaxed)
}

/// Writes one log line (use the `log!` macro).
pub fn write(level: Level, args: fmt::Arguments<'_>) {
    if !enabled(level) {
        return;
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let mut err = std::io::stderr().lock();
    let _ = writeln!(
        err,
        "{}.{:03} {:5} {}",
        now.as_secs(),
        now.subsec_millis(),
        level.name(),
        args
    );
}

/// Logs one line: `log!(Info, "listening on {addr}")`.
#[macro_export]
macro_rules! log {
    ($level:ident, $($arg:tt)*) => {
        $crate::log::write($crate::log::Level::$level, format_args!($($arg)*))
    };
}
