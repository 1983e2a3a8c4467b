//! `serve --daemon`: the relay in the background, as `iorelay start` and the user service run
//! it. It leaves the terminal's session (so closing the terminal does not hang it up), sends
//! its output to `relay.log` in the state directory ([`log`](mod@crate::log) rotates it), and, once it
//! listens, writes its pid to `relay.pid` there.
//!
//! Why a pid file when `status` and `stop` go through `/health`: it is only a hint for
//! `start` when the port is held by something that does not answer `/health` (a relay that
//! hung). It is never trusted: a pid that no longer runs marks it stale, and `start` removes it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::emit::breaker_file::write_atomically;
use crate::log::{self, LOG_FILE};

/// The pid file's name in the state directory.
pub const PID_FILE: &str = "relay.pid";

/// The state directory of this process when it runs in the background.
static STATE_DIR: OnceLock<PathBuf> = OnceLock::new();

/// Detaches this process: a new session, output to the log file in `state_dir`.
///
/// # Errors
/// The state directory or the log file cannot be written; the message says which.
pub fn detach(state_dir: &Path) -> Result<(), String> {
    // Fails harmlessly where the process already leads its group (systemd, launchd).
    #[cfg(unix)]
    let _ = rustix::process::setsid();
    std::fs::create_dir_all(state_dir).map_err(|err| {
        format!(
            "cannot create the state directory {}: {err}",
            state_dir.display()
        )
    })?;
    let path = state_dir.join(LOG_FILE);
    log::to_file(&path)
        .map_err(|err| format!("cannot write the log file {}: {err}", path.display()))?;
    let _ = STATE_DIR.set(state_dir.to_path_buf());
    Ok(())
}

/// Both runtimes call this once they listen on `addr`: in the foreground it prints the
/// listening line (which tests and scripts wait for); in the background it writes the pid
/// file instead (the log has its own line).
pub fn listening(addr: SocketAddr) {
    match STATE_DIR.get() {
        Some(dir) => {
            let pid = format!("{}\n", std::process::id());
            if let Err(err) = write_atomically(&dir.join(PID_FILE), pid.as_bytes()) {
                crate::log!(Warn, "cannot write {}: {err}", dir.join(PID_FILE).display());
            }
        }
        None => println!("iorelay listening on http://{addr}"),
    }
}

/// Both runtimes call this when the relay stopped: a background relay removes its pid file
/// (when it still names this process).
pub fn stopped() {
    if let Some(dir) = STATE_DIR.get() {
        let path = dir.join(PID_FILE);
        if read_pid(&path) == Some(std::process::id()) {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// The pid in a pid file, if it holds one.
#[must_use]
pub fn read_pid(path: &Path) -> Option<u32> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// Whether a process with this pid runs (on Unix; elsewhere, assumed so). A zombie (exited,
/// not yet reaped by its parent) does not run; Linux says so in /proc.
#[must_use]
pub fn running(pid: u32) -> bool {
    #[cfg(unix)]
    {
        let Some(raw) = i32::try_from(pid)
            .ok()
            .and_then(rustix::process::Pid::from_raw)
        else {
            return false;
        };
        let exists = !matches!(
            rustix::process::test_kill_process(raw),
            Err(rustix::io::Errno::SRCH)
        );
        exists && !zombie(pid)
    }
    #[cfg(not(unix))]
    {
        let _ = pid;
        true
    }
}

/// Whether /proc says `pid` is a zombie (`false` where there is no /proc).
fn zombie(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit_once(") ")
            .is_some_and(|(_, rest)| rest.starts_with('Z'))
    })
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn this_process_runs_and_a_reaped_child_does_not() {
        assert!(running(std::process::id()));
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        if std::path::Path::new("/proc/self/stat").exists() {
            // Exited but not reaped: a zombie, which no longer runs.
            let until = std::time::Instant::now() + std::time::Duration::from_secs(5);
            while running(pid) && std::time::Instant::now() < until {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            assert!(!running(pid));
        }
        child.wait().unwrap();
        assert!(!running(pid));
    }
}
