//! `iorelay tail` and `iorelay check`: terminal clients of a running relay over Socket.IO,
//! shared by both binaries (like `emit`).
//!
//! The protocol is core's [`Client`](iorelay_core::client::Client) state machine and the
//! logic core's [`terminal`](iorelay_core::terminal) module; here are only the blocking IO
//! around them: the [`driver`] owning the client, the connection threads of [`conn`]
//! (tungstenite for websocket framing, as the servers), signals, and printing.

mod check;
pub mod conn;
pub mod driver;
mod tail;

use std::net::TcpStream;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use iorelay_core::client::{Backoff, ClientConfig, Transports};
use iorelay_core::settings::Settings;

pub use check::main as check;
pub use tail::main as tail;

use conn::Endpoint;

/// The settings of `command` (`tail`, `check`) and the relay's address, once something
/// listens there; otherwise the exit code, after one line saying why (1: a bad setting, 2:
/// nothing listens).
fn reach_relay(
    binary: &str,
    command: &str,
    config: Option<&str>,
    flags: &[(&'static str, String)],
) -> Result<(Settings, String), i32> {
    let settings = crate::settings_io::load(config, flags).map_err(|message| {
        eprintln!("{binary}: {message}");
        1
    })?;
    let address = address(&settings);
    if !listening(&settings) {
        eprintln!("{binary} {command}: no relay is listening on {address}");
        return Err(2);
    }
    Ok((settings, address))
}

/// Whether something accepts connections at the relay's address (within 2 s).
fn listening(settings: &Settings) -> bool {
    crate::client::resolve(host(settings), settings.port)
        .and_then(|addr| TcpStream::connect_timeout(&addr, Duration::from_secs(2)))
        .is_ok()
}

/// The host to connect to: an unspecified listening address (`0.0.0.0`, `::`) is asked on
/// loopback, as `status` does.
fn host(settings: &Settings) -> &str {
    crate::control::client_host(&settings.host)
}

/// `host:port` as users write it.
fn address(settings: &Settings) -> String {
    let host = host(settings);
    if host.contains(':') {
        format!("[{host}]:{}", settings.port)
    } else {
        format!("{host}:{}", settings.port)
    }
}

fn endpoint(settings: &Settings) -> Endpoint {
    Endpoint {
        host: host(settings).to_owned(),
        port: settings.port,
        token: settings.token.clone(),
        max_payload: 64 * 1024 * 1024,
    }
}

/// The client both commands run: websocket, reconnecting every 0.5-5 s for ever.
fn client_config() -> ClientConfig {
    ClientConfig {
        transports: Transports::WebSocket,
        open_timeout: Duration::from_secs(5),
        connect_timeout: Duration::from_secs(5),
        max_payload: 64 * 1024 * 1024,
        reconnect: Some(Backoff {
            min: Duration::from_millis(250),
            max: Duration::from_secs(2),
            ..Backoff::default()
        }),
        ..ClientConfig::default()
    }
}

/// A flag SIGINT and SIGTERM set.
fn interrupt_flag() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        let _ = signal_hook::flag::register(signal, Arc::clone(&flag));
    }
    flag
}
