//! The core client and the relay on virtual time over the seeded lossy, delaying link: a
//! publisher posts events to the relay, the client follows them on `/` with the feed `iorelay
//! tail` uses, and the link breaks connections (and, for some seeds, the relay restarts from
//! its store while down for a while). Driven always to the earliest deadline.
//!
//! For every seed: each accepted event reaches the application exactly once, in offset order,
//! with no gap, whatever broke; the client reconnects (with its backoff) and asks to recover;
//! the run ends within a step bound (no livelock) and every wait had a deadline.

mod support;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use bytes::Bytes;
use iorelay_core::client::{
    Backoff, Client, ClientConfig, ClientEvent, ClientInput, ClientOutput, Method, Transports,
};
use iorelay_core::relay::event::StoredEvent;
use iorelay_core::terminal::{Feed, Filter};
use iorelay_core::{Body, Config, ConnId, Emit, Input, Output, Relay};
use support::link::{Delivery, Link, ToEngine};
use support::prng::Prng;
use support::scripted::ClientInput as Net;
use support::{get_request, head, ms, post_request, t0, ws_request};

const SEEDS: u64 = 150;
const EVENTS: u64 = 30;
const MAX_STEPS: u64 = 400_000;
const MAX_VIRTUAL_TIME: Duration = Duration::from_secs(180);
const PUBLISHER_CONNS: u64 = 1 << 40;
const ACK_TIMEOUT: Duration = Duration::from_secs(2);

fn relay_config() -> Config {
    Config {
        ping_interval: ms(500),
        ping_timeout: ms(400),
        upgrade_timeout: ms(1000),
        connect_timeout: ms(1000),
        ..Config::default()
    }
}

fn client_config(transports: Transports) -> ClientConfig {
    ClientConfig {
        transports,
        open_timeout: ms(2000),
        connect_timeout: ms(2000),
        upgrade_timeout: ms(1000),
        request_timeout: ms(2000),
        reconnect: Some(Backoff {
            min: ms(100),
            max: ms(1000),
            ..Backoff::default()
        }),
        ..ClientConfig::default()
    }
}

#[derive(Debug, Default)]
struct Summary {
    delivered: u64,
    reconnects: u32,
    recovered: u32,
    restarts: u32,
    breaks: u32,
}

struct World {
    seed: u64,
    relay: Relay,
    relay_next: Option<Instant>,
    store: Vec<StoredEvent>,
    down_until: Option<Instant>,
    restart_at: Option<Instant>,
    link: Link,
    client: Client,
    client_next: Option<Instant>,
    feed: Feed,
    pending_history: Option<u64>,
    t0: Instant,
    now: Instant,
    steps: u64,
    next_publish: Option<Instant>,
    published: u64,
    accepted: u64,
    publish_every: Duration,
    delivered: Vec<u64>,
    given: BTreeSet<ConnId>,
    summary: Summary,
    trace: Vec<String>,
}

impl World {
    fn new(seed: u64) -> Self {
        let t0 = t0();
        let mut rng = Prng::new(seed);
        let break_per_mille = [0, 5, 20, 50][(seed % 4) as usize];
        let link = Link::new(rng.next_u64(), 1, rng.range(5, 60), break_per_mille);
        let transports = [
            Transports::WebSocket,
            Transports::PollingThenUpgrade,
            Transports::Polling,
        ][(seed / 4 % 3) as usize];
        let mut relay_seed = [0u8; 32];
        relay_seed[..8].copy_from_slice(&seed.to_le_bytes());
        let mut client_seed = [1u8; 32];
        client_seed[..8].copy_from_slice(&seed.to_le_bytes());
        let publish_every = ms(rng.range(100, 600));
        let restart_at = (seed % 3 == 0)
            .then(|| t0 + ms(1000) + publish_every * rng.range(2, EVENTS - 2) as u32);
        let mut world = Self {
            seed,
            relay: Relay::new(relay_config(), t0, relay_seed),
            relay_next: None,
            store: Vec::new(),
            down_until: None,
            restart_at,
            link,
            client: Client::new(client_config(transports), t0, client_seed),
            client_next: None,
            feed: Feed::new(Filter::default(), 1000),
            pending_history: None,
            t0,
            now: t0,
            steps: 0,
            next_publish: Some(t0 + ms(1000)),
            published: 0,
            accepted: 0,
            publish_every,
            delivered: Vec::new(),
            given: BTreeSet::new(),
            summary: Summary {
                breaks: 0,
                ..Summary::default()
            },
            trace: Vec::new(),
        };
        let now = world.now;
        world
            .client
            .connect(now, "/", Some(Bytes::from_static(b"{}")))
            .expect("connect");
        world.drain_client();
        world
    }

