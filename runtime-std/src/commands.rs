//! The commands both binaries run the same way: everything but `serve`'s server loop.
//!
//! Why one dispatcher: `iorelay` and `iorelay-std` must offer the same surface (PRODUCT.md
//! §Configuration); each `main` hands its parsed command here and only runs `serve` itself.

use std::io::Write as _;

use iorelay_core::cli::{ClientArgs, Command, ConfigCommand, Deferred, ServeArgs};
use iorelay_core::settings::Settings;

use crate::{control, daemon, lifecycle, settings_io};

/// Runs `command` if it is not `serve`; returns its exit code, or gives `serve`'s arguments
/// back for the binary's own server.
///
/// # Errors
/// `Err(args)` when the command is `serve`.
pub fn run(binary: &str, command: Command) -> Result<i32, ServeArgs> {
    match command {
        Command::Serve(Deferred(args)) => Err(args),
        Command::Status(args) => Ok(with_client(binary, &args, |settings| {
            control::status(binary, &settings.host, settings.port)
        })),
        Command::Stop(args) => Ok(with_client(binary, &args, |settings| {
            control::stop(
                binary,
                &settings.host,
                settings.port,
                settings.token.as_deref(),
            )
        })),
        Command::Config(ConfigCommand::Show(Deferred(args))) => {
            Ok(match serve_settings(binary, &args) {
                Ok(settings) => {
                    // A closed pipe (`config show | head`) is not an error worth a panic.
                    let _ = writeln!(std::io::stdout().lock(), "{}", settings.show());
                    0
                }
                Err(code) => code,
            })
        }
        Command::Start(Deferred(args)) => Ok(lifecycle::start(binary, &args)),
        Command::Restart(Deferred(args)) => Ok(lifecycle::restart(binary, &args)),
        Command::Open(Deferred(args)) => Ok(lifecycle::open(binary, &args)),
        Command::Logs(Deferred(args)) => Ok(lifecycle::logs::main(binary, &args)),
        Command::Service(args) => Ok(lifecycle::service::main(binary, &args)),
        Command::Emit(args) => Ok(crate::emit::main(&args)),
        Command::Hooks(args) => Ok(crate::hooks::main(&args)),
        Command::Tail(args) => Ok(crate::watch::tail(binary, &args)),
        Command::Check(args) => Ok(crate::watch::check(binary, &args)),
        other => {
            eprintln!("{binary}: {other:?} is not supported by this binary");
            Ok(2)
        }
    }
}

/// The settings `serve` runs with; on error prints it and gives the exit code (1).
///
/// # Errors
/// The settings do not resolve (printed to stderr as `binary: message`).
pub fn serve_settings(binary: &str, args: &ServeArgs) -> Result<Settings, i32> {
    settings_io::load(args.config.as_deref(), args.flags()).map_err(|message| {
        eprintln!("{binary}: {message}");
        1
    })
}

/// Everything `serve` does before its server: resolves the settings, sets up logging (level
/// and format), and with `--daemon` detaches into the background ([`daemon::detach`]).
///
/// # Errors
/// The exit code (1) after printing why: the settings do not resolve, or a background relay
/// cannot write its state directory or log.
pub fn prepare_serve(binary: &str, args: &ServeArgs) -> Result<Settings, i32> {
    let settings = serve_settings(binary, args)?;
    crate::log::init(&settings.log, settings.log_format);
    if args.daemon {
        daemon::detach(std::path::Path::new(&settings.state_dir)).map_err(|message| {
            eprintln!("{binary}: {message}");
            1
        })?;
    }
    Ok(settings)
}

fn with_client(binary: &str, args: &ClientArgs, command: impl FnOnce(&Settings) -> i32) -> i32 {
    match settings_io::load(args.config.as_deref(), args.flags()) {
        Ok(settings) => command(&settings),
        Err(message) => {
            eprintln!("{binary}: {message}");
            1
        }
    }
}

/// Prints what `parse` returned instead of a command: help and version to stdout (exit 0),
/// usage errors to stderr; returns the exit code.
#[must_use]
pub fn print_cli_exit(exit: &iorelay_core::cli::CliExit) -> i32 {
    if exit.code == 0 {
        print!("{}", exit.message);
    } else {
        eprint!("{}", exit.message);
    }
    exit.code
}
