//! `iorelay check`: the stability test. Stays joined for the duration, posts a probe event
//! every second and checks each arrives once, times a round trip every second, counts
//! disconnects and how the client came back, then prints the report and score.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use bytes::Bytes;
use iorelay_core::cli::CheckArgs;
use iorelay_core::client::{ClientEvent, DisconnectReason};
use iorelay_core::settings::Settings;
use iorelay_core::terminal::score::{json_report, score, text_report, Measures};
use iorelay_core::terminal::{Feed, FeedEvent, Filter, HistoryRequest};
use iorelay_core::Emit;
use serde_json::value::RawValue;

use super::driver::{Driver, Step};
use crate::client::{self, Request};

/// How often a probe is posted and a round trip timed.
const EVERY: Duration = Duration::from_secs(1);
/// How long a round trip or a `history` page may take.
const ACK_TIMEOUT: Duration = Duration::from_secs(5);
/// How long probes still on their way may take after the duration.
const GRACE: Duration = Duration::from_secs(3);
/// How long posting one probe may take.
const POST_TIMEOUT: Duration = Duration::from_secs(2);

/// Runs `check`; returns the exit code.
#[must_use]
pub fn main(binary: &str, args: &CheckArgs) -> i32 {
    let (settings, address) =
        match super::reach_relay(binary, "check", args.config.as_deref(), args.flags()) {
            Ok(reached) => reached,
            Err(code) => return code,
        };
    let run: String = crate::process::random_seed()[..6]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let session = format!("iorelay-check-{run}");
    let filter = Filter {
        session: Some(session.clone()),
        ..Filter::default()
    };
    let stop = super::interrupt_flag();
    let mut driver = Driver::new(super::client_config(), super::endpoint(&settings), stop);
    let auth = filter.auth(1, settings.token.as_deref());
    let started = Instant::now();
    if let Err(err) = driver.client().connect(started, "/", Some(auth)) {
        eprintln!("{binary} check: {err}");
        return 1;
    }
    let mut check = Check::new(&settings, session, filter, started);
    let end = started + args.duration;
    let mut next_tick = started + EVERY / 2;
    let mut interrupted = false;
    while Instant::now() < end + GRACE {
        let now = Instant::now();
        if now >= end && check.all_arrived() {
            break;
        }
        if now >= next_tick && now < end {
            next_tick += EVERY;
            check.tick(&mut driver, now);
            continue;
        }
        let until = if now < end {
            next_tick.min(end)
        } else {
            end + GRACE
        };
        match driver.next(until) {
            Step::Interrupted => {
                interrupted = true;
                break;
            }
            Step::Idle => {}
            Step::Event(event) => {
                if let Err(message) = check.on_event(&mut driver, event) {
                    eprintln!("{binary} check: {message}");
                    driver.close();
                    return 1;
                }
            }
        }
    }
    let finished = Instant::now().min(end);
    let measures = check.finish(finished);
    driver.close();
    if args.json {
        println!("{}", json_report(&address, &measures, args.min_score));
    } else {
        print!("{}", text_report(&address, &measures, args.min_score));
    }
    let (score, _) = score(&measures);
    if interrupted || score >= args.min_score {
        0
    } else {
        1
    }
}

struct Check {
    host: String,
    port: u16,
    token: Option<String>,
    session: String,
    feed: Feed,
    started: Instant,
    measures: Measures,
    /// Probe number → when it was posted (accepted), until it arrives.
    posted: BTreeMap<u64, Instant>,
    arrived: BTreeSet<u64>,
    live_seen: BTreeSet<u64>,
    next_probe: u64,
    /// Round trips awaited: ack id → when asked.
    pings: BTreeMap<u64, Instant>,
    history: Option<u64>,
    joined_since: Option<Instant>,
    lost_since: Option<Instant>,
    ever_joined: bool,
}

impl Check {
    fn new(settings: &Settings, session: String, filter: Filter, started: Instant) -> Self {
        Self {
            host: settings.host.clone(),
            port: settings.port,
            token: settings.token.clone(),
            session,
            feed: Feed::new(filter, 0),
            started,
            measures: Measures::default(),
            posted: BTreeMap::new(),
            arrived: BTreeSet::new(),
            live_seen: BTreeSet::new(),
            next_probe: 0,
            pings: BTreeMap::new(),
            history: None,
            joined_since: None,
            lost_since: None,
            ever_joined: false,
        }
    }

    fn all_arrived(&self) -> bool {
        self.posted.keys().all(|n| self.arrived.contains(n)) && !self.feed.is_filling()
    }

