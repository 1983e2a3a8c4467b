//! `start`, `restart` and `open`: a relay in the background that outlives the shell.
//!
//! `start` runs this executable's `serve --daemon` with the same `--config` and setting flags
//! (the child leaves the terminal's session, stdin is /dev/null, output goes to `relay.log` in
//! the state directory), then waits until `/health` answers, at most [`START_WAIT`]. Concurrent
//! starts (two hooks, a hook and a person) take turns on `start.lock` in the state directory,
//! and whoever comes second finds the relay answering; if two relays are launched anyway, the
//! port decides: the one that cannot bind exits, and its `start` finds the winner.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use iorelay_core::cli::ServeArgs;
use iorelay_core::lifecycle::message_of;
use iorelay_core::settings::Settings;
use serde_json::Value;

use crate::control::{self, Probe};
use crate::daemon::{self, PID_FILE};
use crate::emit::lock::{FileLock, Mode};
use crate::emit::EmitOptions;
use crate::log::LOG_FILE;
use crate::settings_io;

/// How long `start` waits for a launched relay to answer `/health` (the original design's
/// startup budget).
pub const START_WAIT: Duration = Duration::from_secs(5);

/// How long `start` spends delivering events hooks spooled while the relay was starting.
const SPOOL_DRAIN: Duration = Duration::from_secs(1);

/// How often `start` looks at the launched relay while it waits.
const POLL: Duration = Duration::from_millis(25);

/// A relay that answers.
#[derive(Debug, Clone, PartialEq)]
pub enum Running {
    /// It was already running: its `/health`.
    Already(Value),
    /// This call launched it: its `/health`.
    Started(Value),
}

/// `start`: returns the exit code (0 running, 1 not).
#[must_use]
pub fn start(binary: &str, args: &ServeArgs) -> i32 {
    with_settings(binary, args, |settings| {
        start_reporting(binary, settings, args)
    })
}

/// `restart`: stops the relay on the configured address when one answers, then starts one
/// with `args`; returns the exit code.
#[must_use]
pub fn restart(binary: &str, args: &ServeArgs) -> i32 {
    with_settings(binary, args, |settings| {
        let (host, port) = (settings.host.as_str(), settings.port);
        match control::probe(host, port) {
            Probe::Relay(_) => {
                let code = control::stop(binary, host, port, settings.token.as_deref());
                if code != 0 {
                    return code;
                }
            }
            Probe::Other => {
                eprintln!("{binary}: {}", control::other_program(port));
                return 1;
            }
            Probe::Nothing => println!("no relay was running on {}", control::address(host, port)),
        }
        start_reporting(binary, settings, args)
    })
}

/// `open`: makes sure a relay runs, then opens the dashboard in the browser (`xdg-open`,
/// `open` on macOS), or prints its address when no browser can be opened.
#[must_use]
pub fn open(binary: &str, args: &ServeArgs) -> i32 {
    with_settings(binary, args, |settings| {
        let running = match ensure_running(settings, args) {
            Ok(running) => running,
            Err(message) => {
                eprintln!("{binary}: {message}");
                return 1;
            }
        };
        if let Running::Started(_) = running {
            println!("{}", describe(settings, &running));
        }
        let url = control::dashboard_url(&settings.host, settings.port);
        if open_browser(&url) {
            println!("opened {url}");
        } else {
            println!("dashboard: {url} (no browser to open here)");
        }
        0
    })
}

