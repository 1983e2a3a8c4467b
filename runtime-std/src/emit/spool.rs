//! The spool: hook events that could not be delivered yet, kept on disk in the state directory
//! until a later emit (or `serve` at start) delivers them.
//!
//! # Files
//!
//! | file | what |
//! | --- | --- |
//! | `spool.jsonl` | one event (compact JSON object with its `id`) per line, appended |
//! | `spool.draining.jsonl` | the spool a drainer claimed; delivered batch by batch |
//! | `spool.draining.offset` | bytes of the claimed file already delivered (decimal) |
//! | `spool.lock` | shared by appenders, exclusive for the instant of a claim |
//! | `drain.lock` | exclusive for the one drainer; others skip draining |
//! | `rejected.jsonl` | lines the relay refused as malformed or too large, and lines that are not JSON objects (a crash mid-write): kept for a human, never retried |
//!
//! # Concurrency
//!
//! Many emits append at once while at most one drains. An appender takes `spool.lock`
//! **shared**, opens `spool.jsonl` with `O_APPEND`, writes its line with one `write` and
//! closes; appenders never wait for each other, and `O_APPEND` makes each line land whole
//! after the previous ones (a regular file's write is atomic with respect to other writers).
//!
//! A drainer takes `drain.lock` with a non-blocking try (busy: somebody else is draining, so
//! this emit leaves it to them). To claim the spool it takes `spool.lock` **exclusive** —
//! waiting only for appenders mid-write — and renames `spool.jsonl` to
//! `spool.draining.jsonl`. The lock is what makes the rename safe: without it, an appender that
//! opened `spool.jsonl` just before the rename would write into the claimed file after the
//! drainer read it, and its event would be deleted with the file. New events go to a fresh
//! `spool.jsonl` while the claimed one drains.
//!
//! # Idempotent drain
//!
//! The claimed file is sent in batches (a JSON array per POST). After each accepted batch the
//! offset is written (temporary file + rename). A drainer that dies, or runs out of its
//! deadline, leaves the claimed file and the offset behind, and the next drainer resumes there
//! before claiming anything new. A crash between the relay accepting a batch and the offset
//! being written re-sends that batch: every event carries the `id` emit gave it before it was
//! spooled, and the relay drops ids it has seen, so nothing shows up twice.
//!
//! Without `flock` (non-Unix), appends are still whole lines but an append racing a claim
//! can be lost; iorelay's hook side targets Linux and macOS.

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::breaker_file::write_atomically;
use super::lock::{FileLock, Mode};

/// Most events in one drain POST.
pub const MAX_BATCH_EVENTS: usize = 200;
/// Most bytes of events in one drain POST (one bigger event still goes alone).
pub const MAX_BATCH_BYTES: usize = 1024 * 1024;

/// What the relay said to one batch; `F` says why it failed (text, or more for the caller
/// that needs it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendOutcome<F = String> {
    /// Accepted (duplicates included): the batch is delivered.
    Accepted,
    /// Refused as malformed or too large: re-sending the same bytes cannot help.
    Rejected(String),
    /// Not delivered (unreachable, timed out, a server error, unauthorised): try later.
    Failed(F),
}

/// How a drain ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DrainEnd {
    /// Nothing left to send.
    Empty,
    /// Another process is draining.
    Busy,
    /// The deadline came first; the rest waits for the next drain.
    OutOfTime,
    /// A batch was not delivered; the rest waits for the next drain.
    Failed(String),
}

/// What a drain did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrainReport {
    /// Events the relay accepted.
    pub sent: usize,
    /// Events moved to `rejected.jsonl`.
    pub rejected: usize,
    /// Why it stopped.
    pub end: DrainEnd,
}

/// The spool in one state directory.
#[derive(Debug, Clone)]
pub struct Spool {
    dir: PathBuf,
}

