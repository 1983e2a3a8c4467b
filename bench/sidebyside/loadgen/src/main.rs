//! Load generator for Socket.IO "event relay" servers (see ../README.md).
//!
//! Subcommands (all loopback-only, bounded in count and time):
//!   wait     --url U [--timeout-s 30]                  wait for GET /health == 200
//!   wait-free --url U [--timeout-s 15]                 wait until nothing listens on the port
//!   check    --url U                                   protocol conformance smoke test
//!   ingest   --mode ephemeral|keepalive --events K --concurrency C [--listeners 1]
//!   fanout   --clients N --events E --rate R (0 = max) [--posters P]
//!   idle     --clients C [--idle-s 5]
//!   crowd    --clients C [--idle-s 2]                  C idle clients, then one broadcast
//! Common: --url http://127.0.0.1:8765  --pid <server pid>  --peer <name>
//!         --threads 2  --payload-bytes 512  --time-limit-s 60  --connect-concurrency 64
//!
//! Several servers (a cluster): `--url U1,U2,...` spreads the websocket clients over the URLs
//! (client j on URL j mod k) and posts event i to URL i mod k; `check` and the one POST of
//! `crowd` use the first URL, `wait`/`wait-free` wait for all. `--pid P1,P2,...` sums CPU and
//! memory over every listed process (and descendants); `--pid-names a,b,...` names them for the
//! per-process CPU split that is then added to every `cpu` object.
//!
//! stdout: exactly one compact JSON line per scenario; stderr: progress + a human table.
mod http;
mod procstat;
mod sio;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{Semaphore, watch};
use tokio_tungstenite::tungstenite::Message;

// ---------------------------------------------------------------- args

struct Args {
    sub: String,
    kv: HashMap<String, String>,
}

impl Args {
    fn parse() -> Args {
        let mut it = std::env::args().skip(1);
        let sub = it.next().unwrap_or_else(|| "help".into());
        let mut kv = HashMap::new();
        let rest: Vec<String> = it.collect();
        let mut i = 0;
        while i < rest.len() {
            let a = &rest[i];
            let Some(k) = a.strip_prefix("--") else {
                die(&format!("unexpected argument {a}"));
            };
            if let Some((k, v)) = k.split_once('=') {
                kv.insert(k.to_string(), v.to_string());
                i += 1;
            } else if i + 1 < rest.len() && !rest[i + 1].starts_with("--") {
                kv.insert(k.to_string(), rest[i + 1].clone());
                i += 2;
            } else {
                kv.insert(k.to_string(), "true".into());
                i += 1;
            }
        }
        Args { sub, kv }
    }
    fn get<T: FromStr>(&self, k: &str, d: T) -> T {
        match self.kv.get(k) {
            Some(v) => v.parse().unwrap_or_else(|_| die(&format!("bad value for --{k}: {v}"))),
            None => d,
        }
    }
    fn s(&self, k: &str, d: &str) -> String {
        self.kv.get(k).cloned().unwrap_or_else(|| d.to_string())
    }
}

fn die(msg: &str) -> ! {
    eprintln!("loadgen: {msg}");
    std::process::exit(2)
}

const USAGE: &str = "usage: loadgen <wait|wait-free|check|ingest|fanout|idle|crowd> [--url http://127.0.0.1:8765] [--pid PID] [--peer NAME] ...
  ingest --mode ephemeral|keepalive --events K --concurrency C [--listeners 1]
  fanout --clients N --events E --rate R(0=max) [--posters P] [--drain-idle-s 5]
  idle   --clients C [--idle-s 5] [--warmup-clients C/10]
  crowd  --clients C (10000) [--idle-s 2] [--drain-idle-s 5]   C idle clients, then one broadcast
  common: --threads 2 --payload-bytes 512 --time-limit-s 60 --connect-concurrency 64 --label TEXT
  several servers: --url U1,U2,... (clients j -> U[j mod k], event i posted to U[i mod k])
                   --pid P1,P2,... [--pid-names A,B,...] (CPU/memory summed, CPU also per process)";

// ---------------------------------------------------------------- context

/// One server the load generator talks to: `addr` to connect to, `host` for the Host header.
struct Target {
    addr: String,
    host: String,
}

#[derive(Clone)]
struct Ctx {
    /// the first of `targets` (what single-server code paths use)
    addr: String,
    host: String,
    /// every `--url`, in order (one for a single server)
    targets: Arc<Vec<Target>>,
    /// every `--pid` (empty: not measuring a server)
    pids: Vec<u32>,
    /// a name per pid, for the per-process CPU split (`--pid-names`, else the pid)
    pid_names: Vec<String>,
    peer: String,
    label: String,
    epoch: Instant,
    payload_bytes: usize,
    time_limit: Duration,
    connect_conc: usize,
    threads: usize,
}

impl Ctx {
    fn now_ns(&self) -> u64 {
        self.epoch.elapsed().as_nanos() as u64
    }
    /// Target of client or event number `i`: round-robin over the URLs.
    fn target(&self, i: u64) -> &Target {
        &self.targets[(i % self.targets.len() as u64) as usize]
    }
    fn target_index(&self, i: u64) -> usize {
        (i % self.targets.len() as u64) as usize
    }
}

/// Only loopback targets are accepted.
fn parse_url(url: &str) -> (String, String) {
    let rest = url.strip_prefix("http://").unwrap_or_else(|| die("--url must start with http://"));
    let hostport = rest.split('/').next().unwrap_or("");
    let (host, port) = match hostport.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || hostport.starts_with('[') => (h.to_string(), p.to_string()),
        _ => (hostport.to_string(), "80".to_string()),
    };
    let h = host.trim_start_matches('[').trim_end_matches(']');
    let loopback = h == "localhost"
        || h.parse::<std::net::IpAddr>().map(|ip| ip.is_loopback()).unwrap_or(false);
    if !loopback {
        die(&format!("refusing non-loopback target {host}: this harness only talks to 127.0.0.0/8 or ::1"));
    }
    let addr_host = if h == "localhost" { "127.0.0.1".to_string() } else { host.clone() };
    (format!("{addr_host}:{port}"), format!("{host}:{port}"))
}

// ---------------------------------------------------------------- payload

const TEMPLATE_HEAD: &str = r#"{"seq":SEQ,"t_ns":TNS,"hook_event_name":"PostToolUse","session_id":"bench-5f0c2a9e-0000-4c1e-9d7a-000000000000","cwd":"project","tool_name":"Bash","tool_input":{"command":"cargo test --workspace","description":"Run the tests"},"tool_response":{"exit_code":0,"stdout":""#;
const TEMPLATE_TAIL: &str = r#""}}"#;

fn make_pad(payload_bytes: usize) -> String {
    let base = TEMPLATE_HEAD.len() + TEMPLATE_TAIL.len() + 10; // ~ seq/t digits
    let n = payload_bytes.saturating_sub(base);
    let words = "test result: ok. 12 passed; 0 failed; ";
    words.chars().cycle().take(n).collect()
}

