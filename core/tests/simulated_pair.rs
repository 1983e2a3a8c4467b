//! Scripted clients and the engine on virtual time over a seeded lossy, delaying link, driven
//! always to the earliest deadline (the engine's, the link's next delivery, a client timer).
//!
//! For every seed: each client either receives everything it expected (all its events acked,
//! all server events in order) or observes a clean close; the engine opens and frees each
//! session exactly once, resolves each server ack exactly once, never addresses a connection
//! it was not given, always has a deadline while it has sessions, and the run ends (no
//! livelock) within a step bound.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use bytes::Bytes;
use iorelay_core::{Body, Config, ConnId, Emit, Engine, Event, Input, Output, SessionId, SocketId};
use support::link::{Delivery, Link, ToEngine};
use support::prng::Prng;
use support::scripted::{ClientAction, ClientInput, Phase, Plan, ScriptedClient};
use support::{head, ms, output_conn, t0};

const SEEDS: u64 = 200;
const CLIENTS: usize = 2;
const CONNS_PER_CLIENT: u64 = 1_000_000;
const MAX_STEPS: u64 = 200_000;
const MAX_VIRTUAL_TIME: Duration = Duration::from_secs(120);
const SERVER_ACK_TIMEOUT: Duration = Duration::from_secs(2);
/// How many trace lines a failure shows.
const TRACE_TAIL: usize = 60;

fn sim_config() -> Config {
    Config {
        ping_interval: ms(500),
        ping_timeout: ms(400),
        upgrade_timeout: ms(1000),
        connect_timeout: ms(1000),
        attachment_timeout: ms(1000),
        // A settled run has no deadline left; parked sockets would keep one for minutes.
        recovery_window: None,
        ..Config::default()
    }
}

/// What one run came to.
#[derive(Debug, Default)]
struct Summary {
    completed: usize,
    closed: usize,
    breaks: u32,
    sessions: usize,
    upgraded: usize,
    close_reasons: Vec<String>,
}

#[derive(Debug, Default)]
struct SocketRecord {
    events: Vec<u32>,
    disconnected: bool,
}

struct World {
    seed: u64,
    engine: Engine,
    engine_next: Option<Instant>,
    link: Link,
    clients: Vec<ScriptedClient>,
    t0: Instant,
    now: Instant,
    steps: u64,
    given: BTreeSet<ConnId>,
    opened: BTreeSet<SessionId>,
    freed: BTreeSet<SessionId>,
    upgraded: usize,
    sockets: BTreeMap<SocketId, SocketRecord>,
    server_acks: BTreeMap<(SocketId, u64), u32>,
    resolved: BTreeSet<(SocketId, u64)>,
    trace: Vec<String>,
    lossless: bool,
}

impl World {
    fn new(seed: u64) -> Self {
        let t0 = t0();
        let mut rng = Prng::new(seed);
        let break_per_mille = [0, 5, 20, 60][(seed % 4) as usize];
        let max_delay = if rng.chance(250) {
            rng.range(100, 300)
        } else {
            rng.range(5, 80)
        };
        let link = Link::new(rng.next_u64(), 1, max_delay, break_per_mille);
        let mut engine_seed = [0u8; 32];
        engine_seed[..8].copy_from_slice(&seed.to_le_bytes());
        let mut clients = Vec::new();
        for i in 0..CLIENTS {
            let kind = rng.range(0, 2);
            let events = rng.range(1, 10) as u32;
            let freeze_after = rng
                .chance(200)
                .then(|| rng.range(0, u64::from(events)) as u32);
            let plan = Plan {
                websocket_only: kind == 2,
                upgrade: kind == 1,
                events,
                freeze_after,
            };
            let base = (i as u64 + 1) * CONNS_PER_CLIENT;
            clients.push(ScriptedClient::new(plan, rng.next_u64(), base, t0));
        }
        let mut world = Self {
            seed,
            engine: Engine::new(sim_config(), t0, engine_seed),
            engine_next: None,
            link,
            clients,
            t0,
            now: t0,
            steps: 0,
            given: BTreeSet::new(),
            opened: BTreeSet::new(),
            freed: BTreeSet::new(),
            upgraded: 0,
            sockets: BTreeMap::new(),
            server_acks: BTreeMap::new(),
            resolved: BTreeSet::new(),
            trace: Vec::new(),
            lossless: break_per_mille == 0 && max_delay < 100,
        };
        for i in 0..CLIENTS {
            world.pump_client(i);
        }
        world
    }

