//! Cluster mode on virtual time: relays sharing a simulated Redis stream.

mod support;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use iorelay_core::cluster::entry::{self, Fields};
use iorelay_core::cluster::outbox::{KeptEntry, OutboxChange};
use iorelay_core::cluster::{Command, RawEntry, Report, StreamId};
use iorelay_core::relay::event::StoredEvent;
use iorelay_core::relay::ingest::Endpoint;
use iorelay_core::{Config, Input, Output, Relay};

/// A Redis stream that is up or down; ids are `ms-seq` from a virtual millisecond clock.
/// An append claims its event id first, as the runtimes' script does.
#[derive(Default)]
struct Stream {
    entries: Vec<(StreamId, Fields)>,
    claims: HashSet<String>,
    down: bool,
    /// A read with nothing new answers at once (its block time passed) instead of blocking.
    answer_empty_reads: bool,
    ms: u64,
}

impl Stream {
    fn add(&mut self, fields: Fields) -> StreamId {
        self.ms += 1;
        let id = StreamId {
            ms: 1_700_000_000_000 + self.ms,
            seq: 0,
        };
        self.entries.push((id, fields));
        id
    }

    /// Runs a command; `None` when it would block (a read with nothing new).
    fn run(&mut self, command: &Command) -> Option<Report> {
        let failed = |epoch| Report::Failed {
            epoch,
            error: "connection refused".to_owned(),
        };
        Some(match command {
            Command::Connect { epoch } if self.down => failed(*epoch),
            Command::Connect { epoch } => Report::Connected {
                epoch: *epoch,
                newest: self.entries.last().map(|(id, _)| id.to_string()),
            },
            Command::Append { epoch, .. } if self.down => failed(*epoch),
            Command::Append { epoch, entries } => Report::Appended {
                epoch: *epoch,
                ids: entries
                    .iter()
                    .map(|o| {
                        self.claims
                            .insert(o.event_id.clone())
                            .then(|| self.add(o.fields.clone()).to_string())
                    })
                    .collect(),
            },
            Command::Read { epoch, .. } if self.down => failed(*epoch),
            Command::Read { epoch, after } => {
                let entries: Vec<RawEntry> = self
                    .entries
                    .iter()
                    .filter(|(id, _)| id > after)
                    .map(|(id, fields)| RawEntry {
                        id: id.to_string(),
                        fields: fields.clone(),
                    })
                    .collect();
                if entries.is_empty() && !std::mem::take(&mut self.answer_empty_reads) {
                    return None;
                }
                Report::Read {
                    epoch: *epoch,
                    entries,
                }
            }
            _ => return None,
        })
    }
}

/// A relay with its pending commands, what it delivered (persisted) so far, and its
/// store's outbox.
struct Node {
    relay: Relay,
    pending: Vec<Command>,
    delivered: Vec<StoredEvent>,
    outbox: Vec<KeptEntry>,
    deadline: Option<Instant>,
}

fn config() -> Config {
    let mut config = Config::default();
    config.relay.cluster.redis_url = Some("redis://127.0.0.1:1".to_owned());
    config
}

impl Node {
    fn new(t0: Instant, seed: u8) -> Self {
        let mut node = Self {
            relay: Relay::new(config(), t0, [seed; 32]),
            pending: Vec::new(),
            delivered: Vec::new(),
            outbox: Vec::new(),
            deadline: None,
        };
        node.drain();
        node.tick(t0);
        node
    }

    /// The node started again on what its store kept (`kill -9`: nothing else survives).
    fn restarted(self, now: Instant, seed: u8) -> Self {
        let mut relay = Relay::new(config(), now, [seed; 32]);
        let last = self.delivered.last().map(|e| e.offset);
        assert!(relay.restore(self.delivered.clone(), last).is_empty());
        relay.restore_outbox(self.outbox.clone());
        let mut node = Self {
            relay,
            pending: Vec::new(),
            delivered: self.delivered,
            outbox: self.outbox,
            deadline: None,
        };
        node.drain();
        node.tick(now);
        node
    }

    fn drain(&mut self) {
        loop {
            match self.relay.poll_output() {
                Output::Cluster(command) => self.pending.push(command),
                Output::Persist(event) => self.delivered.push(event),
                Output::Outbox(OutboxChange::Keep(kept)) => self.outbox.extend(kept),
                Output::Outbox(OutboxChange::Forget(ids)) => {
                    self.outbox.retain(|k| !ids.contains(&k.event_id));
                }
                Output::Timeout(at) => {
                    self.deadline = at;
                    return;
                }
                _ => {}
            }
        }
    }

    fn post(&mut self, now: Instant, body: &str) {
        self.relay
            .ingest_body(now, Endpoint::Events, body.as_bytes())
            .unwrap();
        self.drain();
    }

