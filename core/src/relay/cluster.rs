//! The relay in cluster mode: what an ingested event, an entry read from the stream and a
//! lost link mean for this node's clients.
//!
//! The rules (docs/cluster.md says them for users):
//! - An ingested event is appended to the stream, once, and reaches this node's clients when
//!   it is read back, like every other node's: all nodes deliver in stream order, and the
//!   offset a client sees is the entry's id, so it can recover on any node.
//! - Duplicates are dropped in stream order: the first entry with an event id is delivered,
//!   later ones (the same id posted to two nodes, a batch sent again after a lost answer)
//!   are not.
//! - While the link is down, an ingested event reaches this node's clients at once (with an
//!   offset after the last entry read) and waits in the outage buffer; appended later, it is
//!   dropped here as a duplicate when read back, and delivered once by every other node.
//!   Events waiting to be read back when the link drops are delivered the same way.
//! - A socket parked for recovery is also written to Redis, and a CONNECT naming a pid not
//!   parked here is held while the session is taken from Redis, so a client recovers on any
//!   node (offsets are stream ids, the same everywhere).

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use serde::Serialize;
use serde_json::value::RawValue;

use super::event::{RelayEvent, StoredEvent};
use super::ingest::Draft;
use super::route::default_name;
use super::subscription::Subscription;
use super::{Relay, Subscriber};
use crate::cluster::entry::{self, Fields};
use crate::cluster::outbox::KeptEntry;
use crate::cluster::session::StoredSession;
use crate::cluster::stream_id::offset_text;
use crate::cluster::{
    Cluster, ClusterConfig, ClusterStats, Command, LinkState, Outgoing, Report, StreamId,
};
use crate::io::{Output, SessionId};
use crate::rng::Rng;
use crate::socketio::namespace;
use crate::socketio::recovery::Parked;

/// A relay's membership of a cluster.
#[derive(Debug)]
pub(super) struct ClusterNode {
    link: Cluster,
    /// This node's id in the stream's `uid` field.
    uid: String,
    /// Own events appended (or about to be) and not yet read back: not yet delivered here.
    awaiting: VecDeque<Own>,
    awaiting_ids: HashSet<String>,
    /// Awaited events whose append was skipped because another entry has their id: they
    /// are delivered when that entry is read, or when a read finds the stream read through.
    claimed_elsewhere: HashSet<String>,
    /// CONNECTs waiting for a session lookup in Redis, by the lookup's token.
    lookups: HashMap<u64, Lookup>,
    next_token: u64,
}

/// A CONNECT whose pid is looked up in Redis.
#[derive(Debug)]
struct Lookup {
    session: SessionId,
    nsp: String,
    pid: String,
}

/// An ingested event waiting to come back through the stream.
#[derive(Debug)]
struct Own {
    id: String,
    json: Bytes,
    received_at_ms: u64,
}

/// `/health`'s `cluster` object.
#[derive(Debug, Serialize)]
pub(super) struct ClusterHealth<'a> {
    state: LinkState,
    stream: &'a str,
    uid: &'a str,
    last_id: Option<String>,
    lag_ms: u64,
    buffered: usize,
    awaiting: usize,
    #[serde(flatten)]
    stats: &'a ClusterStats,
}

impl ClusterNode {
    pub(super) fn new(config: ClusterConfig, now: Instant, rng: &mut Rng) -> Self {
        Self {
            link: Cluster::new(config, now),
            uid: rng.id(),
            awaiting: VecDeque::new(),
            awaiting_ids: HashSet::new(),
            claimed_elsewhere: HashSet::new(),
            lookups: HashMap::new(),
            next_token: 0,
        }
    }

    pub(super) fn link(&self) -> &Cluster {
        &self.link
    }

    /// Events ingested here and not yet read back from the stream.
    pub(super) fn awaiting(&self) -> usize {
        self.awaiting.len()
    }