    /// Posts the next probe and, when joined, asks for a round trip.
    fn tick(&mut self, driver: &mut Driver, now: Instant) {
        if driver.client().is_connected("/") {
            let emit = Emit::new("history", &[br#"{"limit":1,"session":"-"}"#]);
            if let Ok(Some(id)) = driver.client().emit(now, "/", &emit, Some(ACK_TIMEOUT)) {
                self.pings.insert(id, now);
                self.measures.pings_sent += 1;
            }
        }
        let n = self.next_probe;
        self.next_probe += 1;
        let body = format!(
            r#"{{"id":"{}-{n}","type":"check","subtype":"probe","session_id":"{}","data":{{"n":{n}}}}}"#,
            self.session, self.session
        );
        let request = Request {
            method: "POST",
            path: "/api/events",
            body: Some(body.as_bytes()),
            token: self.token.as_deref(),
        };
        let posted_at = Instant::now();
        match client::send(&self.host, self.port, &request, posted_at + POST_TIMEOUT) {
            Ok(reply) if reply.status / 100 == 2 => {
                self.posted.insert(n, posted_at);
                self.measures.probes_posted += 1;
            }
            _ => self.measures.probes_unposted += 1,
        }
    }

    fn on_event(&mut self, driver: &mut Driver, event: ClientEvent) -> Result<(), String> {
        let now = Instant::now();
        let request = match event {
            ClientEvent::Pinged => {
                self.measures.heartbeats += 1;
                None
            }
            ClientEvent::Connected { recovered, .. } => {
                if self.ever_joined {
                    self.measures.reconnects += 1;
                    self.measures.recovered += u32::from(recovered);
                }
                if let Some(since) = self.lost_since.take() {
                    let outage = millis(now - since);
                    self.measures.longest_outage_ms = self.measures.longest_outage_ms.max(outage);
                }
                self.ever_joined = true;
                self.joined_since = Some(now);
                self.feed.on_connected(recovered)
            }
            ClientEvent::Disconnected { reason, .. } => {
                if let Some(since) = self.joined_since.take() {
                    self.measures.connected_ms += millis(now - since);
                }
                self.history = None;
                if !matches!(reason, DisconnectReason::Lost(_)) {
                    return Err("the relay closed the connection".to_owned());
                }
                self.measures.disconnects += 1;
                self.lost_since = Some(now);
                None
            }
            ClientEvent::ConnectError { data, .. } => {
                return Err(format!(
                    "the relay refused the connection: {}",
                    String::from_utf8_lossy(&data)
                ));
            }
            ClientEvent::Message { name, args, .. } => {
                let args: Vec<&RawValue> = serde_json::from_slice(&args).unwrap_or_default();
                match (name.as_str(), args.as_slice()) {
                    ("event_history", [page, ..]) => {
                        let (shown, request) = self.feed.on_event_history(page.get().as_bytes());
                        self.arrive(&shown, now, false);
                        request
                    }
                    ("claude_event", [event, offset, ..]) => {
                        let offset = serde_json::from_str::<String>(offset.get())
                            .ok()
                            .and_then(|o| o.parse().ok());
                        if let Some(offset) = offset {
                            if !self.live_seen.insert(offset) {
                                self.measures.probes_duplicated += 1;
                            }
                            let json = Bytes::copy_from_slice(event.get().as_bytes());
                            let shown = self.feed.on_live(json, offset);
                            self.arrive(&shown, now, true);
                        }
                        None
                    }
                    _ => None,
                }
            }
            ClientEvent::AckReceived { id, args, .. } => {
                if let Some(asked) = self.pings.remove(&id) {
                    self.measures.rtt_ms.push(millis(now - asked));
                    None
                } else if Some(id) == self.history {
                    self.history = None;
                    let args: Vec<&RawValue> = serde_json::from_slice(&args).unwrap_or_default();
                    let page = args.first().map_or(&b"{}"[..], |p| p.get().as_bytes());
                    let (shown, request) = self.feed.on_history_page(page);
                    self.arrive(&shown, now, false);
                    request
                } else {
                    None
                }
            }
            ClientEvent::AckTimedOut { id, .. } => {
                self.pings.remove(&id);
                if Some(id) == self.history {
                    self.history = None;
                    let connected = driver.client().is_connected("/");
                    self.feed.on_history_lost(connected)
                } else {
                    None
                }
            }
            ClientEvent::Lost { .. }
                if self.joined_since.is_none() && self.lost_since.is_none() =>
            {
                self.lost_since = Some(now);
                None
            }
            _ => None,
        };
        if let Some(HistoryRequest(query)) = request {
            let emit = Emit::new("history", &[&query]);
            self.history = driver
                .client()
                .emit(now, "/", &emit, Some(ACK_TIMEOUT))
                .ok()
                .flatten();
        }
        Ok(())
    }

    /// Probes the feed delivered (each once); `live` ones also time their delivery.
    fn arrive(&mut self, events: &[FeedEvent], now: Instant, live: bool) {
        for event in events {
            let Some(n) = probe_number(&event.json) else {
                continue;
            };
            let Some(&posted) = self.posted.get(&n) else {
                continue;
            };
            if self.arrived.insert(n) {
                self.measures.probes_received += 1;
                if live {
                    self.measures
                        .delivery_ms
                        .push(millis(now.saturating_duration_since(posted)));
                }
            }
        }
    }

    fn finish(mut self, now: Instant) -> Measures {
        if let Some(since) = self.joined_since.take() {
            self.measures.connected_ms += millis(now.saturating_duration_since(since));
        }
        self.measures.duration_ms = millis(now - self.started);
        // Round trips still awaited when the run ended were cut off, not unanswered.
        self.measures.pings_sent = self
            .measures
            .pings_sent
            .saturating_sub(u32::try_from(self.pings.len()).unwrap_or(u32::MAX));
        self.measures
    }
}

fn probe_number(json: &[u8]) -> Option<u64> {
    let value: serde_json::Value = serde_json::from_slice(json).ok()?;
    value.get("data")?.get("n")?.as_u64()
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}
