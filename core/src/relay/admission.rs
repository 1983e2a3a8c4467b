//! Connection caps: whether a newly accepted connection may stay, given how many are open in
//! all and from its address.
//!
//! Why a pure struct runtimes call: connections are born in the runtimes' accept loops, before
//! the engine hears of them, and a refused one must cost as little as possible (no threads, no
//! task, no engine state). So each runtime asks [`Admission::admit`] right after `accept` and
//! tells [`Admission::release`] when an admitted connection ends; both runtimes thereby count
//! and refuse identically, and the rules are unit-tested here. A refused connection is sent
//! [`refusal_response`] (503, `Connection: close`) without reading its request, then closed;
//! the runtime reports the refusal as a [`Measurement`](super::measure::Measurement) so it is
//! counted in `/metrics`.

use std::collections::BTreeMap;
use std::net::IpAddr;

use bytes::Bytes;

use super::protection::Protection;
use crate::http::{error_response, Response};

/// Why a connection was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Refusal {
    /// `max_connections` are open.
    TooManyConnections,
    /// `max_connections_per_ip` are open from this address.
    TooManyFromAddress,
}

impl Refusal {
    /// The `reason` label in `/metrics`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TooManyConnections => "max_connections",
            Self::TooManyFromAddress => "max_connections_per_ip",
        }
    }
}

/// Open connections, in all and per address.
#[derive(Debug, Clone)]
pub struct Admission {
    max: usize,
    max_per_ip: usize,
    cap_loopback: bool,
    open: usize,
    /// Open connections per capped address (exempt addresses are not counted here).
    per_ip: BTreeMap<IpAddr, usize>,
}

impl Admission {
    /// No connections yet, under the caps of `protection`.
    #[must_use]
    pub fn new(protection: &Protection) -> Self {
        Self {
            max: protection.max_connections,
            max_per_ip: protection.max_connections_per_ip,
            cap_loopback: protection.cap_loopback,
            open: 0,
            per_ip: BTreeMap::new(),
        }
    }

    /// Counts a connection from `peer` as open, unless a cap is reached.
    ///
    /// # Errors
    /// The cap it would exceed; nothing was counted, so do not [`release`](Self::release) it.
    pub fn admit(&mut self, peer: IpAddr) -> Result<(), Refusal> {
        if self.open >= self.max {
            return Err(Refusal::TooManyConnections);
        }
        if self.capped(peer) {
            let count = self.per_ip.entry(peer).or_insert(0);
            if *count >= self.max_per_ip {
                if *count == 0 {
                    self.per_ip.remove(&peer);
                }
                return Err(Refusal::TooManyFromAddress);
            }
            *count += 1;
        }
        self.open += 1;
        Ok(())
    }

    /// An admitted connection from `peer` ended.
    pub fn release(&mut self, peer: IpAddr) {
        self.open = self.open.saturating_sub(1);
        if self.capped(peer) {
            if let Some(count) = self.per_ip.get_mut(&peer) {
                *count -= 1;
                if *count == 0 {
                    self.per_ip.remove(&peer);
                }
            }
        }
    }

    /// Connections open now.
    #[must_use]
    pub fn open(&self) -> usize {
        self.open
    }

    /// Whether `peer` counts against the per-address cap.
    fn capped(&self, peer: IpAddr) -> bool {
        self.max_per_ip > 0 && (self.cap_loopback || !is_loopback(peer))
    }
}

