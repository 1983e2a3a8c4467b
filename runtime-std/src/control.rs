//! Talking to a relay that is already running: `status`, `stop`, and saying who holds a busy
//! port when `serve` cannot bind.
//!
//! Why through `/health` and `/api/shutdown` rather than pid files or signals: the relay on a
//! port is the authority on what it is, a pid file can be stale, and the same requests work
//! for both binaries and for a relay started by another user on a shared port.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::client::{self, Request};

/// How long one request to a running relay may take.
const REQUEST_DEADLINE: Duration = Duration::from_secs(1);
/// How long `stop` waits for the relay to go away.
const STOP_WAIT: Duration = Duration::from_secs(5);
/// Exit code of `status` when nothing listens (the LSB code for "not running").
pub const NOT_RUNNING: i32 = 3;

/// What answers on a port.
#[derive(Debug, Clone, PartialEq)]
pub enum Probe {
    /// An iorelay: its `/health` body.
    Relay(Value),
    /// Something that accepts connections but does not answer `/health` as iorelay.
    Other,
    /// Nothing accepts connections.
    Nothing,
}

/// Asks `host:port` for `/health` (1 s deadline); an unspecified host (`0.0.0.0`, `::`) is
/// asked on loopback, where a relay bound to it also listens.
#[must_use]
pub fn probe(host: &str, port: u16) -> Probe {
    let host = client_host(host);
    let request = Request {
        method: "GET",
        path: "/health",
        body: None,
        token: None,
    };
    match client::send(host, port, &request, Instant::now() + REQUEST_DEADLINE) {
        Ok(reply) => match serde_json::from_slice::<Value>(&reply.body) {
            Ok(health) if reply.status == 200 && health["service"] == "iorelay" => {
                Probe::Relay(health)
            }
            _ => Probe::Other,
        },
        Err(err) if err.kind() == std::io::ErrorKind::ConnectionRefused => Probe::Nothing,
        Err(_) => match std::net::TcpStream::connect_timeout(
            &resolve(host, port).unwrap_or_else(|| ([127, 0, 0, 1], port).into()),
            REQUEST_DEADLINE,
        ) {
            Ok(_) => Probe::Other,
            Err(_) => Probe::Nothing,
        },
    }
}

/// `status`: prints what runs on `host:port`; returns the exit code (0 up, 3 nothing, 1
/// another program).
#[must_use]
pub fn status(binary: &str, host: &str, port: u16) -> i32 {
    match probe(host, port) {
        Probe::Relay(health) => {
            print!("{}", describe(host, port, &health));
            0
        }
        Probe::Other => {
            eprintln!("{binary}: {}", other_program(port));
            1
        }
        Probe::Nothing => {
            println!("no relay on {}", address(host, port));
            NOT_RUNNING
        }
    }
}

/// `stop`: asks the relay to shut down (`POST /api/shutdown`, with `token` as a bearer
/// token), then waits up to 5 s for it to stop answering; returns the exit code.
#[must_use]
pub fn stop(binary: &str, host: &str, port: u16, token: Option<&str>) -> i32 {
    let health = match probe(host, port) {
        Probe::Relay(health) => health,
        Probe::Other => {
            eprintln!("{binary}: {}", other_program(port));
            return 1;
        }
        Probe::Nothing => {
            eprintln!("{binary}: no relay on {}", address(host, port));
            return 1;
        }
    };
    let request = Request {
        method: "POST",
        path: "/api/shutdown",
        body: None,
        token,
    };
    let deadline = Instant::now() + REQUEST_DEADLINE;
    let reply = match client::send(client_host(host), port, &request, deadline) {
        Ok(reply) => reply,
        Err(err) => {
            eprintln!("{binary}: cannot ask the relay to stop: {err}");
            return 1;
        }
    };
    let who = holder(&health);
    match reply.status {
        200..=299 => {}
        401 | 403 => {
            eprintln!(
                "{binary}: {who} refused to stop ({}): {}; from another host, set IORELAY_TOKEN \
                 to the relay's token",
                reply.status,
                reply.text().trim()
            );
            return 1;
        }
        404 | 405 => {
            eprintln!(
                "{binary}: {who} has no /api/shutdown; stop it with `kill {}`",
                health["pid"]
            );
            return 1;
        }
        other => {
            eprintln!(
                "{binary}: {who} answered {other} to the stop request: {}",
                reply.text().trim()
            );
            return 1;
        }
    }
    let until = Instant::now() + STOP_WAIT;
    while Instant::now() < until {
        if probe(host, port) == Probe::Nothing {
            // The port closes before the history store is flushed and its lock released; a
            // relay started right after (`restart`, `stop && start`) needs both.
            if let Some(pid) = health["pid"].as_u64().and_then(|p| u32::try_from(p).ok()) {
                if is_local(host) {
                    while crate::daemon::running(pid) && Instant::now() < until {
                        std::thread::sleep(Duration::from_millis(20));
                    }
                }
            }
            println!("stopped {who}");
            return 0;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    eprintln!(
        "{binary}: {who} accepted the stop request but still answers after {}s",
        STOP_WAIT.as_secs()
    );
    1
}

/// What `serve` says when `host:port` is taken: who holds it (from `/health`) and how to stop
/// it, or that another program does.
#[must_use]
pub fn busy_port(binary: &str, host: &str, port: u16) -> String {
    match probe(host, port) {
        Probe::Relay(health) => {
            let port_flag = if port == iorelay_core::settings::DEFAULT_PORT {
                String::new()
            } else {
                format!(" --port {port}")
            };
            format!(
                "port {port} is already used by {}; stop it with `{binary} stop{port_flag}`",
                holder(&health)
            )
        }
        Probe::Other | Probe::Nothing => other_program(port),
    }
}

/// The dashboard's address for a relay configured on `host:port` (a wildcard host is
/// reached on loopback).
#[must_use]
pub fn dashboard_url(host: &str, port: u16) -> String {
    format!("http://{}/", address(client_host(host), port))
}

/// "iorelay 0.1.0 (pid 42, up 3s)".
#[must_use]
pub fn holder(health: &Value) -> String {
    let version = health["version"].as_str().unwrap_or("?");
    let uptime = health["uptime_s"]
        .as_u64()
        .map_or_else(|| "?".to_owned(), duration);
    format!("iorelay {version} (pid {}, up {uptime})", health["pid"])
}

/// What a port held by something that is not an iorelay is called.
#[must_use]
pub fn other_program(port: u16) -> String {
    format!("port {port} is in use by another program (it does not answer /health as iorelay)")
}

/// The human summary `status` prints: version and address, then one fact a line.
fn describe(host: &str, port: u16, health: &Value) -> String {
    let mut out = format!(
        "iorelay {} is running on {}\n",
        health["version"].as_str().unwrap_or("?"),
        address(host, port)
    );
    let mut fact = |name: &str, value: String| {
        let _ = writeln!(out, "  {name:<9} {value}");
    };
    fact("pid", health["pid"].to_string());
    if let Some(uptime) = health["uptime_s"].as_u64() {
        fact("uptime", duration(uptime));
    }
    if let (Some(sessions), Some(sockets)) =
        (health["sessions"].as_u64(), health["sockets"].as_u64())
    {
        fact("clients", format!("{sessions} sessions, {sockets} sockets"));
    }
    for name in ["events", "store"] {
        if let Some(value) = health.get(name) {
            fact(name, summary(value));
        }
    }
    out
}

/// A JSON value on one line: numbers and strings as they are, objects as `key value, …`.
fn summary(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Object(fields) => fields
            .iter()
            .map(|(key, value)| format!("{key} {}", summary(value)))
            .collect::<Vec<_>>()
            .join(", "),
        other => other.to_string(),
    }
}

/// `3725` → `1h 2m 5s`.
fn duration(seconds: u64) -> String {
    let (h, m, s) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, _) => format!("{m}m {s}s"),
        _ => format!("{h}h {m}m {s}s"),
    }
}

