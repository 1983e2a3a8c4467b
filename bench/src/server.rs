//! The server under test: a child process started in conformance mode on a free port, and
//! what `/proc` says about its CPU time and memory.

use std::io::{self, BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Clock ticks per second in `/proc/PID/stat` (`USER_HZ`, 100 on every Linux architecture
/// this runs on).
const TICKS_PER_SECOND: f64 = 100.0;

/// How long the server may take to print its listening line.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// A running server, stopped when dropped.
pub struct Server {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
}

/// CPU time and memory of a process at one moment.
#[derive(Debug, Clone, Copy)]
pub struct Usage {
    /// User plus system CPU time, seconds.
    pub cpu_s: f64,
    /// Resident set size, KiB.
    pub rss_kib: u64,
    /// Peak resident set size so far, KiB.
    pub peak_rss_kib: u64,
    /// Threads.
    pub threads: u64,
}

impl Server {
    /// Starts `binary serve --conformance --port 0` with heartbeats too slow to matter, and
    /// waits (bounded) for its `iorelay listening on http://HOST:PORT` line.
    ///
    /// # Errors
    /// When it cannot be started or prints no listening line in time.
    pub fn start(binary: &Path) -> io::Result<Server> {
        let mut child = Command::new(binary)
            .args(["serve", "--conformance", "--port", "0"])
            .args(["--ping-interval", "60000", "--ping-timeout", "60000"])
            .env_remove("IORELAY_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        let stdout = child.stdout.take().ok_or(io::ErrorKind::BrokenPipe)?;
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            for line in lines.by_ref() {
                let Ok(line) = line else { return };
                if let Some(addr) = line.strip_prefix("iorelay listening on http://") {
                    let _ = tx.send(addr.trim().to_owned());
                    break;
                }
            }
            // Keep draining so the server never blocks on a full pipe.
            lines.for_each(drop);
        });
        let mut server = Server {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        };
        let line = rx
            .recv_timeout(START_TIMEOUT)
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "no listening line"))?;
        server.addr = line
            .parse()
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, line))?;
        Ok(server)
    }

    /// The server's CPU time and memory now.
    ///
    /// # Errors
    /// When `/proc` cannot be read (the process is gone).
    pub fn usage(&self) -> io::Result<Usage> {
        usage_of(&self.child.id().to_string())
    }

    /// Sends SIGTERM and waits up to `within` for the exit, then kills it.
    pub fn stop(mut self, within: Duration) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// CPU time and memory of process `pid` (`"self"` for this one).
///
/// # Errors
/// When `/proc/PID/stat` or `/proc/PID/status` cannot be read or parsed.
pub fn usage_of(pid: &str) -> io::Result<Usage> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let bad = || io::Error::new(io::ErrorKind::InvalidData, "unexpected /proc format");
    // Fields after the command name (which may hold spaces): state is field 3, utime 14,
    // stime 15, num_threads 20.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .ok_or_else(bad)?
        .1
        .split_whitespace()
        .collect();
    let field = |n: usize| -> io::Result<u64> {
        fields
            .get(n - 3)
            .and_then(|f| f.parse().ok())
            .ok_or_else(bad)
    };
    let kib = |key: &str| -> io::Result<u64> {
        status
            .lines()
            .find_map(|line| line.strip_prefix(key))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .ok_or_else(bad)
    };
    Ok(Usage {
        cpu_s: (field(14)? + field(15)?) as f64 / TICKS_PER_SECOND,
        rss_kib: kib("VmRSS:")?,
        peak_rss_kib: kib("VmHWM:")?,
        threads: field(20)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_has_usage() {
        let usage = usage_of("self").unwrap();
        assert!(usage.rss_kib > 0 && usage.peak_rss_kib >= usage.rss_kib);
        assert!(usage.threads >= 1);
    }
}
