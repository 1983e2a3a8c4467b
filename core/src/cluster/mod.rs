//! Cluster mode: several relays (and Node.js Socket.IO servers using
//! `@socket.io/redis-streams-adapter`) sharing one Redis stream.
//!
//! Why a state machine of its own: what to append, what was read, where reading resumes,
//! what waits for Redis to come back and when to try again are decisions, so they live in
//! core and are tested on virtual time; the runtime only runs the Redis commands a
//! [`Command`] names and reports each outcome back as a [`Report`]. The relay owns a
//! [`Cluster`] and decides what each entry means for its clients (`relay::cluster`).
//!
//! The link's life: `Connecting` (a [`Command::Connect`] is out) → `Up` (one read and at most
//! one append batch in flight, each with a deadline) → on any failure or missed deadline
//! `Down` until a backoff (250 ms doubling to 2 s) ends → `Connecting` again. Every command
//! carries the link's epoch; reports from an older epoch are ignored, so a slow answer from a
//! dead connection never moves the cursor. The read deadline doubles as the heartbeat: a
//! blocking read answers at least every `block_time`, so one that has not answered
//! [`READ_GRACE`] after that means the connection is gone.
//!
//! Each append claims its event id in Redis first (`SET NX`, in the same script as the
//! `XADD`), so the same id posted to two nodes, or a batch sent again after a lost answer,
//! enters the stream once. While the link is down, what waits to be appended is also kept in
//! the store ([`outbox`]), so a node killed during an outage appends it after its restart.

pub mod config;
pub mod entry;
pub mod outbox;
pub mod session;
pub mod stream_id;
#[cfg(test)]
mod tests;

use std::collections::{HashSet, VecDeque};
use std::time::{Duration, Instant};

use crate::time::earliest;
pub use config::ClusterConfig;
use entry::Fields;
use outbox::{KeptEntry, OutboxChange};
pub use stream_id::StreamId;

/// How long after `block_time` a read may take before the connection counts as lost.
pub const READ_GRACE: Duration = Duration::from_secs(3);
/// How long a connect or an append batch may take.
pub const OP_TIMEOUT: Duration = Duration::from_secs(5);
/// The first reconnect delay; it doubles up to [`MAX_BACKOFF`].
pub const FIRST_BACKOFF: Duration = Duration::from_millis(250);
/// The longest reconnect delay.
pub const MAX_BACKOFF: Duration = Duration::from_secs(2);
/// Most entries appended in one batch (one round trip).
pub const APPEND_BATCH: usize = 256;

/// A Redis operation the runtime runs for the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Command {
    /// (Re)open the connections, then report [`Report::Connected`] with the stream's newest
    /// id (`XREVRANGE stream + - COUNT 1`), or [`Report::Failed`].
    Connect {
        /// The link's epoch, echoed in the report.
        epoch: u64,
    },
    /// For each entry, in order and atomically (one script): claim its event id
    /// (`SET stream:event:<id> 1 NX PX dedup_ttl`) and, only if the claim is new,
    /// `XADD stream MAXLEN ~ maxlen * field value …`; then report [`Report::Appended`] with
    /// the ids (`None` for an entry whose id was claimed already), or [`Report::Failed`].
    Append {
        /// The link's epoch, echoed in the report.
        epoch: u64,
        /// The entries.
        entries: Vec<Outgoing>,
    },
    /// `XREAD COUNT read_count BLOCK block_time STREAMS stream after`, then report
    /// [`Report::Read`] (no entries when the block time passed), or [`Report::Failed`].
    Read {
        /// The link's epoch, echoed in the report.
        epoch: u64,
        /// Read the entries after this id.
        after: StreamId,
    },
    /// `SET key value PX ttl_ms`: a parked session, for recovery on another node. No report.
    SaveSession {
        /// `session_key_prefix` + pid.
        key: String,
        /// The encoded session ([`session::StoredSession::encode`]).
        value: String,
        /// The recovery window.
        ttl_ms: u64,
    },
    /// `GETDEL key`, then report [`Report::Session`] (with no value when the key is absent
    /// or Redis cannot be reached).
    TakeSession {
        /// Echoed in the report.
        token: u64,
        /// `session_key_prefix` + pid.
        key: String,
    },
}

