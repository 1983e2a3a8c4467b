//! What the relay protects itself with: the token, the ingest rate limit and the connection
//! caps, as one part of [`RelayConfig`](super::config::RelayConfig).
//!
//! Why one struct: every one of these is a security choice with a safe default, layered by the
//! settings like any other value, and docs/operations.md ("Security and limits") describes them
//! together. The defaults never get in the way of one developer on one machine: no token,
//! caps far above what a laptop's dashboards and agents open, and loopback exempt from the
//! per-address cap and the rate limit (which even then lets a burst of 20 000 events through).

use std::time::Duration;

/// The relay's protections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Protection {
    /// Bearer token every route but `/health` and every Socket.IO CONNECT must carry, if set.
    pub token: Option<String>,
    /// The ingest rate limit per peer address.
    pub rate_limit: RateLimit,
    /// Most connections open at once; more are refused (503).
    pub max_connections: usize,
    /// Most connections open at once from one address (0: no per-address cap).
    pub max_connections_per_ip: usize,
    /// Whether loopback peers are held to `max_connections_per_ip` and the ingest rate
    /// limit; by default they are not, since every local dashboard, hook and agent shares
    /// 127.0.0.1 and they are what the relay is for.
    pub cap_loopback: bool,
}

/// A token bucket of events: `burst` events at once, refilled at `per_second`; either 0 turns
/// the limit off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Events a peer may send at once (the bucket's size); a request of more events than this
    /// costs the whole bucket rather than never passing.
    pub burst: u64,
    /// Events per second the bucket refills with.
    pub per_second: u64,
}

impl RateLimit {
    /// Whether it limits anything.
    #[must_use]
    pub fn is_on(&self) -> bool {
        self.burst > 0 && self.per_second > 0
    }

    /// How long the bucket takes to refill `events` events.
    #[must_use]
    pub fn interval(&self, events: u64) -> Duration {
        let nanos = u128::from(events) * 1_000_000_000 / u128::from(self.per_second.max(1));
        Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }
}

impl Default for Protection {
    fn default() -> Self {
        Self {
            token: None,
            rate_limit: RateLimit {
                burst: 20_000,
                per_second: 5_000,
            },
            max_connections: 10_000,
            max_connections_per_ip: 256,
            cap_loopback: false,
        }
    }
}

/// The warning to print at start when the relay listens on `host` beyond this machine with no
/// token: anyone who can reach the port can then post events, read the history and stop it.
/// `None` for loopback hosts, or when a token is set.
#[must_use]
pub fn exposure_warning(host: &str, port: u16, token: Option<&str>) -> Option<String> {
    if token.is_some_and(|t| !t.is_empty()) || is_loopback_host(host) {
        return None;
    }
    Some(format!(
        "WARNING: iorelay is listening on {host}:{port}, beyond this machine, WITHOUT A TOKEN.\n\
         WARNING: anyone who can reach this port can post events, read every session's history,\n\
         WARNING: watch live events and stop the relay. Set IORELAY_TOKEN (clients send it as\n\
         WARNING: `Authorization: Bearer <token>` and Socket.IO `auth.token`), or bind 127.0.0.1."
    ))
}

/// Whether `host` (as given to bind) only accepts connections from this machine.
fn is_loopback_host(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<std::net::IpAddr>() {
        Ok(ip) => super::admission::is_loopback(ip),
        Err(_) => bare.eq_ignore_ascii_case("localhost"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts_and_token_protected_relays_get_no_warning() {
        for host in [
            "127.0.0.1",
            "127.0.0.2",
            "::1",
            "[::1]",
            "localhost",
            "LOCALHOST",
        ] {
            assert_eq!(exposure_warning(host, 8765, None), None, "{host}");
        }
        assert_eq!(exposure_warning("0.0.0.0", 8765, Some("s3cret")), None);
    }

    #[test]
    fn any_other_host_without_a_token_gets_the_loud_warning() {
        for host in ["0.0.0.0", "::", "192.168.1.5", "relay.example"] {
            let warning = exposure_warning(host, 8765, None).expect(host);
            assert!(warning.starts_with(&format!("WARNING: iorelay is listening on {host}:8765")));
            assert!(warning.contains("IORELAY_TOKEN"));
        }
        assert!(exposure_warning("0.0.0.0", 1, Some("")).is_some());
    }

    #[test]
    fn refill_intervals_are_exact_in_nanoseconds() {
        let limit = RateLimit {
            burst: 20_000,
            per_second: 5_000,
        };
        assert_eq!(limit.interval(1), Duration::from_micros(200));
        assert_eq!(limit.interval(20_000), Duration::from_secs(4));
    }
}
