//! The in-memory history: the newest accepted events, for late joiners and history queries.
//!
//! Why a ring of shared events: the store keeps the long tail on disk; what clients ask for
//! (the last hundred, a page before an offset) is recent, so a bounded ring answers without
//! IO, and each entry shares its JSON with the live broadcast that sent it. It is bounded in
//! events and in bytes of JSON: a burst of large events (tool output) must not grow the
//! server's memory with the event count, so whichever bound is reached first evicts.

use std::collections::VecDeque;
use std::sync::Arc;

use bytes::{BufMut, Bytes, BytesMut};
use serde::Deserialize;

use super::event::RelayEvent;
use super::subscription::Subscription;

/// The newest events, oldest first: at most `capacity` of them and `max_bytes` of JSON.
#[derive(Debug)]
pub struct HistoryRing {
    capacity: usize,
    max_bytes: usize,
    /// Bytes of JSON of the events held.
    bytes: usize,
    events: VecDeque<Arc<RelayEvent>>,
}

/// What a history query asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct HistoryQuery {
    /// The filter events must pass.
    #[serde(flatten)]
    pub filter: Subscription,
    /// Only events with a larger offset.
    #[serde(default, deserialize_with = "offset")]
    pub after: Option<u64>,
    /// Only events with a smaller offset (paging backwards).
    #[serde(default, deserialize_with = "offset")]
    pub before: Option<u64>,
    /// At most this many (the newest of those that pass, unless `after` is given: then the
    /// oldest after it, so a client can page forwards).
    #[serde(default)]
    pub limit: Option<usize>,
}

/// One page of history, ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// The events, oldest first.
    pub events: Vec<Arc<RelayEvent>>,
    /// How many events passed the filter in all (the page may hold fewer).
    pub total_available: usize,
}

impl HistoryRing {
    /// A ring keeping at most `capacity` events and `max_bytes` bytes of their JSON.
    #[must_use]
    pub fn new(capacity: usize, max_bytes: usize) -> Self {
        Self {
            capacity,
            max_bytes,
            bytes: 0,
            events: VecDeque::new(),
        }
    }

    /// Adds the newest event, forgetting the oldest past either bound. An event larger than
    /// `max_bytes` on its own is not kept.
    pub fn push(&mut self, event: Arc<RelayEvent>) {
        if self.capacity == 0 || event.json.len() > self.max_bytes {
            return;
        }
        while self.events.len() >= self.capacity || self.bytes + event.json.len() > self.max_bytes {
            self.pop_oldest();
        }
        self.bytes += event.json.len();
        self.events.push_back(event);
    }

    fn pop_oldest(&mut self) {
        if let Some(old) = self.events.pop_front() {
            self.bytes -= old.json.len();
        }
    }

    /// Forgets events accepted before `cutoff_ms` (Unix ms); returns how many.
    pub fn expire_before(&mut self, cutoff_ms: u64) -> usize {
        let before = self.events.len();
        while self
            .events
            .front()
            .is_some_and(|e| e.received_at_ms < cutoff_ms)
        {
            self.pop_oldest();
        }
        before - self.events.len()
    }

    /// Bytes of event JSON held now.
    #[must_use]
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// The offset of the oldest event held, if any.
    #[must_use]
    pub fn first_offset(&self) -> Option<u64> {
        self.events.front().map(|e| e.offset)
    }

    /// When the oldest event was accepted (Unix ms), if any.
    #[must_use]
    pub fn oldest_ms(&self) -> Option<u64> {
        self.events.front().map(|e| e.received_at_ms)
    }

    /// Events held now.
    #[must_use]
    pub fn len(&self) -> usize {
        self.events.len()
    }

    /// Whether no event is held.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// The events passing `query`, at most `limit` of them.
    #[must_use]
    pub fn page(&self, query: &HistoryQuery, limit: usize) -> Page {
        let passes = |e: &&Arc<RelayEvent>| {
            query.after.is_none_or(|a| e.offset > a)
                && query.before.is_none_or(|b| e.offset < b)
                && query.filter.matches(e)
        };
        let total_available = self.events.iter().filter(passes).count();
        let events = if query.after.is_some() {
            self.events
                .iter()
                .filter(passes)
                .take(limit)
                .cloned()
                .collect()
        } else {
            let mut newest: Vec<_> = self
                .events
                .iter()
                .rev()
                .filter(passes)
                .take(limit)
                .cloned()
                .collect();
            newest.reverse();
            newest
        };
        Page {
            events,
            total_available,
        }
    }
}

