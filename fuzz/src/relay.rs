//! Relay ingest: the decoder of every POSTed body, and what the relay makes of it.

use std::time::Instant;

use iorelay_core::relay::ingest::{parse, Endpoint, IngestError};
use iorelay_core::{Config, Output, Relay};

/// Ingest body: the first byte picks the endpoint (low bit) and a per-event limit (the rest),
/// the remainder is the body.
///
/// `parse` is total; an accepted body is JSON whose events each fit the limit and keep their
/// `data` as valid JSON. The relay then accepts exactly as many events as were parsed (none
/// twice with the same id), and every event it persists is a JSON object.
pub fn relay_ingest(data: &[u8]) {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let endpoint = if selector & 1 == 0 {
        Endpoint::Events
    } else {
        Endpoint::Hooks
    };
    let max_event = 16 + usize::from(selector >> 1) * 64;
    let batch = match parse(endpoint, body, max_event) {
        Ok(batch) => batch,
        Err(IngestError::Malformed(_) | IngestError::TooLarge(_)) => return,
    };
    assert!(
        serde_json::from_slice::<&serde_json::value::RawValue>(body).is_ok(),
        "accepted a body that is not JSON"
    );
    for draft in &batch.drafts {
        assert!(
            serde_json::from_str::<&serde_json::value::RawValue>(draft.data.get()).is_ok(),
            "data is not JSON"
        );
    }
    let mut ids: Vec<&str> = batch
        .drafts
        .iter()
        .filter_map(|d| d.id.as_deref())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    let anonymous = batch.drafts.iter().filter(|d| d.id.is_none()).count();
    let expected = ids.len() + anonymous;

    let mut config = Config::default();
    config.relay.max_event_bytes = max_event;
    #[allow(clippy::disallowed_methods)]
    let now = Instant::now();
    let mut relay = Relay::new(config, now, [9; 32]);
    let (accepted, duplicates) = relay
        .ingest_body(now, endpoint, body)
        .expect("the relay accepts what the decoder accepts");
    assert_eq!(accepted, expected, "accepted count");
    assert_eq!(accepted + duplicates, batch.drafts.len());
    let mut persisted = 0;
    loop {
        match relay.poll_output() {
            Output::Timeout(_) => break,
            Output::Persist(event) => {
                persisted += 1;
                let raw: &serde_json::value::RawValue =
                    serde_json::from_slice(&event.json).expect("canonical JSON");
                assert!(raw.get().starts_with('{'), "canonical event is an object");
                let back = iorelay_core::relay::event::RelayEvent::from_stored(event)
                    .expect("a persisted event restores");
                assert!(!back.id.is_empty());
            }
            _ => {}
        }
    }
    assert_eq!(persisted, accepted, "one store write per accepted event");
}