/// Makes sure a relay answers on the configured address, launching one in the background
/// when nothing listens there.
///
/// # Errors
/// What stands in the way, in one line: another program holds the port, the state directory
/// or the log cannot be written, the relay exited before answering (with the last line it
/// logged), or it did not answer in time.
pub fn ensure_running(settings: &Settings, args: &ServeArgs) -> Result<Running, String> {
    let (host, port) = (settings.host.as_str(), settings.port);
    if port == 0 {
        return Err(
            "start needs a fixed port (status, stop and the hooks find the relay \
                    by it); port 0 is for `serve` in the foreground"
                .to_owned(),
        );
    }
    let state_dir = PathBuf::from(&settings.state_dir);
    match control::probe(host, port) {
        Probe::Relay(health) => return Ok(Running::Already(health)),
        Probe::Other => return Err(held_by_another(&state_dir, port)),
        Probe::Nothing => {}
    }
    std::fs::create_dir_all(&state_dir).map_err(|err| {
        format!(
            "cannot create the state directory {}: {err}",
            state_dir.display()
        )
    })?;
    let until = Instant::now() + START_WAIT;
    let _turn = take_turn(&state_dir, until)?;
    // Whoever held the turn before may have started it.
    match control::probe(host, port) {
        Probe::Relay(health) => return Ok(Running::Already(health)),
        Probe::Other => return Err(held_by_another(&state_dir, port)),
        Probe::Nothing => {}
    }
    remove_stale_pid_file(&state_dir);
    let log_path = state_dir.join(LOG_FILE);
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .map_err(|err| format!("cannot write the log file {}: {err}", log_path.display()))?;
    let logged_before = log.metadata().map_or(0, |m| m.len());
    let exe = std::env::current_exe()
        .map_err(|err| format!("cannot find this executable to run it: {err}"))?;
    let output = log
        .try_clone()
        .map_err(|err| format!("cannot use the log file {}: {err}", log_path.display()))?;
    let mut child = Command::new(&exe)
        .args(["serve", "--daemon"])
        .args(args.to_args())
        .stdin(Stdio::null())
        .stdout(output)
        .stderr(log)
        .spawn()
        .map_err(|err| format!("cannot run {}: {err}", exe.display()))?;
    let running = wait_until_up(&mut child, settings, &log_path, logged_before, until)?;
    let options = EmitOptions::from_settings(settings, false, None);
    let _ = crate::emit::run::deliver_spooled(&options, Instant::now() + SPOOL_DRAIN);
    Ok(running)
}

/// Runs `<this executable> start <args>` in the background without waiting for it, its
/// output discarded and in a process group of its own (so whatever ends the caller's group
/// leaves it running): what `emit` does when autostart is on.
///
/// # Errors
/// The executable cannot be found or run.
pub fn launch_in_background(args: &[String]) -> std::io::Result<u32> {
    let exe = std::env::current_exe()?;
    let mut command = Command::new(exe);
    command
        .arg("start")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    Ok(command.spawn()?.id())
}

/// Makes sure a relay runs and says so (its dashboard URL) or why not; returns the exit code.
fn start_reporting(binary: &str, settings: &Settings, args: &ServeArgs) -> i32 {
    match ensure_running(settings, args) {
        Ok(running) => {
            println!("{}", describe(settings, &running));
            0
        }
        Err(message) => {
            eprintln!("{binary}: {message}");
            1
        }
    }
}

fn with_settings(binary: &str, args: &ServeArgs, run: impl FnOnce(&Settings) -> i32) -> i32 {
    match settings_io::load(args.config.as_deref(), args.flags()) {
        Ok(settings) => run(&settings),
        Err(message) => {
            eprintln!("{binary}: {message}");
            1
        }
    }
}

/// "iorelay 0.1.0 started (pid 42); dashboard: http://127.0.0.1:8765/".
fn describe(settings: &Settings, running: &Running) -> String {
    let url = control::dashboard_url(&settings.host, settings.port);
    match running {
        Running::Already(health) => format!(
            "{} is already running on {}; dashboard: {url}",
            control::holder(health),
            control::address(&settings.host, settings.port)
        ),
        Running::Started(health) => format!(
            "iorelay {} started in the background (pid {}); dashboard: {url}",
            health["version"].as_str().unwrap_or("?"),
            health["pid"]
        ),
    }
}

