//! `store-bench`: the numbers behind the choice of embedded store for the event history
//! (docs/store.md). It runs the same workload against SQLite (rusqlite, bundled) and redb,
//! each used the way a history store would use it, and prints one table.
//!
//! Why both stay here although runtime-std keeps only one: so the choice can be re-measured
//! on another machine or after a major version of either, with one command.
//!
//! Workload, per backend, in a fresh directory:
//! 1. append `--events` (100 000) events of about 600 B of JSON in transactions of `--batch`
//!    (100), each committed with the durability the store needs for "kill -9 loses at most
//!    the commit window";
//! 2. commit 200 single-event transactions (what a quiet server does once per commit window)
//!    and report their latency p50/p99;
//! 3. the size of the files on disk;
//! 4. close, reopen, and load the newest 10 000 events (open time included);
//! 5. append 10% more, then prune back to `--events` by count, then prune the oldest 10% by
//!    age (events carry increasing `received_at`), and time each prune.
//!
//! The variants: `sqlite-normal` (WAL, `synchronous=NORMAL`: a commit survives the process
//! being killed but a power cut may lose the last commits), `sqlite-full` (WAL,
//! `synchronous=FULL`: an fsync per commit, survives a power cut), `redb` (`Durability::
//! Immediate`, an fsync per commit: redb's only level whose commits survive a crash of the
//! process).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Parser;
use iorelay_core::relay::event::StoredEvent;

/// Benchmarks the candidate embedded stores for the event history.
#[derive(Parser, Debug)]
#[command(name = "store-bench")]
struct Args {
    /// Events in the store (and the retention count).
    #[arg(long, default_value_t = 100_000)]
    events: usize,
    /// Events per append transaction.
    #[arg(long, default_value_t = 100)]
    batch: usize,
    /// Bytes of JSON per event (about).
    #[arg(long, default_value_t = 600)]
    payload: usize,
    /// Where to create the scratch directories (default: the system temp dir).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Which backends: sqlite-normal, sqlite-full, redb (default: all).
    #[arg(long)]
    only: Vec<String>,
}

/// How many newest events the store loads at open.
const LOAD: usize = 10_000;
/// How many single-event commits measure commit latency.
const SINGLES: usize = 200;

/// What one backend must do; each implementation mirrors what the store does.
trait Backend {
    fn append(&mut self, batch: &[StoredEvent]) -> Result<(), String>;
    fn load_newest(&mut self, limit: usize) -> Result<Vec<StoredEvent>, String>;
    /// Deletes all but the newest `keep`; returns how many went.
    fn prune_count(&mut self, keep: usize) -> Result<usize, String>;
    /// Deletes the oldest events received before `cutoff_ms`; returns how many went.
    fn prune_age(&mut self, cutoff_ms: u64) -> Result<usize, String>;
}