    fn fail(&self, what: &str) -> ! {
        let tail = &self.trace[self.trace.len().saturating_sub(TRACE_TAIL)..];
        panic!(
            "seed {}: {what} at t0+{:?} after {} steps; last deliveries:\n{}",
            self.seed,
            self.now - self.t0,
            self.steps,
            tail.join("\n")
        );
    }

    fn note(&mut self, what: std::fmt::Arguments<'_>) {
        let at = (self.now - self.t0).as_millis();
        self.trace.push(format!("{at:>6} ms {what}"));
    }

    /// Runs until nothing is in flight, no client has a timer and the engine has no deadline.
    fn run(mut self) -> Summary {
        loop {
            self.steps += 1;
            if self.steps > MAX_STEPS {
                self.fail("livelock: step bound reached");
            }
            if self.now - self.t0 > MAX_VIRTUAL_TIME {
                self.fail("the run never settles");
            }
            let link_at = self.link.next_at();
            let client_at = self.clients.iter().filter_map(|c| c.next_timer()).min();
            let Some(next) = [link_at, client_at, self.engine_next]
                .into_iter()
                .flatten()
                .min()
            else {
                break;
            };
            if next < self.now {
                self.fail("a deadline in the past");
            }
            self.now = next;
            if link_at == Some(next) {
                let delivery = self.link.pop_due(next).expect("due");
                self.deliver(delivery);
            } else if client_at == Some(next) {
                let i = (0..CLIENTS)
                    .find(|&i| self.clients[i].next_timer() == Some(next))
                    .expect("a client is due");
                self.clients[i].handle_timeout(next);
                self.pump_client(i);
            } else {
                self.note(format_args!("engine timeout"));
                self.engine_input(Input::Timeout(next));
            }
        }
        self.check_end()
    }

    fn deliver(&mut self, delivery: Delivery) {
        self.note(format_args!("{delivery:?}"));
        let now = self.now;
        match delivery {
            Delivery::ToEngine { conn, message } => match message {
                ToEngine::Http { request, body } => {
                    self.given.insert(conn);
                    self.engine_input(Input::Http {
                        now,
                        conn,
                        peer: None,
                        head: head(&request),
                        body: Body::Complete(body),
                    });
                }
                ToEngine::Ws(frame) => self.engine_input(Input::WsMessage { now, conn, frame }),
                ToEngine::Closed => {
                    if self.given.contains(&conn) {
                        self.engine_input(Input::ConnClosed { now, conn });
                    }
                }
            },
            Delivery::ToClient(input) => {
                let i = client_of(input.conn());
                self.clients[i].handle_input(now, input);
                self.pump_client(i);
            }
        }
    }

    fn pump_client(&mut self, i: usize) {
        let now = self.now;
        while let Some(action) = self.clients[i].poll_action() {
            match action {
                ClientAction::Http {
                    conn,
                    request,
                    body,
                } => self
                    .link
                    .client_sends(now, conn, ToEngine::Http { request, body }),
                ClientAction::WsSend { conn, frame } => {
                    self.link.client_sends(now, conn, ToEngine::Ws(frame));
                }
                ClientAction::Close { conn } => self.link.client_closes(now, conn),
            }
        }
    }

    fn engine_input(&mut self, input: Input) {
        if let Err(err) = self.engine.handle_input(input) {
            self.fail(&format!("the driver misused the engine: {err}"));
        }
        self.drain();
    }

    /// Drains the engine, routes what it sent, and lets the application react to its events
    /// (which may produce more output) until it is quiet.
    fn drain(&mut self) {
        let mut events = Vec::new();
        loop {
            match self.engine.poll_output() {
                Output::Timeout(next) => {
                    self.engine_next = next;
                    let Some(event) = (!events.is_empty()).then(|| events.remove(0)) else {
                        break;
                    };
                    self.on_event(event);
                }
                Output::Event(event) => events.push(event),
                output => {
                    for output in output.per_connection() {
                        self.note(format_args!("engine: {output:?}"));
                        self.route(output);
                    }
                }
            }
        }
        self.check_deadline();
    }

