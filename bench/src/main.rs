//! `fanout`: how fast a server binary broadcasts room events to many websocket clients over
//! loopback.
//!
//! It starts the server in conformance mode, connects `--clients` raw Engine.IO websocket
//! clients that join room `r`, checks with warm-up broadcasts that all of them are in the
//! room, then one more client emits `--events` `to-room` events (about `--payload` bytes each)
//! as fast as it can or at `--rate`, and the conformance app broadcasts each to the room. It
//! reports delivered messages per second, delivery latency (each event carries its send
//! time), lost and duplicate messages, and the server's CPU time and memory from `/proc`.
//!
//! The clients are cheap on purpose (one thread, an async task each, frames parsed in place)
//! so the machine's cores go to the server. Every wait is bounded in time.

mod server;
mod tally;
mod wsclient;

use std::cell::RefCell;
use std::io::{self, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::ExitCode;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use smol::{LocalExecutor, Task, Timer};

use crate::server::{usage_of, Server, Usage};
use crate::tally::Tally;
use crate::wsclient::{opcode, WsClient};

/// How long one client's websocket open or namespace connect may take.
const STEP_TIMEOUT: Duration = Duration::from_secs(10);

/// How long all clients may take to be seen in the room.
const WARMUP_TIMEOUT: Duration = Duration::from_secs(10);

/// How often a warm-up broadcast goes out, and the monitor looks at the tally.
const WARMUP_EVERY: Duration = Duration::from_millis(50);
const MONITOR_EVERY: Duration = Duration::from_millis(20);

/// After the sender is done, how long without a new delivery ends the measurement.
const IDLE_TIMEOUT: Duration = Duration::from_secs(3);

/// How long the sender may be blocked on one write.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// Fanout benchmark: one sender, a room of websocket clients, a server binary under test.
#[derive(Parser, Debug)]
#[command(name = "fanout", version)]
struct Args {
    /// The server binary (iorelay or iorelay-std).
    #[arg(long, default_value = "target/release/iorelay")]
    server: PathBuf,
    /// A name for this run in the report (default: the binary's file name).
    #[arg(long)]
    label: Option<String>,
    /// Receiving clients in the room.
    #[arg(long, default_value_t = 1000)]
    clients: usize,
    /// Events the sender emits.
    #[arg(long, default_value_t = 2000)]
    events: usize,
    /// Bytes of each event's JSON object.
    #[arg(long, default_value_t = 512)]
    payload: usize,
    /// Events per second (default: as fast as the server takes them).
    #[arg(long)]
    rate: Option<f64>,
    /// Clients opening at the same time while connecting.
    #[arg(long, default_value_t = 64)]
    connect_concurrency: usize,
    /// Longest the measurement may run, seconds from the first event sent.
    #[arg(long, default_value_t = 120)]
    timeout: u64,
}

fn main() -> ExitCode {
    let args = Args::parse();
    if args.clients == 0 || args.events == 0 || args.rate.is_some_and(|r| r <= 0.0) {
        eprintln!("fanout: --clients, --events and --rate must be positive");
        return ExitCode::FAILURE;
    }
    match run(&args) {
        Ok(report) => {
            report.print_table();
            println!("{}", report.json());
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("fanout: {err}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> io::Result<Report> {
    let server = Server::start(&args.server)?;
    let executor = LocalExecutor::new();
    let report = smol::block_on(executor.run(measure(&executor, args, &server)));
    server.stop(Duration::from_secs(3));
    report
}

/// Everything one run measured.
#[derive(Debug)]
struct Report {
    label: String,
    clients: usize,
    events: usize,
    payload: usize,
    rate: Option<f64>,
    outcome: &'static str,
    connect_s: f64,
    send_s: f64,
    delivery_s: f64,
    expected: u64,
    delivered: u64,
    duplicates: u64,
    unexpected: u64,
    closed: usize,
    /// Sorted latencies, microseconds.
    latencies_us: Vec<u32>,
    server_before: Usage,
    server_after: Usage,
    client_cpu_s: f64,
}

async fn measure(executor: &LocalExecutor<'_>, args: &Args, server: &Server) -> io::Result<Report> {
    let epoch = Instant::now();
    let connect_started = Instant::now();
    let mut clients = Vec::with_capacity(args.clients);
    while clients.len() < args.clients {
        let wave = (args.clients - clients.len()).min(args.connect_concurrency.max(1));
        let opening: Vec<Task<io::Result<WsClient>>> = (0..wave)
            .map(|_| executor.spawn(open_receiver(server.addr)))
            .collect();
        for task in opening {
            clients.push(task.await?);
        }
    }
    let mut sender = WsClient::open(server.addr, STEP_TIMEOUT).await?;
    sender.connect_namespace(STEP_TIMEOUT).await?;
    let connect_s = connect_started.elapsed().as_secs_f64();

    let tally = Rc::new(RefCell::new(Tally::new(args.clients, args.events)));
    let receivers: Vec<Task<()>> = clients
        .into_iter()
        .enumerate()
        .map(|(id, client)| executor.spawn(receive(id, client, Rc::clone(&tally), epoch)))
        .collect();

    let warm_until = Instant::now() + WARMUP_TIMEOUT;
    while tally.borrow().warmed_count < args.clients {
        if Instant::now() > warm_until {
            let warmed = tally.borrow().warmed_count;
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("only {warmed} of {} clients joined the room", args.clients),
            ));
        }
        sender.send_text(&tally::to_room_warmup()).await?;
        Timer::after(WARMUP_EVERY).await;
    }
    // Let the last warm-ups reach everyone before measuring.
    Timer::after(Duration::from_millis(200)).await;

    let server_before = server.usage()?;
    let client_before = usage_of("self")?;
    let stream = sender.into_blocking()?;
    let (events, rate, payload) = (args.events, args.rate, args.payload);
    let send_started = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    let stop_sending = Arc::clone(&stop);
    let sending = std::thread::spawn(move || {
        send_events(stream, events, rate, payload, epoch, &stop_sending)
    });

    let expected = (args.clients * args.events) as u64;
    let give_up = send_started + Duration::from_secs(args.timeout);
    let (mut seen, mut progress_at) = (0, Instant::now());
    let outcome = loop {
        Timer::after(MONITOR_EVERY).await;
        let now = Instant::now();
        let tally = tally.borrow();
        if tally.unique == expected {
            break "complete";
        }
        if tally.unique != seen {
            (seen, progress_at) = (tally.unique, now);
        }
        if tally.closed == args.clients {
            break "all clients closed";
        }
        if sending.is_finished() && now - progress_at > IDLE_TIMEOUT {
            break "idle";
        }
        if now > give_up {
            break "timeout";
        }
    };
    let server_after = server.usage()?;
    let client_after = usage_of("self")?;
    stop.store(true, Ordering::Relaxed);
    let send_s = match sending.join() {
        Ok(Ok((took, _stream))) => took.as_secs_f64(),
        Ok(Err(err)) => return Err(err),
        Err(_) => return Err(io::Error::other("the sender thread panicked")),
    };
    for receiver in receivers {
        receiver.cancel().await;
    }
    let mut tally = tally.borrow_mut();
    let mut latencies_us = std::mem::take(&mut tally.latencies_us);
    latencies_us.sort_unstable();
    let delivery_s = tally
        .last_delivery
        .map_or(0.0, |at| (at - send_started).as_secs_f64());
    Ok(Report {
        label: args.label.clone().unwrap_or_else(|| {
            args.server
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
        }),
        clients: args.clients,
        events: args.events,
        payload: args.payload,
        rate: args.rate,
        outcome,
        connect_s,
        send_s,
        delivery_s,
        expected,
        delivered: tally.unique,
        duplicates: tally.duplicates,
        unexpected: tally.unexpected,
        closed: tally.closed,
        latencies_us,
        server_before,
        server_after,
        client_cpu_s: client_after.cpu_s - client_before.cpu_s,
    })
}

/// Opens a receiving client: websocket, namespace `/`, then `join` (without waiting for it;
/// the warm-up broadcasts check the joins took effect).
async fn open_receiver(addr: SocketAddr) -> io::Result<WsClient> {
    let mut client = WsClient::open(addr, STEP_TIMEOUT).await?;
    client.connect_namespace(STEP_TIMEOUT).await?;
    client.send_text(&tally::join()).await?;
    Ok(client)
}

/// A receiving client's task: reads and counts until its connection ends (or it is dropped).
async fn receive(id: usize, mut client: WsClient, tally: Rc<RefCell<Tally>>, epoch: Instant) {
    loop {
        if !matches!(client.fill().await, Ok(n) if n > 0) {
            break;
        }
        let now = Instant::now();
        let now_ns = nanos_since(epoch, now);
        let (mut pings, mut ended) = (0, false);
        {
            let mut tally = tally.borrow_mut();
            loop {
                match client.next_frame() {
                    Ok(Some((opcode::TEXT, payload))) => {
                        if tally.on_text(id, client.payload(payload), now_ns, now) {
                            pings += 1;
                        }
                    }
                    Ok(Some((opcode::CLOSE, _))) | Err(_) => {
                        ended = true;
                        break;
                    }
                    Ok(Some(_)) => {}
                    Ok(None) => break,
                }
            }
        }
        for _ in 0..pings {
            ended |= client.send_text(b"3").await.is_err();
        }
        if ended {
            break;
        }
    }
    tally.borrow_mut().closed += 1;
}

/// The sender thread: emits `events` events, paced at `rate` per second if given, until
/// `stop` is set. Returns how long sending took, and the stream (kept open until the
/// measurement ends).
fn send_events(
    mut stream: TcpStream,
    events: usize,
    rate: Option<f64>,
    payload: usize,
    epoch: Instant,
    stop: &AtomicBool,
) -> io::Result<(Duration, TcpStream)> {
    stream.set_write_timeout(Some(SEND_TIMEOUT))?;
    let started = Instant::now();
    let mut frame = Vec::with_capacity(payload + 64);
    for seq in 0..events {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        if let Some(rate) = rate {
            let due = started + Duration::from_secs_f64(seq as f64 / rate);
            std::thread::sleep(due.saturating_duration_since(Instant::now()));
        }
        let packet = tally::to_room_event(seq, nanos_since(epoch, Instant::now()), payload);
        frame.clear();
        wsclient::encode_text(&packet, &mut frame);
        stream.write_all(&frame)?;
    }
    Ok((started.elapsed(), stream))
}

fn nanos_since(epoch: Instant, now: Instant) -> u64 {
    u64::try_from((now - epoch).as_nanos()).unwrap_or(u64::MAX)
}

impl Report {
    fn msgs_per_s(&self) -> f64 {
        if self.delivery_s > 0.0 {
            self.delivered as f64 / self.delivery_s
        } else {
            0.0
        }
    }

    fn server_cpu_s(&self) -> f64 {
        self.server_after.cpu_s - self.server_before.cpu_s
    }

    fn cpu_us_per_msg(&self) -> f64 {
        if self.delivered > 0 {
            self.server_cpu_s() * 1e6 / self.delivered as f64
        } else {
            0.0
        }
    }

    fn latency_ms(&self, q: f64) -> f64 {
        f64::from(tally::quantile(&self.latencies_us, q)) / 1000.0
    }

    fn print_table(&self) {
        let rate = self
            .rate
            .map_or_else(|| "max".to_owned(), |r| format!("{r}/s"));
        let rows = [
            ("server", self.label.clone()),
            (
                "setup",
                format!(
                    "{} clients, {} events of {} B, rate {rate}",
                    self.clients, self.events, self.payload
                ),
            ),
            ("outcome", self.outcome.to_owned()),
            ("connect", format!("{:.2} s", self.connect_s)),
            ("send", format!("{:.2} s", self.send_s)),
            ("delivery", format!("{:.2} s", self.delivery_s)),
            (
                "delivered",
                format!("{} of {}", self.delivered, self.expected),
            ),
            ("lost", (self.expected - self.delivered).to_string()),
            (
                "duplicates/unexpected",
                format!("{}/{}", self.duplicates, self.unexpected),
            ),
            ("clients closed", self.closed.to_string()),
            ("msgs/s", format!("{:.0}", self.msgs_per_s())),
            (
                "latency p50/p99/max",
                format!(
                    "{:.1} / {:.1} / {:.1} ms",
                    self.latency_ms(0.5),
                    self.latency_ms(0.99),
                    self.latency_ms(1.0)
                ),
            ),
            (
                "server cpu",
                format!(
                    "{:.2} s ({:.2} us/msg)",
                    self.server_cpu_s(),
                    self.cpu_us_per_msg()
                ),
            ),
            (
                "server rss before/after/peak",
                format!(
                    "{} / {} / {} MiB",
                    self.server_before.rss_kib / 1024,
                    self.server_after.rss_kib / 1024,
                    self.server_after.peak_rss_kib / 1024
                ),
            ),
            ("server threads", self.server_after.threads.to_string()),
            ("client cpu", format!("{:.2} s", self.client_cpu_s)),
        ];
        for (name, value) in rows {
            println!("{name:<30} {value}");
        }
    }

    fn json(&self) -> String {
        serde_json::json!({
            "server": self.label,
            "clients": self.clients,
            "events": self.events,
            "payload": self.payload,
            "rate": self.rate,
            "outcome": self.outcome,
            "connect_s": self.connect_s,
            "send_s": self.send_s,
            "delivery_s": self.delivery_s,
            "expected": self.expected,
            "delivered": self.delivered,
            "lost": self.expected - self.delivered,
            "duplicates": self.duplicates,
            "unexpected": self.unexpected,
            "clients_closed": self.closed,
            "msgs_per_s": self.msgs_per_s(),
            "latency_p50_ms": self.latency_ms(0.5),
            "latency_p99_ms": self.latency_ms(0.99),
            "latency_max_ms": self.latency_ms(1.0),
            "server_cpu_s": self.server_cpu_s(),
            "server_cpu_us_per_msg": self.cpu_us_per_msg(),
            "server_rss_before_kib": self.server_before.rss_kib,
            "server_rss_after_kib": self.server_after.rss_kib,
            "server_peak_rss_kib": self.server_after.peak_rss_kib,
            "server_threads": self.server_after.threads,
            "client_cpu_s": self.client_cpu_s,
        })
        .to_string()
    }
}
