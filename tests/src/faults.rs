//! Fault tests (issue 5 item 8) run against both binaries as relays: a websocket client that
//! never reads while 10 000 events of 8 KiB are posted, 300 connections stalled mid-header,
//! 100 garbage connections, and clients killed mid-transfer. Each starts its own server, and
//! every wait is bounded in count and time. The numbers measured (memory growth, `/health`
//! latency) are printed so a run shows how far from its bound each one is.
//!
//! The server restarted under official clients and the recovery scenario with the stock
//! `socket.io-client` are in `tests/interop/node/relay/faults.test.mjs`: only the official
//! client proves the official client recovers.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::thread;
use std::time::{Duration, Instant};

use crate::process::{ws_send, ws_text, RuntimeUnderTest, Server, WebSocket, WAIT};
use crate::raw::Client;

/// One fault scenario.
pub type FaultScenario = fn(&RuntimeUnderTest);

/// Every fault scenario, by name.
#[must_use]
pub fn all() -> Vec<(&'static str, FaultScenario)> {
    named![FaultScenario;
        a_client_that_never_reads_costs_neither_a_reader_nor_memory,
        heads_stalled_mid_header_leave_health_fast_and_end_at_the_header_deadline,
        garbage_connections_are_refused_and_a_normal_client_still_works,
        clients_killed_mid_transfer_leave_nothing_behind,
    ]
}

/// Events posted in the never-reading scenario, and their size.
const EVENTS: usize = 10_000;
const EVENT_BYTES: usize = 8 * 1024;
/// Events per POST (one JSON array), on one keep-alive connection.
const PER_POST: usize = 100;
/// The most the server's resident memory may grow while the 80 MiB pass through it.
const RSS_BUDGET_KIB: u64 = 48 * 1024;

fn a_client_that_never_reads_costs_neither_a_reader_nor_memory(rt: &RuntimeUnderTest) {
    let server = rt.start(&[]);
    let never_reads = relay_websocket(&server, "");
    let reader = relay_websocket(&server, "");
    let before = proc_status_kib(server.pid(), "VmRSS");
    let reading = thread::spawn(move || read_event_ids(reader, EVENTS, Duration::from_secs(120)));
    let started = Instant::now();
    let mut poster = server.connect();
    for batch in 0..EVENTS / PER_POST {
        let body = event_array(batch * PER_POST, PER_POST, EVENT_BYTES);
        let reply = poster.request("POST", "/api/events", body.as_bytes());
        assert_eq!(reply.status, 202, "[{}] batch {batch}: {reply:?}", rt.label);
    }
    let posted_in = started.elapsed();
    let ids = reading.join().expect("the reader");
    let read_in = started.elapsed();
    assert_eq!(ids.len(), EVENTS, "[{}] the reader got them all", rt.label);
    assert!(
        ids.iter().enumerate().all(|(i, id)| *id == i),
        "[{}] once each, in order",
        rt.label
    );
    let disconnects = metric(&server, "iorelay_slow_client_disconnects_total");
    assert_eq!(
        disconnects, 1.0,
        "[{}] the client that never read",
        rt.label
    );
    if let (Some(before), Some(peak)) = (before, proc_status_kib(server.pid(), "VmHWM")) {
        let growth = peak.saturating_sub(before);
        println!(
            "[{}] {EVENTS} events of {EVENT_BYTES} B: posted in {posted_in:?}, read in \
             {read_in:?}; RSS {before} KiB before, peak {peak} KiB, growth {growth} KiB \
             (budget {RSS_BUDGET_KIB} KiB)",
            rt.label
        );
        assert!(
            growth < RSS_BUDGET_KIB,
            "[{}] RSS grew {growth} KiB",
            rt.label
        );
    } else {
        println!("[{}] no /proc: memory growth not measured", rt.label);
    }
    drop(never_reads);
}

/// Connections that send part of a request head and nothing more.
const STALLED: usize = 300;
const STALL_HEADER_TIMEOUT: Duration = Duration::from_secs(5);

