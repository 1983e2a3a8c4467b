//! The commands both binaries run the same way: everything but `serve`'s server loop.
//!
//! Why one dispatcher: `iorelay` and `iorelay-std` must offer the same surface (PRODUCT.md
//! §Configuration); each `main` hands its parsed command here and only runs `serve` itself.

use std::io::Write as _;

use iorelay_core::cli::{ClientArgs, Command, ConfigCommand, ServeArgs};
use iorelay_core::settings::Settings;

use crate::{control, settings_io};

/// Runs `command` if it is not `serve`; returns its exit code, or gives `serve`'s arguments
/// back for the binary's own server.
///
/// # Errors
/// `Err(args)` when the command is `serve`.
pub fn run(binary: &str, command: Command) -> Result<i32, ServeArgs> {
    match command {
        Command::Serve(args) => Err(args),
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
        Command::Config(ConfigCommand::Show(args)) => Ok(match serve_settings(binary, &args) {
            Ok(settings) => {
                // A closed pipe (`config show | head`) is not an error worth a panic.
                let _ = writeln!(std::io::stdout().lock(), "{}", settings.show());
                0
            }
            Err(code) => code,
        }),
        Command::Emit(args) => Ok(crate::emit::main(&args)),
        Command::Hooks(args) => Ok(crate::hooks::main(&args)),
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