    pub(super) fn health(&self) -> ClusterHealth<'_> {
        ClusterHealth {
            state: self.link.state(),
            stream: &self.link.config().stream,
            uid: &self.uid,
            last_id: self.link.cursor().map(|id| id.to_string()),
            lag_ms: self.link.lag_ms(),
            buffered: self.link.buffered(),
            awaiting: self.awaiting.len(),
            stats: self.link.stats(),
        }
    }
}

impl Relay {
    /// Cluster mode's accept: each new draft goes to the stream; it reaches this node's
    /// clients when read back, or now when the link is down.
    pub(super) fn accept_clustered(&mut self, drafts: Vec<Draft<'_>>) -> super::deliver::Accepted {
        let mut result = super::deliver::Accepted::default();
        for draft in drafts {
            let id = draft.id.clone().unwrap_or_else(|| self.rng.id());
            let Some(node) = self.cluster.as_ref() else {
                return result;
            };
            if self.dedup.contains(&id) || node.awaiting_ids.contains(&id) {
                result.duplicates += 1;
                self.stats.events_deduplicated += 1;
                continue;
            }
            result.accepted += 1;
            let event = self.canonical_json(id, &draft, None);
            let name = default_name(self.config.profile, &event);
            let Some(node) = self.cluster.as_mut() else {
                return result;
            };
            let fields = entry::broadcast_fields(&node.uid, "/", name, &event.json);
            node.link.append(
                self.now,
                Outgoing {
                    event_id: event.id.clone(),
                    fields,
                },
            );
            let own = Own {
                id: event.id,
                json: event.json,
                received_at_ms: event.received_at_ms,
            };
            if node.link.is_up() {
                node.awaiting_ids.insert(own.id.clone());
                node.awaiting.push_back(own);
                let cap = node.link.config().buffer_max.max(1);
                if node.awaiting.len() > cap {
                    self.deliver_awaiting(1);
                }
            } else {
                self.deliver_here(&own.id, &own.json, own.received_at_ms, None);
            }
        }
        self.flush_batches();
        result
    }

    /// Feeds the runtime's report on a cluster command.
    pub(super) fn on_cluster_report(&mut self, report: Report) {
        let now = self.now;
        if let Report::Session { token, value } = report {
            self.on_session_taken(token, value.as_deref());
            return;
        }
        let Some(node) = self.cluster.as_mut() else {
            return;
        };
        let reported = node.link.handle_report(now, report);
        node.claimed_elsewhere.extend(reported.claimed_elsewhere);
        if reported.went_down {
            self.deliver_awaiting(usize::MAX);
            self.end_lookups();
        }
        for (id, fields) in reported.entries {
            self.on_entry(id, &fields);
        }
        if reported.caught_up {
            self.deliver_claimed_elsewhere();
        }
        self.flush_batches();
    }

    /// The stream is read through and the entries that claimed these ids were not in it
    /// (read before this node started, or trimmed): deliver them here rather than never.
    fn deliver_claimed_elsewhere(&mut self) {
        let Some(node) = self.cluster.as_mut() else {
            return;
        };
        if node.claimed_elsewhere.is_empty() {
            return;
        }
        let claimed = std::mem::take(&mut node.claimed_elsewhere);
        let (late, still): (VecDeque<Own>, VecDeque<Own>) = std::mem::take(&mut node.awaiting)
            .into_iter()
            .partition(|own| claimed.contains(&own.id));
        node.awaiting = still;
        for own in &late {
            node.awaiting_ids.remove(&own.id);
        }
        for own in late {
            if self.dedup.contains(&own.id) {
                self.stats.events_deduplicated += 1;
            } else {
                self.deliver_here(&own.id, &own.json, own.received_at_ms, None);
            }
        }
    }

