//! `iorelay`: the relay server on smol, the default runtime.
//!
//! Why this shape (DESIGN §3): `main` only wires things together. It parses the shared CLI,
//! binds (so a busy port is a clear error before anything starts), starts executor threads
//! sized to the cores for the listener and connection tasks, and runs the driver — the one
//! owner of the engine — on the main thread until a signal. Then it gives connections a
//! bounded time to flush what the engine's shutdown queued, and exits 0.

mod connection;
mod driver;
mod http_conn;
mod listener;
mod outbound;
mod ws_conn;

use std::net::TcpListener;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_io::{Async, Timer};
use iorelay_core::cli::{self, Command, ServeArgs};
use iorelay_core::{Engine, Mode};
use iorelay_std::log;
use iorelay_std::process::{random_seed, server_info, shutdown_on_signals, ConnectionTimeouts};
use smol::future::{self, FutureExt};
use smol::Executor;
use tungstenite::protocol::WebSocketConfig;

use connection::{Deadlines, Shared};
use driver::Driver;

/// Unwritten bytes per connection above which congestion is reported.
const QUEUE_BOUND: usize = 4 * 1024 * 1024;
/// Messages waiting for the driver before connection tasks stop reading their sockets: the
/// backpressure that keeps fast readers from outrunning the one engine owner. Messages are
/// usually small; the worst case held here is this many times `max_payload`.
const INBOX_CAPACITY: usize = 1024;
/// How long shutdown waits for connections to flush.
const FLUSH_ON_SHUTDOWN: Duration = Duration::from_secs(2);

fn main() -> ExitCode {
    let args = match cli::parse("iorelay", std::env::args_os()) {
        Ok(Command::Serve(args)) => args,
        Ok(Command::Emit(args)) => return exit_code(iorelay_std::emit::main(&args)),
        Ok(Command::Hooks(args)) => return exit_code(iorelay_std::hooks::main(&args)),
        Ok(other) => {
            eprintln!("iorelay: {other:?} is not supported by this binary");
            return ExitCode::from(2);
        }
        Err(exit) => {
            if exit.code == 0 {
                print!("{}", exit.message);
            } else {
                eprint!("{}", exit.message);
            }
            return ExitCode::from(u8::try_from(exit.code).unwrap_or(2));
        }
    };
    iorelay_std::log::init(&args.log);
    match serve(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("iorelay: {message}");
            ExitCode::from(1)
        }
    }
}

fn serve(args: &ServeArgs) -> Result<(), String> {
    let address = format!("{}:{}", args.host, args.port);
    let listener = TcpListener::bind((args.host.as_str(), args.port))
        .map_err(|err| format!("cannot listen on {address}: {err}"))?;
    let local = listener
        .local_addr()
        .map_err(|err| format!("cannot listen on {address}: {err}"))?;
    let listener =
        Async::new(listener).map_err(|err| format!("cannot listen on {address}: {err}"))?;
    let config = args.config(server_info(local.port()));
    // Signals are handled before the listening line, so whoever waits for it can stop us.
    let (stop_tx, stop_rx) = smol::channel::bounded(1);
    if let Err(err) = shutdown_on_signals(move || {
        let _ = stop_tx.try_send(());
    }) {
        log!(Warn, "cannot handle SIGINT/SIGTERM: {err}");
    }
    println!("iorelay listening on http://{local}");
    let mode = match config.mode {
        Mode::Conformance => "conformance",
        _ => "embedded",
    };
    log!(Info, "listening on {local} in {mode} mode");

    let executor = Arc::new(Executor::new());
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    for index in 0..threads {
        let executor = Arc::clone(&executor);
        std::thread::Builder::new()
            .name(format!("iorelay-io-{index}"))
            .spawn(move || smol::block_on(executor.run(future::pending::<()>())))
            .map_err(|err| format!("cannot start executor thread: {err}"))?;
    }

    let (inbox_tx, inbox_rx) = smol::channel::bounded(INBOX_CAPACITY);
    let shared = Arc::new(Shared {
        inbox: inbox_tx,
        deadlines: deadlines(),
        websocket: WebSocketConfig::default()
            .max_message_size(Some(config.max_payload))
            .max_frame_size(Some(config.max_payload))
            .read_buffer_size(16 * 1024)
            .write_buffer_size(0),
        config: config.clone(),
    });
    let (alive_tx, alive_rx) = smol::channel::bounded::<()>(1);
    let accepting = executor.spawn(listener::run(
        listener,
        Arc::clone(&executor),
        shared,
        QUEUE_BOUND,
        alive_tx,
    ));

    let engine = Engine::new(config, Instant::now(), random_seed());
    smol::block_on(async {
        Driver::new(engine).run(inbox_rx, stop_rx).await;
        accepting.cancel().await;
        let all_ended = async {
            let _ = alive_rx.recv().await;
        };
        let out_of_time = async {
            Timer::after(FLUSH_ON_SHUTDOWN).await;
            log!(
                Warn,
                "connections still open after {FLUSH_ON_SHUTDOWN:?}; exiting"
            );
        };
        all_ended.or(out_of_time).await;
    });
    log!(Info, "stopped");
    Ok(())
}

fn exit_code(code: i32) -> ExitCode {
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

/// Connection deadlines; `IORELAY_HEADER_TIMEOUT_MS` and `IORELAY_IDLE_TIMEOUT_MS` override
/// the header-read (10 s) and idle keep-alive (60 s) ones.
fn deadlines() -> Deadlines {
    let timeouts = ConnectionTimeouts::from_env();
    Deadlines {
        header: timeouts.header,
        idle: timeouts.idle,
        close_linger: Duration::from_secs(1),
    }
}