    fn route(&mut self, output: Output) {
        let now = self.now;
        if let Some(conn) = output_conn(&output) {
            if !self.given.contains(&conn) {
                self.fail(&format!("output to a connection never given: {output:?}"));
            }
        }
        match output {
            Output::HttpReply { conn, response } => self.link.engine_sends(
                now,
                ClientInput::HttpReply {
                    conn,
                    status: response.status,
                    body: response.body,
                },
            ),
            Output::WsAccept { conn } => {
                self.link
                    .engine_sends(now, ClientInput::WsAccepted { conn });
            }
            Output::WsSend { conn, frame } => {
                self.link
                    .engine_sends(now, ClientInput::WsFrame { conn, frame });
            }
            Output::WsClose { conn, .. } => self.link.server_closes(now, conn),
            other => self.fail(&format!("unexpected output {other:?}")),
        }
    }

    fn on_event(&mut self, event: Event) {
        self.note(format_args!("event: {event:?}"));
        match event {
            Event::SessionOpened { session, .. } => {
                if !self.opened.insert(session) {
                    self.fail(&format!("{session:?} opened twice"));
                }
            }
            Event::SessionClosed { session, .. } => {
                if !self.opened.contains(&session) || !self.freed.insert(session) {
                    self.fail(&format!("{session:?} freed twice or never opened"));
                }
            }
            Event::SessionUpgraded { .. } => self.upgraded += 1,
            Event::SocketConnected { socket, .. } => {
                if self
                    .sockets
                    .insert(socket, SocketRecord::default())
                    .is_some()
                {
                    self.fail(&format!("{socket:?} connected twice"));
                }
            }
            Event::SocketDisconnected { socket, .. } => {
                let record = self.sockets.get_mut(&socket);
                match record {
                    Some(record) if !record.disconnected => record.disconnected = true,
                    _ => self.fail(&format!("{socket:?} disconnected twice or never connected")),
                }
            }
            Event::Message {
                socket,
                name,
                args,
                attachments,
                ack,
            } => self.on_client_event(socket, &name, &args, &attachments, ack),
            Event::AckReceived {
                socket, ack, args, ..
            } => {
                let Some(&k) = self.server_acks.get(&(socket, ack)) else {
                    self.fail(&format!("ack {ack} of {socket:?} was never asked"));
                };
                if args.as_ref() != format!(r#"["got",{k}]"#).as_bytes() {
                    self.fail(&format!("ack {ack} carries {args:?}"));
                }
                self.resolve(socket, ack);
            }
            Event::AckTimedOut { socket, ack } => {
                if !self.server_acks.contains_key(&(socket, ack)) {
                    self.fail(&format!("ack {ack} of {socket:?} was never asked"));
                }
                self.resolve(socket, ack);
            }
            other => self.fail(&format!("unexpected event {other:?}")),
        }
    }

    fn resolve(&mut self, socket: SocketId, ack: u64) {
        if !self.resolved.insert((socket, ack)) {
            self.fail(&format!("ack {ack} of {socket:?} resolved twice"));
        }
    }

