//! `iorelay-std`: the iorelay server on blocking std threads (see the crate docs of
//! `iorelay_std` for its threads, channels and bounds).

mod server;

use iorelay_core::cli;
use iorelay_std::commands;

fn main() {
    let code = match cli::parse("iorelay-std", std::env::args_os()) {
        Ok(command) => match commands::run("iorelay-std", command) {
            Ok(code) => code,
            Err(args) => match commands::prepare_serve("iorelay-std", &args) {
                Ok(settings) => {
                    let code = server::serve(&settings);
                    iorelay_std::daemon::stopped();
                    code
                }
                Err(code) => code,
            },
        },
        Err(exit) => commands::print_cli_exit(&exit),
    };
    std::process::exit(code);
}