/// The outcome of a [`Command`], fed back with `Input::Cluster`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Report {
    /// Connected; the stream's newest entry id, `None` when the stream is empty or absent.
    Connected {
        /// The epoch of the `Connect`.
        epoch: u64,
        /// The stream's newest id.
        newest: Option<String>,
    },
    /// An `Append` succeeded: the ids Redis gave, in order.
    Appended {
        /// The epoch of the `Append`.
        epoch: u64,
        /// One per entry: its stream id, or `None` when its event id was claimed already
        /// (another node, or an earlier try of this one, appended it).
        ids: Vec<Option<String>>,
    },
    /// A `Read` returned these entries, oldest first.
    Read {
        /// The epoch of the `Read`.
        epoch: u64,
        /// The entries.
        entries: Vec<RawEntry>,
    },
    /// What a [`Command::TakeSession`] found.
    Session {
        /// The command's token.
        token: u64,
        /// The stored value, if any.
        value: Option<Vec<u8>>,
    },
    /// A command failed; the link is down until the next reconnect.
    Failed {
        /// The epoch of the command.
        epoch: u64,
        /// What went wrong, for `/health` and the log.
        error: String,
    },
}

/// An entry as the runtime read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawEntry {
    /// Its stream id, as Redis spelled it.
    pub id: String,
    /// Its fields.
    pub fields: Fields,
}

/// An entry waiting to be appended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// The relay event's id: claimed in Redis so that it enters the stream once.
    pub event_id: String,
    /// The entry's fields.
    pub fields: Fields,
}

/// The link to Redis as `/health` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkState {
    /// Not connected; a reconnect is scheduled.
    Down,
    /// A connect is in flight.
    Connecting,
    /// Connected: reading and appending.
    Up,
}

/// Counters and state for `/health` and `/metrics`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ClusterStats {
    /// Entries read from the stream.
    pub entries_read: u64,
    /// Entries appended to the stream.
    pub entries_written: u64,
    /// Entries read that were not relay events (other message types, malformed, or events
    /// whose data is not an object); they are skipped.
    pub entries_skipped: u64,
    /// Entries not appended because their event id was in the stream already.
    pub entries_claimed_elsewhere: u64,
    /// Events dropped from the outage buffer because it was full (they reached this node's
    /// clients, not the other nodes').
    pub buffer_dropped: u64,
    /// Times the link was lost (or a connect failed).
    pub disconnects: u64,
    /// The last error, if any.
    pub last_error: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Link {
    Down { retry_at: Instant },
    Connecting { deadline: Instant },
    Up,
}

/// The cluster link's state machine: the read cursor, the append buffer and the timers.
#[derive(Debug)]
pub struct Cluster {
    config: ClusterConfig,
    epoch: u64,
    link: Link,
    backoff: Duration,
    /// The last id read (or resumed from the store); reading continues after it.
    cursor: Option<StreamId>,
    /// The newest id known to be in the stream (from connects, appends and reads).
    newest: Option<StreamId>,
    /// The deadline of the read in flight.
    reading: Option<Instant>,
    /// The batch being appended, and its deadline.
    appending: Option<(Vec<Outgoing>, Instant)>,
    /// Entries not yet appended, oldest first.
    buffer: VecDeque<Outgoing>,
    /// Event ids of the buffered (or in flight) entries the store's outbox holds.
    kept: HashSet<String>,
    stats: ClusterStats,
    out: VecDeque<Command>,
    outbox: VecDeque<OutboxChange>,
}

