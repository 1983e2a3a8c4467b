//! The acceptor thread: accepts connections and starts a writer and a reader thread for
//! each (the writer ends when idle; see `threads`).

use std::io;
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc::SyncSender;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use iorelay_core::relay::measure::Measurement;
use iorelay_core::ConnId;
use iorelay_std::log;
use iorelay_std::measurements::Measurements;
use iorelay_std::protect::{self, Gate, Ticket};

use super::conn::Conn;
use super::driver::Msg;
use super::{reader, threads, writer, Settings};

/// A write that makes no progress for this long means the peer is gone.
const WRITE_STALL: Duration = Duration::from_secs(60);

/// Pause after a failed accept (out of file descriptors), so the loop does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Starts the acceptor thread.
///
/// # Errors
/// The thread could not be started.
pub fn spawn(
    listener: TcpListener,
    to_driver: SyncSender<Msg>,
    measurements: Arc<Measurements>,
    settings: Arc<Settings>,
    gate: Arc<Gate>,
) -> io::Result<()> {
    thread::Builder::new()
        .name("acceptor".to_owned())
        .spawn(move || run(&listener, &to_driver, &measurements, &settings, &gate))
        .map(drop)
}

fn run(
    listener: &TcpListener,
    to_driver: &SyncSender<Msg>,
    measurements: &Arc<Measurements>,
    settings: &Arc<Settings>,
    gate: &Arc<Gate>,
) {
    let mut next_id = 0;
    loop {
        match listener.accept() {
            Ok((stream, peer)) => {
                let ticket = match gate.admit(peer.ip()) {
                    Ok(ticket) => ticket,
                    Err(reason) => {
                        protect::refuse(&stream, reason);
                        let refused = Measurement::ConnectionRefused { reason };
                        if to_driver.send(Msg::Measured(refused)).is_err() {
                            return;
                        }
                        continue;
                    }
                };
                next_id += 1;
                log!(Debug, "conn {next_id}: accepted from {peer}");
                let driver = (to_driver, measurements);
                if !open(ConnId(next_id), stream, ticket, driver, settings) {
                    return;
                }
            }
            Err(err) => {
                log!(Warn, "accept failed: {err}");
                thread::sleep(ACCEPT_BACKOFF);
            }
        }
    }
}

/// Registers the connection with the driver and starts its threads; false when the driver
/// is gone.
fn open(
    id: ConnId,
    stream: TcpStream,
    ticket: Ticket,
    (to_driver, measurements): (&SyncSender<Msg>, &Arc<Measurements>),
    settings: &Arc<Settings>,
) -> bool {
    let _ = stream.set_nodelay(true);
    let _ = stream.set_write_timeout(Some(WRITE_STALL));
    let conn = Arc::new(Conn::new(
        id,
        stream,
        ticket,
        to_driver.clone(),
        Arc::clone(measurements),
        Arc::clone(settings),
    ));
    if to_driver.send(Msg::Opened(Arc::clone(&conn))).is_err() {
        return false;
    }
    let started = threads::spawn(&conn, "w", writer::run)
        .and_then(|()| threads::spawn(&conn, "r", reader::run));
    if let Err(err) = started {
        log!(Warn, "conn {}: cannot start its threads: {err}", id.0);
        conn.abort();
        conn.send(Msg::Closed { conn: id });
    }
    true
}
