//! The command line both binaries share, parsed purely from an argument list.
//!
//! Why in core: `iorelay` and `iorelay-std` take the same flags and must agree on defaults and
//! errors; parsing an argument list does no IO (DESIGN §1). clap does the parsing because it
//! does it well: help, usage, suggestions and errors users expect.

mod client;
mod config_cmd;
mod flags;
mod lifecycle;
mod serve;
mod watch;

use std::ffi::OsString;

use clap::{ArgMatches, Args, CommandFactory, FromArgMatches, Parser, Subcommand};

pub use client::ClientArgs;
pub use config_cmd::ConfigCommand;
pub use flags::{ClientFlags, SettingFlags};
pub use lifecycle::{LogsArgs, ServiceAction, ServiceArgs, DEFAULT_LOG_LINES};
pub use serve::ServeArgs;
pub use watch::{parse_duration, CheckArgs, TailArgs};

/// What every command's `--help` ends with: where settings come from.
pub const SETTINGS_HELP: &str = "\
Settings, lowest layer first: built-in defaults; environment variables (IORELAY_<KEY>, e.g.
IORELAY_PORT; CLAUDE_MPM_SERVER_HOST/PORT as aliases); the config file (--config, else
$IORELAY_CONFIG, else $XDG_CONFIG_HOME/iorelay/config.toml or ~/.config/iorelay/config.toml);
then flags. `iorelay config show` prints every effective value and where it came from.";
pub use crate::hook_cli::{EmitArgs, HooksAction, HooksArgs, HooksTarget};

/// A parsed command line.
#[derive(Debug, Clone, PartialEq, Eq, Parser)]
#[command(
    version,
    about = "Real-time event relay for AI coding agents: Engine.IO v4 / Socket.IO v5 server",
    after_help = SETTINGS_HELP,
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    /// What to do (default: serve).
    #[command(subcommand)]
    pub command: Option<Command>,
    /// `serve`'s flags, accepted without the subcommand since serving is the default.
    #[command(flatten)]
    pub serve: ServeArgs,
}

/// The subcommands.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
#[non_exhaustive]
pub enum Command {
    /// Run the relay server (the default command).
    #[command(after_help = SETTINGS_HELP)]
    Serve(Deferred<ServeArgs>),
    /// Say whether a relay answers on the configured host and port, with its version, pid,
    /// uptime, clients and events; exits 0 when one does, 3 when nothing listens.
    #[command(after_help = SETTINGS_HELP)]
    Status(ClientArgs),
    /// Ask the relay on the configured host and port to shut down gracefully, and wait (up to
    /// 5 s) until it has; exits 1 when no relay answers.
    #[command(after_help = SETTINGS_HELP)]
    Stop(ClientArgs),
    /// Run the relay in the background (its own session, output to relay.log in the state
    /// directory), wait until it answers /health (at most 5 s) and print the dashboard's
    /// address; exits 0 when a relay already answers, 1 when it cannot start one.
    #[command(after_help = SETTINGS_HELP)]
    Start(Deferred<ServeArgs>),
    /// Stop the relay on the configured host and port (when one answers) and start it again
    /// in the background with these settings.
    #[command(after_help = SETTINGS_HELP)]
    Restart(Deferred<ServeArgs>),
    /// Open the dashboard in the browser, starting the relay first when none answers; prints
    /// the address when there is no browser to open.
    #[command(after_help = SETTINGS_HELP)]
    Open(Deferred<ServeArgs>),
    /// Print the last lines of the background relay's log (relay.log in the state
    /// directory); `-f` keeps following it.
    #[command(after_help = SETTINGS_HELP)]
    Logs(Deferred<LogsArgs>),
    /// Install, remove or show the user service (systemd user unit, launchd agent) that keeps
    /// a relay running.
    Service(ServiceArgs),
    /// Inspect the configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Read one Claude Code hook event on stdin and deliver it to the relay; silent, always
    /// exits 0, spools when the relay is down.
    Emit(EmitArgs),
    /// Install, remove or show iorelay's hooks in Claude Code's settings.json.
    Hooks(HooksArgs),
    /// Print the relay's events as they arrive, one readable line each (or --json), the way
    /// a dashboard receives them; follows the relay across restarts with no gap and no
    /// duplicate. The first thing to run when a dashboard shows nothing. Ctrl-C ends it (exit
    /// 0); exits 2 when no relay listens.
    #[command(after_help = SETTINGS_HELP)]
    Tail(TailArgs),
    /// Stay connected to the relay for a while (default 2m), post probe events and time
    /// round trips, then report uptime, disconnects, recovery and delivery with a 0-100
    /// score; exits 1 below --min-score, 2 when no relay listens.
    #[command(after_help = SETTINGS_HELP)]
    Check(CheckArgs),
}

