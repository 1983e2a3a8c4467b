//! Process-level helpers both runtimes need: the engine's seed, the server facts `/health`
//! reports, shutdown signals, and the websocket handshake reply.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use iorelay_core::http::Response;
use iorelay_core::ServerInfo;

/// 32 bytes of seed for the engine's id generator, from the OS.
#[must_use]
pub fn random_seed() -> [u8; 32] {
    read_urandom().unwrap_or_else(|_| {
        // No /dev/urandom: std's hasher keys are randomly seeded per process.
        use std::hash::{BuildHasher, Hasher};
        let mut seed = [0u8; 32];
        for chunk in seed.chunks_mut(8) {
            let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
            hasher.write_u64(u64::from(std::process::id()));
            chunk.copy_from_slice(&hasher.finish().to_le_bytes());
        }
        seed
    })
}

fn read_urandom() -> std::io::Result<[u8; 32]> {
    use std::io::Read;
    let mut seed = [0u8; 32];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut seed)?;
    Ok(seed)
}

/// The facts `/health` reports for this process listening on `port`, and the `Instant` the
/// engine must be created with: the wall time in `started_unix_ms` was read at that instant.
#[must_use]
pub fn server_info(port: u16) -> (ServerInfo, Instant) {
    let started = Instant::now();
    let unix = crate::emit::time::unix_millis();
    let info = ServerInfo {
        pid: std::process::id(),
        port,
        started_unix_ms: unix,
    };
    (info, started)
}

/// A flag set when SIGINT or SIGTERM arrives; `on_signal` also runs (from a helper thread) so a
/// driver waiting on a channel can be woken.
///
/// # Errors
/// The signal handlers could not be installed.
pub fn shutdown_on_signals(
    on_signal: impl Fn() + Send + 'static,
) -> std::io::Result<Arc<AtomicBool>> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let flag = Arc::new(AtomicBool::new(false));
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM])?;
    let thread_flag = Arc::clone(&flag);
    std::thread::Builder::new()
        .name("signals".to_owned())
        .spawn(move || {
            if signals.forever().next().is_some() {
                thread_flag.store(true, Ordering::SeqCst);
                on_signal();
            }
        })?;
    Ok(flag)
}

/// The `101 Switching Protocols` reply that completes a websocket handshake for `key`
/// (the request's `Sec-WebSocket-Key`).
#[must_use]
pub fn websocket_accept(key: &str) -> Response {
    Response::new(101)
        .header("upgrade", "websocket")
        .header("connection", "Upgrade")
        .header(
            "sec-websocket-accept",
            tungstenite::handshake::derive_accept_key(key.as_bytes()),
        )
}