/// Whether `host` is this machine, so a pid `/health` reports is one of its processes.
fn is_local(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.eq_ignore_ascii_case("localhost")
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback() || ip.is_unspecified())
}

pub(crate) fn client_host(host: &str) -> &str {
    match host {
        "0.0.0.0" => "127.0.0.1",
        "::" | "[::]" => "::1",
        other => other,
    }
}

/// `host:port`, with an IPv6 host in brackets.
#[must_use]
pub fn address(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

fn resolve(host: &str, port: u16) -> Option<std::net::SocketAddr> {
    use std::net::ToSocketAddrs;
    (host, port).to_socket_addrs().ok()?.next()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn status_describes_what_health_reports_including_fields_added_later() {
        let health = json!({
            "status": "ok", "service": "iorelay", "version": "0.1.0", "pid": 42,
            "uptime_s": 3725, "port": 8765, "sessions": 2, "sockets": 3,
            "events": {"received": 10, "delivered": 9}
        });
        assert_eq!(
            describe("127.0.0.1", 8765, &health),
            "iorelay 0.1.0 is running on 127.0.0.1:8765\n  pid       42\n  uptime    1h 2m 5s\n  \
             clients   2 sessions, 3 sockets\n  events    delivered 9, received 10\n"
        );
    }

    #[test]
    fn the_dashboard_of_a_wildcard_address_is_reached_on_loopback() {
        assert_eq!(dashboard_url("0.0.0.0", 8765), "http://127.0.0.1:8765/");
        assert_eq!(dashboard_url("::", 9000), "http://[::1]:9000/");
        assert_eq!(dashboard_url("localhost", 1), "http://localhost:1/");
    }

    #[test]
    fn loopback_and_wildcard_hosts_are_local() {
        for host in ["127.0.0.1", "localhost", "::1", "[::1]", "0.0.0.0", "::"] {
            assert!(is_local(host), "{host}");
        }
        assert!(!is_local("192.0.2.1"));
        assert!(!is_local("relay.example"));
    }

    #[test]
    fn the_holder_of_a_port_is_named_by_version_pid_and_uptime() {
        let health = json!({"version": "0.1.0", "pid": 42, "uptime_s": 61});
        assert_eq!(holder(&health), "iorelay 0.1.0 (pid 42, up 1m 1s)");
    }

    #[test]
    fn a_port_nobody_listens_on_is_nothing_and_busy_says_another_program() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        assert_eq!(probe("127.0.0.1", port), Probe::Nothing);
    }

    #[test]
    fn a_listener_that_does_not_speak_http_is_another_program() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        assert_eq!(probe("127.0.0.1", port), Probe::Other);
        assert_eq!(
            busy_port("iorelay", "127.0.0.1", port),
            format!(
                "port {port} is in use by another program (it does not answer /health as iorelay)"
            )
        );
    }
}
