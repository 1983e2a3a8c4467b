//! The runtimes' side of the relay's protections: the connection caps at accept, and the
//! warning when the relay listens beyond this machine without a token.
//!
//! Why here: both runtimes accept connections and start the same way, and the caps must count
//! the same in both. Core decides ([`Admission`], [`exposure_warning`]); this module only holds
//! the shared count under a lock (connections end on other threads or tasks than the one that
//! accepted them), releases it when a connection's [`Ticket`] is dropped, and writes the
//! refusal to a socket nobody else will touch.

use std::io::{Read, Write};
use std::net::{IpAddr, Shutdown, TcpStream};
use std::sync::{Arc, Mutex, PoisonError};

use iorelay_core::relay::admission::{refusal_bytes, Admission, Refusal};
use iorelay_core::relay::protection::{exposure_warning, Protection};

use crate::log;

/// The shared count of open connections.
#[derive(Debug)]
pub struct Gate {
    admission: Mutex<Admission>,
    refused: Mutex<u64>,
}

/// An admitted connection's place; dropping it (when the connection is gone) frees it.
#[derive(Debug)]
pub struct Ticket {
    gate: Arc<Gate>,
    peer: IpAddr,
}

impl Gate {
    /// A gate with the caps of `protection`.
    #[must_use]
    pub fn new(protection: &Protection) -> Arc<Self> {
        Arc::new(Self {
            admission: Mutex::new(Admission::new(protection)),
            refused: Mutex::new(0),
        })
    }

    /// Admits a connection from `peer`.
    ///
    /// # Errors
    /// A cap is reached: answer the socket with [`refuse`] and report the refusal to the
    /// engine as `Measurement::ConnectionRefused`.
    pub fn admit(self: &Arc<Self>, peer: IpAddr) -> Result<Ticket, Refusal> {
        let admitted = self
            .admission
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .admit(peer);
        match admitted {
            Ok(()) => Ok(Ticket {
                gate: Arc::clone(self),
                peer,
            }),
            Err(refusal) => {
                let mut refused = self.refused.lock().unwrap_or_else(PoisonError::into_inner);
                *refused += 1;
                // Logged loudly at 1, 2, 4, 8, … refusals: visible without flooding the log.
                if refused.is_power_of_two() {
                    log!(
                        Warn,
                        "refused a connection from {peer}: {} reached ({} refused so far)",
                        refusal.as_str(),
                        *refused
                    );
                } else {
                    log!(
                        Debug,
                        "refused a connection from {peer}: {}",
                        refusal.as_str()
                    );
                }
                Err(refusal)
            }
        }
    }
}

impl Ticket {
    /// The address the connection came from.
    #[must_use]
    pub fn peer(&self) -> IpAddr {
        self.peer
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        self.gate
            .admission
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .release(self.peer);
    }
}

/// Answers a refused connection with the 503 and closes it, without waiting for anything:
/// whatever request already arrived is read and dropped first (closing a socket with unread
/// bytes resets it, and the peer might lose the reply), then the reply is written if the
/// socket takes it at once. Best effort by design: a refused connection gets no thread.
pub fn refuse(stream: &TcpStream, refusal: Refusal) {
    let _ = stream.set_nonblocking(true);
    let mut sink = [0u8; 16 * 1024];
    let _ = (&*stream).read(&mut sink);
    let _ = (&*stream).write(&refusal_bytes(refusal));
    let _ = stream.shutdown(Shutdown::Both);
}

/// Writes the loud warning at start when `host` is not loopback and no token is set: to the
/// log (level warn) and, whatever the log level, to stderr.
pub fn warn_if_exposed(host: &str, port: u16, token: Option<&str>) {
    if let Some(warning) = exposure_warning(host, port, token) {
        eprintln!("{warning}");
        log!(
            Warn,
            "listening on {host}:{port} beyond this machine without a token (set IORELAY_TOKEN)"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, TcpListener};

    #[test]
    fn a_ticket_holds_its_place_until_dropped() {
        let gate = Gate::new(&Protection {
            max_connections: 1,
            ..Protection::default()
        });
        let peer = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let ticket = gate.admit(peer).unwrap();
        assert_eq!(gate.admit(peer).unwrap_err(), Refusal::TooManyConnections);
        drop(ticket);
        assert!(gate.admit(peer).is_ok());
    }

    #[test]
    fn a_refused_connection_reads_the_503_then_the_end() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        client
            .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let (server, _) = listener.accept().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(50));
        refuse(&server, Refusal::TooManyFromAddress);
        drop(server);
        let mut reply = String::new();
        client.read_to_string(&mut reply).unwrap();
        assert!(reply.starts_with("HTTP/1.1 503 "), "{reply}");
        assert!(reply.contains("max_connections_per_ip"), "{reply}");
    }
}
