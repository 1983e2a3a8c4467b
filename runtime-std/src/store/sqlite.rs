//! The history file: one SQLite database in WAL mode (docs/store.md says why SQLite).
//!
//! Schema (version 1, in `PRAGMA user_version`):
//! - `events(offset INTEGER PRIMARY KEY, id, received_at_ms, json)`: `offset` is the rowid,
//!   so appends go to the end of the b-tree, and "the newest N" and "the oldest prefix" are
//!   rowid range scans; no second index slows the appends down.
//! - `meta(key, value)`: `last_offset`, kept even when retention deletes every event, so
//!   offsets keep increasing across restarts.
//! - `outbox(event_id, entry)` (cluster mode): the entries still to append to the Redis
//!   stream while it is unreachable, oldest first by rowid (`iorelay_core::cluster::outbox`).
//!   Added without a schema change: `CREATE TABLE IF NOT EXISTS` gives older files one, and
//!   an older iorelay ignores it.
//!
//! Durability: `synchronous=FULL` in WAL mode fsyncs the log at every commit, so a committed
//! batch survives the process being killed and the machine losing power.

use std::path::{Path, PathBuf};

use bytes::Bytes;
use iorelay_core::cluster::outbox::{KeptEntry, OutboxChange};
use iorelay_core::relay::event::StoredEvent;
use rusqlite::{params, Connection, OptionalExtension};

use super::writer::Sink;

/// The schema this code writes; a file with a newer one is refused rather than misread.
const SCHEMA: i64 = 1;

/// The WAL is truncated back to this size after a checkpoint, so one burst (or a prune) does
/// not leave a large log file behind.
const WAL_LIMIT: i64 = 16 << 20;

/// An open history file.
pub(super) struct History {
    conn: Connection,
    path: PathBuf,
}