    /// Runs every pending command that answers now against `stream`; true if any did.
    fn step(&mut self, now: Instant, stream: &mut Stream) -> bool {
        let mut progressed = false;
        let mut blocked = Vec::new();
        for command in std::mem::take(&mut self.pending) {
            match stream.run(&command) {
                Some(report) => {
                    progressed = true;
                    self.relay
                        .handle_input(Input::Cluster { now, report })
                        .unwrap();
                    self.drain();
                }
                None => blocked.push(command),
            }
        }
        self.pending.extend(blocked);
        progressed
    }

    fn tick(&mut self, now: Instant) {
        if self.deadline.is_some_and(|at| at <= now) {
            self.relay.handle_input(Input::Timeout(now)).unwrap();
            self.drain();
        }
    }

    fn ids(&self) -> Vec<String> {
        self.delivered.iter().map(|e| e.id.clone()).collect()
    }
}

/// Lets every node run its commands against `stream` until nothing moves (bounded).
fn settle(nodes: &mut [&mut Node], now: Instant, stream: &mut Stream) {
    for _ in 0..100 {
        let mut moved = false;
        for node in nodes.iter_mut() {
            moved |= node.step(now, stream);
        }
        if !moved {
            return;
        }
    }
    panic!("the cluster did not settle");
}

/// Redis goes away at `t0`; returns the instant both nodes have noticed (their blocked reads
/// timed out).
fn outage(a: &mut Node, b: &mut Node, t0: Instant, stream: &mut Stream) -> Instant {
    stream.down = true;
    settle(&mut [&mut *a, &mut *b], t0, stream);
    let t1 = t0 + Duration::from_secs(9);
    a.tick(t1);
    b.tick(t1);
    settle(&mut [&mut *a, &mut *b], t1, stream);
    t1
}

/// Ten seconds of both nodes' timers from `from`, every 500 ms, with the stream answering.
fn run_for_10s(a: &mut Node, b: &mut Node, from: Instant, stream: &mut Stream) {
    let mut now = from;
    for _ in 0..20 {
        now += Duration::from_millis(500);
        a.tick(now);
        b.tick(now);
        settle(&mut [&mut *a, &mut *b], now, stream);
    }
}

fn json(event: &StoredEvent) -> serde_json::Value {
    serde_json::from_slice(&event.json).unwrap()
}

