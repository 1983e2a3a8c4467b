//! Cluster mode's Redis side: runs the commands core's cluster link asks for
//! ([`iorelay_core::cluster::Command`]) and reports each outcome back.
//!
//! Why two threads with a blocking client: reading blocks on `XREAD … BLOCK` for up to
//! `block_time`, so reads get a connection and a thread of their own, as the Node adapter
//! gives them a client of their own; connecting and appending share the other. The `redis`
//! crate is used with no async runtime features, which keeps runtime-std free of async crates
//! and lets the smol binary reuse this as it is. Every decision (when to reconnect, what to
//! append, where to read from) is core's; this only speaks Redis.

use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Arc;
use std::time::Duration;

use iorelay_core::cluster::{ClusterConfig, Command, Outgoing, RawEntry, Report, StreamId};
use redis::streams::{StreamRangeReply, StreamReadReply};

use crate::log;

/// How long opening a connection may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// How long an append batch or a connect's query may take.
const WRITE_TIMEOUT: Duration = Duration::from_secs(4);
/// How long a read may take past its block time before the connection counts as lost.
const READ_SLACK: Duration = Duration::from_secs(2);

/// Where reports go: the driver's inbox, as an input.
pub type ReportSink = Arc<dyn Fn(Report) + Send + Sync>;

/// The running Redis threads; dropping it ends them.
#[derive(Debug)]
pub struct ClusterLink {
    writer: Sender<Command>,
    reader: Sender<Command>,
}

impl ClusterLink {
    /// Starts the threads for `config` (whose `redis_url` must be set).
    ///
    /// # Errors
    /// The URL does not parse, or a thread cannot be started.
    pub fn start(config: &ClusterConfig, report: ReportSink) -> Result<Self, String> {
        let url = config
            .redis_url
            .clone()
            .ok_or_else(|| "cluster mode needs redis_url".to_owned())?;
        let client = redis::Client::open(url.as_str())
            .map_err(|err| format!("redis_url {}: {err}", shown(&url)))?;
        let (writer, writer_rx) = mpsc::channel();
        let (reader, reader_rx) = mpsc::channel();
        let shared = Shared {
            client,
            url: shown(&url),
            config: config.clone(),
            report,
        };
        let for_reader = shared.clone();
        std::thread::Builder::new()
            .name("iorelay-redis-w".to_owned())
            .spawn(move || shared.write_loop(&writer_rx))
            .map_err(|err| format!("cannot start the Redis writer thread: {err}"))?;
        std::thread::Builder::new()
            .name("iorelay-redis-r".to_owned())
            .spawn(move || for_reader.read_loop(&reader_rx))
            .map_err(|err| format!("cannot start the Redis reader thread: {err}"))?;
        Ok(Self { writer, reader })
    }

    /// Runs `command` on its thread; its outcome arrives through the report sink.
    pub fn run(&self, command: Command) {
        let to = match command {
            Command::Read { .. } => &self.reader,
            _ => &self.writer,
        };
        let _ = to.send(command);
    }
}

/// A URL as logs show it: without a password.
fn shown(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}***{}", &url[..scheme + 3], &url[at..])
        }
        _ => url.to_owned(),
    }
}

#[derive(Clone)]
struct Shared {
    client: redis::Client,
    url: String,
    config: ClusterConfig,
    report: ReportSink,
}

impl Shared {
    fn connect(&self, read_timeout: Duration) -> redis::RedisResult<redis::Connection> {
        let con = self.client.get_connection_with_timeout(CONNECT_TIMEOUT)?;
        con.set_read_timeout(Some(read_timeout))?;
        con.set_write_timeout(Some(WRITE_TIMEOUT))?;
        Ok(con)
    }

    /// Connects and appends, in order. The one log line per change of reachability is
    /// written here: "cannot reach" at start or on loss, "connected" on (re)connection.
    fn write_loop(&self, commands: &Receiver<Command>) {
        let mut con: Option<redis::Connection> = None;
        let mut reachable: Option<bool> = None;
        while let Ok(command) = commands.recv() {
            let report = match command {
                Command::Connect { epoch } => {
                    con = None;
                    match self.connect(WRITE_TIMEOUT).and_then(|mut c| {
                        let newest = newest_id(&mut c, &self.config.stream)?;
                        Ok((c, newest))
                    }) {
                        Ok((c, newest)) => {
                            con = Some(c);
                            if reachable != Some(true) {
                                log!(
                                    Info,
                                    "cluster: connected to {} (stream {})",
                                    self.url,
                                    self.config.stream
                                );
                            }
                            reachable = Some(true);
                            Report::Connected { epoch, newest }
                        }
                        Err(err) => {
                            if reachable != Some(false) {
                                log!(
                                    Warn,
                                    "cluster: cannot reach Redis at {}: {err}; serving this relay's clients and retrying",
                                    self.url
                                );
                            }
                            reachable = Some(false);
                            Report::Failed {
                                epoch,
                                error: err.to_string(),
                            }
                        }
                    }
                }
                Command::Append { epoch, entries } => match con.as_mut() {
                    Some(c) => match append(c, &self.config, &entries) {
                        Ok(ids) => Report::Appended { epoch, ids },
                        Err(err) => {
                            con = None;
                            Report::Failed {
                                epoch,
                                error: err.to_string(),
                            }
                        }
                    },
                    None => Report::Failed {
                        epoch,
                        error: "not connected".to_owned(),
                    },
                },
                Command::SaveSession { key, value, ttl_ms } => {
                    if let Some(c) = con.as_mut() {
                        let saved: redis::RedisResult<()> = redis::cmd("SET")
                            .arg(&key)
                            .arg(&value)
                            .arg("PX")
                            .arg(ttl_ms)
                            .query(c);
                        if saved.is_err() {
                            con = None;
                        }
                    }
                    continue;
                }
                Command::TakeSession { token, key } => {
                    let value = con.as_mut().and_then(|c| {
                        let taken: redis::RedisResult<Option<Vec<u8>>> =
                            redis::cmd("GETDEL").arg(&key).query(c);
                        taken.ok().flatten()
                    });
                    Report::Session { token, value }
                }
                _ => continue,
            };
            (self.report)(report);
        }
    }