    fn fail(&self, what: &str) -> ! {
        let tail = &self.trace[self.trace.len().saturating_sub(50)..];
        panic!(
            "seed {}: {what} at t0+{:?} after {} steps; delivered {:?}; last:\n{}",
            self.seed,
            self.now - self.t0,
            self.steps,
            self.delivered,
            tail.join("\n")
        );
    }

    fn note(&mut self, what: String) {
        let at = (self.now - self.t0).as_millis();
        self.trace.push(format!("{at:>6} ms {what}"));
    }

    fn done(&self) -> bool {
        self.next_publish.is_none()
            && self.down_until.is_none()
            && self.delivered.len() as u64 == self.accepted
            && !self.feed.is_filling()
    }

    fn run(mut self) -> Summary {
        while !self.done() {
            self.steps += 1;
            if self.steps > MAX_STEPS {
                self.fail("livelock: step bound reached");
            }
            if self.now - self.t0 > MAX_VIRTUAL_TIME {
                self.fail("not everything arrived");
            }
            if !self.client.is_closed() && self.client_next.is_none() {
                self.fail("the client has no deadline");
            }
            let candidates = [
                self.link.next_at(),
                self.client_next,
                self.relay_next,
                self.next_publish,
                self.restart_at,
                self.down_until,
            ];
            let Some(next) = candidates.into_iter().flatten().min() else {
                self.fail("nothing left to do");
            };
            if next < self.now {
                self.fail("a deadline in the past");
            }
            self.now = next;
            if self.restart_at == Some(next) {
                self.stop_relay();
            } else if self.down_until == Some(next) {
                self.start_relay();
            } else if self.link.next_at() == Some(next) {
                let delivery = self.link.pop_due(next).expect("due");
                self.deliver(delivery);
            } else if self.next_publish == Some(next) {
                self.publish();
            } else if self.client_next == Some(next) {
                self.client_input(ClientInput::Timeout(next));
            } else {
                self.relay_input(Input::Timeout(next));
            }
        }
        self.summary.delivered = self.delivered.len() as u64;
        self.summary.breaks = self.link.breaks;
        self.summary
    }