/// What a report meant for the relay.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Reported {
    /// Entries read, oldest first, with their parsed ids.
    pub entries: Vec<(StreamId, Fields)>,
    /// The link just went down: what waits for the stream should reach local clients now.
    pub went_down: bool,
    /// The link just came up.
    pub came_up: bool,
    /// Event ids whose entries were not appended because another entry has them: they reach
    /// this node's clients when that entry is read.
    pub claimed_elsewhere: Vec<String>,
    /// A read found nothing new: this node has read the whole stream.
    pub caught_up: bool,
}

impl Cluster {
    /// A link for `config` whose first connect is due at `now`: it goes out at the first
    /// [`Self::handle_timeout`], so that whatever runs before the runtime's loop (restoring
    /// the store, draining the hook spool) cannot take the command before the link exists.
    #[must_use]
    pub fn new(config: ClusterConfig, now: Instant) -> Self {
        Self {
            config,
            epoch: 0,
            link: Link::Down { retry_at: now },
            backoff: FIRST_BACKOFF,
            cursor: None,
            newest: None,
            reading: None,
            appending: None,
            buffer: VecDeque::new(),
            kept: HashSet::new(),
            stats: ClusterStats::default(),
            out: VecDeque::new(),
            outbox: VecDeque::new(),
        }
    }

    /// Continues reading after `id` (the newest entry a previous run read, from the store),
    /// unless reading is already further.
    pub fn resume_after(&mut self, id: StreamId) {
        if self.cursor.is_none_or(|c| c < id) {
            self.cursor = Some(id);
        }
    }

    /// Whether the link is up (appended events will come back through the stream).
    #[must_use]
    pub fn is_up(&self) -> bool {
        self.link == Link::Up
    }

    /// The link's state.
    #[must_use]
    pub fn state(&self) -> LinkState {
        match self.link {
            Link::Down { .. } => LinkState::Down,
            Link::Connecting { .. } => LinkState::Connecting,
            Link::Up => LinkState::Up,
        }
    }

    /// The last id read.
    #[must_use]
    pub fn cursor(&self) -> Option<StreamId> {
        self.cursor
    }

    /// How far reading is behind the newest id known in the stream, in milliseconds of
    /// stream time.
    #[must_use]
    pub fn lag_ms(&self) -> u64 {
        match (self.newest, self.cursor) {
            (Some(newest), Some(cursor)) => newest.ms.saturating_sub(cursor.ms),
            _ => 0,
        }
    }

    /// Entries waiting to be appended (in flight included).
    #[must_use]
    pub fn buffered(&self) -> usize {
        self.buffer.len() + self.appending.as_ref().map_or(0, |(batch, _)| batch.len())
    }

