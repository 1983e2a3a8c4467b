//! `emit.log`: where emit reports problems, since it may not print them.
//!
//! Why a file: Claude Code feeds the stdout of some hooks to the model and shows stderr in
//! places, so emit stays silent and writes here (and, with `--verbose`, to stderr too). The
//! file is bounded: past [`MAX_LOG_BYTES`] it is renamed to `emit.log.1` (replacing the older
//! one), so a relay that stays down for weeks costs at most twice that on disk.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::PathBuf;

use iorelay_core::relay::clock::iso8601;

/// Size past which the log is rotated.
pub const MAX_LOG_BYTES: u64 = 1024 * 1024;

/// The log of one emit process.
#[derive(Debug, Clone)]
pub struct EmitLog {
    path: Option<PathBuf>,
    verbose: bool,
}

impl EmitLog {
    /// Logs to `emit.log` in `state_dir` (`None`: the directory is unusable) and, when
    /// `verbose`, to stderr.
    #[must_use]
    pub fn new(state_dir: Option<PathBuf>, verbose: bool) -> Self {
        Self {
            path: state_dir.map(|dir| dir.join("emit.log")),
            verbose,
        }
    }

    /// Writes one line; failures to write are ignored (there is nowhere left to report them).
    pub fn line(&self, now_ms: u64, message: &str) {
        let line = format!("{} pid={} {message}\n", iso8601(now_ms), std::process::id());
        if self.verbose {
            eprintln!("iorelay emit: {message}");
        }
        let Some(path) = &self.path else { return };
        if std::fs::metadata(path).is_ok_and(|m| m.len() > MAX_LOG_BYTES) {
            let _ = std::fs::rename(path, path.with_extension("log.1"));
        }
        if let Ok(mut file) = OpenOptions::new().create(true).append(true).open(path) {
            let _ = file.write_all(line.as_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_appended_and_the_file_rotates_past_the_bound() {
        let dir = std::env::temp_dir().join(format!("iorelay-log-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let log = EmitLog::new(Some(dir.clone()), false);
        log.line(0, "first");
        log.line(1, "second");
        let text = std::fs::read_to_string(dir.join("emit.log")).unwrap();
        assert!(text.starts_with("1970-01-01T00:00:00.000Z pid="), "{text}");
        assert!(text.ends_with(" second\n"), "{text}");
        std::fs::write(dir.join("emit.log"), vec![b'x'; MAX_LOG_BYTES as usize + 1]).unwrap();
        log.line(2, "third");
        assert_eq!(
            std::fs::metadata(dir.join("emit.log.1")).unwrap().len(),
            MAX_LOG_BYTES + 1
        );
        assert!(std::fs::read_to_string(dir.join("emit.log"))
            .unwrap()
            .ends_with(" third\n"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