    /// What a previous run kept in the store's outbox: appended before anything new. The
    /// events themselves reached this node's clients (and the history) back then.
    pub fn restore_outbox(&mut self, kept: Vec<KeptEntry>) {
        let now = self.now;
        if let Some(node) = self.cluster.as_mut() {
            node.link.restore_outbox(now, kept);
        }
    }

    /// Runs the link's timers; a link that went down delivers what was waiting for it.
    pub(super) fn cluster_timeout(&mut self) {
        let now = self.now;
        let went_down = self
            .cluster
            .as_mut()
            .is_some_and(|node| node.link.handle_timeout(now));
        if went_down {
            self.deliver_awaiting(usize::MAX);
            self.end_lookups();
            self.flush_batches();
        }
    }

    /// A socket parked here goes to Redis too (`SET key value PX window`, the Node
    /// adapter's `persistSession`), so another node can recover it.
    pub(super) fn save_session(&mut self, pid: &str, subscriber: &Subscriber) {
        let (Some(node), Some(parked)) = (self.cluster.as_mut(), self.engine.parked(pid)) else {
            return;
        };
        let Some(window) = self.engine.config().recovery_window else {
            return;
        };
        let session = StoredSession {
            sid: parked.sid.clone(),
            pid: pid.to_owned(),
            rooms: parked.rooms.iter().cloned().collect(),
            data: serde_json::json!({
                "nsp": subscriber.nsp,
                "subscription": subscriber.subscription,
                "offsets": subscriber.offsets,
                "reliable": subscriber.reliable,
                "batch": subscriber.batch,
            }),
        };
        let command = Command::SaveSession {
            key: format!("{}{pid}", node.link.config().session_key_prefix),
            value: session.encode(),
            ttl_ms: u64::try_from(window.as_millis()).unwrap_or(u64::MAX).max(1),
        };
        self.out.push_back(Output::Cluster(command));
    }

    /// A CONNECT names a pid not parked here: take the session from Redis (`GETDEL`, the
    /// Node adapter's `restoreSession`) while the link is up; else it connects as new.
    pub(super) fn look_up_session(&mut self, session: SessionId, nsp: &str, pid: &str) {
        let Some(node) = self.cluster.as_mut().filter(|node| node.link.is_up()) else {
            self.engine.resume_connect(session, nsp, None);
            return;
        };
        node.next_token += 1;
        let token = node.next_token;
        let key = format!("{}{pid}", node.link.config().session_key_prefix);
        node.lookups.insert(
            token,
            Lookup {
                session,
                nsp: nsp.to_owned(),
                pid: pid.to_owned(),
            },
        );
        self.out
            .push_back(Output::Cluster(Command::TakeSession { token, key }));
    }

    /// What Redis had under a looked-up pid (parked by an iorelay node or a Node.js server
    /// with the adapter): a session of the same pid and namespace is
    /// parked here and the CONNECT resumes as a recovery (the relay's `recover` then sends
    /// what the client missed, from the history); anything else connects it as new.
    fn on_session_taken(&mut self, token: u64, value: Option<&[u8]>) {
        let Some(lookup) = self
            .cluster
            .as_mut()
            .and_then(|node| node.lookups.remove(&token))
        else {
            return;
        };
        let found = value
            .and_then(StoredSession::decode)
            .filter(|s| s.pid == lookup.pid)
            // A Node.js server's session names no namespace (its key is per pid): it fits.
            .filter(|s| {
                s.data
                    .get("nsp")
                    .is_none_or(|n| n.as_str() == Some(lookup.nsp.as_str()))
            });
        let Some(stored) = found else {
            self.engine
                .resume_connect(lookup.session, &lookup.nsp, None);
            return;
        };
        let flag = |key: &str, default: bool| {
            stored
                .data
                .get(key)
                .and_then(serde_json::Value::as_bool)
                .unwrap_or(default)
        };
        let subscriber = Subscriber {
            nsp: namespace::kept(&lookup.nsp),
            subscription: stored
                .data
                .get("subscription")
                .and_then(|s| serde_json::from_value::<Subscription>(s.clone()).ok())
                .unwrap_or_default(),
            offsets: flag("offsets", true),
            pid: Some(lookup.pid.clone()),
            reliable: flag("reliable", false),
            batch: flag("batch", false),
        };
        if let Some(parked) = self.parked.as_mut() {
            parked.park(self.now, lookup.pid.clone(), subscriber);
        }
        let parked = Parked {
            sid: stored.sid,
            nsp: lookup.nsp.clone(),
            rooms: stored.rooms.into_iter().collect(),
        };
        self.engine
            .resume_connect(lookup.session, &lookup.nsp, Some((lookup.pid, parked)));
    }

