//! The command line both binaries share, parsed purely from an argument list.
//!
//! Why in core: `iorelay` and `iorelay-std` take the same flags and must agree on defaults and
//! errors; parsing an argument list does no IO (DESIGN §1). clap does the parsing because it
//! does it well: help, usage, suggestions and errors users expect.

use std::ffi::OsString;
use std::time::Duration;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::config::{Config, ServerInfo};
pub use crate::hook_cli::{EmitArgs, HooksAction, HooksArgs, HooksTarget};

/// A parsed command line.
#[derive(Debug, Clone, PartialEq, Eq, Parser)]
#[command(
    version,
    about = "Real-time event relay for AI coding agents: Engine.IO v4 / Socket.IO v5 server",
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
    Serve(ServeArgs),
    /// Read one Claude Code hook event on stdin and deliver it to the relay; silent, always
    /// exits 0, spools when the relay is down.
    Emit(EmitArgs),
    /// Install, remove or show iorelay's hooks in Claude Code's settings.json.
    Hooks(HooksArgs),
}

/// Flags of `serve`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Port to listen on (0 picks a free port).
    #[arg(long, default_value_t = 8765)]
    pub port: u16,
    /// Behave as the public Engine.IO v4 / Socket.IO v5 protocol test suites expect: raw
    /// Engine.IO echo at /engine.io/, Socket.IO test namespaces at /socket.io/, short timers.
    #[arg(long)]
    pub conformance: bool,
    /// Engine.IO ping interval in milliseconds.
    #[arg(long, value_name = "MS")]
    pub ping_interval: Option<u64>,
    /// Engine.IO pong timeout in milliseconds.
    #[arg(long, value_name = "MS")]
    pub ping_timeout: Option<u64>,
    /// Largest Engine.IO message or POST body in bytes.
    #[arg(long, value_name = "BYTES")]
    pub max_payload: Option<usize>,
    /// Log level: error, warn, info, debug.
    #[arg(long, default_value = "info")]
    pub log: String,
}

impl Default for ServeArgs {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".to_owned(),
            port: 8765,
            conformance: false,
            ping_interval: None,
            ping_timeout: None,
            max_payload: None,
            log: "info".to_owned(),
        }
    }
}

impl ServeArgs {
    /// The engine configuration these flags ask for, with the runtime's process facts.
    #[must_use]
    pub fn config(&self, server: ServerInfo) -> Config {
        let mut config = if self.conformance {
            Config::conformance()
        } else {
            Config::default()
        };
        if let Some(ms) = self.ping_interval {
            config.ping_interval = Duration::from_millis(ms);
        }
        if let Some(ms) = self.ping_timeout {
            config.ping_timeout = Duration::from_millis(ms);
        }
        if let Some(bytes) = self.max_payload {
            config.max_payload = bytes;
        }
        config.server = server;
        config
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
    Ok(cli.command.unwrap_or(Command::Serve(cli.serve)))
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

    #[test]
    fn no_arguments_means_serve_with_defaults() {
        let command = parse("iorelay", args(&["iorelay"])).unwrap();
        assert_eq!(command, Command::Serve(ServeArgs::default()));
    }

    #[test]
    fn serve_flags_are_parsed() {
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
            ]),
        )
        .unwrap();
        let Command::Serve(serve) = command else {
            panic!("{command:?}");
        };
        assert_eq!(
            (serve.host.as_str(), serve.port, serve.conformance),
            ("0.0.0.0", 3000, true)
        );
        let config = serve.config(ServerInfo { pid: 1, port: 3000 });
        assert_eq!(config.ping_interval, Duration::from_millis(300));
        assert_eq!(config.server.port, 3000);
    }

    #[test]
    fn serve_flags_work_without_the_subcommand() {
        let command = parse(
            "iorelay",
            args(&["iorelay", "--port", "0", "--conformance"]),
        )
        .unwrap();
        let Command::Serve(serve) = command else {
            panic!("{command:?}");
        };
        assert_eq!((serve.port, serve.conformance), (0, true));
    }

    #[test]
    fn help_exits_zero_and_names_the_binary() {
        let exit = parse("iorelay-std", args(&["iorelay-std", "serve", "--help"])).unwrap_err();
        assert_eq!(exit.code, 0);
        assert!(exit.message.contains("iorelay-std serve"));
        assert!(exit.message.contains("--conformance"));
    }

    #[test]
    fn a_bad_port_is_a_usage_error() {
        let exit = parse("iorelay", args(&["iorelay", "serve", "--port", "70000"])).unwrap_err();
        assert_eq!(exit.code, 2);
        assert!(exit.message.contains("--port"));
    }
}
