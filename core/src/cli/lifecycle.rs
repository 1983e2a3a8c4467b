//! Arguments of the commands that run the relay in the background: `start`, `restart`,
//! `open`, `logs` and `service`.

use clap::{Args, Subcommand};

use super::client::ClientArgs;
use super::serve::ServeArgs;
use super::Deferred;
use super::SETTINGS_HELP;

/// Lines `logs` prints when `-n` is not given.
pub const DEFAULT_LOG_LINES: usize = 50;

/// Flags of `logs`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct LogsArgs {
    /// Keep printing lines as the relay writes them (until interrupted).
    #[arg(long, short)]
    pub follow: bool,
    /// How many of the last lines to print.
    #[arg(long = "lines", short = 'n', value_name = "N", default_value_t = DEFAULT_LOG_LINES)]
    pub lines: usize,
    /// `--config` and the settings (`--state-dir` says where the log is).
    #[command(flatten)]
    pub serve: ServeArgs,
}

/// `service`: the user service that keeps a relay running.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct ServiceArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: ServiceAction,
}

/// The `service` actions.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
#[non_exhaustive]
pub enum ServiceAction {
    /// Write the systemd user unit (Linux, ~/.config/systemd/user/iorelay.service) or the
    /// launchd agent (macOS, ~/Library/LaunchAgents/dev.iorelay.relay.plist) that runs this
    /// binary's `serve` with these flags and the IORELAY_* environment, restarting it on
    /// failure; prints the one command that enables it.
    #[command(after_help = SETTINGS_HELP)]
    Install(Deferred<ServeArgs>),
    /// Remove the unit or agent file; prints the command that stops a running one.
    Uninstall,
    /// Say whether the unit or agent is installed and whether a relay answers.
    #[command(after_help = SETTINGS_HELP)]
    Status(ClientArgs),
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
    fn start_restart_and_open_take_the_serve_flags() {
        for name in ["start", "restart", "open"] {
            let command = parse_args(&["iorelay", name, "--port", "9000", "--autostart"]);
            let args = match command {
                Command::Start(Deferred(args))
                | Command::Restart(Deferred(args))
                | Command::Open(Deferred(args)) => args,
                other => panic!("{other:?}"),
            };
            assert_eq!(args.to_args(), ["--port", "9000", "--autostart"]);
        }
    }

    #[test]
    fn logs_defaults_to_the_last_50_lines_without_following() {
        let Command::Logs(Deferred(logs)) = parse_args(&["iorelay", "logs"]) else {
            panic!()
        };
        assert_eq!((logs.follow, logs.lines), (false, 50));
        let Command::Logs(Deferred(logs)) = parse_args(&["iorelay", "logs", "-f", "-n", "5"])
        else {
            panic!()
        };
        assert_eq!((logs.follow, logs.lines), (true, 5));
    }

    #[test]
    fn service_has_install_uninstall_and_status() {
        let command = parse_args(&["iorelay", "service", "install", "--log", "debug"]);
        let Command::Service(ServiceArgs {
            action: ServiceAction::Install(Deferred(install)),
        }) = command
        else {
            panic!("{command:?}")
        };
        assert_eq!(install.to_args(), ["--log", "debug"]);
        assert!(matches!(
            parse_args(&["iorelay", "service", "uninstall"]),
            Command::Service(ServiceArgs {
                action: ServiceAction::Uninstall
            })
        ));
        assert!(matches!(
            parse_args(&["iorelay", "service", "status", "--port", "1"]),
            Command::Service(ServiceArgs {
                action: ServiceAction::Status(_)
            })
        ));
    }
}
