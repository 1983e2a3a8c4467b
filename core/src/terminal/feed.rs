//! The event feed of `iorelay tail`: every event that passes the filter, once, in offset
//! order, across reconnections and relay restarts.
//!
//! Why it needs more than connection state recovery: recovery replays what a socket missed
//! only when the relay still holds its `pid` (the same process, the old session already
//! noticed as gone, within the window). After a restart, or a reconnect that beat the relay
//! to noticing the old connection died, the relay sends `event_history` instead, which may
//! not reach back far enough. So after every reconnection the feed pages `history` forwards
//! from the last offset it delivered, holds live events that arrive meanwhile, and then
//! delivers everything past that offset in order. Offsets it has delivered are never
//! delivered again.
//!
//! Pure: the caller feeds it what the relay sent and sends the `history` requests it asks for
//! (with an ack), so the same logic runs in the binaries and in simulated tests.

use std::collections::BTreeMap;

use bytes::Bytes;
use serde::Deserialize;
use serde_json::value::RawValue;

use super::filter::Filter;

/// How many events one `history` page asks for.
pub const PAGE: usize = 500;

/// One event to show: its offset and its canonical JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedEvent {
    /// The relay's offset.
    pub offset: u64,
    /// The canonical event, as the relay sent it.
    pub json: Bytes,
}

/// What the feed wants sent: a `history` request (emit it with an ack, and hand the answer to
/// [`Feed::on_history_page`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryRequest(pub Bytes);

/// Where a fill stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fill {
    /// No fill: live events are shown as they come.
    Idle,
    /// Reconnected without recovery: the `event_history` that follows says whether the
    /// relay's offsets restarted, then the fill starts.
    AwaitHistory,
    /// A `history` request is out; `stale` when its answer must be discarded and the fill
    /// asked again from the (reset) last offset.
    Paging { stale: bool },
}

/// The feed's state.
#[derive(Debug, Clone)]
pub struct Feed {
    filter: Filter,
    /// How many events of the first `event_history` to show.
    backlog: usize,
    /// The highest offset delivered (or skipped as the starting point); `None` until the
    /// first `event_history`.
    last: Option<u64>,
    fill: Fill,
    /// Live events and pages waiting for the fill to end.
    held: BTreeMap<u64, Bytes>,
}

#[derive(Deserialize)]
struct Page<'a> {
    #[serde(borrow)]
    events: Vec<&'a RawValue>,
}

#[derive(Deserialize)]
struct Offset {
    #[serde(deserialize_with = "crate::relay::history::offset")]
    offset: Option<u64>,
}

impl Feed {
    /// A feed for `filter` that shows the newest `backlog` events of the first
    /// `event_history` (0: only what happens from now on).
    #[must_use]
    pub fn new(filter: Filter, backlog: usize) -> Self {
        Self {
            filter,
            backlog,
            last: None,
            fill: Fill::Idle,
            held: BTreeMap::new(),
        }
    }

    /// The highest offset delivered so far.
    #[must_use]
    pub fn last_offset(&self) -> Option<u64> {
        self.last
    }

    /// Whether a fill is under way (live events are held).
    #[must_use]
    pub fn is_filling(&self) -> bool {
        self.fill != Fill::Idle
    }

    /// The socket joined `/` (again). After the first time a fill from the last offset
    /// starts: at once when the relay `recovered` the socket, else after the
    /// `event_history` that follows.
    pub fn on_connected(&mut self, recovered: bool) -> Option<HistoryRequest> {
        let last = self.last?;
        if recovered {
            self.fill = Fill::Paging { stale: false };
            Some(self.request(last))
        } else {
            self.fill = Fill::AwaitHistory;
            None
        }
    }

    /// The fill's request went unanswered (ack timeout or disconnect): asked again, from
    /// what the fill already holds, when `connected`.
    pub fn on_history_lost(&mut self, connected: bool) -> Option<HistoryRequest> {
        if !matches!(self.fill, Fill::Paging { .. }) || !connected {
            return None;
        }
        self.fill = Fill::Paging { stale: false };
        let after = self.held_until().max(self.last).unwrap_or(0);
        Some(self.request(after))
    }

