//! Accepting events and delivering them: numbering, de-duplication, history, the store, the
//! default namespace under the profile's name, typed namespaces under their policies; and
//! what clients ask of the relay (subscriptions, history).

use std::sync::Arc;

use bytes::Bytes;

use super::event::{Canonical, RelayEvent};
use super::history::{HistoryQuery, Page};
use super::ingest::Draft;
use super::opt_in::Mode;
use super::route::{default_name, Outcome};
use super::subscription::{ConnectAuth, Subscription};
use super::{clock, Relay, Subscriber};
use crate::engine::Emit;
use crate::io::{CloseReason, Event, Output, SocketId};
use crate::socketio::namespace;

/// What accepting a batch of drafts did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Accepted {
    pub accepted: usize,
    pub duplicates: usize,
}

/// Bytes a canonical event's fields take beside its raw data, about (ids, names, two
/// timestamps, the session's path): what its JSON buffer reserves on top of the data.
const CANONICAL_FIELDS_ROOM: usize = 512;

impl Relay {
    /// Numbers, remembers, persists and delivers each draft, in order; drafts whose id was
    /// seen within the window are dropped and counted.
    pub(super) fn accept(&mut self, drafts: Vec<Draft<'_>>) -> Accepted {
        if self.cluster.is_some() {
            return self.accept_clustered(drafts);
        }
        let mut result = Accepted::default();
        for draft in drafts {
            let id = draft.id.clone().unwrap_or_else(|| self.rng.id());
            if !self.dedup.insert(&id) {
                result.duplicates += 1;
                self.stats.events_deduplicated += 1;
                continue;
            }
            let event = Arc::new(self.canonical_json(id, &draft, Some(self.next_offset)));
            self.next_offset += 1;
            self.stats.events_in += 1;
            result.accepted += 1;
            self.history.push(Arc::clone(&event));
            self.out.push_back(Output::Persist(event.stored()));
            self.deliver(&event);
        }
        self.flush_batches();
        result
    }

    /// The canonical event for a draft, numbered with `offset`; with `None` its JSON has no
    /// offset yet (cluster mode: the stream gives it one) and its offset reads 0.
    pub(super) fn canonical_json(
        &self,
        id: String,
        draft: &Draft<'_>,
        offset: Option<u64>,
    ) -> RelayEvent {
        let received_at_ms = self.clock.unix_ms(self.now);
        let received_at = clock::iso8601(received_at_ms);
        let canonical = Canonical {
            id: &id,
            offset: offset.map(crate::cluster::stream_id::offset_text),
            kind: &draft.kind,
            subtype: &draft.subtype,
            hook_event_name: draft.hook_event_name.as_deref(),
            timestamp: draft.timestamp.as_deref().unwrap_or(&received_at),
            received_at: &received_at,
            session_id: draft.session_id.as_deref(),
            agent_id: draft.agent_id.as_deref(),
            agent_type: draft.agent_type.as_deref(),
            cwd: draft.cwd.as_deref(),
            project: draft.project.as_deref(),
            tool_name: draft.tool_name.as_deref(),
            tool_use_id: draft.tool_use_id.as_deref(),
            source: &draft.source,
            data: draft.data,
        };
        // Room for the raw data and the fields around it, so the writer does not grow the
        // buffer five times over (a realloc and a copy each) for every event.
        let mut json = Vec::with_capacity(draft.data.get().len() + CANONICAL_FIELDS_ROOM);
        if serde_json::to_writer(&mut json, &canonical).is_err() {
            json.clear();
        }
        RelayEvent {
            offset: offset.unwrap_or_default(),
            id,
            received_at_ms,
            kind: draft.kind.clone(),
            subtype: draft.subtype.clone(),
            session_id: draft.session_id.clone(),
            project: draft.project.clone(),
            tool_name: draft.tool_name.clone(),
            json: Bytes::from(json),
        }
    }

    /// Sends an event to the default namespace's subscribers it matches, and to the typed
    /// namespaces its routes name.
    pub(super) fn deliver(&mut self, event: &Arc<RelayEvent>) {
        let name = default_name(self.config.profile, event);
        let recipients = self.matching("/", event);
        self.send_to("/", name, event, recipients);
        for delivery in self.router.deliveries(event) {
            let recipients = self.matching(&delivery.nsp, event);
            match self.router.on_event(&delivery, event, recipients.len()) {
                Outcome::Send => self.send_to(&delivery.nsp, &delivery.name, event, recipients),
                Outcome::Buffered => {}
                Outcome::Dropped => self.stats.events_dropped += 1,
            }
        }
    }

    /// The subscribers of `nsp` whose filter passes `event`, with how each is served, in
    /// socket order.
    fn matching(&self, nsp: &str, event: &RelayEvent) -> Vec<(SocketId, Mode)> {
        self.subscribers
            .iter()
            .filter(|(_, s)| s.nsp == nsp && s.subscription.matches(event))
            .map(|(id, s)| (*id, s.mode()))
            .collect()
    }

