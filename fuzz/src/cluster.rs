//! Cluster mode: stream entries as Redis hands them over, decoded and fed to a relay.

use std::time::Instant;

use iorelay_core::cluster::entry::{self, Fields};
use iorelay_core::cluster::session::StoredSession;
use iorelay_core::cluster::stream_id::{offset_text, parse_offset};
use iorelay_core::cluster::{Command, RawEntry, Report, StreamId};
use iorelay_core::{Config, Input, Output, Relay};

/// Stream entries: the input split at NUL bytes is `id, field, value, field, value, …`.
///
/// The id must parse or be refused, and a packed id must unpack to itself and print back as
/// it was parsed; the fields must decode or be refused (never panic); and a relay in cluster
/// mode fed the entry as a read must drain to a timeout, with every JSON it persists an
/// object that carries the offset it was numbered with. The whole input is also read as a
/// parked session (cross-node recovery) and must be refused or read back as written.
#[allow(clippy::disallowed_methods)]
pub fn cluster_entry(data: &[u8]) {
    let mut parts = data.split(|&b| b == 0);
    let id = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    if let Ok(parsed) = StreamId::parse(&id) {
        if let Some(offset) = parsed.to_offset() {
            assert_eq!(StreamId::from_offset(offset), Some(parsed), "{id:?}");
            assert_eq!(parse_offset(&offset_text(offset)), Ok(offset), "{id:?}");
        }
    }
    let rest: Vec<&[u8]> = parts.collect();
    let fields: Fields = rest
        .chunks(2)
        .map(|pair| {
            let field = String::from_utf8_lossy(pair[0]).into_owned();
            (field, pair.get(1).map(|v| v.to_vec()).unwrap_or_default())
        })
        .collect();
    if let Ok(message) = entry::decode(&fields, 1 << 20) {
        if let Some(broadcast) = message.broadcast {
            for arg in &broadcast.args {
                assert!(
                    serde_json::from_str::<serde_json::Value>(arg).is_ok(),
                    "{arg}"
                );
            }
        }
    }

    // The whole input as a parked session read back from Redis: refused or read, never a
    // panic; what is read writes back as itself.
    if let Some(session) = StoredSession::decode(data) {
        assert_eq!(
            StoredSession::decode(session.encode().as_bytes()),
            Some(session)
        );
    }

    let now = Instant::now();
    let mut config = Config::default();
    config.relay.cluster.redis_url = Some("redis://127.0.0.1:1".to_owned());
    let mut relay = Relay::new(config, now, [3; 32]);
    let mut epoch = 0;
    drain(&mut relay, &mut epoch);
    // The first connect goes out at the first timeout.
    relay.handle_input(Input::Timeout(now)).unwrap();
    drain(&mut relay, &mut epoch);
    assert_ne!(epoch, 0, "the link connects");
    let reports = [
        Report::Connected {
            epoch,
            newest: None,
        },
        Report::Read {
            epoch,
            entries: vec![RawEntry { id, fields }],
        },
    ];
    for report in reports {
        relay.handle_input(Input::Cluster { now, report }).unwrap();
        drain(&mut relay, &mut epoch);
    }
}

fn drain(relay: &mut Relay, epoch: &mut u64) {
    for _ in 0..10_000 {
        match relay.poll_output() {
            Output::Timeout(_) => return,
            Output::Cluster(Command::Connect { epoch: e }) => *epoch = e,
            Output::Persist(event) => {
                let json: serde_json::Value = serde_json::from_slice(&event.json).unwrap();
                let offset = json.get("offset").and_then(serde_json::Value::as_str);
                assert!(offset.is_some(), "{json}");
            }
            _ => {}
        }
    }
    panic!("the relay did not drain to a timeout");
}