    /// `event_history` arrived (its argument, JSON). The first one sets the starting point
    /// and shows the newest `backlog` events; a later one tells whether the relay's offsets
    /// restarted (a relay without a store: its newest event is older than the last shown),
    /// which resets the starting point, and starts the fill.
    pub fn on_event_history(&mut self, page: &[u8]) -> (Vec<FeedEvent>, Option<HistoryRequest>) {
        let events = page_events(page);
        let newest = events.last().map(|e| e.offset);
        let Some(last) = self.last else {
            self.last = Some(newest.unwrap_or(0));
            let skip = events.len().saturating_sub(self.backlog);
            let mut shown: Vec<FeedEvent> = events.into_iter().skip(skip).collect();
            shown.extend(self.release_held());
            return (shown, None);
        };
        let restarted = newest.is_some_and(|n| n < last);
        if restarted {
            self.last = Some(0);
        }
        match self.fill {
            Fill::AwaitHistory => {
                self.fill = Fill::Paging { stale: false };
                let after = self.last.unwrap_or(0);
                (Vec::new(), Some(self.request(after)))
            }
            Fill::Paging { .. } if restarted => {
                self.fill = Fill::Paging { stale: true };
                (Vec::new(), None)
            }
            _ => (Vec::new(), None),
        }
    }

    /// A live event arrived with its offset argument: shown now, held while a fill runs, or
    /// dropped as already shown.
    pub fn on_live(&mut self, json: Bytes, offset: u64) -> Vec<FeedEvent> {
        if self.last.is_none() || self.is_filling() {
            self.held.insert(offset, json);
            return Vec::new();
        }
        if self.last.is_some_and(|last| offset <= last) {
            return Vec::new();
        }
        self.last = Some(offset);
        vec![FeedEvent { offset, json }]
    }

    /// A `history` page answered the fill: the next page is asked for until one comes back
    /// empty, then everything held past the last offset is shown in order.
    pub fn on_history_page(&mut self, page: &[u8]) -> (Vec<FeedEvent>, Option<HistoryRequest>) {
        match self.fill {
            Fill::Paging { stale: true } => {
                self.fill = Fill::Paging { stale: false };
                let after = self.last.unwrap_or(0);
                return (Vec::new(), Some(self.request(after)));
            }
            Fill::Paging { stale: false } => {}
            Fill::Idle | Fill::AwaitHistory => return (Vec::new(), None),
        }
        let events = page_events(page);
        let Some(next) = events.iter().map(|e| e.offset).max() else {
            self.fill = Fill::Idle;
            return (self.release_held(), None);
        };
        for event in events {
            self.held.insert(event.offset, event.json);
        }
        (Vec::new(), Some(self.request(next)))
    }

    fn request(&self, after: u64) -> HistoryRequest {
        HistoryRequest(self.filter.history_after(after, PAGE))
    }

    fn held_until(&self) -> Option<u64> {
        self.held.keys().next_back().copied()
    }

    fn release_held(&mut self) -> Vec<FeedEvent> {
        let last = self.last.unwrap_or(0);
        let held = std::mem::take(&mut self.held);
        let shown: Vec<FeedEvent> = held
            .into_iter()
            .filter(|(offset, _)| *offset > last)
            .map(|(offset, json)| FeedEvent { offset, json })
            .collect();
        if let Some(newest) = shown.last() {
            self.last = Some(newest.offset);
        }
        shown
    }
}