    fn publish(&mut self) {
        self.published += 1;
        let k = self.published;
        self.next_publish = (k < EVENTS).then(|| self.now + self.publish_every);
        if self.down_until.is_some() {
            self.note(format!("publish e{k}: relay down"));
            return;
        }
        let body = format!(r#"{{"id":"e{k}","type":"test","subtype":"tick","session_id":"s"}}"#);
        let conn = ConnId(PUBLISHER_CONNS + k);
        self.given.insert(conn);
        let now = self.now;
        self.relay_input(Input::Http {
            now,
            conn,
            peer: None,
            head: head(&post_request("/api/events", body.len())),
            body: Body::Complete(Bytes::from(body)),
        });
    }

    fn stop_relay(&mut self) {
        self.restart_at = None;
        self.summary.restarts += 1;
        let mut rng = Prng::new(self.seed ^ 0xdead);
        self.down_until = Some(self.now + ms(rng.range(500, 3000)));
        self.note("relay stops".to_owned());
        let now = self.now;
        let conns: Vec<ConnId> = self
            .given
            .iter()
            .copied()
            .filter(|c| c.0 < PUBLISHER_CONNS)
            .collect();
        for conn in conns {
            self.link.server_closes(now, conn);
        }
        self.given.clear();
        self.relay_next = None;
    }

    fn start_relay(&mut self) {
        self.down_until = None;
        let mut seed = [2u8; 32];
        seed[..8].copy_from_slice(&self.seed.to_le_bytes());
        self.relay = Relay::new(relay_config(), self.now, seed);
        let skipped = self.relay.restore(self.store.clone(), None);
        assert!(skipped.is_empty());
        self.note("relay starts".to_owned());
        let now = self.now;
        self.relay_input(Input::Timeout(now));
    }

    fn deliver(&mut self, delivery: Delivery) {
        self.note(format!("{delivery:?}"));
        let now = self.now;
        match delivery {
            Delivery::ToEngine { conn, message } => {
                if self.down_until.is_some() {
                    if !matches!(message, ToEngine::Closed) {
                        self.link.server_closes(now, conn);
                    }
                    return;
                }
                match message {
                    ToEngine::Http { request, body } => {
                        self.given.insert(conn);
                        self.relay_input(Input::Http {
                            now,
                            conn,
                            peer: None,
                            head: head(&request),
                            body: Body::Complete(body),
                        });
                    }
                    ToEngine::Ws(frame) => self.relay_input(Input::WsMessage { now, conn, frame }),
                    ToEngine::Closed => {
                        if self.given.contains(&conn) {
                            self.relay_input(Input::ConnClosed { now, conn });
                        }
                    }
                }
            }
            Delivery::ToClient(input) => {
                let input = match input {
                    Net::HttpReply { conn, status, body } => ClientInput::HttpReply {
                        now,
                        conn,
                        status,
                        body,
                    },
                    Net::WsAccepted { conn } => ClientInput::WsOpened { now, conn },
                    Net::WsFrame { conn, frame } => ClientInput::WsMessage { now, conn, frame },
                    Net::WsClosed { conn } | Net::ConnBroken { conn } => {
                        ClientInput::ConnClosed { now, conn }
                    }
                };
                self.client_input(input);
            }
        }
    }

    fn relay_input(&mut self, input: Input) {
        if let Err(err) = self.relay.handle_input(input) {
            self.fail(&format!("the driver misused the relay: {err}"));
        }
        let now = self.now;
        'drain: loop {
            // A broadcast as the messages each of its connections gets.
            for output in self.relay.poll_output().per_connection() {
                match output {
                    Output::Timeout(next) => {
                        self.relay_next = next;
                        break 'drain;
                    }
                    Output::HttpReply { conn, response } if conn.0 >= PUBLISHER_CONNS => {
                        if response.status / 100 == 2 {
                            self.accepted += 1;
                        } else {
                            self.fail(&format!("publish refused: {response:?}"));
                        }
                    }
                    Output::HttpReply { conn, response } => self.link.engine_sends(
                        now,
                        Net::HttpReply {
                            conn,
                            status: response.status,
                            body: response.body,
                        },
                    ),
                    Output::WsAccept { conn } => {
                        self.link.engine_sends(now, Net::WsAccepted { conn })
                    }
                    Output::WsSend { conn, frame } => {
                        self.link.engine_sends(now, Net::WsFrame { conn, frame });
                    }
                    Output::WsClose { conn, .. } => self.link.server_closes(now, conn),
                    Output::Persist(event) => self.store.push(event),
                    _ => {}
                }
            }
        }
    }

    fn client_input(&mut self, input: ClientInput) {
        if let Err(err) = self.client.handle_input(input) {
            self.fail(&format!("the driver misused the client: {err}"));
        }
        self.drain_client();
    }

    fn drain_client(&mut self) {
        let now = self.now;
        let mut events = Vec::new();
        loop {
            match self.client.poll_output() {
                ClientOutput::Timeout(next) => {
                    self.client_next = next;
                    if events.is_empty() {
                        break;
                    }
                    for event in std::mem::take(&mut events) {
                        self.on_event(event);
                    }
                }
                ClientOutput::HttpRequest { conn, request } => {
                    let head = match request.method {
                        Method::Get => get_request(&request.target),
                        Method::Post => post_request(&request.target, request.body.len()),
                    };
                    self.link.client_sends(
                        now,
                        conn,
                        ToEngine::Http {
                            request: head,
                            body: request.body,
                        },
                    );
                }
                ClientOutput::WsOpen { conn, target } => self.link.client_sends(
                    now,
                    conn,
                    ToEngine::Http {
                        request: ws_request(&target),
                        body: Bytes::new(),
                    },
                ),
                ClientOutput::WsSend { conn, frame } => {
                    self.link.client_sends(now, conn, ToEngine::Ws(frame));
                }
                ClientOutput::Close { conn } => self.link.client_closes(now, conn),
                ClientOutput::Event(event) => events.push(event),
                other => self.fail(&format!("unexpected client output {other:?}")),
            }
        }
    }

