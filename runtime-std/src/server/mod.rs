//! The server: bind, start the acceptor and the signal handler, run the driver.

mod acceptor;
mod conn;
mod driver;
mod http_conn;
mod outbound;
mod reader;
mod threads;
mod writer;
mod ws_conn;

use std::net::TcpListener;
use std::sync::{mpsc, Arc};
use std::time::Duration;

use iorelay_core::http::RequestHead;
use iorelay_core::relay::measure::RouteLabel;
use iorelay_core::settings::Settings as Resolved;
use iorelay_core::{Config, Relay};
use iorelay_std::measurements::Measurements;
use iorelay_std::persist::Persistence;
use iorelay_std::protect::{self, Gate};
use iorelay_std::{control, daemon, log, process};

use driver::{Driver, Msg};

/// Messages the driver's channel holds before senders (connection readers) wait: the
/// back-pressure that keeps a flooding peer from queueing without bound.
const DRIVER_QUEUE: usize = 256;

/// What every connection needs to know, fixed at start.
#[derive(Debug)]
pub struct Settings {
    /// A request started arriving and did not complete within this: close.
    pub header_timeout: Duration,
    /// No request for this long on a keep-alive connection: close.
    pub idle_timeout: Duration,
    /// Bytes queued for one connection before the engine is told it is congested: the
    /// engine's per-client bound (`Config::max_queued_bytes`); the queue gives up at
    /// `Config::queue_hard_cap`.
    pub queue_bound: usize,
    /// The largest websocket message (`Config::max_payload`).
    pub max_payload: usize,
    /// The engine's configuration, which answers `body_limit` for connection threads.
    config: Config,
}

impl Settings {
    /// Settings for `config` with the resolved settings' connection deadlines
    /// (`header_timeout_ms`, `idle_timeout_ms`).
    pub fn new(config: &Config, resolved: &Resolved) -> Self {
        Self {
            header_timeout: resolved.header_timeout,
            idle_timeout: resolved.idle_timeout,
            queue_bound: config.max_queued_bytes,
            max_payload: config.max_payload,
            config: config.clone(),
        }
    }

    /// How many body bytes to read for a request with this head.
    pub fn body_limit(&self, head: &RequestHead) -> usize {
        self.config.body_limit(head)
    }

    /// The route core measures a request with this head under.
    pub fn route_label(&self, head: &RequestHead) -> RouteLabel {
        self.config.route_label(head)
    }

    #[cfg(test)]
    fn for_tests() -> Self {
        Self::new(&Config::default(), &Resolved::defaults(false, &[]))
    }
}

/// Serves until SIGINT or SIGTERM; returns the process exit code.
pub fn serve(settings: &Resolved) -> i32 {
    let listener = match TcpListener::bind((settings.host.as_str(), settings.port)) {
        Ok(listener) => listener,
        Err(err) if err.kind() == std::io::ErrorKind::AddrInUse => {
            let holder = control::busy_port("iorelay-std", &settings.host, settings.port);
            eprintln!("iorelay-std: {holder}");
            return 1;
        }
        Err(err) => {
            eprintln!(
                "iorelay-std: cannot listen on {}: {err}",
                display_addr(&settings.host, settings.port)
            );
            return 1;
        }
    };
    match run(listener, settings) {
        Ok(()) => 0,
        Err(err) => {
            eprintln!("iorelay-std: {err}");
            1
        }
    }
}

fn run(listener: TcpListener, resolved: &Resolved) -> std::io::Result<()> {
    let addr = listener.local_addr()?;
    let (info, started) = process::server_info(addr.port());
    let config = resolved.engine_config(info);
    let mut engine_protection = config.relay.protection.clone();
    if let Some(limit) = threads::connection_limit() {
        if engine_protection.max_connections > limit {
            log!(
                Warn,
                "max_connections lowered from {} to {limit}: each connection takes two threads \
                 here and vm.max_map_count allows no more (the smol runtime, `iorelay`, has no \
                 such bound)",
                engine_protection.max_connections
            );
            engine_protection.max_connections = limit;
        }
    }
    let mode = format!("{:?}", config.mode).to_lowercase();
    let settings = Arc::new(Settings::new(&config, resolved));
    let cluster_config = config.relay.cluster.clone();
    let mut engine = Relay::new(config, started, process::random_seed());
    let (to_driver, inbox) = mpsc::sync_channel(DRIVER_QUEUE);
    let measurements = Arc::new(Measurements::default());
    let report = to_driver.clone();
    let persistence = Persistence::start(
        resolved,
        &mut engine,
        Arc::new(move |measurement| {
            let _ = report.try_send(Msg::Measured(measurement));
        }),
    )
    .map_err(std::io::Error::other)?;
    let cluster = if cluster_config.enabled() {
        let report = to_driver.clone();
        let sink: iorelay_std::cluster::ReportSink = Arc::new(move |r| {
            let _ = report.send(Msg::Cluster(r));
        });
        let link = iorelay_std::cluster::ClusterLink::start(&cluster_config, sink);
        Some(link.map_err(std::io::Error::other)?)
    } else {
        None
    };
    let on_signal = to_driver.clone();
    process::shutdown_on_signals(move || {
        let _ = on_signal.send(Msg::Shutdown);
    })?;
    let gate = Gate::new(&engine_protection);
    acceptor::spawn(
        listener,
        to_driver,
        Arc::clone(&measurements),
        settings,
        gate,
    )?;
    daemon::listening(addr);
    protect::warn_if_exposed(&resolved.host, addr.port(), resolved.token.as_deref());
    log!(
        Info,
        "iorelay-std {} listening on {addr} (mode {mode}, std threads)",
        env!("CARGO_PKG_VERSION")
    );
    Driver::new(engine, persistence, inbox, measurements)
        .with_cluster(cluster)
        .run();
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