    /// Reads, each on a connection of the read's epoch (a new epoch reconnects).
    fn read_loop(&self, commands: &Receiver<Command>) {
        let mut con: Option<(u64, redis::Connection)> = None;
        let read_timeout = self.config.block_time + READ_SLACK;
        while let Ok(command) = commands.recv() {
            let Command::Read { epoch, after } = command else {
                continue;
            };
            if con.as_ref().is_none_or(|(e, _)| *e != epoch) {
                con = self.connect(read_timeout).ok().map(|c| (epoch, c));
            }
            let report = match con.as_mut() {
                Some((_, c)) => match read(c, &self.config, after) {
                    Ok(entries) => Report::Read { epoch, entries },
                    Err(err) => {
                        con = None;
                        Report::Failed {
                            epoch,
                            error: err.to_string(),
                        }
                    }
                },
                None => Report::Failed {
                    epoch,
                    error: "cannot connect".to_owned(),
                },
            };
            (self.report)(report);
        }
    }
}

/// The stream's newest entry id, `None` when it is empty or absent.
fn newest_id(con: &mut redis::Connection, stream: &str) -> redis::RedisResult<Option<String>> {
    let reply: StreamRangeReply = redis::cmd("XREVRANGE")
        .arg(stream)
        .arg("+")
        .arg("-")
        .arg("COUNT")
        .arg(1)
        .query(con)?;
    Ok(reply.ids.into_iter().next().map(|entry| entry.id))
}

/// Claims an event id and appends its entry only if the claim is new, atomically: two nodes
/// given the same id at the same instant cannot both append it. KEYS: the stream, the claim
/// key; ARGV: the claim's lifetime in ms, MAXLEN, then the entry's fields and values.
const CLAIM_AND_APPEND: &str = "\
if redis.call('SET', KEYS[2], '1', 'NX', 'PX', ARGV[1]) then
  return redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', unpack(ARGV, 3))
end
return false";

/// [`CLAIM_AND_APPEND`] for each entry, pipelined in one round trip: each entry's stream id,
/// or `None` when its event id was claimed already.
fn append(
    con: &mut redis::Connection,
    config: &ClusterConfig,
    entries: &[Outgoing],
) -> redis::RedisResult<Vec<Option<String>>> {
    let ttl_ms = u64::try_from(config.dedup_ttl.as_millis())
        .unwrap_or(u64::MAX)
        .max(1);
    let mut pipe = redis::pipe();
    for outgoing in entries {
        let cmd = pipe
            .cmd("EVAL")
            .arg(CLAIM_AND_APPEND)
            .arg(2)
            .arg(&config.stream)
            .arg(config.claim_key(&outgoing.event_id))
            .arg(ttl_ms)
            .arg(config.maxlen);
        for (field, value) in &outgoing.fields {
            cmd.arg(field.as_str()).arg(value.as_slice());
        }
    }
    pipe.query(con)
}

/// `XREAD COUNT n BLOCK ms STREAMS stream after`: the entries, none when the block time
/// passed.
fn read(
    con: &mut redis::Connection,
    config: &ClusterConfig,
    after: StreamId,
) -> redis::RedisResult<Vec<RawEntry>> {
    let block = u64::try_from(config.block_time.as_millis()).unwrap_or(u64::MAX);
    let reply: Option<StreamReadReply> = redis::cmd("XREAD")
        .arg("COUNT")
        .arg(config.read_count)
        .arg("BLOCK")
        .arg(block)
        .arg("STREAMS")
        .arg(&config.stream)
        .arg(after.to_string())
        .query(con)?;
    let mut entries = Vec::new();
    for key in reply.map(|r| r.keys).unwrap_or_default() {
        for entry in key.ids {
            let fields = entry
                .map
                .into_iter()
                .map(|(field, value)| {
                    let bytes = redis::from_redis_value::<Vec<u8>>(value).unwrap_or_default();
                    (field, bytes)
                })
                .collect();
            entries.push(RawEntry {
                id: entry.id,
                fields,
            });
        }
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_never_reaches_the_log() {
        assert_eq!(shown("redis://:s3cret@db:6379/0"), "redis://***@db:6379/0");
        assert_eq!(shown("redis://127.0.0.1:6379"), "redis://127.0.0.1:6379");
    }
}