fn main() -> ExitCode {
    let args = Args::parse();
    let base = args.dir.clone().unwrap_or_else(std::env::temp_dir);
    let all = ["sqlite-normal", "sqlite-full", "redb"];
    let mut rows = Vec::new();
    for name in all {
        if !args.only.is_empty() && !args.only.iter().any(|o| o == name) {
            continue;
        }
        let dir = base.join(format!("iorelay-store-bench-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        if let Err(err) = std::fs::create_dir_all(&dir) {
            eprintln!("cannot create {}: {err}", dir.display());
            return ExitCode::FAILURE;
        }
        let result = run(name, &dir, &args);
        let _ = std::fs::remove_dir_all(&dir);
        match result {
            Ok(row) => rows.push(row),
            Err(err) => {
                eprintln!("{name}: {err}");
                return ExitCode::FAILURE;
            }
        }
    }
    print_table(&rows, &args);
    ExitCode::SUCCESS
}

struct Row {
    name: &'static str,
    append_per_s: f64,
    append_mb_per_s: f64,
    single_p50: Duration,
    single_p99: Duration,
    disk_bytes: u64,
    load: Duration,
    prune_count: Duration,
    prune_age: Duration,
}

fn open(name: &str, dir: &Path) -> Result<Box<dyn Backend>, String> {
    Ok(match name {
        "sqlite-normal" => Box::new(sqlite::Sqlite::open(dir, false)?),
        "sqlite-full" => Box::new(sqlite::Sqlite::open(dir, true)?),
        _ => Box::new(redb_backend::Redb::open(dir)?),
    })
}

fn run(name: &'static str, dir: &Path, args: &Args) -> Result<Row, String> {
    let mut gen = Gen::new(args.payload);
    let mut store = open(name, dir)?;

    let start = Instant::now();
    let mut bytes = 0usize;
    let mut left = args.events;
    while left > 0 {
        let batch = gen.batch(left.min(args.batch));
        bytes += batch.iter().map(|e| e.json.len()).sum::<usize>();
        left -= batch.len();
        store.append(&batch)?;
    }
    let took = start.elapsed().as_secs_f64();
    let append_per_s = args.events as f64 / took;
    let append_mb_per_s = bytes as f64 / took / 1e6;

    let mut singles = Vec::with_capacity(SINGLES);
    for _ in 0..SINGLES {
        let one = gen.batch(1);
        let start = Instant::now();
        store.append(&one)?;
        singles.push(start.elapsed());
    }
    singles.sort();
    drop(store);
    let disk_bytes = dir_size(dir);

    let start = Instant::now();
    let mut store = open(name, dir)?;
    let loaded = store.load_newest(LOAD)?;
    let load = start.elapsed();
    check_newest(&loaded, gen.next_offset)?;

    let extra = args.events / 10;
    let mut left = extra;
    while left > 0 {
        let batch = gen.batch(left.min(args.batch));
        left -= batch.len();
        store.append(&batch)?;
    }
    let start = Instant::now();
    let gone = store.prune_count(args.events)?;
    let prune_count = start.elapsed();
    if gone != extra + SINGLES {
        return Err(format!(
            "count prune removed {gone}, expected {}",
            extra + SINGLES
        ));
    }
    let oldest = gen.next_offset - args.events as u64;
    let cutoff = Gen::received_at(oldest + extra as u64);
    let start = Instant::now();
    let gone = store.prune_age(cutoff)?;
    let prune_age = start.elapsed();
    if gone != extra {
        return Err(format!("age prune removed {gone}, expected {extra}"));
    }
    Ok(Row {
        name,
        append_per_s,
        append_mb_per_s,
        single_p50: singles[singles.len() / 2],
        single_p99: singles[singles.len() * 99 / 100],
        disk_bytes,
        load,
        prune_count,
        prune_age,
    })
}

fn check_newest(loaded: &[StoredEvent], next_offset: u64) -> Result<(), String> {
    let ascending = loaded.windows(2).all(|w| w[0].offset < w[1].offset);
    match loaded.last() {
        Some(last) if loaded.len() == LOAD && ascending && last.offset + 1 == next_offset => Ok(()),
        _ => Err(format!(
            "load_newest returned {} events, ascending={ascending}, last={:?}",
            loaded.len(),
            loaded.last().map(|e| e.offset)
        )),
    }
}

fn dir_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

fn print_table(rows: &[Row], args: &Args) {
    println!(
        "{} events of ~{} B JSON, append transactions of {}; load = reopen + newest {LOAD}",
        args.events, args.payload, args.batch
    );
    println!(
        "| backend | append ev/s | append MB/s | 1-event commit p50 | p99 | disk for {} | load newest {LOAD} | prune {} by count | prune {} by age |",
        args.events,
        args.events / 10 + SINGLES,
        args.events / 10
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for r in rows {
        println!(
            "| {} | {:.0} | {:.1} | {} | {} | {:.1} MB | {} | {} | {} |",
            r.name,
            r.append_per_s,
            r.append_mb_per_s,
            ms(r.single_p50),
            ms(r.single_p99),
            r.disk_bytes as f64 / 1e6,
            ms(r.load),
            ms(r.prune_count),
            ms(r.prune_age)
        );
    }
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

/// Makes events that look like the relay's canonical ones: increasing offsets, one event per
/// millisecond of `received_at`, ~`payload` bytes of JSON whose text varies.
struct Gen {
    payload: usize,
    next_offset: u64,
    rng: u64,
}

impl Gen {
    const EPOCH_MS: u64 = 1_750_000_000_000;

    fn new(payload: usize) -> Self {
        Self {
            payload,
            next_offset: 1,
            rng: 0x9E37_79B9_7F4A_7C15,
        }
    }

    fn received_at(offset: u64) -> u64 {
        Self::EPOCH_MS + offset
    }

    fn batch(&mut self, n: usize) -> Vec<StoredEvent> {
        (0..n).map(|_| self.event()).collect()
    }

    fn event(&mut self) -> StoredEvent {
        let offset = self.next_offset;
        self.next_offset += 1;
        let id = format!("{:016x}{:016x}", self.next(), self.next());
        let mut json = format!(
            r#"{{"id":"{id}","offset":"{offset}","received_at":{},"type":"PostToolUse","session_id":"s-{:08x}","project":"iorelay","tool_name":"Bash","data":{{"command":""#,
            Self::received_at(offset),
            self.next() as u32
        );
        while json.len() + 3 < self.payload {
            let word = self.next();
            json.push_str(&format!("{word:x} "));
        }
        json.push_str("\"}}");
        StoredEvent {
            offset,
            id,
            received_at_ms: Self::received_at(offset),
            json: json.into_bytes().into(),
        }
    }

    /// xorshift64*: deterministic filler, no dependency.
    fn next(&mut self) -> u64 {
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        self.rng.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

mod sqlite {
    //! SQLite in WAL mode; `offset` is the rowid, so appends go to the end of the b-tree and
    //! "newest N" and "oldest prefix" are rowid range scans without a second index.

    use super::{Backend, StoredEvent};
    use rusqlite::{params, Connection};
    use std::path::Path;

    pub struct Sqlite {
        conn: Connection,
    }

    fn e(err: rusqlite::Error) -> String {
        err.to_string()
    }

    impl Sqlite {
        pub fn open(dir: &Path, full: bool) -> Result<Self, String> {
            let conn = Connection::open(dir.join("history.sqlite3")).map_err(e)?;
            conn.pragma_update(None, "journal_mode", "WAL").map_err(e)?;
            conn.pragma_update(None, "synchronous", if full { "FULL" } else { "NORMAL" })
                .map_err(e)?;
            conn.execute_batch(
                "CREATE TABLE IF NOT EXISTS events (
                    offset INTEGER PRIMARY KEY,
                    id TEXT NOT NULL,
                    received_at_ms INTEGER NOT NULL,
                    json BLOB NOT NULL
                 );",
            )
            .map_err(e)?;
            Ok(Self { conn })
        }
    }

    impl Backend for Sqlite {
        fn append(&mut self, batch: &[StoredEvent]) -> Result<(), String> {
            let tx = self.conn.transaction().map_err(e)?;
            {
                let mut insert = tx
                    .prepare(
                        "INSERT OR REPLACE INTO events (offset, id, received_at_ms, json)
                         VALUES (?1, ?2, ?3, ?4)",
                    )
                    .map_err(e)?;
                for ev in batch {
                    insert
                        .execute(params![
                            ev.offset as i64,
                            ev.id,
                            ev.received_at_ms as i64,
                            &ev.json[..]
                        ])
                        .map_err(e)?;
                }
            }
            tx.commit().map_err(e)
        }

        fn load_newest(&mut self, limit: usize) -> Result<Vec<StoredEvent>, String> {
            let mut stmt = self
                .conn
                .prepare(
                    "SELECT offset, id, received_at_ms, json FROM events
                     ORDER BY offset DESC LIMIT ?1",
                )
                .map_err(e)?;
            let rows = stmt
                .query_map([limit as i64], |row| {
                    Ok(StoredEvent {
                        offset: row.get::<_, i64>(0)? as u64,
                        id: row.get(1)?,
                        received_at_ms: row.get::<_, i64>(2)? as u64,
                        json: row.get::<_, Vec<u8>>(3)?.into(),
                    })
                })
                .map_err(e)?;
            let mut out = rows.collect::<Result<Vec<_>, _>>().map_err(e)?;
            out.reverse();
            Ok(out)
        }

        fn prune_count(&mut self, keep: usize) -> Result<usize, String> {
            self.conn
                .execute(
                    "DELETE FROM events WHERE offset <=
                     (SELECT offset FROM events ORDER BY offset DESC LIMIT 1 OFFSET ?1)",
                    [keep as i64],
                )
                .map_err(e)
        }

        fn prune_age(&mut self, cutoff_ms: u64) -> Result<usize, String> {
            self.conn
                .execute(
                    "DELETE FROM events WHERE offset <
                     COALESCE((SELECT offset FROM events WHERE received_at_ms >= ?1
                               ORDER BY offset LIMIT 1), 9223372036854775807)",
                    [cutoff_ms as i64],
                )
                .map_err(e)
        }
    }
}

mod redb_backend {
    //! redb: one table offset → (received_at_ms, id, json) packed by hand.

    use super::{Backend, StoredEvent};
    use redb::{
        Database, Durability, ReadableDatabase, ReadableTable, ReadableTableMetadata,
        TableDefinition,
    };
    use std::path::Path;

    const EVENTS: TableDefinition<u64, &[u8]> = TableDefinition::new("events");

    pub struct Redb {
        db: Database,
    }

    fn e(err: impl std::fmt::Display) -> String {
        err.to_string()
    }

    fn encode(ev: &StoredEvent, out: &mut Vec<u8>) {
        out.clear();
        out.extend_from_slice(&ev.received_at_ms.to_le_bytes());
        out.extend_from_slice(&(ev.id.len() as u32).to_le_bytes());
        out.extend_from_slice(ev.id.as_bytes());
        out.extend_from_slice(&ev.json);
    }

    fn decode(offset: u64, v: &[u8]) -> StoredEvent {
        let received_at_ms = u64::from_le_bytes(v[0..8].try_into().unwrap_or_default());
        let id_len = u32::from_le_bytes(v[8..12].try_into().unwrap_or_default()) as usize;
        StoredEvent {
            offset,
            id: String::from_utf8_lossy(&v[12..12 + id_len]).into_owned(),
            received_at_ms,
            json: v[12 + id_len..].to_vec().into(),
        }
    }

    fn received_at(v: &[u8]) -> u64 {
        u64::from_le_bytes(v[0..8].try_into().unwrap_or_default())
    }

    impl Redb {
        pub fn open(dir: &Path) -> Result<Self, String> {
            let db = Database::create(dir.join("history.redb")).map_err(e)?;
            Ok(Self { db })
        }

        fn write<T>(
            &mut self,
            f: impl FnOnce(&mut redb::Table<u64, &'static [u8]>) -> Result<T, String>,
        ) -> Result<T, String> {
            let mut tx = self.db.begin_write().map_err(e)?;
            tx.set_durability(Durability::Immediate).map_err(e)?;
            let out = {
                let mut table = tx.open_table(EVENTS).map_err(e)?;
                f(&mut table)?
            };
            tx.commit().map_err(e)?;
            Ok(out)
        }
    }

    impl Backend for Redb {
        fn append(&mut self, batch: &[StoredEvent]) -> Result<(), String> {
            self.write(|table| {
                let mut buf = Vec::new();
                for ev in batch {
                    encode(ev, &mut buf);
                    table.insert(ev.offset, &buf[..]).map_err(e)?;
                }
                Ok(())
            })
        }

        fn load_newest(&mut self, limit: usize) -> Result<Vec<StoredEvent>, String> {
            let tx = self.db.begin_read().map_err(e)?;
            let table = tx.open_table(EVENTS).map_err(e)?;
            let mut out = Vec::with_capacity(limit);
            for item in table.range::<u64>(..).map_err(e)?.rev().take(limit) {
                let (k, v) = item.map_err(e)?;
                out.push(decode(k.value(), v.value()));
            }
            out.reverse();
            Ok(out)
        }

        fn prune_count(&mut self, keep: usize) -> Result<usize, String> {
            self.write(|table| {
                let len = table.len().map_err(e)? as usize;
                let mut gone = 0;
                while gone < len.saturating_sub(keep) {
                    table.pop_first().map_err(e)?;
                    gone += 1;
                }
                Ok(gone)
            })
        }

        fn prune_age(&mut self, cutoff_ms: u64) -> Result<usize, String> {
            self.write(|table| {
                let mut gone = 0;
                loop {
                    let old = match table.first().map_err(e)? {
                        Some((_, v)) => received_at(v.value()) < cutoff_ms,
                        None => false,
                    };
                    if !old {
                        return Ok(gone);
                    }
                    table.pop_first().map_err(e)?;
                    gone += 1;
                }
            })
        }
    }
}
