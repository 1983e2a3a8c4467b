//! `logs [-f] [-n N]`: the background relay's log, `relay.log` in the state directory.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::time::Duration;

use iorelay_core::cli::LogsArgs;
use iorelay_core::lifecycle::last_lines;

use crate::log::LOG_FILE;
use crate::settings_io;

/// How often `-f` looks for new lines.
const FOLLOW_EVERY: Duration = Duration::from_millis(200);

/// Runs `logs` and returns the exit code (1 when there is no log to show).
#[must_use]
pub fn main(binary: &str, args: &LogsArgs) -> i32 {
    let settings = match settings_io::load(args.serve.config.as_deref(), args.serve.flags()) {
        Ok(settings) => settings,
        Err(message) => {
            eprintln!("{binary}: {message}");
            return 1;
        }
    };
    let path = Path::new(&settings.state_dir).join(LOG_FILE);
    let text = match std::fs::read(&path) {
        Ok(text) => text,
        Err(err) => {
            eprintln!(
                "{binary}: no log at {} ({err}); a relay writes it when run by `{binary} start` \
                 or the user service, while `{binary} serve` logs to the terminal",
                path.display()
            );
            return 1;
        }
    };
    let mut out = std::io::stdout().lock();
    // A closed pipe (`logs | head`) ends the command quietly.
    if out.write_all(last_lines(&text, args.lines)).is_err() || out.flush().is_err() {
        return 0;
    }
    if args.follow {
        follow(&path, text.len() as u64, &mut out);
    }
    0
}

/// Prints what is appended to `path` after `offset` until stdout closes; starts over at the
/// beginning of a new file when the log rotates.
fn follow(path: &Path, mut offset: u64, out: &mut impl Write) {
    let mut chunk = Vec::new();
    loop {
        std::thread::sleep(FOLLOW_EVERY);
        let Ok(mut file) = File::open(path) else {
            continue;
        };
        let len = file.metadata().map_or(0, |m| m.len());
        if len < offset {
            offset = 0;
        }
        if len == offset || file.seek(SeekFrom::Start(offset)).is_err() {
            continue;
        }
        chunk.clear();
        if file.take(len - offset).read_to_end(&mut chunk).is_err() {
            continue;
        }
        offset += chunk.len() as u64;
        if out.write_all(&chunk).is_err() || out.flush().is_err() {
            return;
        }
    }
}
