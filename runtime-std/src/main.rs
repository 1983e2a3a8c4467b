//! `iorelay-std`: the iorelay server on blocking std threads (see the crate docs of
//! `iorelay_std` for its threads, channels and bounds).

mod server;

use iorelay_core::cli::{self, Command};

fn main() {
    let code = match cli::parse("iorelay-std", std::env::args_os()) {
        Ok(Command::Serve(args)) => server::serve(&args),
        Ok(Command::Emit(args)) => iorelay_std::emit::main(&args),
        Ok(Command::Hooks(args)) => iorelay_std::hooks::main(&args),
        Ok(other) => {
            eprintln!("iorelay-std: {other:?} is not supported by this binary");
            2
        }
        Err(exit) => {
            if exit.code == 0 {
                print!("{}", exit.message);
            } else {
                eprint!("{}", exit.message);
            }
            exit.code
        }
    };
    std::process::exit(code);
}
