//! The server: bind, start the acceptor and the signal handler, run the driver.

mod acceptor;
mod conn;
mod driver;
mod http_conn;
mod outbound;
mod reader;
mod writer;
mod ws_conn;

use std::net::TcpListener;
use std::sync::{mpsc, Arc};
use std::time::Duration;

use iorelay_core::cli::ServeArgs;
use iorelay_core::http::RequestHead;
use iorelay_core::relay::measure::RouteLabel;
use iorelay_core::{Config, Relay};
use iorelay_std::process::ConnectionTimeouts;
use iorelay_std::{log, process};

use driver::{Driver, Msg};

/// Messages the driver's channel holds before senders (connection readers) wait: the
/// back-pressure that keeps a flooding peer from queueing without bound.
const DRIVER_QUEUE: usize = 256;

/// Bytes queued for one connection before the engine is told it is congested.
const QUEUE_BOUND: usize = 4 * 1024 * 1024;

/// What every connection needs to know, fixed at start.
#[derive(Debug)]
pub struct Settings {
    /// A request started arriving and did not complete within this: close.
    pub header_timeout: Duration,
    /// No request for this long on a keep-alive connection: close.
    pub idle_timeout: Duration,
    /// See [`QUEUE_BOUND`].
    pub queue_bound: usize,
    /// The largest websocket message (`Config::max_payload`).
    pub max_payload: usize,
    /// The engine's configuration, which answers `body_limit` for connection threads.
    config: Config,
}

impl Settings {
    /// Settings for `config`; `IORELAY_HEADER_TIMEOUT_MS` and `IORELAY_IDLE_TIMEOUT_MS`
    /// override the 10 s and 60 s deadlines.
    pub fn new(config: &Config) -> Self {
        let timeouts = ConnectionTimeouts::from_env();
        Self {
            header_timeout: timeouts.header,
            idle_timeout: timeouts.idle,
            queue_bound: QUEUE_BOUND,
            max_payload: config.max_payload,
            config: config.clone(),
        }
    }

    /// How many body bytes to read for a request with this head.
    pub fn body_limit(&self, head: &RequestHead) -> usize {
        self.config.body_limit(&head.path)
    }

    /// The route core measures a request with this head under.
    pub fn route_label(&self, head: &RequestHead) -> RouteLabel {
        self.config.route_label(head)
    }

    #[cfg(test)]
    fn for_tests() -> Self {
        Self::new(&Config::default())
    }

    #[cfg(test)]
    fn body_limit_for(&self, path: &str) -> usize {
        self.config.body_limit(path)
    }
}

/// Serves until SIGINT or SIGTERM; returns the process exit code.
pub fn serve(args: &ServeArgs) -> i32 {
    log::init(&args.log);
    let listener = match TcpListener::bind((args.host.as_str(), args.port)) {
        Ok(listener) => listener,
        Err(err) => {
            eprintln!(
                "iorelay-std: cannot listen on {}: {err}",
                display_addr(&args.host, args.port)
            );
            return 1;
        }
    };
    match run(listener, args) {
        Ok(()) => 0,
        Err(err) => {
            eprintln!("iorelay-std: {err}");
            1
        }
    }
}

fn run(listener: TcpListener, args: &ServeArgs) -> std::io::Result<()> {
    let addr = listener.local_addr()?;
    let (info, started) = process::server_info(addr.port());
    let config = args.config(info);
    let mode = format!("{:?}", config.mode).to_lowercase();
    let settings = Arc::new(Settings::new(&config));
    let engine = Relay::new(config, started, process::random_seed());
    let (to_driver, inbox) = mpsc::sync_channel(DRIVER_QUEUE);
    let on_signal = to_driver.clone();
    process::shutdown_on_signals(move || {
        let _ = on_signal.send(Msg::Shutdown);
    })?;
    acceptor::spawn(listener, to_driver, settings)?;
    println!("iorelay listening on http://{addr}");
    log!(
        Info,
        "iorelay-std {} listening on {addr} (mode {mode}, std threads)",
        env!("CARGO_PKG_VERSION")
    );
    Driver::new(engine, inbox).run();
    log!(Info, "stopped");
    Ok(())
}

fn display_addr(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}
