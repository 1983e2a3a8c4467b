//! The flags of the hook side's subcommands: `emit` and `hooks install|uninstall|status`.
//!
//! Why a file of its own: the hook side's flags change with Claude Code's hook surface, not with
//! the server's; keeping them apart from `cli.rs` keeps both small.

use std::path::PathBuf;

use clap::{Args, Subcommand};

/// Flags of `emit`: read one hook event on stdin and deliver it to the relay.
#[derive(Debug, Clone, Default, PartialEq, Eq, Args)]
pub struct EmitArgs {
    /// Also report problems on stderr (they always go to emit.log in the state directory).
    #[arg(long, short)]
    pub verbose: bool,
    /// Total time allowed for delivery, in milliseconds (default 500, or
    /// IORELAY_EMIT_DEADLINE_MS).
    #[arg(long, value_name = "MS")]
    pub deadline_ms: Option<u64>,
    /// Relay host (default 127.0.0.1, or IORELAY_HOST / CLAUDE_MPM_SERVER_HOST).
    #[arg(long)]
    pub host: Option<String>,
    /// Relay port (default 8765, or IORELAY_PORT / CLAUDE_MPM_SERVER_PORT).
    #[arg(long)]
    pub port: Option<u16>,
    /// When no relay answers, launch `iorelay start` in the background (at most once per
    /// 30 s across all hooks; default off, or IORELAY_AUTOSTART). `hooks install` writes
    /// hooks with this flag.
    #[arg(long)]
    pub autostart: bool,
}

/// `hooks`: manage iorelay's entries in Claude Code's settings.json.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct HooksArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: HooksAction,
}

/// The `hooks` actions.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum HooksAction {
    /// Add iorelay's hook to every Claude Code hook event (idempotent).
    Install(HooksTarget),
    /// Remove iorelay's entries, and only those.
    Uninstall(HooksTarget),
    /// Say what is installed where.
    Status(HooksTarget),
}

/// Which settings.json, and how.
#[derive(Debug, Clone, Default, PartialEq, Eq, Args)]
pub struct HooksTarget {
    /// The user's settings (~/.claude/settings.json); the default.
    #[arg(long, conflicts_with = "project")]
    pub user: bool,
    /// The project's settings (.claude/settings.json under the current directory).
    #[arg(long)]
    pub project: bool,
    /// Print the change as a diff and write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// The binary the hook runs (default: this executable).
    #[arg(long, value_name = "PATH")]
    pub command: Option<PathBuf>,
    /// Write hooks that do not start a relay when none runs (by default they run `emit
    /// --autostart`).
    #[arg(long)]
    pub no_autostart: bool,
}

#[cfg(test)]
mod tests {
    use std::ffi::OsString;

    use crate::cli::{parse, Command};

    use super::*;

    fn parse_args(list: &[&str]) -> Command {
        parse("iorelay", list.iter().map(OsString::from)).unwrap()
    }

    #[test]
    fn emit_takes_its_flags() {
        let command = parse_args(&[
            "iorelay",
            "emit",
            "-v",
            "--deadline-ms",
            "300",
            "--port",
            "9",
        ]);
        assert_eq!(
            command,
            Command::Emit(EmitArgs {
                verbose: true,
                deadline_ms: Some(300),
                host: None,
                port: Some(9),
                autostart: false,
            })
        );
    }

    #[test]
    fn hooks_install_defaults_to_the_user_settings() {
        let command = parse_args(&["iorelay", "hooks", "install", "--dry-run"]);
        let Command::Hooks(HooksArgs {
            action: HooksAction::Install(target),
        }) = command
        else {
            panic!("{command:?}");
        };
        assert!(target.dry_run && !target.project && !target.user);
    }

    #[test]
    fn user_and_project_conflict() {
        let exit = parse(
            "iorelay",
            ["iorelay", "hooks", "status", "--user", "--project"]
                .iter()
                .map(OsString::from),
        )
        .unwrap_err();
        assert_eq!(exit.code, 2);
    }
}
