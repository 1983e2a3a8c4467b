//! Accepting events and delivering them: numbering, de-duplication, history, the store, the
//! default namespace under the profile's name, typed namespaces under their policies; and
//! what clients ask of the relay (subscriptions, history).

use std::sync::Arc;

use bytes::Bytes;

use super::event::{Canonical, RelayEvent};
use super::history::{HistoryQuery, Page};
use super::ingest::Draft;
use super::route::{default_name, Outcome};
use super::subscription::{ConnectAuth, Subscription};
use super::{clock, Relay, Subscriber};
use crate::engine::Emit;
use crate::io::{Event, Output, SocketId};

/// What accepting a batch of drafts did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Accepted {
    pub accepted: usize,
    pub duplicates: usize,
}

impl Relay {
    /// Numbers, remembers, persists and delivers each draft, in order; drafts whose id was
    /// seen within the window are dropped and counted.
    pub(super) fn accept(&mut self, drafts: Vec<Draft>) -> Accepted {
        let mut result = Accepted::default();
        for draft in drafts {
            let id = draft.id.clone().unwrap_or_else(|| self.rng.id());
            if !self.dedup.insert(&id) {
                result.duplicates += 1;
                self.stats.events_deduplicated += 1;
                continue;
            }
            let event = Arc::new(self.canonical(id, &draft));
            self.next_offset += 1;
            self.stats.events_in += 1;
            result.accepted += 1;
            self.history.push(Arc::clone(&event));
            self.out.push_back(Output::Persist(event.stored()));
            self.deliver(&event);
        }
        result
    }

    /// The canonical event for a draft, numbered with the next offset.
    fn canonical(&self, id: String, draft: &Draft) -> RelayEvent {
        let received_at_ms = self.clock.unix_ms(self.now);
        let received_at = clock::iso8601(received_at_ms);
        let canonical = Canonical {
            id: &id,
            offset: self.next_offset.to_string(),
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
            data: &draft.data,
        };
        let json = serde_json::to_vec(&canonical).unwrap_or_default();
        RelayEvent {
            offset: self.next_offset,
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
    fn deliver(&mut self, event: &Arc<RelayEvent>) {
        let name = default_name(self.config.profile, event);
        self.send_to_matching("/", name, event);
        for delivery in self.router.deliveries(event) {
            let clients = self.matching(&delivery.nsp, event).len();
            match self.router.on_event(&delivery, event, clients) {
                Outcome::Send => self.send_to_matching(&delivery.nsp, &delivery.name, event),
                Outcome::Buffered => {}
                Outcome::Dropped => self.stats.events_dropped += 1,
            }
        }
    }

    /// The subscribers of `nsp` whose filter passes `event`, in socket order.
    fn matching(&self, nsp: &str, event: &RelayEvent) -> Vec<SocketId> {
        self.subscribers
            .iter()
            .filter(|(_, s)| s.nsp == nsp && s.subscription.matches(event))
            .map(|(id, _)| *id)
            .collect()
    }

    fn send_to_matching(&mut self, nsp: &str, name: &str, event: &RelayEvent) {
        let recipients = self.matching(nsp, event);
        if recipients.is_empty() {
            return;
        }
        let emit = Emit::new(name, &[&event.json]);
        let count = recipients.len();
        let sent = self.engine.emit_each(self.now, nsp, recipients, &emit);
        self.stats.events_out += sent as u64;
        self.stats.deliveries_dropped += (count - sent) as u64;
    }

    /// Reacts to what the engine reports: new sockets get their history (or their typed
    /// namespace's buffer), leaving sockets are forgotten, client requests are answered.
    pub(super) fn on_engine_event(&mut self, event: &Event) {
        match event {
            Event::SocketConnected {
                socket, nsp, auth, ..
            } => self.on_connect(*socket, nsp, auth),
            Event::SocketDisconnected { socket, .. } => {
                self.subscribers.remove(socket);
            }
            Event::Message {
                socket,
                name,
                args,
                ack,
                ..
            } => self.on_request(*socket, name, args, *ack),
            _ => {}
        }
    }

    fn on_connect(&mut self, socket: SocketId, nsp: &str, auth: &Bytes) {
        let auth = ConnectAuth::parse(auth);
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
            for (event, name) in self.router.on_connect(nsp) {
                if auth.subscription.matches(&event) {
                    let emit = Emit::new(&name, &[&event.json]);
                    if self.engine.emit_to(self.now, socket, &emit, None).is_ok() {
                        self.stats.events_out += 1;
                    }
                }
            }
        }
        let subscriber = Subscriber {
            nsp: nsp.to_owned(),
            subscription: auth.subscription,
        };
        self.subscribers.insert(socket, subscriber);
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