    /// Broadcasts `event` as `name` to `recipients` on `nsp`: one encoding with the offset
    /// argument, one without, each shared by its recipients. Reliable and batching
    /// subscribers are served one by one (see [`super::opt_in`]).
    fn send_to(
        &mut self,
        nsp: &str,
        name: &str,
        event: &Arc<RelayEvent>,
        recipients: Vec<(SocketId, Mode)>,
    ) {
        let (per_socket, shared): (Vec<_>, Vec<_>) = recipients
            .into_iter()
            .partition(|(_, mode)| mode.is_per_socket());
        for (socket, mode) in per_socket {
            self.send_one(socket, name, event, mode);
        }
        let (with_offset, without): (Vec<_>, Vec<_>) =
            shared.into_iter().partition(|(_, mode)| mode.offsets);
        for (recipients, offsets) in [(with_offset, true), (without, false)] {
            let recipients: Vec<SocketId> = recipients.into_iter().map(|(s, _)| s).collect();
            if !recipients.is_empty() {
                let mut emit = live_emit(name, event, offsets);
                emit.volatile = self.config.is_volatile(&event.kind, &event.subtype);
                let count = recipients.len();
                let sent = self.engine.emit_each(self.now, nsp, recipients, &emit);
                self.stats.events_out += sent as u64;
                self.stats.deliveries_dropped += (count - sent) as u64;
            }
        }
    }

    /// Reacts to what the engine reports: new sockets get their history (or their typed
    /// namespace's buffer), leaving sockets are forgotten, client requests are answered.
    pub(super) fn on_engine_event(&mut self, event: &Event) {
        match event {
            Event::SocketConnected {
                socket,
                nsp,
                auth,
                recovered,
                ..
            } => self.on_connect(*socket, nsp, auth, *recovered),
            Event::SessionClosed {
                reason: CloseReason::SlowConsumer,
                ..
            } => self.stats.slow_client_disconnects += 1,
            Event::SocketDisconnected { socket, reason } => {
                self.forget_opt_in(*socket);
                let Some(subscriber) = self.subscribers.remove(socket) else {
                    return;
                };
                if let Some(pid) = subscriber.pid.clone() {
                    if self.parked.is_some() && reason.is_recoverable() {
                        // In cluster mode the client may come back on another node.
                        self.save_session(&pid, &subscriber);
                        if let Some(parked) = self.parked.as_mut() {
                            parked.park(self.now, pid, subscriber);
                        }
                    }
                }
            }
            Event::RecoveryLookup { session, nsp, pid } => {
                self.look_up_session(*session, nsp, pid);
            }
            Event::Message {
                socket,
                name,
                args,
                ack,
                ..
            } => self.on_request(*socket, name, args, *ack),
            Event::AckReceived { socket, ack, .. } => {
                self.retries.acked(*socket, *ack);
            }
            _ => {}
        }
    }

    fn on_connect(&mut self, socket: SocketId, nsp: &str, auth: &Bytes, recovered: bool) {
        let auth = ConnectAuth::parse(auth);
        let pid = self.engine.socket_pid(socket).map(str::to_owned);
        if recovered {
            if let Some(subscriber) = self.recover(socket, nsp, pid.as_deref(), auth.offset) {
                self.subscribers.insert(socket, subscriber);
                self.flush_batches();
                return;
            }
        }
        for room in auth.subscription.rooms() {
            let _ = self.engine.join(socket, &room);
        }
        if nsp == "/" {
            let query = HistoryQuery {
                filter: auth.subscription.clone(),
                ..HistoryQuery::default()
            };
            let limit = auth.limit.unwrap_or(self.config.history_default_limit);
            let page = self.page(&query, limit);
            let emit = Emit::new("event_history", &[&page.to_json()]);
            let _ = self.engine.emit_to(self.now, socket, &emit, None);
        } else {
            let filter = &auth.subscription;
            for (event, name) in self.router.on_connect(nsp, |e| filter.matches(e)) {
                let emit = Emit::new(&name, &[&event.json]);
                if self.engine.emit_to(self.now, socket, &emit, None).is_ok() {
                    self.stats.events_out += 1;
                }
            }
        }
        let subscriber = Subscriber {
            nsp: namespace::kept(nsp),
            subscription: auth.subscription,
            offsets: auth.offsets && self.parked.is_some(),
            pid,
            reliable: auth.reliable,
            batch: auth.batch,
        };
        self.subscribers.insert(socket, subscriber);
    }