/// Waits for the turn to start a relay: `start.lock` in the state directory, held for as long
/// as a start takes.
fn take_turn(state_dir: &Path, until: Instant) -> Result<FileLock, String> {
    let path = state_dir.join("start.lock");
    loop {
        match FileLock::try_acquire(&path, Mode::Exclusive) {
            Ok(Some(lock)) => return Ok(lock),
            Ok(None) if Instant::now() < until => std::thread::sleep(POLL),
            Ok(None) => {
                return Err(format!(
                    "another start held {} for {}s; try again",
                    path.display(),
                    START_WAIT.as_secs()
                ))
            }
            Err(err) => return Err(format!("cannot lock {}: {err}", path.display())),
        }
    }
}

fn wait_until_up(
    child: &mut Child,
    settings: &Settings,
    log_path: &Path,
    logged_before: u64,
    until: Instant,
) -> Result<Running, String> {
    let (host, port) = (settings.host.as_str(), settings.port);
    loop {
        if let Probe::Relay(health) = control::probe(host, port) {
            let ours = health["pid"].as_u64() == Some(u64::from(child.id()));
            return Ok(if ours {
                Running::Started(health)
            } else {
                Running::Already(health)
            });
        }
        if let Ok(Some(status)) = child.try_wait() {
            // It lost a race for the port to a relay that answers now: nothing went wrong.
            if let Probe::Relay(health) = control::probe(host, port) {
                return Ok(Running::Already(health));
            }
            let said = last_line(log_path, logged_before)
                .map_or_else(String::new, |line| format!(": {line}"));
            return Err(format!(
                "the relay exited ({status}) before it answered{said} (log: {})",
                log_path.display()
            ));
        }
        if Instant::now() >= until {
            return Err(format!(
                "the relay (pid {}) did not answer /health on {} within {}s; see `iorelay logs`",
                child.id(),
                control::address(host, port),
                START_WAIT.as_secs()
            ));
        }
        std::thread::sleep(POLL);
    }
}

/// The message of the last line written to the log after `offset`.
fn last_line(path: &Path, offset: u64) -> Option<String> {
    let text = std::fs::read(path).ok()?;
    let new = text.get(usize::try_from(offset).ok()?..)?;
    String::from_utf8_lossy(new)
        .lines()
        .rev()
        .find(|line| !line.trim().is_empty())
        .map(|line| {
            let message = message_of(line);
            ["iorelay: ", "iorelay-std: "]
                .iter()
                .find_map(|binary| message.strip_prefix(binary))
                .map_or_else(|| message.clone(), str::to_owned)
        })
}

/// A pid file whose process is gone is left from a relay that crashed or was killed.
fn remove_stale_pid_file(state_dir: &Path) {
    let path = state_dir.join(PID_FILE);
    match daemon::read_pid(&path) {
        Some(pid) if daemon::running(pid) => {}
        _ => {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// What to say when the port is taken by something that does not answer `/health` as
/// iorelay; names the pid of a relay started earlier when its pid file says it still runs.
fn held_by_another(state_dir: &Path, port: u16) -> String {
    let other = control::other_program(port);
    match daemon::read_pid(&state_dir.join(PID_FILE)) {
        Some(pid) if daemon::running(pid) => format!(
            "{other}; the relay started earlier (pid {pid}) still runs but does not answer: \
             stop it with `kill {pid}`"
        ),
        _ => other,
    }
}

/// Opens `url` in the user's browser; `false` when there is none to open.
fn open_browser(url: &str) -> bool {
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else {
        let graphical = ["DISPLAY", "WAYLAND_DISPLAY"]
            .iter()
            .any(|var| std::env::var_os(var).is_some_and(|v| !v.is_empty()));
        if !graphical {
            return false;
        }
        "xdg-open"
    };
    let Ok(mut child) = Command::new(opener)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    else {
        return false;
    };
    let until = Instant::now() + START_WAIT;
    while Instant::now() < until {
        match child.try_wait() {
            Ok(Some(status)) => return status.success(),
            Ok(None) => std::thread::sleep(POLL),
            Err(_) => return false,
        }
    }
    // Still running: some openers stay with the browser; it did open.
    true
}