    /// The application: acknowledges client event `n` with `["ok",n]` and answers it with server
    /// event `n` (acked when even, with an attachment when `n % 4 == 2`).
    fn on_client_event(
        &mut self,
        socket: SocketId,
        name: &str,
        args: &Bytes,
        attachments: &[Bytes],
        ack: Option<u64>,
    ) {
        let parsed: serde_json::Value = serde_json::from_slice(args).unwrap_or_default();
        let Some(n) = parsed[0].as_u64().map(|n| n as u32) else {
            self.fail(&format!("event {name} with args {args:?}"));
        };
        let expected_attachments: Vec<Bytes> = if n % 3 == 1 {
            vec![Bytes::from(vec![n as u8])]
        } else {
            vec![]
        };
        let record = self.sockets.entry(socket).or_default();
        let in_order = record.events.len() == n as usize;
        record.events.push(n);
        if name != "ev" || attachments != expected_attachments || !in_order {
            self.fail(&format!(
                "client event {name} {n} {attachments:?} out of place"
            ));
        }
        let Some(ack) = ack else {
            self.fail("client event without ack id");
        };
        let now = self.now;
        let reply = Bytes::from(format!(r#"["ok",{n}]"#));
        if let Err(err) = self.engine.ack(now, socket, ack, reply, vec![]) {
            self.fail(&format!("ack: {err}"));
        }
        let number = n.to_string();
        let emit = if n % 4 == 2 {
            Emit::new(
                "s",
                &[number.as_bytes(), br#"{"_placeholder":true,"num":0}"#],
            )
            .with_attachments(vec![Bytes::from(vec![n as u8])])
        } else {
            Emit::new("s", &[number.as_bytes()])
        };
        let timeout = (n % 2 == 0).then_some(SERVER_ACK_TIMEOUT);
        match self.engine.emit_to(now, socket, &emit, timeout) {
            Ok(Some(id)) => {
                if self.server_acks.insert((socket, id), n).is_some() {
                    self.fail(&format!("ack id {id} of {socket:?} handed out twice"));
                }
            }
            Ok(None) => {}
            Err(err) => self.fail(&format!("emit_to: {err}")),
        }
    }

    fn check_deadline(&self) {
        if self.engine.session_count() > 0 {
            match self.engine_next {
                Some(at) if at >= self.now => {}
                other => self.fail(&format!("live sessions but deadline {other:?}")),
            }
        }
    }

    fn check_end(self) -> Summary {
        if self.engine.session_count() != 0 || self.engine.socket_count() != 0 {
            self.fail("the engine still holds sessions at the end");
        }
        if self.opened != self.freed {
            self.fail("a session was never freed");
        }
        let asked: BTreeSet<(SocketId, u64)> = self.server_acks.keys().copied().collect();
        if asked != self.resolved {
            self.fail("a server ack never resolved");
        }
        if self.sockets.values().any(|s| !s.disconnected) {
            self.fail("a socket never disconnected");
        }
        let mut summary = Summary {
            breaks: self.link.breaks,
            sessions: self.opened.len(),
            upgraded: self.upgraded,
            ..Summary::default()
        };
        for (i, client) in self.clients.iter().enumerate() {
            if !client.violations.is_empty() {
                self.fail(&format!("client {i}: {:?}", client.violations));
            }
            let everything: Vec<u32> = (0..client.plan().events).collect();
            match &client.phase {
                Phase::Completed => {
                    let mut acked = client.acked.clone();
                    acked.sort_unstable();
                    if acked != everything || client.server_events != everything {
                        self.fail(&format!("client {i} completed without everything"));
                    }
                    summary.completed += 1;
                }
                Phase::Closed(why) => {
                    if self.lossless && client.plan().freeze_after.is_none() {
                        self.fail(&format!("client {i} closed on a lossless link: {why}"));
                    }
                    summary.closed += 1;
                    summary
                        .close_reasons
                        .push(format!("client {i} {:?}: {why}", client.plan()));
                }
                other => self.fail(&format!(
                    "client {i} ended {other:?}: neither done nor closed"
                )),
            }
        }
        summary
    }
}

fn client_of(conn: ConnId) -> usize {
    (conn.0 / CONNS_PER_CLIENT - 1) as usize
}

#[test]
fn every_seed_ends_with_everything_delivered_or_a_clean_close() {
    let mut total = Summary::default();
    for seed in 0..SEEDS {
        let summary = World::new(seed).run();
        total.completed += summary.completed;
        total.closed += summary.closed;
        total.breaks += summary.breaks;
        total.sessions += summary.sessions;
        total.upgraded += summary.upgraded;
        total.close_reasons.extend(summary.close_reasons);
    }
    let clients = SEEDS as usize * CLIENTS;
    assert_eq!(total.completed + total.closed, clients);
    assert!(total.completed > clients / 2, "{total:?}");
    assert!(total.closed > 0, "the link never broke anything: {total:?}");
    assert!(total.upgraded > SEEDS as usize / 4, "{total:?}");
}

#[test]
fn the_same_seed_gives_the_same_run() {
    let a = World::new(7).run();
    let b = World::new(7).run();
    assert_eq!(format!("{a:?}"), format!("{b:?}"));
}