    /// Lookups that will not be answered (the link went down) end as new connections.
    fn end_lookups(&mut self) {
        let lookups: Vec<Lookup> = self
            .cluster
            .as_mut()
            .map(|node| node.lookups.drain().map(|(_, l)| l).collect())
            .unwrap_or_default();
        for lookup in lookups {
            self.engine
                .resume_connect(lookup.session, &lookup.nsp, None);
        }
    }

    /// Where reading resumes after a restart: the newest stream id the store kept.
    pub(super) fn resume_cluster(&mut self, newest_offset: u64) {
        if let (Some(node), Some(id)) =
            (self.cluster.as_mut(), StreamId::from_offset(newest_offset))
        {
            node.link.resume_after(id);
        }
    }

    /// One entry read from the stream: a relay event is delivered unless its id was seen.
    fn on_entry(&mut self, stream_id: StreamId, fields: &Fields) {
        let limit = self.config.max_event_bytes.saturating_add(4096);
        let event = entry::decode(fields, limit).ok().and_then(|message| {
            let broadcast = message
                .broadcast
                .filter(|b| !b.with_ack && b.attachments.is_empty())?;
            let arg = broadcast.args.first().filter(|a| a.starts_with('{'))?;
            (message.nsp == "/").then(|| arg.clone())
        });
        let (Some(json), Some(offset)) = (event, stream_id.to_offset()) else {
            self.note_skipped();
            return;
        };
        let id = event_id(&json).unwrap_or_else(|| stream_id.to_string());
        if let Some(node) = self.cluster.as_mut() {
            node.claimed_elsewhere.remove(&id);
            if node.awaiting_ids.remove(&id) {
                if let Some(at) = node.awaiting.iter().position(|own| own.id == id) {
                    node.awaiting.remove(at);
                }
            }
        }
        if self.dedup.contains(&id) {
            self.stats.events_deduplicated += 1;
            return;
        }
        self.deliver_here(&id, json.as_bytes(), stream_id.ms, Some(offset));
    }

    fn note_skipped(&mut self) {
        if let Some(node) = self.cluster.as_mut() {
            node.link.note_skipped();
        }
    }

    /// Delivers the oldest `count` events waiting to be read back, here and now.
    fn deliver_awaiting(&mut self, count: usize) {
        for _ in 0..count {
            let Some(own) = self.cluster.as_mut().and_then(|node| {
                let own = node.awaiting.pop_front()?;
                node.awaiting_ids.remove(&own.id);
                Some(own)
            }) else {
                return;
            };
            self.deliver_here(&own.id, &own.json, own.received_at_ms, None);
        }
    }

    /// Numbers (with `offset`, or the next local one), remembers, persists and delivers an
    /// event whose JSON has no offset yet.
    fn deliver_here(&mut self, id: &str, json: &[u8], received_at_ms: u64, offset: Option<u64>) {
        let offset = offset.unwrap_or(self.next_offset);
        let stored = StoredEvent {
            offset,
            id: id.to_owned(),
            received_at_ms,
            json: with_offset(json, &offset_text(offset)),
        };
        let Ok(event) = RelayEvent::from_stored(stored) else {
            self.note_skipped();
            return;
        };
        self.dedup.insert(id);
        self.next_offset = self.next_offset.max(offset + 1);
        self.stats.events_in += 1;
        let event = Arc::new(event);
        self.history.push(Arc::clone(&event));
        self.out.push_back(Output::Persist(event.stored()));
        self.deliver(&event);
    }

