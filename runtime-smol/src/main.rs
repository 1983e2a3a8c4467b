//! `iorelay`: the relay server on smol, the default runtime.
//!
//! Why this shape (DESIGN §3): `main` only wires things together. It parses the shared CLI,
//! binds (so a busy port is a clear error before anything starts), starts two executors (the
//! listener and connection tasks, which run the driver in turns when they bring it input; and
//! websocket writers), and runs the driver's turn keeper (`turns`: deadlines, other threads'
//! reports, broadcasts' sends, shutdown) on the main thread until a signal or a stop request.
//! Then it gives connections a bounded time to flush what the engine's shutdown queued, and
//! exits 0.

mod connection;
mod deadline;
mod driver;
mod http_conn;
mod listener;
mod outbound;
mod turns;
mod ws_conn;

use std::net::TcpListener;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_io::{Async, Timer};
use iorelay_core::cli;
use iorelay_core::settings::Settings;
use iorelay_core::{Input, Mode, Relay};
use iorelay_std::persist::Persistence;
use iorelay_std::process::{random_seed, server_info, shutdown_on_signals};
use iorelay_std::protect::{self, Gate};
use iorelay_std::{commands, control, daemon, log};
use smol::future::{self, FutureExt};
use smol::Executor;

use connection::{Deadlines, Shared};
use driver::{Driver, ToDriver};
use iorelay_std::measurements::Measurements;
use turns::Turns;

/// Messages waiting for the driver before connection tasks stop reading their sockets: the
/// backpressure that keeps fast readers from outrunning the one engine owner. Messages are
/// usually small; the worst case held here is this many times `max_payload`. Why 256, as in
/// iorelay-std: the channel allocates every slot up front (about 216 bytes each), and 1024
/// slots were 4 % of the process's memory at start while the driver takes up to 64 at a time.
const INBOX_CAPACITY: usize = 256;
/// Executor threads: (connection tasks, which also run the driver; websocket writers), half
/// the cores each, at least one. Why two executors: a connection task feeding the driver must
/// not wait behind writers, nor they behind it (with one executor for both, max-rate fan-out
/// to 1000 clients made 1.6x the sends per message). Most broadcast messages are sent by the
/// turn keeper on the main thread (`turns`); writers send what a socket did not take at once,
/// and control and close frames.
fn io_threads() -> (usize, usize) {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let writers = (cores / 2).max(1);
    ((cores - writers).max(1), writers)
}

/// An executor run by `threads` threads named `name-<index>`.
fn start_executor(name: &str, threads: usize) -> Result<Arc<Executor<'static>>, String> {
    let executor = Arc::new(Executor::new());
    for index in 0..threads {
        let executor = Arc::clone(&executor);
        std::thread::Builder::new()
            .name(format!("{name}-{index}"))
            .spawn(move || smol::block_on(executor.run(future::pending::<()>())))
            .map_err(|err| format!("cannot start executor thread: {err}"))?;
    }
    Ok(executor)
}

/// How long shutdown waits for connections to flush.
const FLUSH_ON_SHUTDOWN: Duration = Duration::from_secs(2);

fn main() -> ExitCode {
    let code = match cli::parse("iorelay", std::env::args_os()) {
        Ok(command) => match commands::run("iorelay", command) {
            Ok(code) => code,
            Err(args) => match commands::prepare_serve("iorelay", &args) {
                Ok(settings) => {
                    let code = match serve(&settings) {
                        Ok(()) => 0,
                        Err(message) => {
                            eprintln!("iorelay: {message}");
                            1
                        }
                    };
                    daemon::stopped();
                    code
                }
                Err(code) => code,
            },
        },
        Err(exit) => commands::print_cli_exit(&exit),
    };
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

fn serve(settings: &Settings) -> Result<(), String> {
    let address = format!("{}:{}", settings.host, settings.port);
    let listener = TcpListener::bind((settings.host.as_str(), settings.port)).map_err(|err| {
        if err.kind() == std::io::ErrorKind::AddrInUse {
            control::busy_port("iorelay", &settings.host, settings.port)
        } else {
            format!("cannot listen on {address}: {err}")
        }
    })?;
    let local = listener
        .local_addr()
        .map_err(|err| format!("cannot listen on {address}: {err}"))?;
    let listener =
        Async::new(listener).map_err(|err| format!("cannot listen on {address}: {err}"))?;
    let (info, started) = server_info(local.port());
    let config = settings.engine_config(info);
    // Signals are handled before the listening line, so whoever waits for it can stop us.
    let (stop_tx, stop_rx) = smol::channel::bounded(1);
    if let Err(err) = shutdown_on_signals(move || {
        let _ = stop_tx.try_send(());
    }) {
        log!(Warn, "cannot handle SIGINT/SIGTERM: {err}");
    }

    let (io, ws) = io_threads();
    let executor = start_executor("iorelay-io", io)?;
    let writers = start_executor("iorelay-ws", ws)?;

    let (inbox, messages, pokes) = turns::inbox(INBOX_CAPACITY);
    let measurements = Arc::new(Measurements::default());
    // The history is restored before the first connection is accepted.
    let mut engine = Relay::new(config.clone(), started, random_seed());
    let report = inbox.clone();
    let persistence = Persistence::start(
        settings,
        &mut engine,
        Arc::new(move |measurement| {
            let measured = Input::Measured {
                now: Instant::now(),
                measurement,
            };
            report.post(ToDriver::Input(measured));
        }),
    )?;
    let cluster = if config.relay.cluster.enabled() {
        let report = inbox.clone();
        let sink: iorelay_std::cluster::ReportSink = Arc::new(move |report_| {
            let input = Input::Cluster {
                now: Instant::now(),
                report: report_,
            };
            report.post_blocking(ToDriver::Input(input));
        });
        Some(iorelay_std::cluster::ClusterLink::start(
            &config.relay.cluster,
            sink,
        )?)
    } else {
        None
    };
    let driver = Driver::new(engine, persistence, Arc::clone(&measurements)).with_cluster(cluster);
    let shared = Arc::new(Shared {
        turns: Turns::new(driver, inbox, messages, pokes),
        writers,
        measurements,
        deadlines: Deadlines {
            header: settings.header_timeout,
            idle: settings.idle_timeout,
            close_linger: Duration::from_secs(1),
        },
        websocket: iorelay_std::wsframe::server_config(config.max_payload),
        config: config.clone(),
    });
    let (alive_tx, alive_rx) = smol::channel::bounded::<()>(1);
    // The listening line means ready: the history is restored, the hooks' spool drained and
    // their breaker closed, so whoever waits for it (a hook, a test) finds the relay whole.
    daemon::listening(local);
    protect::warn_if_exposed(&settings.host, local.port(), settings.token.as_deref());
    let mode = match config.mode {
        Mode::Conformance => "conformance",
        _ => "relay",
    };
    log!(Info, "listening on {local} in {mode} mode");
    let accepting = executor.spawn(listener::run(
        listener,
        Arc::clone(&executor),
        Arc::clone(&shared),
        // The engine's per-client bound: crossing it is congestion (volatile events dropped,
        // the grace period starts); the queue aborts at `Config::queue_hard_cap`.
        config.max_queued_bytes,
        alive_tx,
        Gate::new(&config.relay.protection),
    ));

    smol::block_on(async {
        shared.turns.keep(stop_rx).await;
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