fn heads_stalled_mid_header_leave_health_fast_and_end_at_the_header_deadline(
    rt: &RuntimeUnderTest,
) {
    let timeout = STALL_HEADER_TIMEOUT.as_millis().to_string();
    let server = rt.start(&["--header-timeout", &timeout]);
    let started = Instant::now();
    let mut stalled: Vec<Client> = (0..STALLED)
        .map(|_| {
            let mut client = server.connect();
            client.send(b"GET / HTTP/1.1\r\nHost: x\r\n");
            client
        })
        .collect();
    let mut worst = Duration::ZERO;
    for _ in 0..10 {
        let asked = Instant::now();
        let reply = server.get("/health");
        worst = worst.max(asked.elapsed());
        assert_eq!(reply.status, 200, "[{}] {reply:?}", rt.label);
    }
    let measured_within = started.elapsed();
    println!(
        "[{}] {STALLED} stalled heads: slowest of 10 /health {worst:?} (measured {measured_within:?} \
         after the first stalled connection)",
        rt.label
    );
    assert!(
        measured_within < STALL_HEADER_TIMEOUT,
        "[{}] measured while stalled",
        rt.label
    );
    assert!(
        worst < Duration::from_secs(1),
        "[{}] /health took {worst:?}",
        rt.label
    );
    let closed_by = started + STALL_HEADER_TIMEOUT + WAIT;
    for (i, client) in stalled.iter_mut().enumerate() {
        let left = closed_by
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(10));
        assert!(
            client.closed_within(left),
            "[{}] stalled connection {i} still open after the header deadline",
            rt.label
        );
    }
}

/// Garbage connections, of four kinds in turn.
const GARBAGE: usize = 100;

fn garbage_connections_are_refused_and_a_normal_client_still_works(rt: &RuntimeUnderTest) {
    let server = rt.start(&["--header-timeout", "2000"]);
    let mut rng = 0x9e37_79b9_7f4a_7c15_u64;
    let mut conns: Vec<(usize, TcpStream)> = (0..GARBAGE)
        .map(|i| {
            let mut stream = TcpStream::connect(server.addr()).expect("connect");
            let _ = stream.write_all(&garbage(i, &mut rng));
            (i, stream)
        })
        .collect();
    for (i, stream) in &mut conns {
        let i = *i;
        let (bytes, closed) = read_until_closed(stream, Duration::from_secs(5));
        let text = String::from_utf8_lossy(&bytes);
        assert!(closed, "[{}] garbage {i} still open: {text:?}", rt.label);
        match i % 4 {
            1 => assert!(
                text.starts_with("HTTP/1.1 400"),
                "[{}] {i}: {text:?}",
                rt.label
            ),
            2 if i % 8 == 2 => assert!(
                text.starts_with("HTTP/1.1 431"),
                "[{}] {i}: {text:?}",
                rt.label
            ),
            3 => assert!(
                text.starts_with("HTTP/1.1 101"),
                "[{}] {i}: {text:?}",
                rt.label
            ),
            // Random bytes, or a head too large: refused, or reset before the reply is read.
            _ => assert!(
                bytes.is_empty() || text.starts_with("HTTP/1.1 4"),
                "[{}] {i}: {text:?}",
                rt.label
            ),
        }
    }
    assert_eq!(server.get("/health").status, 200);
    let mut ws = relay_websocket(&server, "");
    let reply = server.connect().request(
        "POST",
        "/api/events",
        br#"{"id":"after-garbage","type":"hook","subtype":"stop"}"#,
    );
    assert_eq!(reply.status, 204, "[{}] {reply:?}", rt.label);
    let event = ws_text(&mut ws);
    assert!(
        event.starts_with(r#"42["claude_event",{"id":"after-garbage""#),
        "[{}] {event}",
        rt.label
    );
    server.await_sessions(1);
}

/// The bytes of garbage connection `i`: random bytes, a malformed head, a head with too many
/// fields or larger than the limit, or a websocket upgrade followed by frames no client may
/// send.
fn garbage(i: usize, rng: &mut u64) -> Vec<u8> {
    match i % 4 {
        0 => (0..256).map(|_| next_byte(rng)).collect(),
        1 => b"GET /health HTTP/1.1\r\nHost x\r\n\r\n".to_vec(),
        2 if i % 8 == 2 => {
            // More header fields than a head may have, each small, all read by the server.
            let mut head = b"GET /health HTTP/1.1\r\n".to_vec();
            for field in 0..100 {
                head.extend_from_slice(format!("X-{field}: 1\r\n").as_bytes());
            }
            head.extend_from_slice(b"\r\n");
            head
        }
        2 => {
            let mut head = b"GET /health HTTP/1.1\r\nX-Big: ".to_vec();
            head.extend(std::iter::repeat_n(b'a', 20 * 1024));
            head.extend_from_slice(b"\r\n\r\n");
            head
        }
        _ => {
            let mut bytes = b"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n\
                Host: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
                .to_vec();
            if i % 8 == 3 {
                // Unmasked: clients must mask every frame.
                bytes.extend_from_slice(b"\x81\x05hello");
            } else {
                // A reserved opcode, masked.
                bytes.extend_from_slice(b"\x8b\x84\x01\x02\x03\x04abcd");
            }
            bytes
        }
    }
}

fn next_byte(state: &mut u64) -> u8 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    state.to_le_bytes()[0]
}