    pub(super) fn cluster_output(&mut self) -> Option<Output> {
        let link = &mut self.cluster.as_mut()?.link;
        if let Some(change) = link.poll_outbox() {
            return Some(Output::Outbox(change));
        }
        Some(Output::Cluster(link.poll_command()?))
    }
}

/// The `id` member of an event object, if it is a string or a number.
fn event_id(json: &str) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Id<'a> {
        #[serde(borrow)]
        id: Option<&'a RawValue>,
    }
    let raw = serde_json::from_str::<Id<'_>>(json).ok()?.id?;
    let text = raw.get();
    if text.starts_with('"') {
        serde_json::from_str::<String>(text).ok()
    } else if text.starts_with(|c: char| c == '-' || c.is_ascii_digit()) {
        Some(text.to_owned())
    } else {
        None
    }
    .filter(|id| !id.trim().is_empty())
}

/// An event object with `"offset":"<offset>"` added: after its leading `id` member when it
/// starts with one (the canonical order), else first. An object that already has an
/// `offset` member keeps it.
fn with_offset(json: &[u8], offset: &str) -> Bytes {
    let text = json.trim_ascii();
    let has_offset = serde_json::from_slice::<std::collections::BTreeMap<&str, &RawValue>>(text)
        .is_ok_and(|fields| fields.contains_key("offset"));
    if has_offset || !text.starts_with(b"{") {
        return Bytes::copy_from_slice(text);
    }
    let member = format!("\"offset\":\"{offset}\"");
    let mut out = Vec::with_capacity(text.len() + member.len() + 1);
    let after_id = text.strip_prefix(b"{\"id\":").and_then(|rest| {
        let mut values = serde_json::Deserializer::from_slice(rest).into_iter::<&RawValue>();
        values.next()?.ok()?;
        Some(6 + values.byte_offset())
    });
    match after_id {
        Some(at) => {
            out.extend_from_slice(&text[..at]);
            out.push(b',');
            out.extend_from_slice(member.as_bytes());
            out.extend_from_slice(&text[at..]);
        }
        None if text[1..].trim_ascii_start().starts_with(b"}") => {
            out.push(b'{');
            out.extend_from_slice(member.as_bytes());
            out.push(b'}');
        }
        None => {
            out.push(b'{');
            out.extend_from_slice(member.as_bytes());
            out.push(b',');
            out.extend_from_slice(&text[1..]);
        }
    }
    Bytes::from(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_offset_goes_after_the_id_or_first() {
        assert_eq!(
            &with_offset(br#"{"id":"a\"b","type":"t"}"#, "5-1")[..],
            br#"{"id":"a\"b","offset":"5-1","type":"t"}"#
        );
        assert_eq!(
            &with_offset(br#"{"type":"t"}"#, "7")[..],
            br#"{"offset":"7","type":"t"}"#
        );
        assert_eq!(&with_offset(b"{ }", "7")[..], br#"{"offset":"7"}"#);
        assert_eq!(
            &with_offset(br#"{"offset":"x"}"#, "7")[..],
            br#"{"offset":"x"}"#,
            "an offset it has is kept"
        );
    }

    #[test]
    fn an_event_id_is_a_non_blank_string_or_a_number() {
        assert_eq!(event_id(r#"{"id":"e1"}"#).as_deref(), Some("e1"));
        assert_eq!(event_id(r#"{"id":42}"#).as_deref(), Some("42"));
        assert_eq!(event_id(r#"{"id":" "}"#), None);
        assert_eq!(event_id(r#"{"id":null}"#), None);
        assert_eq!(event_id(r#"{"x":1}"#), None);
    }
}