#[test]
fn an_event_posted_to_one_node_reaches_every_node_once_with_the_entry_id_as_offset() {
    let t0 = support::t0();
    let mut stream = Stream::default();
    let (mut a, mut b) = (Node::new(t0, 1), Node::new(t0, 2));
    settle(&mut [&mut a, &mut b], t0, &mut stream);
    a.post(t0, r#"{"id":"e1","type":"hook","subtype":"stop"}"#);
    assert!(a.delivered.is_empty(), "it waits for the stream");
    settle(&mut [&mut a, &mut b], t0, &mut stream);
    assert_eq!(
        (a.ids(), b.ids()),
        (vec!["e1".to_owned()], vec!["e1".to_owned()])
    );
    let expected = StreamId::parse("1700000000001-0").unwrap();
    assert_eq!(stream.entries[0].0, expected);
    for node in [&a, &b] {
        let event = json(&node.delivered[0]);
        assert_eq!(event["offset"], expected.to_string());
        assert_eq!(event["id"], "e1");
        assert_eq!(node.delivered[0].offset, expected.to_offset().unwrap());
    }
    let entry = entry::decode(&stream.entries[0].1, 1 << 20).unwrap();
    assert_eq!((entry.nsp.as_str(), entry.kind), ("/", 3));
    assert_eq!(entry.broadcast.unwrap().name, "claude_event");
}

#[test]
fn the_same_id_posted_to_two_nodes_is_delivered_once_everywhere() {
    let t0 = support::t0();
    let mut stream = Stream::default();
    let (mut a, mut b) = (Node::new(t0, 1), Node::new(t0, 2));
    settle(&mut [&mut a, &mut b], t0, &mut stream);
    a.post(t0, r#"{"id":"twice","type":"t"}"#);
    b.post(t0, r#"{"id":"twice","type":"t"}"#);
    settle(&mut [&mut a, &mut b], t0, &mut stream);
    assert_eq!(
        stream.entries.len(),
        1,
        "the id was claimed once: one entry"
    );
    assert_eq!(a.ids(), ["twice"]);
    assert_eq!(
        b.ids(),
        ["twice"],
        "the node whose append was refused delivers the entry"
    );
    assert_eq!(a.delivered[0].offset, b.delivered[0].offset);
}

#[test]
fn an_entry_written_by_a_node_server_reaches_the_relays_clients() {
    let t0 = support::t0();
    let mut stream = Stream::default();
    let mut a = Node::new(t0, 1);
    settle(&mut [&mut a], t0, &mut stream);
    stream.add(entry::broadcast_fields(
        "node-js",
        "/",
        "claude_event",
        br#"{"id":"from-node","type":"note"}"#,
    ));
    stream.add(vec![
        ("uid".to_owned(), b"node-js".to_vec()),
        ("nsp".to_owned(), b"/".to_vec()),
        ("type".to_owned(), b"2".to_vec()),
    ]);
    settle(&mut [&mut a], t0, &mut stream);
    assert_eq!(a.ids(), ["from-node"]);
    let health = a.relay.stats();
    assert_eq!(health.events_in, 1);
}

#[test]
fn during_an_outage_events_reach_local_clients_and_the_others_get_them_once_afterwards() {
    let t0 = support::t0();
    let mut stream = Stream::default();
    let (mut a, mut b) = (Node::new(t0, 1), Node::new(t0, 2));
    settle(&mut [&mut a, &mut b], t0, &mut stream);
    a.post(t0, r#"{"id":"before","type":"t"}"#);
    settle(&mut [&mut a, &mut b], t0, &mut stream);

    let t1 = outage(&mut a, &mut b, t0, &mut stream);
    a.post(t1, r#"[{"id":"out1","type":"t"},{"id":"out2","type":"t"}]"#);
    assert_eq!(
        a.ids(),
        ["before", "out1", "out2"],
        "local clients get them at once"
    );
    assert!(b.ids() == ["before"]);

    stream.down = false;
    run_for_10s(&mut a, &mut b, t1, &mut stream);
    assert_eq!(a.ids(), ["before", "out1", "out2"], "nothing twice here");
    assert_eq!(
        b.ids(),
        ["before", "out1", "out2"],
        "in order, once, over there"
    );
    let offsets: Vec<u64> = b.delivered.iter().map(|e| e.offset).collect();
    assert!(offsets.windows(2).all(|w| w[0] < w[1]));
}

#[test]
fn events_appended_but_not_yet_read_back_when_the_link_drops_reach_local_clients() {
    let t0 = support::t0();
    let mut stream = Stream::default();
    let mut a = Node::new(t0, 1);
    settle(&mut [&mut a], t0, &mut stream);
    a.post(t0, r#"{"id":"e1","type":"t"}"#);
    assert!(a.ids().is_empty());
    a.relay
        .handle_input(Input::Cluster {
            now: t0,
            report: Report::Failed {
                epoch: 1,
                error: "reset".to_owned(),
            },
        })
        .unwrap();
    a.drain();
    assert_eq!(a.ids(), ["e1"]);
}

#[test]
fn a_node_killed_during_an_outage_appends_what_it_kept_after_its_restart() {
    let t0 = support::t0();
    let mut stream = Stream::default();
    let (mut a, mut b) = (Node::new(t0, 1), Node::new(t0, 2));
    settle(&mut [&mut a, &mut b], t0, &mut stream);
    let t1 = outage(&mut a, &mut b, t0, &mut stream);
    a.post(t1, r#"[{"id":"k1","type":"t"},{"id":"k2","type":"t"}]"#);
    assert_eq!(a.ids(), ["k1", "k2"]);
    let kept: Vec<&str> = a.outbox.iter().map(|k| k.event_id.as_str()).collect();
    assert_eq!(kept, ["k1", "k2"], "the store holds what waits for Redis");

    let t2 = t1 + Duration::from_secs(1);
    let mut a = a.restarted(t2, 3);
    stream.down = false;
    run_for_10s(&mut a, &mut b, t2, &mut stream);
    assert_eq!(
        b.ids(),
        ["k1", "k2"],
        "the other node gets them once, in order"
    );
    assert_eq!(a.ids(), ["k1", "k2"], "nothing twice on the restarted node");
    assert!(a.outbox.is_empty(), "appended, so forgotten");
    assert_eq!(stream.entries.len(), 2);
}

#[test]
fn an_event_whose_entry_this_node_will_never_read_is_delivered_once_the_stream_is_read_through() {
    let t0 = support::t0();
    let mut stream = Stream::default();
    let mut a = Node::new(t0, 1);
    settle(&mut [&mut a], t0, &mut stream);
    a.post(t0, r#"{"id":"early","type":"t"}"#);
    settle(&mut [&mut a], t0, &mut stream);
    // B joins after the entry: it starts reading at the stream's end.
    let mut b = Node::new(t0, 2);
    settle(&mut [&mut a, &mut b], t0, &mut stream);
    b.post(t0, r#"{"id":"early","type":"t"}"#);
    settle(&mut [&mut a, &mut b], t0, &mut stream);
    assert!(
        b.ids().is_empty(),
        "claimed elsewhere: it waits for that entry"
    );
    assert_eq!(stream.entries.len(), 1);
    stream.answer_empty_reads = true;
    settle(&mut [&mut b], t0, &mut stream);
    assert_eq!(
        b.ids(),
        ["early"],
        "read through without it: delivered here"
    );
}