fn clients_killed_mid_transfer_leave_nothing_behind(rt: &RuntimeUnderTest) {
    let server = rt.start(&[]);
    let mut poster = server.connect();
    for batch in 0..10 {
        let body = event_array(batch * PER_POST, PER_POST, EVENT_BYTES);
        let reply = poster.request("POST", "/api/events", body.as_bytes());
        assert_eq!(reply.status, 202, "[{}] {reply:?}", rt.label);
    }
    drop(poster);
    await_metric(&server, "iorelay_store_pending_events", 0.0);
    server.await_sessions(0);
    let pid = server.pid();
    let (fds, threads) = (fd_count(pid), proc_status_kib(pid, "Threads"));

    // A websocket asks for the whole history (about 8 MiB in one message), reads half, dies.
    let mut history_reader = server.websocket("");
    assert!(ws_text(&mut history_reader).starts_with('0'));
    ws_send(&mut history_reader, r#"40{"limit":1000}"#);
    read_raw(history_reader.get_mut(), 4 << 20);
    drop(history_reader);

    // A live reader gets 200 events posted, reads 100 of them, dies.
    let mut live = relay_websocket(&server, "");
    let mut poster = server.connect();
    for batch in 0..2 {
        let body = event_array(1000 + batch * PER_POST, PER_POST, EVENT_BYTES);
        assert_eq!(
            poster
                .request("POST", "/api/events", body.as_bytes())
                .status,
            202
        );
    }
    for _ in 0..100 {
        assert!(ws_text(&mut live).starts_with(r#"42["claude_event""#));
    }
    drop(live);
    drop(poster);

    // A POST declares 4 MiB, sends half, dies.
    let mut half_post = TcpStream::connect(server.addr()).expect("connect");
    let head = format!(
        "POST /api/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n[",
        4 << 20
    );
    half_post.write_all(head.as_bytes()).expect("head");
    half_post
        .write_all(&vec![b' '; 2 << 20])
        .expect("half the body");
    drop(half_post);

    server.await_sessions(0);
    let deadline = Instant::now() + WAIT;
    while fd_count(pid) > fds || proc_status_kib(pid, "Threads") > threads {
        assert!(
            Instant::now() < deadline,
            "[{}] file descriptors {:?} (were {fds:?}), threads {:?} (were {threads:?})",
            rt.label,
            fd_count(pid),
            proc_status_kib(pid, "Threads")
        );
        thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(server.get("/health").status, 200);
    let mut after = relay_websocket(&server, "");
    let reply = server.connect().request(
        "POST",
        "/api/events",
        br#"{"id":"after-kills","type":"hook","subtype":"stop"}"#,
    );
    assert_eq!(reply.status, 204);
    assert!(ws_text(&mut after).starts_with(r#"42["claude_event",{"id":"after-kills""#));
}

/// A websocket with a Socket.IO socket on the relay's `/`, connected with `auth` (JSON text
/// or empty): the open packet, the CONNECT reply and `event_history` consumed.
fn relay_websocket(server: &Server, auth: &str) -> WebSocket {
    let mut ws = server.websocket("");
    let open = ws_text(&mut ws);
    assert!(open.starts_with("0{\"sid\":"), "{open}");
    ws_send(&mut ws, &format!("40{auth}"));
    let connected = ws_text(&mut ws);
    assert!(connected.starts_with("40{\"sid\":"), "{connected}");
    let history = ws_text(&mut ws);
    assert!(history.starts_with("42[\"event_history\""), "{history}");
    ws
}

/// A JSON array of `count` events numbered from `first`, each about `size` bytes, ids
/// `f-<n>`.
fn event_array(first: usize, count: usize, size: usize) -> String {
    let blob = "x".repeat(size.saturating_sub(100));
    let events: Vec<String> = (first..first + count)
        .map(|n| {
            format!(
                r#"{{"id":"f-{n}","type":"hook","subtype":"stop","session_id":"faults","data":{{"blob":"{blob}"}}}}"#
            )
        })
        .collect();
    format!("[{}]", events.join(","))
}

/// Reads `claude_event`s until `count` arrived (or `within` passed); returns the number in
/// each one's `f-<n>` id.
fn read_event_ids(mut ws: WebSocket, count: usize, within: Duration) -> Vec<usize> {
    const PREFIX: &str = r#"42["claude_event",{"id":"f-"#;
    let deadline = Instant::now() + within;
    let mut ids = Vec::with_capacity(count);
    while ids.len() < count && Instant::now() < deadline {
        let text = ws_text(&mut ws);
        let Some(rest) = text.strip_prefix(PREFIX) else {
            continue;
        };
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        ids.push(digits.parse().expect("an event number"));
    }
    ids
}

/// Reads `n` raw bytes from `stream` (bounded by [`WAIT`] per read).
fn read_raw(stream: &mut TcpStream, n: usize) {
    let mut chunk = vec![0u8; 64 * 1024];
    let mut got = 0;
    while got < n {
        match stream.read(&mut chunk) {
            Ok(0) => panic!("closed after {got} bytes"),
            Ok(read) => got += read,
            Err(err) => panic!("read failed after {got} bytes: {err}"),
        }
    }
}

/// Everything the server sends until it closes the connection or `within` passes; `true`
/// when it closed (EOF or reset).
fn read_until_closed(stream: &mut TcpStream, within: Duration) -> (Vec<u8>, bool) {
    let deadline = Instant::now() + within;
    let mut bytes = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return (bytes, false);
        }
        stream.set_read_timeout(Some(left)).expect("read timeout");
        match stream.read(&mut chunk) {
            Ok(0) => return (bytes, true),
            Ok(n) => bytes.extend_from_slice(&chunk[..n]),
            Err(err) if matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return (bytes, false)
            }
            Err(_) => return (bytes, true),
        }
    }
}

/// A value from `/proc/<pid>/status` (`VmRSS`, `VmHWM` in KiB; `Threads` a count); `None`
/// without `/proc`.
fn proc_status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|line| {
        let value = line.strip_prefix(field)?.strip_prefix(':')?;
        value.split_whitespace().next()?.parse().ok()
    })
}

/// Open file descriptors of `pid`; `None` without `/proc`.
fn fd_count(pid: u32) -> Option<usize> {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .ok()
        .map(Iterator::count)
}

/// The value of an unlabelled series in `/metrics`.
fn metric(server: &Server, series: &str) -> f64 {
    let page = server.get("/metrics").text();
    page.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("{series} in {page}"))
        .parse()
        .expect("a number")
}

/// Polls `/metrics` until `series` reads `value` (bounded by [`WAIT`]).
fn await_metric(server: &Server, series: &str, value: f64) {
    let deadline = Instant::now() + WAIT;
    while metric(server, series) != value {
        assert!(Instant::now() < deadline, "{series} stayed off {value}");
        thread::sleep(Duration::from_millis(20));
    }
}