/// A subcommand's flags that clap builds only when that subcommand is the one given
/// (`clap::Command::defer`). Why: serve's 40 flags belong to `serve`, `start`, `restart` and
/// `open` as well as the top level, and building all five copies on every run was most of the
/// relay's heap at start (38 KB a copy, 574 KB at its peak by heaptrack) and of the parse a
/// hook's `emit` pays on every tool call.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Deferred<T>(pub T);

impl<T: Args> Args for Deferred<T> {
    fn augment_args(cmd: clap::Command) -> clap::Command {
        cmd.defer(|cmd| keeping_about(cmd, T::augment_args))
    }

    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        cmd.defer(|cmd| keeping_about(cmd, T::augment_args_for_update))
    }

    fn group_id() -> Option<clap::Id> {
        T::group_id()
    }
}

/// Adds a flags struct's arguments to a subcommand that already says what it does: the
/// struct's own doc comment, which clap applies as it adds them, must not replace the
/// subcommand's (`start --help` would open with "Flags of `serve`").
fn keeping_about(cmd: clap::Command, augment: fn(clap::Command) -> clap::Command) -> clap::Command {
    let about = cmd.get_about().cloned();
    let long_about = cmd.get_long_about().cloned();
    let cmd = augment(cmd);
    let cmd = match about {
        Some(about) => cmd.about(about),
        None => cmd.about(None::<&str>),
    };
    match long_about {
        Some(long_about) => cmd.long_about(long_about),
        None => cmd.long_about(None::<&str>),
    }
}

impl<T: FromArgMatches> FromArgMatches for Deferred<T> {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        T::from_arg_matches(matches).map(Deferred)
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        self.0.update_from_arg_matches(matches)
    }
}

/// Why parsing ended without a command: help or version asked for (`code` 0, print to
/// stdout), or a usage error (`code` 2, print to stderr).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CliExit {
    /// Text to print.
    pub message: String,
    /// Process exit code.
    pub code: i32,
}

/// Parses `args` (including the program name first) for the binary `binary`.
///
/// # Errors
/// Help, version, or a usage error, rendered for printing.
pub fn parse(
    binary: &'static str,
    args: impl IntoIterator<Item = OsString>,
) -> Result<Command, CliExit> {
    let matches = Cli::command()
        .name(binary)
        .bin_name(binary)
        .try_get_matches_from(args)
        .map_err(render)?;
    let cli = Cli::from_arg_matches(&matches).map_err(render)?;
    Ok(cli.command.unwrap_or(Command::Serve(Deferred(cli.serve))))
}