/// Offsets and times are `u64` in Rust and `i64` in SQLite; both stay far below `i64::MAX`
/// (2^63 events, or the year 292 million), so saturating is only a guard.
fn sql(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

fn rust(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

impl History {
    /// Opens (creating if needed) the file and checks that it is a history of a known
    /// version. The error text says what is wrong in SQLite's words.
    pub fn open(path: &Path) -> Result<Self, String> {
        let conn = Connection::open(path).map_err(|e| e.to_string())?;
        // Another process holding a write lock (say, the sqlite3 shell) is waited for briefly
        // rather than failing the batch at once.
        conn.busy_timeout(std::time::Duration::from_secs(2))
            .map_err(|e| e.to_string())?;
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .map_err(|e| e.to_string())?;
        if version > SCHEMA {
            return Err(format!(
                "it was written by a newer iorelay (schema {version}, this one knows {SCHEMA})"
            ));
        }
        let mode: String = conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
            .map_err(|e| e.to_string())?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(format!("cannot use WAL mode (journal_mode is {mode})"));
        }
        conn.execute_batch(&format!(
            "PRAGMA synchronous = FULL;
             PRAGMA journal_size_limit = {WAL_LIMIT};
             CREATE TABLE IF NOT EXISTS events (
                 offset INTEGER PRIMARY KEY,
                 id TEXT NOT NULL,
                 received_at_ms INTEGER NOT NULL,
                 json BLOB NOT NULL
             );
             CREATE TABLE IF NOT EXISTS meta (
                 key TEXT PRIMARY KEY,
                 value INTEGER NOT NULL
             );
             CREATE TABLE IF NOT EXISTS outbox (
                 event_id TEXT PRIMARY KEY,
                 entry BLOB NOT NULL
             );
             PRAGMA user_version = {SCHEMA};"
        ))
        .map_err(|e| e.to_string())?;
        Ok(Self {
            conn,
            path: path.to_owned(),
        })
    }

    /// The newest `limit` events received at or after `since_ms`, in ascending offset order,
    /// and the highest offset ever committed.
    pub fn load(
        &self,
        limit: usize,
        since_ms: u64,
    ) -> Result<(Vec<StoredEvent>, Option<u64>), String> {
        let e = |err: rusqlite::Error| format!("reading {}: {err}", self.path.display());
        let mut stmt = self
            .conn
            .prepare(
                "SELECT offset, id, received_at_ms, json FROM events
                 WHERE received_at_ms >= ?1 ORDER BY offset DESC LIMIT ?2",
            )
            .map_err(e)?;
        let rows = stmt
            .query_map(
                params![sql(since_ms), sql(u64::try_from(limit).unwrap_or(u64::MAX))],
                |row| {
                    Ok(StoredEvent {
                        offset: rust(row.get(0)?),
                        id: row.get(1)?,
                        received_at_ms: rust(row.get(2)?),
                        json: Bytes::from(row.get::<_, Vec<u8>>(3)?),
                    })
                },
            )
            .map_err(e)?;
        let mut events = rows.collect::<Result<Vec<_>, _>>().map_err(e)?;
        events.reverse();
        let newest: Option<i64> = self
            .conn
            .query_row("SELECT MAX(offset) FROM events", [], |row| row.get(0))
            .map_err(e)?;
        let recorded: Option<i64> = self
            .conn
            .query_row(
                "SELECT value FROM meta WHERE key = 'last_offset'",
                [],
                |row| row.get(0),
            )
            .optional()
            .map_err(e)?;
        let last = newest.max(recorded).map(rust);
        Ok((events, last))
    }

    /// The outbox's entries, oldest first.
    pub fn load_outbox(&self) -> Result<Vec<KeptEntry>, String> {
        let e = |err: rusqlite::Error| format!("reading {}: {err}", self.path.display());
        let mut stmt = self
            .conn
            .prepare("SELECT event_id, entry FROM outbox ORDER BY rowid")
            .map_err(e)?;
        let rows = stmt
            .query_map([], |row| {
                Ok(KeptEntry {
                    event_id: row.get(0)?,
                    entry: row.get(1)?,
                })
            })
            .map_err(e)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(e)
    }
}

impl Sink for History {
    fn commit(&mut self, batch: &[StoredEvent], outbox: &[OutboxChange]) -> Result<(), String> {
        if batch.is_empty() && outbox.is_empty() {
            return Ok(());
        }
        let tx = self.conn.transaction().map_err(|e| e.to_string())?;
        {
            // `OR REPLACE`: appending an offset twice keeps the later copy instead of failing
            // the whole batch forever.
            let mut insert = tx
                .prepare(
                    "INSERT OR REPLACE INTO events (offset, id, received_at_ms, json)
                     VALUES (?1, ?2, ?3, ?4)",
                )
                .map_err(|e| e.to_string())?;
            for event in batch {
                insert
                    .execute(params![
                        sql(event.offset),
                        event.id,
                        sql(event.received_at_ms),
                        &event.json[..]
                    ])
                    .map_err(|e| e.to_string())?;
            }
            if let Some(last) = batch.last() {
                tx.execute(
                    "INSERT INTO meta (key, value) VALUES ('last_offset', ?1)
                     ON CONFLICT (key) DO UPDATE SET value = MAX(value, excluded.value)",
                    [sql(last.offset)],
                )
                .map_err(|e| e.to_string())?;
            }
            let mut keep = tx
                .prepare("INSERT OR IGNORE INTO outbox (event_id, entry) VALUES (?1, ?2)")
                .map_err(|e| e.to_string())?;
            let mut forget = tx
                .prepare("DELETE FROM outbox WHERE event_id = ?1")
                .map_err(|e| e.to_string())?;
            for change in outbox {
                match change {
                    OutboxChange::Keep(entries) => {
                        for kept in entries {
                            keep.execute(params![kept.event_id, kept.entry])
                                .map_err(|e| e.to_string())?;
                        }
                    }
                    OutboxChange::Forget(ids) => {
                        for id in ids {
                            forget.execute([id]).map_err(|e| e.to_string())?;
                        }
                    }
                    _ => {}
                }
            }
        }
        tx.commit().map_err(|e| e.to_string())
    }

    /// Count: everything at or below the `keep + 1`-th newest offset goes. Age: the oldest
    /// events go, in offset order, up to the first one received at or after `cutoff_ms` (the
    /// relay stamps `received_at` as it assigns offsets, so they rise together; an event stamped
    /// earlier than an older one, after a clock step back, waits for its successors).
    fn prune(&mut self, keep: usize, cutoff_ms: u64) -> Result<usize, String> {
        let tx = self.conn.transaction().map_err(|e| e.to_string())?;
        let by_count = tx
            .execute(
                "DELETE FROM events WHERE offset <=
                 (SELECT offset FROM events ORDER BY offset DESC LIMIT 1 OFFSET ?1)",
                [sql(u64::try_from(keep).unwrap_or(u64::MAX))],
            )
            .map_err(|e| e.to_string())?;
        let by_age = tx
            .execute(
                "DELETE FROM events WHERE offset <
                 COALESCE((SELECT offset FROM events WHERE received_at_ms >= ?1
                           ORDER BY offset LIMIT 1), 9223372036854775807)",
                [sql(cutoff_ms)],
            )
            .map_err(|e| e.to_string())?;
        tx.commit().map_err(|e| e.to_string())?;
        Ok(by_count + by_age)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tests::TempDir;

    fn event(offset: u64, received_at_ms: u64) -> StoredEvent {
        StoredEvent {
            offset,
            id: format!("id-{offset}"),
            received_at_ms,
            json: Bytes::from(format!(r#"{{"offset":"{offset}"}}"#)),
        }
    }

    fn offsets(events: &[StoredEvent]) -> Vec<u64> {
        events.iter().map(|e| e.offset).collect()
    }

    #[test]
    fn load_returns_the_newest_in_ascending_order() {
        let dir = TempDir::new("sqlite-load");
        let mut h = History::open(&dir.path().join("h.sqlite3")).unwrap();
        let all: Vec<_> = (1..=10).map(|o| event(o, 100 + o)).collect();
        h.commit(&all[..6], &[]).unwrap();
        h.commit(&all[6..], &[]).unwrap();
        let (events, last) = h.load(3, 0).unwrap();
        assert_eq!(offsets(&events), vec![8, 9, 10]);
        assert_eq!(events[2], all[9]);
        assert_eq!(last, Some(10));
        let (events, _) = h.load(100, 108).unwrap();
        assert_eq!(
            offsets(&events),
            vec![8, 9, 10],
            "older than since_ms is left out"
        );
    }

    #[test]
    fn an_empty_file_has_no_last_offset() {
        let dir = TempDir::new("sqlite-empty");
        let h = History::open(&dir.path().join("h.sqlite3")).unwrap();
        assert_eq!(h.load(10, 0).unwrap(), (vec![], None));
    }

    #[test]
    fn prune_by_count_keeps_the_newest() {
        let dir = TempDir::new("sqlite-count");
        let mut h = History::open(&dir.path().join("h.sqlite3")).unwrap();
        let all: Vec<_> = (1..=10).map(|o| event(o, 100)).collect();
        h.commit(&all, &[]).unwrap();
        assert_eq!(h.prune(4, 0).unwrap(), 6);
        assert_eq!(offsets(&h.load(100, 0).unwrap().0), vec![7, 8, 9, 10]);
        assert_eq!(h.prune(4, 0).unwrap(), 0);
    }

    #[test]
    fn prune_by_age_removes_the_old_prefix_and_keeps_the_last_offset() {
        let dir = TempDir::new("sqlite-age");
        let mut h = History::open(&dir.path().join("h.sqlite3")).unwrap();
        let all: Vec<_> = (1..=10).map(|o| event(o, 1000 + o * 10)).collect();
        h.commit(&all, &[]).unwrap();
        assert_eq!(h.prune(100, 1050).unwrap(), 4);
        assert_eq!(
            offsets(&h.load(100, 0).unwrap().0),
            (5..=10).collect::<Vec<_>>()
        );
        assert_eq!(h.prune(100, u64::MAX >> 1).unwrap(), 6);
        let (events, last) = h.load(100, 0).unwrap();
        assert!(events.is_empty());
        assert_eq!(last, Some(10), "offsets continue after everything expired");
    }

    #[test]
    fn appending_an_offset_again_replaces_it() {
        let dir = TempDir::new("sqlite-replace");
        let mut h = History::open(&dir.path().join("h.sqlite3")).unwrap();
        h.commit(&[event(1, 5), event(2, 5)], &[]).unwrap();
        h.commit(&[event(2, 6)], &[]).unwrap();
        let (events, last) = h.load(10, 0).unwrap();
        assert_eq!(offsets(&events), vec![1, 2]);
        assert_eq!(events[1].received_at_ms, 6);
        assert_eq!(last, Some(2));
    }

    #[test]
    fn the_outbox_keeps_entries_in_order_until_they_are_forgotten_and_survives_reopening() {
        let dir = TempDir::new("sqlite-outbox");
        let path = dir.path().join("h.sqlite3");
        let kept = |id: &str| KeptEntry {
            event_id: id.to_owned(),
            entry: format!("[[\"uid\",\"{id}\"]]").into_bytes(),
        };
        let mut h = History::open(&path).unwrap();
        let keep = OutboxChange::Keep(vec![kept("b"), kept("a")]);
        h.commit(&[event(1, 5)], &[keep]).unwrap();
        h.commit(&[], &[OutboxChange::Keep(vec![kept("c"), kept("a")])])
            .unwrap();
        h.commit(&[], &[OutboxChange::Forget(vec!["b".to_owned()])])
            .unwrap();
        drop(h);
        let h = History::open(&path).unwrap();
        assert_eq!(
            h.load_outbox().unwrap(),
            [kept("a"), kept("c")],
            "oldest first; keeping an id twice keeps the first"
        );
        assert_eq!(
            offsets(&h.load(10, 0).unwrap().0),
            vec![1],
            "events untouched"
        );
    }

    #[test]
    fn a_newer_schema_is_refused() {
        let dir = TempDir::new("sqlite-schema");
        let path = dir.path().join("h.sqlite3");
        drop(History::open(&path).unwrap());
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", SCHEMA + 1)
            .unwrap();
        drop(conn);
        let err = History::open(&path).err().unwrap();
        assert!(err.contains("newer iorelay"), "{err}");
    }
}
