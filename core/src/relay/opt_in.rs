//! Delivery modes a client opts into with its CONNECT auth: reliable (`{"reliable":true}`:
//! each live event carries an ack request and is re-sent until acked, see [`super::retry`])
//! and batched (`{"batch":true}`: live events go out as `event_batch` events holding an
//! array, see [`super::batch`]). Both may be on at once: then each batch is acked and retried
//! as a whole.
//!
//! Why separate from plain delivery: a plain event is encoded once and the same bytes go to
//! every recipient; an acked packet carries a per-socket ack id and a batch is per socket, so
//! these recipients are served one by one, and only they pay for it.
//!
//! A socket that leaves abandons its unacked deliveries and drops its open batch, also when
//! it is parked for connection state recovery: a recovering client sends the offset of the
//! last event it received and is replayed everything after it, which covers both.

use std::sync::Arc;

use bytes::Bytes;

use super::event::RelayEvent;
use super::exposition::Exposition;
use super::{Relay, Subscriber};
use crate::engine::Emit;
use crate::io::SocketId;

/// The event name of a batch.
pub const BATCH_EVENT: &str = "event_batch";

/// How one socket wants its live events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Mode {
    /// The offset as a last argument (connection state recovery).
    pub offsets: bool,
    /// With an ack request, retried until acked.
    pub reliable: bool,
    /// In batches.
    pub batch: bool,
}

impl Mode {
    /// Whether the socket is served one by one rather than by a shared broadcast.
    pub fn is_per_socket(self) -> bool {
        self.reliable || self.batch
    }
}

impl Subscriber {
    /// How this socket wants its live events.
    pub(super) fn mode(&self) -> Mode {
        Mode {
            offsets: self.offsets,
            reliable: self.reliable,
            batch: self.batch,
        }
    }
}

impl Relay {
    /// Delivers `event` as `name` to one socket in `mode`: into its batch, or at once (with
    /// an ack request when reliable). A full batch waits for [`Relay::flush_batches`].
    pub(super) fn send_one(
        &mut self,
        socket: SocketId,
        name: &str,
        event: &Arc<RelayEvent>,
        mode: Mode,
    ) {
        if mode.batch {
            self.batcher.push(self.now, socket, Arc::clone(event));
            return;
        }
        let emit = super::deliver::live_emit(name, event, mode.offsets);
        if self.send_emit(socket, &emit, mode.reliable) {
            self.stats.events_out += 1;
        }
    }

    /// Sends every finished batch to its socket (one `event_batch` event each).
    pub(super) fn flush_batches(&mut self) {
        while let Some((socket, events)) = self.batcher.poll_batch() {
            let Some(mode) = self.subscribers.get(&socket).map(Subscriber::mode) else {
                continue;
            };
            let emit = batch_emit(&events, mode.offsets);
            if self.send_emit(socket, &emit, mode.reliable) {
                self.stats.events_out += events.len() as u64;
            }
        }
    }

    /// Sends the retries and batches due at the relay's `now`.
    pub(super) fn opt_in_timeout(&mut self) {
        let now = self.now;
        self.retries.handle_timeout(now);
        while let Some(retry) = self.retries.poll_retry() {
            let timeout = self.retries.resend_ack_timeout(retry.key, now);
            match self
                .engine
                .emit_to(now, retry.socket, &retry.payload, Some(timeout))
            {
                Ok(Some(ack)) => self.retries.resent(retry.key, now, ack),
                _ => {
                    self.retries.forget_socket(retry.socket);
                }
            }
        }
        self.batcher.handle_timeout(now);
        self.flush_batches();
    }

    /// A socket is gone: its unacked deliveries are abandoned, its open batch dropped.
    pub(super) fn forget_opt_in(&mut self, socket: SocketId) {
        self.retries.forget_socket(socket);
        self.batcher.forget(socket);
    }

    /// Sends `emit` to `socket`, tracked for retries when `reliable`. Returns whether the
    /// socket was there to send to.
    fn send_emit(&mut self, socket: SocketId, emit: &Emit, reliable: bool) -> bool {
        if !reliable {
            return self.engine.emit_to(self.now, socket, emit, None).is_ok();
        }
        let timeout = self.retries.ack_timeout();
        match self.engine.emit_to(self.now, socket, emit, Some(timeout)) {
            Ok(Some(ack)) => {
                self.retries.track(self.now, socket, ack, emit.clone());
                true
            }
            _ => false,
        }
    }

    /// The reliable-delivery and batching series of `/metrics`.
    pub(super) fn opt_in_series(&self, page: &mut Exposition) {
        let retry = self.retries.stats();
        page.counter(
            "iorelay_reliable_queued_total",
            "Deliveries to reliable clients sent with an ack request and tracked until acked.",
            retry.queued,
        );
        page.counter(
            "iorelay_reliable_retried_total",
            "Re-sends of unacked deliveries to reliable clients.",
            retry.retried,
        );
        page.counter(
            "iorelay_reliable_succeeded_total",
            "Deliveries to reliable clients that were acked.",
            retry.succeeded,
        );
        page.counter(
            "iorelay_reliable_abandoned_total",
            "Deliveries to reliable clients given up: out of time, over the per-client cap, or the client left.",
            retry.abandoned,
        );
        page.gauge(
            "iorelay_reliable_outstanding",
            "Deliveries to reliable clients awaiting an ack now.",
            self.retries.outstanding() as f64,
        );
        page.counter(
            "iorelay_event_batches_sent_total",
            "event_batch events sent to clients that asked for batches.",
            self.batcher.batches_sent(),
        );
        page.gauge(
            "iorelay_batch_held_events",
            "Events held in open batches now.",
            self.batcher.held() as f64,
        );
    }
}

/// `["event_batch", [event…]]`, plus the last event's offset as a string last argument for
/// clients that track offsets.
fn batch_emit(events: &[Arc<RelayEvent>], offsets: bool) -> Emit {
    let mut array = Vec::with_capacity(2 + events.iter().map(|e| e.json.len() + 1).sum::<usize>());
    array.push(b'[');
    for (i, event) in events.iter().enumerate() {
        if i > 0 {
            array.push(b',');
        }
        array.extend_from_slice(&event.json);
    }
    array.push(b']');
    let array = Bytes::from(array);
    match events.last().filter(|_| offsets) {
        Some(last) => {
            let offset = format!(
                "\"{}\"",
                crate::cluster::stream_id::offset_text(last.offset)
            );
            Emit::new(BATCH_EVENT, &[&array, offset.as_bytes()])
        }
        None => Emit::new(BATCH_EVENT, &[&array]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(offset: u64, json: &'static str) -> Arc<RelayEvent> {
        Arc::new(RelayEvent {
            offset,
            id: format!("e{offset}"),
            received_at_ms: 0,
            kind: "hook".to_owned(),
            subtype: "stop".to_owned(),
            session_id: None,
            project: None,
            tool_name: None,
            json: Bytes::from_static(json.as_bytes()),
        })
    }

    #[test]
    fn a_batch_is_one_event_holding_an_array_and_the_last_offset() {
        let events = [event(4, r#"{"a":1}"#), event(5, r#"{"b":2}"#)];
        let emit = batch_emit(&events, true);
        assert_eq!(&emit.data[..], br#"["event_batch",[{"a":1},{"b":2}],"5"]"#);
        let emit = batch_emit(&events, false);
        assert_eq!(&emit.data[..], br#"["event_batch",[{"a":1},{"b":2}]]"#);
    }
}
