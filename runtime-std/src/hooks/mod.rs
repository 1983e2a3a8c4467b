//! `iorelay hooks install|uninstall|status`: the file side of core's `hook_settings`.
//!
//! Why so little here: the merge is pure and tested in core; this reads the chosen
//! settings.json, applies it, prints a diff for `--dry-run`, and writes the result the way a
//! careful editor would: through a temporary file renamed over the original (never half a
//! file), keeping the original's permissions, and writing through a symlink to its target
//! (settings are often symlinked from a dotfiles repository).

use std::io;
use std::path::{Path, PathBuf};

use iorelay_core::cli::{HooksAction, HooksArgs, HooksTarget};
use iorelay_core::hook_settings::{self, diff};

/// Where `hooks` works and with which binary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HooksOptions {
    /// The settings files to act on (install/uninstall: one; status: user and project unless
    /// one was named).
    pub files: Vec<PathBuf>,
    /// The hook command to install (`<binary> emit`).
    pub command: String,
    /// Print the diff, write nothing.
    pub dry_run: bool,
}

impl HooksOptions {
    /// From the flags and the environment (`HOME`, the current directory, the current
    /// executable).
    #[must_use]
    pub fn resolve(action: &HooksAction) -> Self {
        let (target, is_status) = match action {
            HooksAction::Install(t) | HooksAction::Uninstall(t) => (t, false),
            HooksAction::Status(t) => (t, true),
        };
        let user = || {
            std::env::var_os("HOME")
                .map_or_else(|| PathBuf::from("~"), PathBuf::from)
                .join(".claude")
                .join("settings.json")
        };
        let project = || {
            std::env::current_dir()
                .unwrap_or_default()
                .join(".claude")
                .join("settings.json")
        };
        let files = match target {
            HooksTarget { project: true, .. } => vec![project()],
            HooksTarget { user: false, .. } if is_status => vec![user(), project()],
            _ => vec![user()],
        };
        let binary = target
            .command
            .clone()
            .or_else(|| std::env::current_exe().ok())
            .unwrap_or_else(|| PathBuf::from("iorelay"));
        Self {
            files,
            command: hook_settings::hook_command(&binary.to_string_lossy(), !target.no_autostart),
            dry_run: target.dry_run,
        }
    }
}

/// Runs `hooks …` and returns the exit code: 0 done, 1 failed (the message is on stderr).
#[must_use]
pub fn main(args: &HooksArgs) -> i32 {
    let options = HooksOptions::resolve(&args.action);
    let result = match &args.action {
        HooksAction::Install(_) => change(&options, |text| {
            hook_settings::install(text, &options.command)
        }),
        HooksAction::Uninstall(_) => change(&options, hook_settings::uninstall),
        HooksAction::Status(_) => status(&options),
    };
    match result {
        Ok(message) => {
            print!("{message}");
            0
        }
        Err(message) => {
            eprintln!("iorelay hooks: {message}");
            1
        }
    }
}

fn change(
    options: &HooksOptions,
    edit: impl Fn(&str) -> Result<String, String>,
) -> Result<String, String> {
    let mut message = String::new();
    for file in &options.files {
        let path = resolve_symlink(file);
        let before = read(&path).map_err(|err| format!("cannot read {}: {err}", path.display()))?;
        let after = edit(&before).map_err(|err| format!("{}: {err}", path.display()))?;
        if after == before {
            message.push_str(&format!("{}: already up to date\n", path.display()));
        } else if options.dry_run {
            message.push_str(&diff::unified(&path.display().to_string(), &before, &after));
        } else {
            write(&path, &after)
                .map_err(|err| format!("cannot write {}: {err}", path.display()))?;
            message.push_str(&format!("{}: updated\n", path.display()));
        }
    }
    Ok(message)
}

fn status(options: &HooksOptions) -> Result<String, String> {
    let mut message = String::new();
    for file in &options.files {
        let path = resolve_symlink(file);
        let text = read(&path).map_err(|err| format!("cannot read {}: {err}", path.display()))?;
        let report =
            hook_settings::status(&text).map_err(|err| format!("{}: {err}", path.display()))?;
        let installed = report.iter().filter(|(_, c)| !c.is_empty()).count();
        let exists = if path.exists() { "" } else { " (no such file)" };
        message.push_str(&format!(
            "{}{exists}: iorelay hooks on {installed} of {} events\n",
            path.display(),
            hook_settings::EVENTS.len()
        ));
        for (event, commands) in &report {
            let line = if commands.is_empty() {
                "-".to_owned()
            } else {
                commands.join(", ")
            };
            message.push_str(&format!("  {event:<20} {line}\n"));
        }
    }
    Ok(message)
}

/// The file a symlink points to (so the link survives the rename), else the path itself.
fn resolve_symlink(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// The file's text; empty when it does not exist.
fn read(path: &Path) -> io::Result<String> {
    match std::fs::read_to_string(path) {
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(String::new()),
        other => other,
    }
}

fn write(path: &Path, text: &str) -> io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    // Settings can hold secrets (env values): the new file gets the old one's permissions
    // before it takes its place.
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".iorelay-{}.tmp", std::process::id()));
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, text)?;
    let placed = std::fs::metadata(path)
        .map(|m| m.permissions())
        .map_or(Ok(()), |permissions| {
            std::fs::set_permissions(&tmp, permissions)
        })
        .and_then(|()| std::fs::rename(&tmp, path));
    if placed.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    placed
}