    /// A recovered socket: its parked subscription back, and every event after the client's
    /// last `offset` that it would have received, in order. `None` when the relay cannot
    /// vouch for the gap (no offset, or events after it already left the history): the
    /// socket is then treated as new and gets `event_history`.
    fn recover(
        &mut self,
        socket: SocketId,
        nsp: &str,
        pid: Option<&str>,
        offset: Option<u64>,
    ) -> Option<Subscriber> {
        let (pid, offset) = (pid?, offset?);
        let nothing_since = offset + 1 >= self.next_offset;
        let kept_since = self
            .history
            .first_offset()
            .is_some_and(|first| first <= offset + 1);
        let covered = nothing_since || kept_since;
        if !covered {
            return None;
        }
        let subscriber = self
            .parked
            .as_mut()?
            .take_if(self.now, pid, |s| s.nsp == nsp)?;
        let query = HistoryQuery {
            filter: subscriber.subscription.clone(),
            after: Some(offset),
            ..HistoryQuery::default()
        };
        let missed = self.history.page(&query, usize::MAX).events;
        for event in missed {
            let names: Vec<String> = if nsp == "/" {
                vec![default_name(self.config.profile, &event).to_owned()]
            } else {
                self.router
                    .deliveries(&event)
                    .into_iter()
                    .filter(|d| d.nsp == nsp)
                    .map(|d| d.name)
                    .collect()
            };
            for name in names {
                self.send_one(socket, &name, &event, subscriber.mode());
            }
        }
        Some(subscriber)
    }

    /// A page of history of at most `limit` (capped by the configuration) events.
    pub(super) fn page(&self, query: &HistoryQuery, limit: usize) -> Page {
        let limit = query
            .limit
            .unwrap_or(limit)
            .min(self.config.history_max_limit);
        self.history.page(query, limit)
    }

    /// `subscribe` and `history` from a client; each answers through its ack, an error
    /// object when the arguments are wrong. Other events are acked with an error so a
    /// client waiting on an ack is never left waiting.
    fn on_request(&mut self, socket: SocketId, name: &str, args: &Bytes, ack: Option<u64>) {
        let first = first_arg(args);
        let reply = match name {
            "subscribe" => self.on_subscribe(socket, &first),
            "history" => match serde_json::from_slice::<HistoryQuery>(&first) {
                Ok(query) => Ok(self
                    .page(&query, self.config.history_default_limit)
                    .to_json()),
                Err(err) => Err(("bad history request", err.to_string())),
            },
            _ => Err((
                "unknown event",
                format!("the relay does not handle {name:?}"),
            )),
        };
        let Some(ack) = ack else { return };
        let body = match reply {
            Ok(body) => body,
            Err((error, detail)) => {
                Bytes::from(serde_json::json!({"error": error, "detail": detail}).to_string())
            }
        };
        let _ = self
            .engine
            .ack(self.now, socket, ack, event_data_args(&body), Vec::new());
    }

    fn on_subscribe(
        &mut self,
        socket: SocketId,
        arg: &Bytes,
    ) -> Result<Bytes, (&'static str, String)> {
        let subscription: Subscription =
            serde_json::from_slice(arg).map_err(|err| ("bad subscription", err.to_string()))?;
        let Some(subscriber) = self.subscribers.get_mut(&socket) else {
            return Err(("not subscribed", "the socket is not connected".to_owned()));
        };
        let old = std::mem::replace(&mut subscriber.subscription, subscription.clone());
        for room in old.rooms() {
            let _ = self.engine.leave(socket, &room);
        }
        for room in subscription.rooms() {
            let _ = self.engine.join(socket, &room);
        }
        let reply = serde_json::json!({"ok": true, "subscription": subscription.to_json()});
        Ok(Bytes::from(reply.to_string()))
    }
}

/// A live event: `[name, event]`, plus its offset as a string last argument for clients
/// that track offsets (Socket.IO connection state recovery reads the last argument).
pub(super) fn live_emit(name: &str, event: &RelayEvent, offsets: bool) -> Emit {
    if offsets {
        let offset = format!(
            "\"{}\"",
            crate::cluster::stream_id::offset_text(event.offset)
        );
        Emit::new(name, &[&event.json, offset.as_bytes()])
    } else {
        Emit::new(name, &[&event.json])
    }
}

/// The first argument of an event (`{}` when there is none), as JSON text.
fn first_arg(args: &Bytes) -> Bytes {
    serde_json::from_slice::<Vec<&serde_json::value::RawValue>>(args)
        .ok()
        .and_then(|list| {
            list.first()
                .map(|raw| Bytes::copy_from_slice(raw.get().as_bytes()))
        })
        .unwrap_or_else(|| Bytes::from_static(b"{}"))
}

/// `[body]`: an ack's argument list holding one JSON value.
fn event_data_args(body: &Bytes) -> Bytes {
    let mut args = Vec::with_capacity(body.len() + 2);
    args.push(b'[');
    args.extend_from_slice(body);
    args.push(b']');
    Bytes::from(args)
}