    fn on_event(&mut self, event: ClientEvent) {
        self.note(format!("client event {event:?}"));
        let request = match event {
            ClientEvent::Connected { recovered, .. } => {
                self.summary.reconnects += 1;
                self.summary.recovered += u32::from(recovered);
                self.feed.on_connected(recovered)
            }
            ClientEvent::Disconnected { .. } => {
                self.pending_history = None;
                None
            }
            ClientEvent::Message { name, args, .. } => {
                let args: Vec<&serde_json::value::RawValue> =
                    serde_json::from_slice(&args).unwrap_or_default();
                match (name.as_str(), args.as_slice()) {
                    ("event_history", [page, ..]) => {
                        let (shown, request) = self.feed.on_event_history(page.get().as_bytes());
                        self.show(&shown);
                        request
                    }
                    ("claude_event", [event, offset]) => {
                        let offset: String = serde_json::from_str(offset.get()).expect("offset");
                        let json = Bytes::copy_from_slice(event.get().as_bytes());
                        let shown = self.feed.on_live(json, offset.parse().expect("number"));
                        self.show(&shown);
                        None
                    }
                    _ => self.fail(&format!("unexpected event {name}")),
                }
            }
            ClientEvent::AckReceived { id, args, .. } if Some(id) == self.pending_history => {
                self.pending_history = None;
                let args: Vec<&serde_json::value::RawValue> =
                    serde_json::from_slice(&args).unwrap_or_default();
                let page = args.first().map_or(&b"{}"[..], |p| p.get().as_bytes());
                let (shown, request) = self.feed.on_history_page(page);
                self.show(&shown);
                request
            }
            ClientEvent::AckTimedOut { id, .. } if Some(id) == self.pending_history => {
                self.pending_history = None;
                self.feed.on_history_lost(self.client.is_connected("/"))
            }
            ClientEvent::GaveUp => self.fail("the client gave up"),
            _ => None,
        };
        if let Some(request) = request {
            let now = self.now;
            let emit = Emit::new("history", &[&request.0]);
            match self.client.emit(now, "/", &emit, Some(ACK_TIMEOUT)) {
                Ok(id) => self.pending_history = id,
                Err(err) => self.fail(&format!("history emit: {err}")),
            }
            self.drain_client();
        }
    }

    fn show(&mut self, shown: &[iorelay_core::terminal::FeedEvent]) {
        for event in shown {
            let expected = self.delivered.len() as u64 + 1;
            if event.offset != expected {
                self.fail(&format!(
                    "offset {} shown where {expected} was due: a gap or a duplicate",
                    event.offset
                ));
            }
            self.delivered.push(event.offset);
        }
    }
}

#[test]
fn every_seed_shows_each_accepted_event_once_in_order_across_breaks_and_restarts() {
    let mut total = Summary::default();
    for seed in 0..SEEDS {
        let summary = World::new(seed).run();
        total.delivered += summary.delivered;
        total.reconnects += summary.reconnects;
        total.recovered += summary.recovered;
        total.restarts += summary.restarts;
        total.breaks += summary.breaks;
    }
    assert!(total.breaks > 0, "the link never broke anything: {total:?}");
    assert!(total.restarts > 0, "{total:?}");
    assert!(
        total.recovered > 0,
        "no reconnect was ever recovered: {total:?}"
    );
    assert!(total.reconnects > SEEDS as u32, "{total:?}");
}

#[test]
fn the_same_seed_gives_the_same_run() {
    let a = World::new(5).run();
    let b = World::new(5).run();
    assert_eq!(format!("{a:?}"), format!("{b:?}"));
}