    /// The counters.
    #[must_use]
    pub fn stats(&self) -> &ClusterStats {
        &self.stats
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &ClusterConfig {
        &self.config
    }

    /// Counts an entry the relay read but could not use.
    pub fn note_skipped(&mut self) {
        self.stats.entries_skipped += 1;
    }

    /// Queues an entry to append; it goes out with the next batch while the link is up, and
    /// is kept in the store's outbox while it is not. A full buffer forgets its oldest entry
    /// (counted in `buffer_dropped`).
    pub fn append(&mut self, now: Instant, outgoing: Outgoing) {
        if self.config.buffer_max == 0 {
            self.stats.buffer_dropped += 1;
            return;
        }
        self.make_room(1);
        if self.link == Link::Up {
            self.buffer.push_back(outgoing);
            self.pump(now);
        } else {
            // The rest of the buffer is kept already (the link going down kept it), so only
            // this entry goes to the outbox: no scan of the buffer per event in an outage.
            if self.kept.insert(outgoing.event_id.clone()) {
                let kept = KeptEntry::from_outgoing(&outgoing);
                self.outbox.push_back(OutboxChange::Keep(vec![kept]));
            }
            self.buffer.push_back(outgoing);
        }
    }

    /// Entries a previous run kept in the store's outbox (oldest first): they are appended
    /// before anything queued since, and stay kept until Redis has them.
    pub fn restore_outbox(&mut self, now: Instant, kept: Vec<KeptEntry>) {
        let mut restored: Vec<Outgoing> = Vec::with_capacity(kept.len());
        for entry in kept {
            match entry.to_outgoing() {
                Some(outgoing) if self.kept.insert(outgoing.event_id.clone()) => {
                    restored.push(outgoing);
                }
                Some(_) => {}
                None => {
                    self.stats.entries_skipped += 1;
                    self.outbox
                        .push_back(OutboxChange::Forget(vec![entry.event_id]));
                }
            }
        }
        for outgoing in restored.into_iter().rev() {
            self.buffer.push_front(outgoing);
        }
        self.make_room(0);
        self.pump(now);
    }

    /// The next change for the store's outbox.
    #[must_use]
    pub fn poll_outbox(&mut self) -> Option<OutboxChange> {
        self.outbox.pop_front()
    }

    /// Drops the oldest buffered entries until `more` fit (or the buffer is empty); those
    /// the outbox holds are forgotten there too.
    fn make_room(&mut self, more: usize) {
        let mut forgotten = Vec::new();
        while self.buffered() + more > self.config.buffer_max && !self.buffer.is_empty() {
            if let Some(old) = self.buffer.pop_front() {
                if self.kept.remove(&old.event_id) {
                    forgotten.push(old.event_id);
                }
                self.stats.buffer_dropped += 1;
            }
        }
        if !forgotten.is_empty() {
            self.outbox.push_back(OutboxChange::Forget(forgotten));
        }
    }

    /// Hands every buffered entry the outbox does not hold yet to the store (the link just
    /// went down: what waited for it is kept from now on).
    fn keep_buffer(&mut self) {
        let keep: Vec<KeptEntry> = self
            .buffer
            .iter()
            .filter(|o| !self.kept.contains(&o.event_id))
            .map(KeptEntry::from_outgoing)
            .collect();
        if keep.is_empty() {
            return;
        }
        self.kept.extend(keep.iter().map(|k| k.event_id.clone()));
        self.outbox.push_back(OutboxChange::Keep(keep));
    }

    /// The next command for the runtime.
    #[must_use]
    pub fn poll_command(&mut self) -> Option<Command> {
        self.out.pop_front()
    }

    /// Takes a report from the runtime.
    pub fn handle_report(&mut self, now: Instant, report: Report) -> Reported {
        let mut reported = Reported::default();
        let epoch = match &report {
            Report::Connected { epoch, .. }
            | Report::Appended { epoch, .. }
            | Report::Read { epoch, .. }
            | Report::Failed { epoch, .. } => *epoch,
            // Sessions are the relay's business, not the link's.
            Report::Session { .. } => return reported,
        };
        if epoch != self.epoch {
            return reported;
        }
        match report {
            Report::Connected { newest, .. } => {
                if !matches!(self.link, Link::Connecting { .. }) {
                    return reported;
                }
                let newest = newest.and_then(|id| StreamId::parse(&id).ok());
                self.note_newest(newest);
                if self.cursor.is_none() {
                    // A node that never read starts at the stream's end, as the Node adapter
                    // does (`$`), but pinned to an id so nothing appended meanwhile is missed.
                    self.cursor = Some(newest.unwrap_or(StreamId::ZERO));
                }
                self.link = Link::Up;
                self.backoff = FIRST_BACKOFF;
                reported.came_up = true;
            }
            Report::Appended { ids, .. } => {
                if let Some((batch, _)) = self.appending.take() {
                    let mut forgotten = Vec::new();
                    for (outgoing, id) in batch.into_iter().zip(&ids) {
                        if id.is_some() {
                            self.stats.entries_written += 1;
                        } else {
                            self.stats.entries_claimed_elsewhere += 1;
                            reported.claimed_elsewhere.push(outgoing.event_id.clone());
                        }
                        if self.kept.remove(&outgoing.event_id) {
                            forgotten.push(outgoing.event_id);
                        }
                    }
                    if !forgotten.is_empty() {
                        self.outbox.push_back(OutboxChange::Forget(forgotten));
                    }
                    let last = ids
                        .iter()
                        .flatten()
                        .filter_map(|id| StreamId::parse(id).ok());
                    self.note_newest(last.max());
                }
            }
            Report::Read { entries, .. } => {
                self.reading = None;
                reported.caught_up = entries.is_empty();
                for raw in entries {
                    self.stats.entries_read += 1;
                    match StreamId::parse(&raw.id) {
                        Ok(id) if self.cursor.is_none_or(|c| c < id) => {
                            self.cursor = Some(id);
                            self.note_newest(Some(id));
                            reported.entries.push((id, raw.fields));
                        }
                        _ => self.stats.entries_skipped += 1,
                    }
                }
            }
            Report::Failed { error, .. } => {
                self.fail(now, error);
                reported.went_down = true;
            }
            Report::Session { .. } => {}
        }
        self.pump(now);
        reported
    }

    /// Runs what is due by `now`: a reconnect, or a missed deadline taking the link down.
    /// Returns whether the link went down.
    pub fn handle_timeout(&mut self, now: Instant) -> bool {
        match self.link {
            Link::Down { retry_at } if retry_at <= now => {
                self.epoch += 1;
                self.link = Link::Connecting {
                    deadline: now + OP_TIMEOUT,
                };
                self.out.push_back(Command::Connect { epoch: self.epoch });
                false
            }
            Link::Connecting { deadline } if deadline <= now => {
                self.fail(now, "connect timed out".to_owned());
                true
            }
            Link::Up => {
                let late = |deadline: Option<Instant>| deadline.is_some_and(|d| d <= now);
                if late(self.reading) {
                    self.fail(now, "a read did not answer in time".to_owned());
                    true
                } else if late(self.appending.as_ref().map(|(_, d)| *d)) {
                    self.fail(now, "an append did not answer in time".to_owned());
                    true
                } else {
                    false
                }
            }
            _ => false,
        }
    }

    /// The next deadline: a reconnect, a connect, read or append timing out.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self.link {
            Link::Down { retry_at } => Some(retry_at),
            Link::Connecting { deadline } => Some(deadline),
            Link::Up => earliest(self.reading, self.appending.as_ref().map(|(_, d)| *d)),
        }
    }

    fn note_newest(&mut self, id: Option<StreamId>) {
        if let Some(id) = id {
            if self.newest.is_none_or(|n| n < id) {
                self.newest = Some(id);
            }
        }
    }

    fn fail(&mut self, now: Instant, error: String) {
        self.stats.disconnects += 1;
        self.stats.last_error = Some(error);
        self.epoch += 1;
        self.link = Link::Down {
            retry_at: now + self.backoff,
        };
        self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
        self.reading = None;
        // An unanswered batch may or may not have landed: send it again (readers drop the
        // copies by event id).
        if let Some((batch, _)) = self.appending.take() {
            for outgoing in batch.into_iter().rev() {
                self.buffer.push_front(outgoing);
            }
        }
        self.keep_buffer();
    }

    /// Sends the next read and the next append batch when the link is up and none is out.
    fn pump(&mut self, now: Instant) {
        if self.link != Link::Up {
            return;
        }
        if self.reading.is_none() {
            self.reading = Some(now + self.config.block_time + READ_GRACE);
            self.out.push_back(Command::Read {
                epoch: self.epoch,
                after: self.cursor.unwrap_or(StreamId::ZERO),
            });
        }
        if self.appending.is_none() && !self.buffer.is_empty() {
            let take = self.buffer.len().min(APPEND_BATCH);
            let batch: Vec<Outgoing> = self.buffer.drain(..take).collect();
            let entries = batch.clone();
            self.appending = Some((batch, now + OP_TIMEOUT));
            self.out.push_back(Command::Append {
                epoch: self.epoch,
                entries,
            });
        }
    }
}