/// The events of an `event_history` or `history` page with their offsets, oldest first;
/// events without a readable offset are left out.
fn page_events(page: &[u8]) -> Vec<FeedEvent> {
    let Ok(page) = serde_json::from_slice::<Page<'_>>(page) else {
        return Vec::new();
    };
    let mut events: Vec<FeedEvent> = page
        .events
        .into_iter()
        .filter_map(|raw| {
            let offset = serde_json::from_str::<Offset>(raw.get()).ok()?.offset?;
            Some(FeedEvent {
                offset,
                json: Bytes::copy_from_slice(raw.get().as_bytes()),
            })
        })
        .collect();
    events.sort_by_key(|e| e.offset);
    events
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(offset: u64) -> String {
        format!(r#"{{"id":"e{offset}","offset":"{offset}"}}"#)
    }

    fn page(offsets: &[u64]) -> Vec<u8> {
        let events: Vec<String> = offsets.iter().map(|&o| event(o)).collect();
        format!(
            r#"{{"events":[{}],"count":{}}}"#,
            events.join(","),
            offsets.len()
        )
        .into_bytes()
    }

    fn offsets(events: &[FeedEvent]) -> Vec<u64> {
        events.iter().map(|e| e.offset).collect()
    }

    fn live(feed: &mut Feed, offset: u64) -> Vec<u64> {
        offsets(&feed.on_live(Bytes::from(event(offset)), offset))
    }

    #[test]
    fn the_first_history_shows_the_backlog_and_sets_the_starting_point() {
        let mut feed = Feed::new(Filter::default(), 2);
        assert_eq!(
            feed.on_connected(false),
            None,
            "no fill on the first connect"
        );
        assert_eq!(
            live(&mut feed, 6),
            Vec::<u64>::new(),
            "held until the history"
        );
        let (shown, request) = feed.on_event_history(&page(&[3, 4, 5]));
        assert_eq!((offsets(&shown), request), (vec![4, 5, 6], None));
        assert_eq!(live(&mut feed, 7), [7]);
        assert_eq!(
            live(&mut feed, 7),
            Vec::<u64>::new(),
            "a duplicate is dropped"
        );
        let mut quiet = Feed::new(Filter::default(), 0);
        assert!(quiet.on_event_history(&page(&[3, 4, 5])).0.is_empty());
        assert_eq!(quiet.last_offset(), Some(5));
    }

    #[test]
    fn a_reconnect_pages_history_forwards_and_holds_live_events_meanwhile() {
        let mut feed = Feed::new(Filter::default(), 0);
        feed.on_event_history(&page(&[]));
        assert_eq!(live(&mut feed, 1), [1]);
        assert_eq!(feed.on_connected(false), None, "waits for event_history");
        assert_eq!(live(&mut feed, 5), Vec::<u64>::new());
        let (shown, request) = feed.on_event_history(&page(&[1, 2]));
        assert!(shown.is_empty());
        assert_eq!(
            request.unwrap().0,
            Bytes::from_static(br#"{"after":1,"limit":500}"#)
        );
        let (shown, next) = feed.on_history_page(&page(&[2, 3, 4]));
        assert!(shown.is_empty());
        assert_eq!(
            next.unwrap().0,
            Bytes::from_static(br#"{"after":4,"limit":500}"#)
        );
        let (shown, next) = feed.on_history_page(&page(&[]));
        assert_eq!((offsets(&shown), next), (vec![2, 3, 4, 5], None));
        assert_eq!(live(&mut feed, 5), Vec::<u64>::new());
        assert_eq!(live(&mut feed, 6), [6]);
    }

    #[test]
    fn a_recovered_socket_fills_at_once() {
        let mut feed = Feed::new(Filter::default(), 0);
        feed.on_event_history(&page(&[7]));
        let request = feed.on_connected(true).unwrap();
        assert_eq!(request.0, Bytes::from_static(br#"{"after":7,"limit":500}"#));
        assert_eq!(live(&mut feed, 8), Vec::<u64>::new());
        let (shown, _) = feed.on_history_page(&page(&[]));
        assert_eq!(offsets(&shown), [8]);
    }

    #[test]
    fn a_relay_whose_offsets_restarted_is_followed_from_its_new_start() {
        let mut feed = Feed::new(Filter::default(), 0);
        feed.on_event_history(&page(&[10]));
        assert_eq!(live(&mut feed, 11), [11]);
        feed.on_connected(false);
        let (_, request) = feed.on_event_history(&page(&[1, 2]));
        assert_eq!(
            request.unwrap().0,
            Bytes::from_static(br#"{"after":0,"limit":500}"#)
        );
        let (_, next) = feed.on_history_page(&page(&[1, 2]));
        let (shown, _) = feed.on_history_page(&page(&[]));
        assert!(next.is_some());
        assert_eq!(offsets(&shown), [1, 2]);
    }

    #[test]
    fn a_restart_seen_while_paging_discards_the_stale_page() {
        let mut feed = Feed::new(Filter::default(), 0);
        feed.on_event_history(&page(&[10]));
        feed.on_connected(true);
        let (_, request) = feed.on_event_history(&page(&[3]));
        assert_eq!(request, None);
        let (shown, again) = feed.on_history_page(&page(&[]));
        assert!(shown.is_empty());
        assert_eq!(
            again.unwrap().0,
            Bytes::from_static(br#"{"after":0,"limit":500}"#)
        );
    }

    #[test]
    fn a_lost_fill_is_asked_again_from_what_it_already_holds() {
        let mut feed = Feed::new(Filter::default(), 0);
        feed.on_event_history(&page(&[2]));
        feed.on_connected(true);
        feed.on_history_page(&page(&[3, 4]));
        let again = feed.on_history_lost(true).unwrap();
        assert_eq!(again.0, Bytes::from_static(br#"{"after":4,"limit":500}"#));
        assert_eq!(feed.on_history_lost(false), None);
    }
}