/// Whether `peer` is this machine (127.0.0.0/8, `::1`, or `::ffff:127.x.y.z`).
#[must_use]
pub fn is_loopback(peer: IpAddr) -> bool {
    match peer {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

/// What a refused connection is sent before it is closed: 503 with the JSON error body and
/// `Retry-After: 1`. Encode it with `keep_alive` false.
#[must_use]
pub fn refusal_response(refusal: Refusal) -> Response {
    let detail = match refusal {
        Refusal::TooManyConnections => "the relay has max_connections open; retry later",
        Refusal::TooManyFromAddress => {
            "this address has max_connections_per_ip open; close some or retry later"
        }
    };
    error_response(503, "too many connections", detail).header("Retry-After", "1")
}

/// [`refusal_response`] as the bytes to write.
#[must_use]
pub fn refusal_bytes(refusal: Refusal) -> Bytes {
    refusal_response(refusal).encode(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    const LAN: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 168, 1, 5));
    const OTHER: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 168, 1, 6));
    const LOCAL: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

    fn admission(max: usize, max_per_ip: usize, cap_loopback: bool) -> Admission {
        Admission::new(&Protection {
            max_connections: max,
            max_connections_per_ip: max_per_ip,
            cap_loopback,
            ..Protection::default()
        })
    }

    #[test]
    fn the_total_cap_refuses_the_connection_over_it_and_frees_a_place_on_release() {
        let mut gate = admission(2, 0, false);
        assert_eq!(gate.admit(LAN), Ok(()));
        assert_eq!(gate.admit(OTHER), Ok(()));
        assert_eq!(gate.admit(LOCAL), Err(Refusal::TooManyConnections));
        gate.release(LAN);
        assert_eq!(gate.open(), 1);
        assert_eq!(gate.admit(LOCAL), Ok(()));
    }

    #[test]
    fn the_per_address_cap_refuses_one_address_not_another() {
        let mut gate = admission(100, 2, false);
        assert_eq!(gate.admit(LAN), Ok(()));
        assert_eq!(gate.admit(LAN), Ok(()));
        assert_eq!(gate.admit(LAN), Err(Refusal::TooManyFromAddress));
        assert_eq!(gate.admit(OTHER), Ok(()));
        gate.release(LAN);
        assert_eq!(gate.admit(LAN), Ok(()));
        assert_eq!(gate.open(), 3);
    }

    #[test]
    fn loopback_is_exempt_from_the_per_address_cap_by_default_not_from_the_total() {
        let mut gate = admission(5, 1, false);
        for _ in 0..5 {
            assert_eq!(gate.admit(LOCAL), Ok(()));
        }
        assert_eq!(gate.admit(LOCAL), Err(Refusal::TooManyConnections));
        let mut gate = admission(5, 1, true);
        assert_eq!(gate.admit(LOCAL), Ok(()));
        assert_eq!(gate.admit(LOCAL), Err(Refusal::TooManyFromAddress));
    }

    #[test]
    fn every_loopback_form_is_loopback() {
        assert!(is_loopback(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2))));
        assert!(is_loopback(IpAddr::V6(Ipv6Addr::LOCALHOST)));
        assert!(is_loopback(IpAddr::V6(
            Ipv4Addr::LOCALHOST.to_ipv6_mapped()
        )));
        assert!(!is_loopback(LAN));
        assert!(!is_loopback(IpAddr::V6(LAN_V4.to_ipv6_mapped())));
    }

    const LAN_V4: Ipv4Addr = Ipv4Addr::new(192, 168, 1, 5);

    #[test]
    fn releasing_forgets_addresses_with_nothing_open() {
        let mut gate = admission(10, 3, false);
        gate.admit(LAN).unwrap();
        gate.release(LAN);
        assert!(gate.per_ip.is_empty());
        assert_eq!(gate.open(), 0);
    }

    #[test]
    fn a_refused_connection_is_told_503_in_json_and_closed() {
        let wire = refusal_bytes(Refusal::TooManyConnections);
        let text = std::str::from_utf8(&wire).unwrap();
        assert!(
            text.starts_with("HTTP/1.1 503 Service Unavailable\r\n"),
            "{text}"
        );
        assert!(text.contains("Retry-After: 1\r\n"), "{text}");
        assert!(text.contains("Connection: close\r\n"), "{text}");
        assert!(text.ends_with(
            r#"{"error":"too many connections","detail":"the relay has max_connections open; retry later"}"#
        ), "{text}");
    }
}