fn event_body(seq: u64, t_ns: u64, pad: &str) -> Vec<u8> {
    let mut s = String::with_capacity(TEMPLATE_HEAD.len() + pad.len() + 40);
    s.push_str(r#"{"seq":"#);
    s.push_str(&seq.to_string());
    s.push_str(r#","t_ns":"#);
    s.push_str(&t_ns.to_string());
    s.push_str(&TEMPLATE_HEAD[TEMPLATE_HEAD.find(r#","hook_event_name""#).unwrap()..]);
    s.push_str(pad);
    s.push_str(TEMPLATE_TAIL);
    s.into_bytes()
}

// ---------------------------------------------------------------- stats

fn pct(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let idx = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

fn ms(ns: u64) -> f64 {
    (ns as f64 / 1e6 * 1000.0).round() / 1000.0
}

fn lat_summary(v: &mut Vec<u64>) -> Value {
    v.sort_unstable();
    let mean = if v.is_empty() { 0.0 } else { v.iter().map(|&x| x as f64).sum::<f64>() / v.len() as f64 };
    json!({
        "n": v.len(),
        "p50_ms": ms(pct(v, 50.0)),
        "p90_ms": ms(pct(v, 90.0)),
        "p99_ms": ms(pct(v, 99.0)),
        "max_ms": ms(v.last().copied().unwrap_or(0)),
        "mean_ms": ms(mean as u64),
    })
}

fn r3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

struct Meter {
    t: Instant,
    /// summed over every --pid
    srv: procstat::Snap,
    /// one per --pid, in order
    each: Vec<procstat::Snap>,
    me: f64,
}

fn meter(ctx: &Ctx) -> Meter {
    let each: Vec<procstat::Snap> = ctx.pids.iter().map(|&p| procstat::snap(Some(p))).collect();
    let srv = each.iter().fold(procstat::Snap::default(), |acc, s| acc.plus(s));
    Meter { t: Instant::now(), srv, each, me: procstat::self_cpu_s() }
}

/// CPU usage between two meters: server cpu seconds, loadgen cpu seconds, wall seconds
fn cpu_json(ctx: &Ctx, a: &Meter, b: &Meter) -> Value {
    let wall = b.t.duration_since(a.t).as_secs_f64();
    let srv = b.srv.cpu_s - a.srv.cpu_s;
    let me = b.me - a.me;
    let measured = !ctx.pids.is_empty();
    let mut v = json!({
        "wall_s": r3(wall),
        "server_cpu_s": if measured { json!(r3(srv)) } else { Value::Null },
        "server_cpu_pct": if measured && wall > 0.0 { json!(r3(100.0 * srv / wall)) } else { Value::Null },
        "loadgen_cpu_s": r3(me),
        "loadgen_cpu_pct": if wall > 0.0 { r3(100.0 * me / wall) } else { 0.0 },
    });
    if ctx.pids.len() > 1 {
        // several servers (a cluster and its Redis): where the summed server CPU went
        let split: serde_json::Map<String, Value> = ctx
            .pid_names
            .iter()
            .zip(a.each.iter().zip(b.each.iter()))
            .map(|(name, (x, y))| (name.clone(), json!(r3(y.cpu_s - x.cpu_s))))
            .collect();
        v["server_cpu_s_by_process"] = Value::Object(split);
    }
    v
}

fn mem_json(s: &procstat::Snap) -> Value {
    json!({"rss_kb": s.rss_kb, "hwm_kb": s.hwm_kb, "threads": s.threads, "procs": s.procs})
}

// ---------------------------------------------------------------- websocket clients

#[derive(Default)]
struct Shared {
    connected: AtomicU64,
    failed: AtomicU64,
    delivered: AtomicU64,
    dups: AtomicU64,
    out_of_range: AtomicU64,
    other_packets: AtomicU64,
    pings: AtomicU64,
    closed_early: AtomicU64,
    last_ns: AtomicU64,
    first_err: Mutex<Option<String>>,
    errs: Mutex<BTreeMap<String, u64>>,
}

struct ClientOut {
    /// delivery latencies of events posted to this client's own server (all of them when
    /// there is one server)
    lat: Vec<u64>,
    /// with several servers: latencies of events posted to another server
    lat_other: Vec<u64>,
    connected: bool,
    /// index of the --url this client is connected to
    target: usize,
    /// unique claude_event messages received
    delivered: u64,
}

fn err_key(e: &str) -> String {
    // collapse variable parts (numbers) so errors aggregate
    let mut k: String = e.chars().map(|c| if c.is_ascii_digit() { '#' } else { c }).collect();
    k.truncate(80);
    k
}

/// Spawn client number `j`: connect to target `j mod k` (bounded by `sem`, up to 3 tries),
/// then read until `stop`. `expect_events` sizes the duplicate-detection bitset (0 = not
/// tracking).
fn spawn_client(
    ctx: &Ctx,
    j: u64,
    sem: Arc<Semaphore>,
    sh: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
    expect_events: u64,
    record_latency: bool,
) -> tokio::task::JoinHandle<ClientOut> {
    let ctx = ctx.clone();
    let target = ctx.target_index(j);
    let k = ctx.targets.len() as u64;
    tokio::spawn(async move {
        let (addr, host) = (&ctx.targets[target].addr, &ctx.targets[target].host);
        let mut conn = None;
        {
            let _permit = sem.acquire().await.unwrap();
            for attempt in 0..3 {
                if *stop.borrow() {
                    break;
                }
                match sio::connect(addr, host, Duration::from_secs(15)).await {
                    Ok(c) => {
                        conn = Some(c);
                        break;
                    }
                    Err(e) => {
                        *sh.errs.lock().unwrap().entry(err_key(&e)).or_default() += 1;
                        sh.first_err.lock().unwrap().get_or_insert(e);
                        tokio::time::sleep(Duration::from_millis(100 * (attempt + 1))).await;
                    }
                }
            }
        }
        let Some(conn) = conn else {
            sh.failed.fetch_add(1, Relaxed);
            return ClientOut { lat: Vec::new(), lat_other: Vec::new(), connected: false, target, delivered: 0 };
        };
        sh.connected.fetch_add(1, Relaxed);
        let mut ws = conn.ws;
        let mut seen = vec![0u64; (expect_events as usize).div_ceil(64)];
        let mut lat = Vec::with_capacity(if record_latency { expect_events as usize } else { 0 });
        let mut lat_other = Vec::new();
        let mut delivered = 0u64;
        loop {
            tokio::select! {
                m = ws.next() => match m {
                    Some(Ok(Message::Text(t))) => {
                        let b = t.as_bytes();
                        if b == b"2" {
                            sh.pings.fetch_add(1, Relaxed);
                            if ws.send(Message::text("3")).await.is_err() {
                                sh.closed_early.fetch_add(1, Relaxed);
                                break;
                            }
                        } else if sio::is_claude_event(b) {
                            let now = ctx.now_ns();
                            let seq = sio::scan_u64(b, b"\"seq\"");
                            let tns = sio::scan_u64(b, b"\"t_ns\"");
                            match seq {
                                Some(s) if s < expect_events => {
                                    let (w, bit) = ((s / 64) as usize, 1u64 << (s % 64));
                                    if seen[w] & bit != 0 {
                                        sh.dups.fetch_add(1, Relaxed);
                                    } else {
                                        seen[w] |= bit;
                                        delivered += 1;
                                        sh.delivered.fetch_add(1, Relaxed);
                                        sh.last_ns.fetch_max(now, Relaxed);
                                        if record_latency {
                                            if let Some(t0) = tns {
                                                // event s was posted to target s mod k
                                                let l = now.saturating_sub(t0);
                                                if s % k == target as u64 {
                                                    lat.push(l);
                                                } else {
                                                    lat_other.push(l);
                                                }
                                            }
                                        }
                                    }
                                }
                                _ => {
                                    sh.out_of_range.fetch_add(1, Relaxed);
                                }
                            }
                        } else if b == b"1" || b.starts_with(b"41") {
                            sh.closed_early.fetch_add(1, Relaxed);
                            break;
                        } else {
                            sh.other_packets.fetch_add(1, Relaxed);
                        }
                    }
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => {
                        if !*stop.borrow() {
                            sh.closed_early.fetch_add(1, Relaxed);
                        }
                        break;
                    }
                    Some(Ok(_)) => {}
                },
                _ = stop.changed() => break,
            }
        }
        drop(ws);
        ClientOut { lat, lat_other, connected: true, target, delivered }
    })
}

/// Wait until all `n` clients finished their connect attempts (or deadline).
async fn wait_connected(sh: &Shared, n: u64, deadline: Instant) -> bool {
    loop {
        let done = sh.connected.load(Relaxed) + sh.failed.load(Relaxed);
        if done >= n {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until `delivered` reaches `expected` ("complete"), stops moving for `idle`
/// ("no-progress") or `deadline` passes ("time-limit"); returns which.
async fn drain(delivered: &AtomicU64, expected: u64, idle: Duration, deadline: Instant) -> &'static str {
    let mut last_count = delivered.load(Relaxed);
    let mut last_progress = Instant::now();
    loop {
        let d = delivered.load(Relaxed);
        if d >= expected {
            return "complete";
        }
        if d != last_count {
            last_count = d;
            last_progress = Instant::now();
        }
        if last_progress.elapsed() >= idle {
            return "no-progress";
        }
        if Instant::now() >= deadline {
            return "time-limit";
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn client_errs(sh: &Shared) -> Value {
    json!(sh.errs.lock().unwrap().clone())
}

// ---------------------------------------------------------------- posters

#[derive(Default)]
struct PostOut {
    lat: Vec<u64>,
    ok: u64,
    /// accepted events per target (index of --url)
    ok_by_target: Vec<u64>,
    status_err: BTreeMap<u16, u64>,
    io_err: BTreeMap<String, u64>,
}

/// One poster loop: takes event indices from `next` until `total`, paced at `rate` ev/s
/// (0 = as fast as possible), on a keep-alive connection or a new connection per event.
/// Event i goes to target i mod k (one keep-alive connection per target).
async fn poster(
    ctx: Ctx,
    next: Arc<AtomicU64>,
    total: u64,
    rate: f64,
    keepalive: bool,
    t0: Instant,
    deadline: Instant,
    pad: Arc<String>,
) -> PostOut {
    let mut out = PostOut { ok_by_target: vec![0; ctx.targets.len()], ..PostOut::default() };
    // one connection per target (event i goes to target i mod k)
    let mut conns: Vec<Option<tokio::net::TcpStream>> = ctx.targets.iter().map(|_| None).collect();
    let mut buf = Vec::with_capacity(4096);
    loop {
        let i = next.fetch_add(1, Relaxed);
        if i >= total {
            break;
        }
        if rate > 0.0 {
            let at = t0 + Duration::from_nanos((i as f64 * 1e9 / rate) as u64);
            if at > deadline {
                break;
            }
            tokio::time::sleep_until(at.into()).await;
        }
        if Instant::now() >= deadline {
            break;
        }
        let t_ns = ctx.now_ns();
        let body = event_body(i, t_ns, &pad);
        let ti = ctx.target_index(i);
        let target = ctx.target(i);
        let conn = &mut conns[ti];
        let req = http::build_request("POST", "/api/events", &target.host, Some(&body), !keepalive);
        let st = Instant::now();
        let res = async {
            if conn.is_none() {
                *conn = Some(http::connect(&target.addr).await?);
            }
            http::roundtrip(conn.as_mut().unwrap(), &req, &mut buf).await
        };
        let res = tokio::time::timeout(Duration::from_secs(10), res).await;
        match res {
            Ok(Ok(r)) => {
                out.lat.push(st.elapsed().as_nanos() as u64);
                if r.status == 204 || r.status == 200 {
                    out.ok += 1;
                    out.ok_by_target[ti] += 1;
                } else {
                    *out.status_err.entry(r.status).or_default() += 1;
                }
                if !keepalive || r.close {
                    *conn = None;
                }
            }
            Ok(Err(e)) => {
                *out.io_err.entry(err_key(&e.to_string())).or_default() += 1;
                *conn = None;
            }
            Err(_) => {
                *out.io_err.entry("timeout 10s".into()).or_default() += 1;
                *conn = None;
            }
        }
    }
    out
}

fn merge_posts(v: Vec<PostOut>) -> PostOut {
    let mut m = PostOut::default();
    for p in v {
        m.lat.extend(p.lat);
        m.ok += p.ok;
        m.ok_by_target.resize(m.ok_by_target.len().max(p.ok_by_target.len()), 0);
        for (i, c) in p.ok_by_target.iter().enumerate() {
            m.ok_by_target[i] += c;
        }
        for (k, c) in p.status_err {
            *m.status_err.entry(k).or_default() += c;
        }
        for (k, c) in p.io_err {
            *m.io_err.entry(k).or_default() += c;
        }
    }
    m
}

// ---------------------------------------------------------------- scenarios

async fn scenario_ingest(ctx: &Ctx, a: &Args) -> Value {
    let mode = a.s("mode", "keepalive");
    let keepalive = match mode.as_str() {
        "keepalive" => true,
        "ephemeral" => false,
        m => die(&format!("--mode must be ephemeral|keepalive, got {m}")),
    };
    let k: u64 = a.get("events", 5000);
    let c: usize = a.get("concurrency", 8);
    let listeners: u64 = a.get("listeners", 1);
    let deadline = Instant::now() + ctx.time_limit;
    let pad = Arc::new(make_pad(ctx.payload_bytes));

    // listeners: websocket clients that receive the broadcasts (exercises the emit path)
    let sh = Arc::new(Shared::default());
    let (stop_tx, stop_rx) = watch::channel(false);
    let sem = Arc::new(Semaphore::new(ctx.connect_conc));
    let handles: Vec<_> = (0..listeners)
        .map(|j| spawn_client(ctx, j, sem.clone(), sh.clone(), stop_rx.clone(), k, false))
        .collect();
    wait_connected(&sh, listeners, deadline).await;
    tokio::time::sleep(Duration::from_millis(200)).await;

    let m0 = meter(ctx);
    let next = Arc::new(AtomicU64::new(0));
    let t0 = Instant::now();
    let tasks: Vec<_> = (0..c)
        .map(|_| {
            tokio::spawn(poster(ctx.clone(), next.clone(), k, 0.0, keepalive, t0, deadline, pad.clone()))
        })
        .collect();
    let mut outs = Vec::new();
    for t in tasks {
        outs.push(t.await.unwrap());
    }
    let m1 = meter(ctx);
    let mut p = merge_posts(outs);
    let elapsed = m1.t.duration_since(t0).as_secs_f64();

    // give listeners a moment to receive the tail of the broadcasts
    let expect_l = p.ok * sh.connected.load(Relaxed);
    let wait_until = Instant::now() + Duration::from_secs(5);
    while sh.delivered.load(Relaxed) < expect_l && Instant::now() < wait_until.min(deadline + Duration::from_secs(5)) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let _ = stop_tx.send(true);
    for h in handles {
        let _ = h.await;
    }
    let attempted = p.lat.len() as u64 + p.io_err.values().sum::<u64>();
    json!({
        "scenario": format!("ingest-{mode}"),
        "peer": ctx.peer, "label": ctx.label,
        "params": {"events": k, "concurrency": c, "listeners": listeners, "payload_bytes": ctx.payload_bytes,
                   "loadgen_threads": ctx.threads},
        "attempted": attempted,
        "ok": p.ok,
        "status_errors": p.status_err,
        "io_errors": p.io_err,
        "timed_out": attempted < k,
        "events_per_s": r3(p.ok as f64 / elapsed.max(1e-9)),
        "latency": lat_summary(&mut p.lat),
        "listener": {"connected": sh.connected.load(Relaxed), "expected": expect_l,
                     "received": sh.delivered.load(Relaxed), "dups": sh.dups.load(Relaxed),
                     "closed_early": sh.closed_early.load(Relaxed)},
        "cpu": cpu_json(ctx, &m0, &m1),
        "server_mem_end": mem_json(&m1.srv),
    })
}

async fn scenario_fanout(ctx: &Ctx, a: &Args) -> Value {
    let n: u64 = a.get("clients", 100);
    let e: u64 = a.get("events", 2000);
    let rate: f64 = a.get("rate", 0.0);
    let posters: usize = a.get("posters", if rate > 0.0 { 8 } else { 4 });
    let drain_idle = Duration::from_secs_f64(a.get("drain-idle-s", 5.0));
    let start = Instant::now();
    let deadline = start + ctx.time_limit;
    let pad = Arc::new(make_pad(ctx.payload_bytes));

    let mb = meter(ctx);
    let sh = Arc::new(Shared::default());
    let (stop_tx, stop_rx) = watch::channel(false);
    let sem = Arc::new(Semaphore::new(ctx.connect_conc));
    let handles: Vec<_> = (0..n)
        .map(|j| spawn_client(ctx, j, sem.clone(), sh.clone(), stop_rx.clone(), e, true))
        .collect();
    let all = wait_connected(&sh, n, deadline).await;
    let connected = sh.connected.load(Relaxed);
    let mc = meter(ctx);
    eprintln!(
        "[fanout] {}/{} clients connected in {:.2}s{}",
        connected,
        n,
        mc.t.duration_since(mb.t).as_secs_f64(),
        if all { "" } else { " (connect phase hit the time limit)" }
    );
    tokio::time::sleep(Duration::from_millis(300)).await;

    // post phase
    let m0 = meter(ctx);
    let post_start_ns = ctx.now_ns();
    let next = Arc::new(AtomicU64::new(0));
    let t0 = Instant::now();
    let tasks: Vec<_> = (0..posters)
        .map(|_| tokio::spawn(poster(ctx.clone(), next.clone(), e, rate, true, t0, deadline, pad.clone())))
        .collect();
    let mut outs = Vec::new();
    for t in tasks {
        outs.push(t.await.unwrap());
    }
    let post_end = Instant::now();
    let mut p = merge_posts(outs);
    let post_secs = post_end.duration_since(t0).as_secs_f64();
    eprintln!("[fanout] posted {} ok in {:.2}s", p.ok, post_secs);

    // drain: until everything expected arrived, no progress for drain_idle, or deadline
    let expected_actual = connected * p.ok;
    let drain_reason = drain(&sh.delivered, expected_actual, drain_idle, deadline).await;
    let m1 = meter(ctx);
    let _ = stop_tx.send(true);
    let k = ctx.targets.len();
    // latencies of events posted to the client's own server / to another one (k > 1)
    let mut lat_own = Vec::with_capacity((n * e) as usize / k);
    let mut lat_other = Vec::with_capacity(if k > 1 { (n * e) as usize } else { 0 });
    let mut per_target = vec![(0u64, 0u64); k]; // (clients connected, unique messages delivered)
    for h in handles {
        if let Ok(o) = h.await {
            per_target[o.target].0 += o.connected as u64;
            per_target[o.target].1 += o.delivered;
            lat_own.extend(o.lat);
            lat_other.extend(o.lat_other);
        }
    }
    let mut lat: Vec<u64> = lat_own.iter().chain(lat_other.iter()).copied().collect();
    let delivered = sh.delivered.load(Relaxed);
    let last_ns = sh.last_ns.load(Relaxed);
    let deliver_secs = (last_ns.saturating_sub(post_start_ns)) as f64 / 1e9;
    let expected = n * e;
    let mut v = json!({
        "scenario": if rate > 0.0 { "fanout-rate" } else { "fanout-max" },
        "peer": ctx.peer, "label": ctx.label,
        "params": {"clients": n, "events": e, "rate": rate, "posters": posters,
                   "payload_bytes": ctx.payload_bytes, "loadgen_threads": ctx.threads},
        "connect": {"connected": connected, "failed": sh.failed.load(Relaxed),
                    "secs": r3(mc.t.duration_since(mb.t).as_secs_f64()),
                    "errors": client_errs(&sh), "server_cpu_s": r3(mc.srv.cpu_s - mb.srv.cpu_s)},
        "post": {"ok": p.ok, "status_errors": p.status_err, "io_errors": p.io_err,
                 "secs": r3(post_secs), "rate_achieved": r3(p.ok as f64 / post_secs.max(1e-9)),
                 "latency": lat_summary(&mut p.lat)},
        "delivery": {"expected": expected, "delivered": delivered,
                     "lost": expected.saturating_sub(delivered),
                     // split of `lost`: events never posted (time limit / HTTP errors) vs.
                     // events acknowledged by the server but not delivered to a connected client
                     "not_posted_events": e.saturating_sub(p.ok),
                     "expected_from_acked": expected_actual,
                     "undelivered_acked": expected_actual.saturating_sub(delivered),
                     "dups": sh.dups.load(Relaxed), "out_of_range": sh.out_of_range.load(Relaxed),
                     "closed_early": sh.closed_early.load(Relaxed),
                     "msgs_per_s": r3(delivered as f64 / deliver_secs.max(1e-9)),
                     "secs": r3(deliver_secs), "drain_end": drain_reason,
                     "latency": lat_summary(&mut lat)},
        "cpu": cpu_json(ctx, &m0, &m1),
        "server_mem_end": mem_json(&m1.srv),
        "server_mem_connected": mem_json(&mc.srv),
    });
    if k > 1 {
        // several servers: what each server's clients got, and the latency of events posted to
        // the client's own server against those posted to another (in a cluster every event
        // takes the shared stream's round trip either way)
        let targets: Vec<Value> = ctx
            .targets
            .iter()
            .zip(per_target.iter())
            .enumerate()
            .map(|(i, (t, &(conn, got)))| {
                json!({"url": format!("http://{}", t.host), "clients_connected": conn,
                       "events_posted_ok": p.ok_by_target.get(i).copied().unwrap_or(0),
                       "expected_from_acked": conn * p.ok, "delivered": got,
                       "undelivered_acked": (conn * p.ok).saturating_sub(got)})
            })
            .collect();
        v["targets"] = json!(targets);
        v["delivery"]["latency_own_server"] = lat_summary(&mut lat_own);
        v["delivery"]["latency_other_server"] = lat_summary(&mut lat_other);
    }
    v
}

async fn scenario_idle(ctx: &Ctx, a: &Args) -> Value {
    let c: u64 = a.get("clients", 1000);
    let idle = Duration::from_secs_f64(a.get("idle-s", 5.0));
    // First connect a warm-up slice (default 10%) and measure again, so one-time costs of the
    // first connections (lazy module loading, JIT, allocator arenas) are not charged to the
    // per-connection slope. bytes_per_conn = marginal (warm -> all); bytes_per_conn_total = from 0.
    let warm: u64 = a.get("warmup-clients", (c / 10).max(1)).min(c);
    let deadline = Instant::now() + ctx.time_limit;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let m0 = meter(ctx);
    let sh = Arc::new(Shared::default());
    let (stop_tx, stop_rx) = watch::channel(false);
    let sem = Arc::new(Semaphore::new(ctx.connect_conc));
    let mut handles: Vec<_> = (0..warm)
        .map(|j| spawn_client(ctx, j, sem.clone(), sh.clone(), stop_rx.clone(), 0, false))
        .collect();
    wait_connected(&sh, warm, deadline).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mw = meter(ctx);
    let warm_connected = sh.connected.load(Relaxed);
    handles.extend(
        (warm..c).map(|j| spawn_client(ctx, j, sem.clone(), sh.clone(), stop_rx.clone(), 0, false)),
    );
    wait_connected(&sh, c, deadline).await;
    let mc = meter(ctx);
    let connected = sh.connected.load(Relaxed);
    eprintln!("[idle] {connected}/{c} connected in {:.2}s; idling {:?}", mc.t.duration_since(m0.t).as_secs_f64(), idle);
    tokio::time::sleep(idle).await;
    let m1 = meter(ctx);
    let _ = stop_tx.send(true);
    for h in handles {
        let _ = h.await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let m2 = meter(ctx);
    let slope = |from: &Meter, n0: u64| -> f64 {
        let dn = connected.saturating_sub(n0);
        if dn == 0 {
            return 0.0;
        }
        ((m1.srv.rss_kb as f64 - from.srv.rss_kb as f64) * 1024.0 / dn as f64).round()
    };
    json!({
        "scenario": "idle-memory",
        "peer": ctx.peer, "label": ctx.label,
        "params": {"clients": c, "warmup_clients": warm, "idle_s": idle.as_secs_f64(), "loadgen_threads": ctx.threads},
        "connect": {"connected": connected, "failed": sh.failed.load(Relaxed),
                    "secs": r3(mc.t.duration_since(m0.t).as_secs_f64()), "errors": client_errs(&sh),
                    "server_cpu_s": r3(mc.srv.cpu_s - m0.srv.cpu_s)},
        "closed_early": sh.closed_early.load(Relaxed),
        "rss_before_kb": m0.srv.rss_kb,
        "rss_warm_kb": mw.srv.rss_kb,
        "rss_idle_kb": m1.srv.rss_kb,
        "hwm_kb": m1.srv.hwm_kb,
        "rss_after_close_kb": m2.srv.rss_kb,
        "bytes_per_conn": slope(&mw, warm_connected),
        "bytes_per_conn_total": slope(&m0, 0),
        "server_threads_idle": m1.srv.threads,
        "idle_cpu": cpu_json(ctx, &mc, &m1),
        "cpu": cpu_json(ctx, &m0, &m1),
    })
}

/// Many idle clients, then one broadcast: C clients connect (≤ --connect-concurrency
/// handshakes at once), stay idle S seconds (pings answered), then one event is POSTed and the
/// run waits until every connected client has it, nothing arrived for --drain-idle-s, or the
/// time limit. Reports connected / delivered / lost, the broadcast's delivery latency and the
/// server's memory per connection at that size.
async fn scenario_crowd(ctx: &Ctx, a: &Args) -> Value {
    let c: u64 = a.get("clients", 10_000);
    let idle = Duration::from_secs_f64(a.get("idle-s", 2.0));
    let drain_idle = Duration::from_secs_f64(a.get("drain-idle-s", 5.0));
    let deadline = Instant::now() + ctx.time_limit;
    let pad = make_pad(ctx.payload_bytes);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let m0 = meter(ctx);
    let sh = Arc::new(Shared::default());
    let (stop_tx, stop_rx) = watch::channel(false);
    let sem = Arc::new(Semaphore::new(ctx.connect_conc));
    let handles: Vec<_> = (0..c)
        .map(|j| spawn_client(ctx, j, sem.clone(), sh.clone(), stop_rx.clone(), 1, true))
        .collect();
    let all = wait_connected(&sh, c, deadline).await;
    let mc = meter(ctx);
    let connected = sh.connected.load(Relaxed);
    eprintln!(
        "[crowd] {connected}/{c} clients connected in {:.2}s{}; idling {idle:?}",
        mc.t.duration_since(m0.t).as_secs_f64(),
        if all { "" } else { " (connect phase hit the time limit)" }
    );
    let idle_until = (Instant::now() + idle).min(deadline);
    tokio::time::sleep_until(idle_until.into()).await;
    let mi = meter(ctx);
    let closed_while_idle = sh.closed_early.load(Relaxed);

    // the one broadcast, on its own connection
    let post_start_ns = ctx.now_ns();
    let body = event_body(0, post_start_ns, &pad);
    let req = http::build_request("POST", "/api/events", &ctx.host, Some(&body), true);
    let mut buf = Vec::with_capacity(4096);
    let post = tokio::time::timeout(Duration::from_secs(10), async {
        let mut s = http::connect(&ctx.addr).await?;
        http::roundtrip(&mut s, &req, &mut buf).await
    })
    .await;
    let (post_status, post_err) = match post {
        Ok(Ok(r)) => (Some(r.status), None),
        Ok(Err(e)) => (None, Some(e.to_string())),
        Err(_) => (None, Some("timeout 10s".to_string())),
    };
    let accepted = matches!(post_status, Some(200 | 204));
    let post_ms = ms(ctx.now_ns().saturating_sub(post_start_ns));

    let expected = if accepted { connected } else { 0 };
    let drain_reason = if accepted {
        drain(&sh.delivered, expected, drain_idle, deadline).await
    } else {
        "post-failed"
    };
    let m1 = meter(ctx);
    let _ = stop_tx.send(true);
    let mut lat = Vec::with_capacity(c as usize);
    for h in handles {
        if let Ok(o) = h.await {
            lat.extend(o.lat);
            lat.extend(o.lat_other);
        }
    }
    let delivered = sh.delivered.load(Relaxed);
    let last_ns = sh.last_ns.load(Relaxed);
    // No RSS means the server was gone by then: no figure rather than a negative one.
    let per_conn = if connected > 0 && mi.srv.rss_kb > 0 {
        json!(((mi.srv.rss_kb as f64 - m0.srv.rss_kb as f64) * 1024.0 / connected as f64).round())
    } else {
        Value::Null
    };
    json!({
        "scenario": "crowd",
        "peer": ctx.peer, "label": ctx.label,
        "params": {"clients": c, "idle_s": idle.as_secs_f64(), "payload_bytes": ctx.payload_bytes,
                   "loadgen_threads": ctx.threads, "connect_concurrency": ctx.connect_conc},
        "connect": {"connected": connected, "failed": sh.failed.load(Relaxed),
                    "secs": r3(mc.t.duration_since(m0.t).as_secs_f64()), "errors": client_errs(&sh),
                    "server_cpu_s": r3(mc.srv.cpu_s - m0.srv.cpu_s)},
        "closed_while_idle": closed_while_idle,
        "post": {"status": post_status, "error": post_err, "ms": post_ms},
        "delivery": {"expected": connected, "delivered": delivered,
                     "lost": connected.saturating_sub(delivered),
                     "dups": sh.dups.load(Relaxed), "out_of_range": sh.out_of_range.load(Relaxed),
                     "closed_early": sh.closed_early.load(Relaxed),
                     "secs": r3(last_ns.saturating_sub(post_start_ns) as f64 / 1e9),
                     "drain_end": drain_reason,
                     "latency": lat_summary(&mut lat)},
        "rss_before_kb": m0.srv.rss_kb,
        "rss_connected_kb": mc.srv.rss_kb,
        "rss_idle_kb": mi.srv.rss_kb,
        "hwm_kb": m1.srv.hwm_kb,
        "bytes_per_conn_total": per_conn,
        "server_threads_idle": mi.srv.threads,
        "broadcast_cpu": cpu_json(ctx, &mi, &m1),
        "cpu": cpu_json(ctx, &m0, &m1),
    })
}

/// Protocol conformance smoke test (what every peer must do for the benchmark to be valid).
async fn scenario_check(ctx: &Ctx) -> Value {
    let mut results: Vec<(String, bool, String)> = Vec::new();
    let mut add = |name: &str, ok: bool, detail: String| results.push((name.to_string(), ok, detail));

    // 1. health
    match http::oneshot(&ctx.addr, &ctx.host, "GET", "/health", None).await {
        Ok(r) => {
            let is_json = serde_json::from_slice::<Value>(&r.body).is_ok();
            add("health_200_json", r.status == 200 && is_json,
                format!("status {} content-type {:?} json={}", r.status, r.content_type, is_json));
        }
        Err(e) => add("health_200_json", false, e.to_string()),
    }
    // 2. handshake, two clients
    let mut c1 = sio::connect(&ctx.addr, &ctx.host, Duration::from_secs(5)).await;
    let mut c2 = sio::connect(&ctx.addr, &ctx.host, Duration::from_secs(5)).await;
    match &c1 {
        Ok(c) => {
            let open: Value = serde_json::from_str(&c.open).unwrap_or(Value::Null);
            let ok = open.get("sid").is_some() && open.get("pingInterval").is_some() && open.get("pingTimeout").is_some();
            add("eio_open_packet", ok, format!("{:.200}", c.open));
            let ack: Value = serde_json::from_str(&c.connect_ack).unwrap_or(Value::Null);
            add("sio_connect_ack_sid", ack.get("sid").is_some(), format!("40{:.100}", c.connect_ack));
        }
        Err(e) => add("eio_open_packet", false, e.clone()),
    }
    // 3. POST -> 204 and broadcast to both clients with an identical payload
    let sent = json!({"seq": 0, "t_ns": 1, "hook_event_name": "Notification", "nested": {"a": [1, 2.5, -3, true, null],
                      "unicode": "héllo ✓ \u{1F980}", "quote": "a\"b\\c\n"}, "big": 12345678901234u64});
    let body = serde_json::to_vec(&sent).unwrap();
    match http::oneshot(&ctx.addr, &ctx.host, "POST", "/api/events", Some(&body)).await {
        Ok(r) => add("post_valid_204", r.status == 204, format!("status {}", r.status)),
        Err(e) => add("post_valid_204", false, e.to_string()),
    }
    for (name, c) in [("broadcast_client1", &mut c1), ("broadcast_client2", &mut c2)] {
        let Ok(c) = c else {
            add(name, false, "client not connected".into());
            continue;
        };
        let got = tokio::time::timeout(Duration::from_secs(3), async {
            loop {
                match c.ws.next().await {
                    Some(Ok(Message::Text(t))) => {
                        let t = t.as_str().to_string();
                        if t == "2" {
                            let _ = c.ws.send(Message::text("3")).await;
                        } else if t.starts_with("42") && !t.starts_with("42[\"event_history\"") {
                            return Some(t);
                        }
                    }
                    Some(Ok(_)) => {}
                    _ => return None,
                }
            }
        })
        .await
        .ok()
        .flatten();
        match got {
            Some(t) => {
                let arr: Value = serde_json::from_str(&t[2..]).unwrap_or(Value::Null);
                // A relay may enrich the event (ids, offsets) and append a recovery offset
                // argument: the posted object must come back whole, at the root or under "data".
                let got = arr.get(1).cloned().unwrap_or(Value::Null);
                let carries = |v: &Value| sent.as_object().is_some_and(|m| m.iter().all(|(k, x)| v.get(k) == Some(x)));
                let ok = arr.get(0) == Some(&json!("claude_event"))
                    && (got == sent || carries(&got) || got.get("data").is_some_and(|d| carries(d)));
                add(name, ok, format!("{:.160}", t));
            }
            None => add(name, false, "no 42 packet within 3s".into()),
        }
    }
    // 4. malformed JSON -> 400
    match http::oneshot(&ctx.addr, &ctx.host, "POST", "/api/events", Some(b"{\"oops\": ")).await {
        Ok(r) => add("post_malformed_400", r.status == 400, format!("status {}", r.status)),
        Err(e) => add("post_malformed_400", false, e.to_string()),
    }
    // 5. keep-alive: two requests on one connection
    let ka = async {
        let mut s = http::connect(&ctx.addr).await?;
        let mut buf = Vec::new();
        let req = http::build_request("POST", "/api/events", &ctx.host, Some(&body), false);
        let a = http::roundtrip(&mut s, &req, &mut buf).await?;
        let b = http::roundtrip(&mut s, &req, &mut buf).await?;
        Ok::<_, std::io::Error>((a.status, b.status))
    };
    match tokio::time::timeout(Duration::from_secs(5), ka).await {
        Ok(Ok((a, b))) => add("http_keepalive", a == 204 && b == 204, format!("{a} {b}")),
        Ok(Err(e)) => add("http_keepalive", false, e.to_string()),
        Err(_) => add("http_keepalive", false, "timeout".into()),
    }
    // 6. (informational) polling transport handshake
    let poll = http::oneshot(&ctx.addr, &ctx.host, "GET", "/socket.io/?EIO=4&transport=polling", None).await;
    let poll_info = match poll {
        Ok(r) => format!("status {} body {:.80}", r.status, String::from_utf8_lossy(&r.body)),
        Err(e) => e.to_string(),
    };
    let passed = results.iter().filter(|r| r.1).count();
    let failed = results.len() - passed;
    let details: Vec<Value> = results.iter().map(|(n, ok, d)| json!({"name": n, "ok": ok, "detail": d})).collect();
    json!({"scenario": "check", "peer": ctx.peer, "label": ctx.label, "passed": passed, "failed": failed,
           "checks": details, "info_polling_handshake": poll_info})
}

/// Wait until every target answers GET /health with 200 while every --pid is alive.
async fn wait_ready(ctx: &Ctx, timeout: Duration) -> bool {
    let until = Instant::now() + timeout;
    let gone = || ctx.pids.iter().copied().find(|&pid| procstat::tree(pid).is_empty());
    let mut ready = vec![false; ctx.targets.len()];
    while Instant::now() < until {
        for (t, ok) in ctx.targets.iter().zip(ready.iter_mut()).filter(|(_, ok)| !**ok) {
            if let Ok(Ok(r)) = tokio::time::timeout(
                Duration::from_secs(2),
                http::oneshot(&t.addr, &t.host, "GET", "/health", None),
            )
            .await
            {
                *ok = r.status == 200;
            }
        }
        // make sure it is *our* server that answered
        if let Some(pid) = gone() {
            if ready.iter().any(|&r| r) {
                eprintln!("loadgen wait: /health answered but server pid {pid} is gone (port taken by another process?)");
            } else {
                eprintln!("loadgen wait: server pid {pid} is gone");
            }
            return false;
        }
        if ready.iter().all(|&r| r) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

// ---------------------------------------------------------------- human output

fn human(v: &Value) {
    let g = |p: &str| -> String {
        let mut cur = v;
        for k in p.split('.') {
            cur = match cur.get(k) {
                Some(x) => x,
                None => return "-".into(),
            };
        }
        match cur {
            Value::String(s) => s.clone(),
            x => x.to_string(),
        }
    };
    let sc = g("scenario");
    let mut rows: Vec<(String, String)> = vec![("peer".into(), g("peer")), ("scenario".into(), sc.clone())];
    let mut add = |k: &str, val: String| rows.push((k.to_string(), val));
    match sc.as_str() {
        s if s.starts_with("ingest") => {
            add("params", g("params"));
            add("ok / attempted", format!("{} / {}", g("ok"), g("attempted")));
            add("errors", format!("status {} io {}", g("status_errors"), g("io_errors")));
            add("events/s", g("events_per_s"));
            add("latency p50/p99/max ms", format!("{} / {} / {}", g("latency.p50_ms"), g("latency.p99_ms"), g("latency.max_ms")));
            add("listener received/expected", format!("{} / {}", g("listener.received"), g("listener.expected")));
        }
        s if s.starts_with("fanout") => {
            add("params", g("params"));
            add("connected / failed", format!("{} / {} in {}s", g("connect.connected"), g("connect.failed"), g("connect.secs")));
            add("posted ok, rate", format!("{} at {}/s (p50 {} ms, p99 {} ms)", g("post.ok"), g("post.rate_achieved"), g("post.latency.p50_ms"), g("post.latency.p99_ms")));
            add("delivered / expected", format!("{} / {} (lost {}, of which acked-but-undelivered {}; dups {}, drain: {})", g("delivery.delivered"), g("delivery.expected"), g("delivery.lost"), g("delivery.undelivered_acked"), g("delivery.dups"), g("delivery.drain_end")));
            add("delivered msgs/s", g("delivery.msgs_per_s"));
            add("delivery p50/p99/max ms", format!("{} / {} / {}", g("delivery.latency.p50_ms"), g("delivery.latency.p99_ms"), g("delivery.latency.max_ms")));
            add("clients closed early", g("delivery.closed_early"));
            if let Some(ts) = v.get("targets").and_then(|t| t.as_array()) {
                add("own / other server p50/p99 ms", format!("{} / {} ; {} / {}",
                    g("delivery.latency_own_server.p50_ms"), g("delivery.latency_own_server.p99_ms"),
                    g("delivery.latency_other_server.p50_ms"), g("delivery.latency_other_server.p99_ms")));
                for t in ts {
                    add(&format!("  {}", t["url"].as_str().unwrap_or("?")),
                        format!("clients {}, posted ok {}, delivered {} / {}", t["clients_connected"],
                                t["events_posted_ok"], t["delivered"], t["expected_from_acked"]));
                }
            }
        }
        "idle-memory" => {
            add("connected / failed", format!("{} / {} in {}s", g("connect.connected"), g("connect.failed"), g("connect.secs")));
            add("RSS before/warm/idle/after-close KiB", format!("{} / {} / {} / {}", g("rss_before_kb"), g("rss_warm_kb"), g("rss_idle_kb"), g("rss_after_close_kb")));
            add("VmHWM KiB", g("hwm_kb"));
            add("bytes per connection (marginal / total)", format!("{} / {}", g("bytes_per_conn"), g("bytes_per_conn_total")));
            add("idle server cpu s", g("idle_cpu.server_cpu_s"));
        }
        "crowd" => {
            add("connected / failed", format!("{} / {} in {}s", g("connect.connected"), g("connect.failed"), g("connect.secs")));
            add("POST status", g("post.status"));
            add("delivered / expected (lost)", format!("{} / {} ({})", g("delivery.delivered"), g("delivery.expected"), g("delivery.lost")));
            add("delivery p50/p99/max ms", format!("{} / {} / {}", g("delivery.latency.p50_ms"), g("delivery.latency.p99_ms"), g("delivery.latency.max_ms")));
            add("RSS before/connected/idle KiB", format!("{} / {} / {}", g("rss_before_kb"), g("rss_connected_kb"), g("rss_idle_kb")));
            add("bytes per connection", g("bytes_per_conn_total"));
        }
        "check" => {
            add("passed / failed", format!("{} / {}", g("passed"), g("failed")));
            if let Some(arr) = v.get("checks").and_then(|c| c.as_array()) {
                for c in arr {
                    let ok = c.get("ok").and_then(|x| x.as_bool()).unwrap_or(false);
                    add(&format!("  {}", c["name"].as_str().unwrap_or("?")),
                        format!("{} {}", if ok { "ok  " } else { "FAIL" }, c["detail"].as_str().unwrap_or("")));
                }
            }
        }
        _ => {}
    }
    if v.get("cpu").is_some() {
        add("server cpu s (%)", format!("{} ({}%)", g("cpu.server_cpu_s"), g("cpu.server_cpu_pct")));
        if v["cpu"].get("server_cpu_s_by_process").is_some() {
            add("  by process", g("cpu.server_cpu_s_by_process"));
        }
        add("loadgen cpu s (%)", format!("{} ({}%)", g("cpu.loadgen_cpu_s"), g("cpu.loadgen_cpu_pct")));
        add("wall s", g("cpu.wall_s"));
    }
    let w = rows.iter().map(|r| r.0.len()).max().unwrap_or(10);
    eprintln!("{}", "-".repeat(72));
    for (k, val) in rows {
        eprintln!("{k:<w$}  {val}");
    }
}

// ---------------------------------------------------------------- main

fn main() {
    let a = Args::parse();
    if a.sub == "help" || a.sub == "--help" || a.kv.contains_key("help") {
        eprintln!("{USAGE}");
        return;
    }
    let nofile = procstat::raise_nofile();
    let targets: Vec<Target> = a
        .s("url", "http://127.0.0.1:8765")
        .split(',')
        .filter(|u| !u.is_empty())
        .map(|u| {
            let (addr, host) = parse_url(u);
            Target { addr, host }
        })
        .collect();
    if targets.is_empty() {
        die("--url: no URL given");
    }
    let pids: Vec<u32> = a
        .kv
        .get("pid")
        .map(|l| l.split(',').map(|p| p.parse().unwrap_or_else(|_| die(&format!("bad --pid {p}")))).collect())
        .unwrap_or_default();
    let pid_names: Vec<String> = match a.kv.get("pid-names") {
        Some(l) => l.split(',').map(str::to_string).collect(),
        None => pids.iter().map(|p| p.to_string()).collect(),
    };
    if pid_names.len() != pids.len() {
        die("--pid-names needs one name per --pid");
    }
    let threads: usize = a.get("threads", 2);
    let ctx = Ctx {
        addr: targets[0].addr.clone(),
        host: targets[0].host.clone(),
        targets: Arc::new(targets),
        pids,
        pid_names,
        peer: a.s("peer", "unnamed"),
        label: a.s("label", ""),
        epoch: Instant::now(),
        payload_bytes: a.get("payload-bytes", 512),
        time_limit: Duration::from_secs_f64(a.get("time-limit-s", 60.0)),
        connect_conc: a.get("connect-concurrency", 64),
        threads,
    };
    for &pid in &ctx.pids {
        if procstat::tree(pid).is_empty() {
            die(&format!("--pid {pid}: no such process"));
        }
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads.max(1))
        .enable_all()
        .build()
        .unwrap();
    // Hard stop: whatever happens, the process exits after time limit + 60 s.
    let hard = ctx.time_limit + Duration::from_secs(60);
    let fired = Arc::new(AtomicBool::new(false));
    {
        let fired = fired.clone();
        std::thread::spawn(move || {
            std::thread::sleep(hard);
            fired.store(true, Relaxed);
            eprintln!("loadgen: hard time limit reached, exiting");
            std::process::exit(3);
        });
    }
    let _ = nofile;
    let res = rt.block_on(async {
        match a.sub.as_str() {
            "wait" => {
                let ok = wait_ready(&ctx, Duration::from_secs_f64(a.get("timeout-s", 30.0))).await;
                if !ok {
                    let all: Vec<&str> = ctx.targets.iter().map(|t| t.addr.as_str()).collect();
                    eprintln!("loadgen wait: server(s) at {} not ready", all.join(", "));
                    std::process::exit(1);
                }
                None
            }
            "wait-free" => {
                // wait until nothing listens on any --url (port free), e.g. after stopping a peer
                let until = Instant::now() + Duration::from_secs_f64(a.get("timeout-s", 15.0));
                for t in ctx.targets.iter() {
                    loop {
                        if tokio::net::TcpStream::connect(&t.addr).await.is_err() {
                            break;
                        }
                        if Instant::now() >= until {
                            eprintln!("loadgen wait-free: something still listens on {}", t.addr);
                            std::process::exit(1);
                        }
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
                None
            }
            "check" => Some(scenario_check(&ctx).await),
            "ingest" => Some(scenario_ingest(&ctx, &a).await),
            "fanout" => Some(scenario_fanout(&ctx, &a).await),
            "idle" => Some(scenario_idle(&ctx, &a).await),
            "crowd" => Some(scenario_crowd(&ctx, &a).await),
            s => die(&format!("unknown subcommand {s}\n{USAGE}")),
        }
    });
    if let Some(v) = res {
        // final server state (is it still alive?)
        let mut v = v;
        if !ctx.pids.is_empty() {
            // every listed process (all nodes of a cluster, and its Redis)
            let alive = ctx.pids.iter().all(|&p| !procstat::tree(p).is_empty());
            v["server_alive_after"] = json!(alive);
        }
        human(&v);
        println!("{}", serde_json::to_string(&v).unwrap());
    }
    // Don't wait for lingering tasks.
    rt.shutdown_timeout(Duration::from_millis(500));
}