impl Page {
    /// `{"events":[…],"count":n,"total_available":m}`, the events' JSON copied once.
    #[must_use]
    pub fn to_json(&self) -> Bytes {
        let size: usize = self.events.iter().map(|e| e.json.len() + 1).sum();
        let mut buf = BytesMut::with_capacity(size + 64);
        buf.put_slice(b"{\"events\":[");
        for (i, event) in self.events.iter().enumerate() {
            if i > 0 {
                buf.put_u8(b',');
            }
            buf.put_slice(&event.json);
        }
        buf.put_slice(
            format!(
                "],\"count\":{},\"total_available\":{}}}",
                self.events.len(),
                self.total_available
            )
            .as_bytes(),
        );
        buf.freeze()
    }
}

/// An offset given as a number, a string of digits, or a stream id (`1700000000000-2`, cluster
/// mode): Socket.IO offsets are strings.
pub(crate) fn offset<'de, D: serde::Deserializer<'de>>(de: D) -> Result<Option<u64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        Number(u64),
        Text(String),
    }
    match Option::<Either>::deserialize(de)? {
        None => Ok(None),
        Some(Either::Number(n)) => Ok(Some(n)),
        Some(Either::Text(s)) => crate::cluster::stream_id::parse_offset(&s)
            .map(Some)
            .map_err(serde::de::Error::custom),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(offset: u64, session: &str) -> Arc<RelayEvent> {
        Arc::new(RelayEvent {
            offset,
            id: format!("e{offset}"),
            received_at_ms: offset * 1000,
            kind: "hook".to_owned(),
            subtype: "stop".to_owned(),
            session_id: Some(session.to_owned()),
            project: None,
            tool_name: None,
            json: Bytes::from(format!("{{\"offset\":\"{offset}\"}}")),
        })
    }

    fn ring(sessions: &[&str]) -> HistoryRing {
        let mut ring = HistoryRing::new(100, usize::MAX);
        for (i, session) in sessions.iter().enumerate() {
            ring.push(event(i as u64 + 1, session));
        }
        ring
    }

    fn offsets(page: &Page) -> Vec<u64> {
        page.events.iter().map(|e| e.offset).collect()
    }

    #[test]
    fn a_page_holds_the_newest_matching_events_oldest_first() {
        let ring = ring(&["a", "b", "a", "a", "b"]);
        let query = HistoryQuery {
            filter: Subscription {
                session: Some("a".to_owned()),
                ..Subscription::default()
            },
            ..HistoryQuery::default()
        };
        let page = ring.page(&query, 2);
        assert_eq!(offsets(&page), [3, 4]);
        assert_eq!(page.total_available, 3);
    }

    #[test]
    fn after_pages_forwards_and_before_pages_backwards() {
        let ring = ring(&["a"; 6]);
        let after = HistoryQuery {
            after: Some(2),
            ..HistoryQuery::default()
        };
        assert_eq!(offsets(&ring.page(&after, 2)), [3, 4]);
        let before = HistoryQuery {
            before: Some(5),
            ..HistoryQuery::default()
        };
        assert_eq!(offsets(&ring.page(&before, 2)), [3, 4]);
    }

    #[test]
    fn the_ring_forgets_the_oldest_past_capacity_and_by_age() {
        let mut ring = HistoryRing::new(3, usize::MAX);
        for offset in 1..=5 {
            ring.push(event(offset, "a"));
        }
        assert_eq!(offsets(&ring.page(&HistoryQuery::default(), 10)), [3, 4, 5]);
        assert_eq!(ring.expire_before(4_500), 2);
        assert_eq!(ring.oldest_ms(), Some(5_000));
    }

    #[test]
    fn the_ring_forgets_the_oldest_past_its_bytes() {
        // Each test event's JSON is 14 bytes (`{"offset":"N"}` for one digit).
        let mut ring = HistoryRing::new(100, 30);
        for offset in 1..=4 {
            ring.push(event(offset, "a"));
        }
        assert_eq!(offsets(&ring.page(&HistoryQuery::default(), 10)), [3, 4]);
        assert_eq!(ring.bytes(), 28);
        ring.expire_before(4_000);
        assert_eq!(ring.bytes(), 14);
        let mut tiny = HistoryRing::new(100, 10);
        tiny.push(event(1, "a"));
        assert!(
            tiny.is_empty(),
            "an event larger than the bound is not kept"
        );
    }

    #[test]
    fn a_page_is_encoded_with_its_counts() {
        let ring = ring(&["a", "a"]);
        let json = ring.page(&HistoryQuery::default(), 1).to_json();
        assert_eq!(
            &json[..],
            br#"{"events":[{"offset":"2"}],"count":1,"total_available":2}"#
        );
    }

    #[test]
    fn offsets_may_be_numbers_or_strings() {
        let query: HistoryQuery =
            serde_json::from_str(r#"{"after":"7","before":9,"limit":3}"#).unwrap();
        assert_eq!(
            (query.after, query.before, query.limit),
            (Some(7), Some(9), Some(3))
        );
        assert!(serde_json::from_str::<HistoryQuery>(r#"{"after":"x"}"#).is_err());
    }
}
