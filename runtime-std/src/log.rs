//! One line per notable thing, filtered by level (the `log` setting: `--log`, `IORELAY_LOG` or
//! the config file), written as text or JSON (`log_format`) with an RFC 3339 UTC time.
//!
//! Lines go to stderr. A background relay (`serve --daemon`, what `iorelay start` and the
//! user service run) points stdout and stderr at `relay.log` in the state directory and
//! rotates it by size: past [`MAX_LOG_BYTES`] it becomes `relay.log.1` (replacing the older
//! one) and a new `relay.log` takes over stdout and stderr, so the log costs at most twice
//! that on disk. Whatever else reaches stderr (a panic message) lands in the same file.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Mutex;

use iorelay_core::lifecycle::{format_line, LogFormat};

use crate::emit::time::unix_millis;

/// Size past which `relay.log` is rotated.
pub const MAX_LOG_BYTES: u64 = 10 * 1024 * 1024;

/// The log file's name in the state directory.
pub const LOG_FILE: &str = "relay.log";

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
static JSON: AtomicU8 = AtomicU8::new(0);
/// The log file of a background relay; `None` when logging to the terminal.
static FILE: Mutex<Option<LogFile>> = Mutex::new(None);

#[derive(Debug)]
struct LogFile {
    path: PathBuf,
    written: u64,
}

/// Sets the level from the resolved `log` setting (info if it names no level) and the format.
pub fn init(level: &str, format: LogFormat) {
    let level = Level::parse(level).unwrap_or(Level::Info);
    LEVEL.store(level as u8, Ordering::Relaxed);
    JSON.store(u8::from(format == LogFormat::Json), Ordering::Relaxed);
}

/// Sends stdout and stderr to `path` (appending), rotated by size from now on.
///
/// # Errors
/// The file cannot be opened, or (on Unix) put in place of stdout and stderr.
pub fn to_file(path: &Path) -> std::io::Result<()> {
    let file = open_log(path)?;
    let written = file.metadata()?.len();
    redirect(&file)?;
    *FILE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(LogFile {
        path: path.to_path_buf(),
        written,
    });
    Ok(())
}

/// Whether output goes to the log file (a background relay) rather than a terminal.
#[must_use]
pub fn to_a_file() -> bool {
    FILE.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .is_some()
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
    let format = if JSON.load(Ordering::Relaxed) == 1 {
        LogFormat::Json
    } else {
        LogFormat::Text
    };
    let mut line = format_line(format, unix_millis(), level.name(), &args.to_string());
    line.push('\n');
    let mut file = FILE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
    if let Some(log) = file.as_mut() {
        log.written += line.len() as u64;
        if log.written > MAX_LOG_BYTES {
            log.rotate(redirect);
        }
    }
}

impl LogFile {
    /// `relay.log` → `relay.log.1`, and a new `relay.log` for stdout and stderr. On failure
    /// the old file goes on growing until the next try (one per line), which is all there is
    /// to do when the directory became unwritable.
    /// `redirect` puts the new file in place of stdout and stderr.
    fn rotate(&mut self, redirect: fn(&File) -> std::io::Result<()>) {
        let old = self.path.with_extension("log.1");
        if std::fs::rename(&self.path, &old).is_err() {
            return;
        }
        if let Ok(file) = open_log(&self.path) {
            if redirect(&file).is_ok() {
                self.written = 0;
            }
        }
    }
}

fn open_log(path: &Path) -> std::io::Result<File> {
    OpenOptions::new().create(true).append(true).open(path)
}

#[cfg(unix)]
fn redirect(file: &File) -> std::io::Result<()> {
    rustix::stdio::dup2_stdout(file)?;
    rustix::stdio::dup2_stderr(file)?;
    Ok(())
}

#[cfg(not(unix))]
fn redirect(_file: &File) -> std::io::Result<()> {
    Ok(())
}

/// Logs one line: `log!(Info, "listening on {addr}")`.
#[macro_export]
macro_rules! log {
    ($level:ident, $($arg:tt)*) => {
        $crate::log::write($crate::log::Level::$level, format_args!($($arg)*))
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotation_keeps_one_older_file_and_starts_a_new_one() {
        let dir = std::env::temp_dir().join(format!("iorelay-relay-log-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(LOG_FILE);
        std::fs::write(dir.join("relay.log.1"), b"oldest\n").unwrap();
        std::fs::write(&path, b"older\n").unwrap();
        let mut log = LogFile {
            path: path.clone(),
            written: MAX_LOG_BYTES + 1,
        };
        log.rotate(|_| Ok(()));
        assert_eq!(log.written, 0);
        assert_eq!(std::fs::read(dir.join("relay.log.1")).unwrap(), b"older\n");
        assert_eq!(std::fs::read(&path).unwrap(), b"");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
