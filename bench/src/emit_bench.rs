//! `emit-bench`: the whole-process cost of delivering one hook event, `iorelay emit` against
//! the Python path it replaces (a fresh interpreter that imports `requests` and POSTs).
//!
//! Both post the same event to the same in-process fake relay (answers 204 at once), so the
//! numbers are the clients' own cost: process start, reading stdin, one HTTP request, exit.
//! Runs are interleaved (emit, python, emit, …) so drift in machine load hits both alike.
//! A benchmark, not a test: it prints numbers; `bench/emit.sh` builds and runs it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;

/// Flags.
#[derive(Parser)]
struct Args {
    /// The iorelay binary (release build).
    #[arg(long)]
    iorelay: String,
    /// The Python interpreter that has `requests`.
    #[arg(long, default_value = "python3")]
    python: String,
    /// Runs of each.
    #[arg(long, default_value_t = 40)]
    runs: usize,
}

const EVENT: &str = r#"{"session_id":"8d2c5f0e-bench","transcript_path":"/home/u/.claude/projects/p/8d2c5f0e.jsonl","cwd":"/home/u/p","hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"cargo test --workspace","description":"Run the tests"}}"#;

const PYTHON: &str = "import json, sys, requests\n\
event = json.loads(sys.stdin.read())\n\
requests.post(sys.argv[1], json=event, timeout=0.5)\n";

fn main() {
    let args = Args::parse();
    let (port, received) = fake_relay();
    let url = format!("http://127.0.0.1:{port}/api/hooks");
    let state = std::env::temp_dir().join(format!("iorelay-emit-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&state);

    let emit = |_: usize| {
        let mut command = Command::new(&args.iorelay);
        command
            .arg("emit")
            .env("IORELAY_PORT", port.to_string())
            .env("IORELAY_STATE_DIR", &state);
        command
    };
    let python = |_: usize| {
        let mut command = Command::new(&args.python);
        command.args(["-c", PYTHON, &url]);
        command
    };
    // Warm the page cache and the Python bytecode cache, as on a working machine.
    for _ in 0..3 {
        time(emit(0));
        time(python(0));
    }
    received.store(0, Ordering::SeqCst);
    let (mut emit_times, mut python_times) = (Vec::new(), Vec::new());
    for run in 0..args.runs {
        emit_times.push(time(emit(run)));
        python_times.push(time(python(run)));
    }
    let delivered = received.load(Ordering::SeqCst);
    let (e, p) = (Stats::of(&mut emit_times), Stats::of(&mut python_times));
    println!(
        "runs: {} of each, interleaved; events received by the fake relay: {delivered}",
        args.runs
    );
    println!(
        "{:<28} {:>10} {:>10} {:>10}",
        "client", "median", "p90", "mean"
    );
    println!(
        "{:<28} {:>8.2}ms {:>8.2}ms {:>8.2}ms",
        "iorelay emit", e.median, e.p90, e.mean
    );
    println!(
        "{:<28} {:>8.2}ms {:>8.2}ms {:>8.2}ms",
        "python3 + requests.post", p.median, p.p90, p.mean
    );
    println!("median ratio (python / emit): {:.1}x", p.median / e.median);
    println!(
        "{{\"runs\":{},\"delivered\":{delivered},\"emit_median_ms\":{:.3},\"emit_p90_ms\":{:.3},\"python_median_ms\":{:.3},\"python_p90_ms\":{:.3},\"ratio\":{:.1}}}",
        args.runs, e.median, e.p90, p.median, p.p90, p.median / e.median
    );
    let _ = std::fs::remove_dir_all(&state);
}

/// Whole-process wall time, event on stdin, output discarded.
fn time(mut command: Command) -> Duration {
    let started = Instant::now();
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start client");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(EVENT.as_bytes())
        .unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "client failed: {status}");
    started.elapsed()
}

struct Stats {
    median: f64,
    p90: f64,
    mean: f64,
}

impl Stats {
    fn of(times: &mut [Duration]) -> Self {
        times.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let at = |q: f64| ms(times[((times.len() - 1) as f64 * q).round() as usize]);
        Self {
            median: at(0.5),
            p90: at(0.9),
            mean: times.iter().copied().map(ms).sum::<f64>() / times.len() as f64,
        }
    }
}

/// A relay stand-in: reads each request and answers 204; counts the requests.
fn fake_relay() -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let received = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&received);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            if answer(stream).is_ok() {
                counter.fetch_add(1, Ordering::SeqCst);
            }
        }
    });
    (port, received)
}

fn answer(stream: TcpStream) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut length = 0;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().unwrap_or(0);
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    let mut stream = reader.into_inner();
    stream.write_all(b"HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n")
}