fn render(err: clap::Error) -> CliExit {
    CliExit {
        message: err.render().to_string(),
        code: err.exit_code(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<OsString> {
        list.iter().map(OsString::from).collect()
    }

    fn given(pairs: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
        pairs.iter().map(|(k, v)| (*k, (*v).to_owned())).collect()
    }

    #[test]
    fn no_arguments_means_serve_with_no_flags() {
        let command = parse("iorelay", args(&["iorelay"])).unwrap();
        assert_eq!(command, Command::Serve(Deferred(ServeArgs::default())));
    }

    #[test]
    fn serve_flags_are_handed_back_by_setting_key() {
        let command = parse(
            "iorelay",
            args(&[
                "iorelay",
                "serve",
                "--host",
                "0.0.0.0",
                "--port",
                "3000",
                "--conformance",
                "--ping-interval",
                "500",
                "--config",
                "/etc/iorelay.toml",
            ]),
        )
        .unwrap();
        let Command::Serve(Deferred(serve)) = command else {
            panic!("{command:?}")
        };
        assert_eq!(serve.config.as_deref(), Some("/etc/iorelay.toml"));
        assert_eq!(
            serve.flags(),
            given(&[
                ("host", "0.0.0.0"),
                ("port", "3000"),
                ("conformance", "true"),
                ("ping_interval_ms", "500"),
            ])
        );
    }

    #[test]
    fn a_subcommand_built_only_when_given_still_has_its_help_and_suggestions() {
        let help = parse("iorelay", args(&["iorelay", "start", "--help"])).unwrap_err();
        assert_eq!(help.code, 0);
        assert!(help.message.contains("--port <PORT>"), "{}", help.message);
        assert!(
            help.message.starts_with("Run the relay in the background"),
            "the subcommand's own about first: {}",
            help.message
        );
        let help = parse("iorelay", args(&["iorelay", "logs", "--help"])).unwrap_err();
        assert!(
            help.message.starts_with("Print the last lines"),
            "{}",
            help.message
        );
        let typo = parse("iorelay", args(&["iorelay", "open", "--prot", "1"])).unwrap_err();
        assert_eq!(typo.code, 2);
        assert!(typo.message.contains("'--port'"), "{}", typo.message);
    }

    #[test]
    fn serve_flags_work_without_the_subcommand() {
        let command = parse(
            "iorelay",
            args(&["iorelay", "--port", "0", "--conformance"]),
        )
        .unwrap();
        let Command::Serve(Deferred(serve)) = command else {
            panic!("{command:?}")
        };
        assert_eq!(
            serve.flags(),
            given(&[("port", "0"), ("conformance", "true")])
        );
    }

    #[test]
    fn status_and_stop_take_where_the_relay_is() {
        let command = parse(
            "iorelay",
            args(&["iorelay", "status", "--port", "9000", "--config", "c.toml"]),
        )
        .unwrap();
        let Command::Status(status) = command else {
            panic!("{command:?}")
        };
        assert_eq!(status.config.as_deref(), Some("c.toml"));
        assert_eq!(status.flags(), given(&[("port", "9000")]));
        let command = parse("iorelay", args(&["iorelay", "stop", "--token", "t"])).unwrap();
        assert!(matches!(command, Command::Stop(stop) if stop.flags() == given(&[("token", "t")])));
    }

    #[test]
    fn status_has_no_serve_flags() {
        let exit = parse("iorelay", args(&["iorelay", "status", "--conformance"])).unwrap_err();
        assert_eq!(exit.code, 2);
    }

    #[test]
    fn config_show_takes_the_serve_flags() {
        let command = parse(
            "iorelay",
            args(&["iorelay", "config", "show", "--log", "debug"]),
        )
        .unwrap();
        let Command::Config(ConfigCommand::Show(Deferred(show))) = command else {
            panic!("{command:?}")
        };
        assert_eq!(show.flags(), given(&[("log", "debug")]));
    }

    #[test]
    fn help_exits_zero_names_the_binary_and_says_where_settings_come_from() {
        let exit = parse("iorelay-std", args(&["iorelay-std", "serve", "--help"])).unwrap_err();
        assert_eq!(exit.code, 0);
        assert!(exit.message.contains("iorelay-std serve"));
        assert!(exit.message.contains("--conformance"));
        assert!(exit
            .message
            .contains("IORELAY_PORT, CLAUDE_MPM_SERVER_PORT"));
        assert!(exit.message.contains("~/.config/iorelay/config.toml"));
        for command in ["status", "stop"] {
            let exit = parse("iorelay", args(&["iorelay", command, "--help"])).unwrap_err();
            assert_eq!(exit.code, 0);
            assert!(exit.message.contains("IORELAY_HOST"), "{}", exit.message);
        }
    }

    #[test]
    fn a_bad_value_is_a_usage_error_saying_what_was_expected() {
        let exit = parse("iorelay", args(&["iorelay", "serve", "--port", "70000"])).unwrap_err();
        assert_eq!(exit.code, 2);
        assert!(exit.message.contains("--port"));
        assert!(exit.message.contains("expected a port number (0-65535)"));
    }
}