impl Spool {
    /// The spool whose files live in `state_dir` (which must exist to append).
    #[must_use]
    pub fn new(state_dir: &Path) -> Self {
        Self {
            dir: state_dir.to_path_buf(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Appends one event (compact JSON, no newline inside) as a line.
    ///
    /// # Errors
    /// The lock or the spool file cannot be opened or written.
    pub fn append(&self, event: &[u8]) -> io::Result<()> {
        let mut line = Vec::with_capacity(event.len() + 1);
        line.extend_from_slice(event);
        line.push(b'\n');
        let _shared = FileLock::acquire(&self.path("spool.lock"), Mode::Shared)?;
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.path("spool.jsonl"))?;
        file.write_all(&line)
    }

    /// Bytes waiting to be delivered, new or claimed by a drainer (cheap: two `stat`s).
    #[must_use]
    pub fn pending_bytes(&self) -> u64 {
        let len = |name: &str| std::fs::metadata(self.path(name)).map_or(0, |m| m.len());
        len("spool.jsonl") + len("spool.draining.jsonl")
    }

    /// Whether anything waits to be delivered.
    #[must_use]
    pub fn pending(&self) -> bool {
        self.pending_bytes() > 0
    }

    /// Delivers spooled events with `send` (given a JSON array body and the deadline) until
    /// the spool is empty, a batch fails, another process is draining, or less than
    /// `min_left` remains before `deadline`.
    ///
    /// # Errors
    /// The spool's files cannot be used; events stay where they are.
    pub fn drain(
        &self,
        deadline: Instant,
        min_left: Duration,
        mut send: impl FnMut(&[u8], Instant) -> SendOutcome,
    ) -> io::Result<DrainReport> {
        let mut report = DrainReport {
            sent: 0,
            rejected: 0,
            end: DrainEnd::Empty,
        };
        let Some(_drainer) = FileLock::try_acquire(&self.path("drain.lock"), Mode::Exclusive)?
        else {
            report.end = DrainEnd::Busy;
            return Ok(report);
        };
        let mut batch_limit = MAX_BATCH_EVENTS;
        loop {
            if !self.path("spool.draining.jsonl").exists() && !self.claim()? {
                return Ok(report);
            }
            let offset = self.offset();
            let batch = self.read_batch(offset, batch_limit)?;
            report.rejected += batch.malformed.len();
            self.reject(&batch.malformed)?;
            if batch.events.is_empty() {
                if batch.next_offset == offset {
                    self.finish_claimed()?;
                    batch_limit = MAX_BATCH_EVENTS;
                } else {
                    self.set_offset(batch.next_offset)?;
                }
                continue;
            }
            if deadline.saturating_duration_since(Instant::now()) < min_left {
                report.end = DrainEnd::OutOfTime;
                return Ok(report);
            }
            match send(&array(&batch.events), deadline) {
                SendOutcome::Accepted => {
                    report.sent += batch.events.len();
                    self.set_offset(batch.next_offset)?;
                }
                SendOutcome::Rejected(_) if batch.events.len() > 1 => {
                    // One bad event must not hold back the rest: find it by sending one by one.
                    batch_limit = 1;
                }
                SendOutcome::Rejected(_) => {
                    report.rejected += 1;
                    self.reject(&batch.events)?;
                    self.set_offset(batch.next_offset)?;
                }
                SendOutcome::Failed(why) => {
                    report.end = DrainEnd::Failed(why);
                    return Ok(report);
                }
            }
        }
    }

    /// Takes every event of one claimed spool file for the caller to ingest itself (the server
    /// at start), holding the drain lock until [`Taken::commit`] or drop. `None`: nothing is
    /// spooled, or an emit is draining right now (it will deliver them).
    ///
    /// # Errors
    /// The spool's files cannot be used.
    pub fn take(&self) -> io::Result<Option<Taken>> {
        let Some(lock) = FileLock::try_acquire(&self.path("drain.lock"), Mode::Exclusive)? else {
            return Ok(None);
        };
        if !self.path("spool.draining.jsonl").exists() && !self.claim()? {
            return Ok(None);
        }
        let batch = self.read_batch(self.offset(), usize::MAX)?;
        self.reject(&batch.malformed)?;
        Ok(Some(Taken {
            events: batch.events,
            spool: self.clone(),
            _lock: lock,
        }))
    }

    /// Moves `spool.jsonl` to `spool.draining.jsonl`; false when there is nothing to claim.
    fn claim(&self) -> io::Result<bool> {
        let _exclusive = FileLock::acquire(&self.path("spool.lock"), Mode::Exclusive)?;
        let spool = self.path("spool.jsonl");
        if !std::fs::metadata(&spool).is_ok_and(|m| m.len() > 0) {
            return Ok(false);
        }
        remove_if_exists(&self.path("spool.draining.offset"))?;
        std::fs::rename(spool, self.path("spool.draining.jsonl"))?;
        Ok(true)
    }

    /// The claimed file is delivered: forget it (offset first, so a crash in between only
    /// re-sends, never skips).
    fn finish_claimed(&self) -> io::Result<()> {
        remove_if_exists(&self.path("spool.draining.offset"))?;
        remove_if_exists(&self.path("spool.draining.jsonl"))
    }

    fn offset(&self) -> u64 {
        std::fs::read_to_string(self.path("spool.draining.offset"))
            .ok()
            .and_then(|text| text.trim().parse().ok())
            .unwrap_or(0)
    }

    fn set_offset(&self, offset: u64) -> io::Result<()> {
        write_atomically(
            &self.path("spool.draining.offset"),
            offset.to_string().as_bytes(),
        )
    }

    /// Keeps an event the relay refused in `rejected.jsonl`, for a human to look at.
    ///
    /// # Errors
    /// The file cannot be written.
    pub fn set_aside(&self, event: &[u8]) -> io::Result<()> {
        self.reject(&[event.to_vec()])
    }

    fn reject(&self, lines: &[Vec<u8>]) -> io::Result<()> {
        if lines.is_empty() {
            return Ok(());
        }
        let mut bytes = Vec::new();
        for line in lines {
            bytes.extend_from_slice(line);
            bytes.push(b'\n');
        }
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.path("rejected.jsonl"))?
            .write_all(&bytes)
    }

    /// Reads lines from `offset` of the claimed file: up to `limit` events and
    /// [`MAX_BATCH_BYTES`] (at least one event), and the malformed lines among them.
    fn read_batch(&self, offset: u64, limit: usize) -> io::Result<Batch> {
        let mut file = File::open(self.path("spool.draining.jsonl"))?;
        file.seek(SeekFrom::Start(offset))?;
        let mut reader = BufReader::new(file);
        let mut batch = Batch {
            events: Vec::new(),
            malformed: Vec::new(),
            next_offset: offset,
        };
        let mut bytes = 0;
        let mut line = Vec::new();
        while batch.events.len() < limit {
            line.clear();
            let read = reader.read_until(b'\n', &mut line)?;
            if read == 0 {
                break;
            }
            let event = line.strip_suffix(b"\n").unwrap_or(&line);
            if event.iter().all(u8::is_ascii_whitespace) {
                batch.next_offset += read as u64;
                continue;
            }
            if !is_object(event) {
                batch.malformed.push(event.to_vec());
                batch.next_offset += read as u64;
                continue;
            }
            if !batch.events.is_empty() && bytes + event.len() > MAX_BATCH_BYTES {
                break;
            }
            bytes += event.len() + 1;
            batch.events.push(event.to_vec());
            batch.next_offset += read as u64;
        }
        Ok(batch)
    }
}

/// The events of one claimed spool file, handed to the server to ingest.
#[derive(Debug)]
pub struct Taken {
    /// Each event's JSON object, as spooled (with its `id`).
    pub events: Vec<Vec<u8>>,
    spool: Spool,
    _lock: FileLock,
}

impl Taken {
    /// The events were ingested: delete the claimed file. Dropping without committing leaves it
    /// for the next drain (re-sending is harmless: the ids de-duplicate).
    ///
    /// # Errors
    /// The claimed file cannot be removed.
    pub fn commit(self) -> io::Result<()> {
        self.spool.finish_claimed()
    }
}

/// For `serve` at start: hands every spooled event in `state_dir` to `ingest` (a batch of raw
/// JSON objects at a time) and deletes each batch once `ingest` returns `Ok`. Returns how many
/// events were ingested. Stops at the first `Err` of `ingest`, leaving that batch spooled.
///
/// # Errors
/// The spool's files cannot be used.
pub fn drain_into<E>(
    state_dir: &Path,
    mut ingest: impl FnMut(&[Vec<u8>]) -> Result<(), E>,
) -> io::Result<usize> {
    let spool = Spool::new(state_dir);
    let mut total = 0;
    while let Some(taken) = spool.take()? {
        if ingest(&taken.events).is_err() {
            break;
        }
        total += taken.events.len();
        taken.commit()?;
    }
    Ok(total)
}

struct Batch {
    events: Vec<Vec<u8>>,
    malformed: Vec<Vec<u8>>,
    next_offset: u64,
}

fn is_object(line: &[u8]) -> bool {
    line.first() == Some(&b'{') && serde_json::from_slice::<serde::de::IgnoredAny>(line).is_ok()
}

fn array(events: &[Vec<u8>]) -> Vec<u8> {
    let mut body = Vec::with_capacity(events.iter().map(|e| e.len() + 1).sum::<usize>() + 2);
    body.push(b'[');
    for (index, event) in events.iter().enumerate() {
        if index > 0 {
            body.push(b',');
        }
        body.extend_from_slice(event);
    }
    body.push(b']');
    body
}

fn remove_if_exists(path: &Path) -> io::Result<()> {
    match std::fs::remove_file(path) {
        Err(err) if err.kind() != io::ErrorKind::NotFound => Err(err),
        _ => Ok(()),
    }
}

#[cfg(test)]
#[path = "spool_tests.rs"]
mod tests;
