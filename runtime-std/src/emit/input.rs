//! Turning what arrived on stdin into the one JSON object emit delivers.
//!
//! Why every input becomes an object with an `id`: the relay de-duplicates by `id`, so an
//! event spooled and re-sent after a crash shows up once; the id is assigned here, before the
//! event can be spooled. Input that is not a JSON object is not dropped: it is wrapped,
//! raw, in an `InvalidHookInput` event, so it is kept, delivered and visible. An object too
//! big for the relay has its largest strings cut (core's `relay::fit`), never the event.

use std::io::Read;
use std::sync::mpsc;
use std::time::Instant;

use base64::Engine as _;
use iorelay_core::relay::fit::fit;
use serde_json::{Map, Value};

use iorelay_core::relay::clock::iso8601;

/// Largest event sent to the relay, in bytes of JSON (the relay's per-event limit).
pub const MAX_EVENT_BYTES: usize = 1024 * 1024;
/// Most stdin read; the rest is discarded (and the input then is not valid JSON).
pub const MAX_STDIN_BYTES: usize = 64 * 1024 * 1024;
/// `hook_event_name` of the event that wraps input that was not a JSON object.
pub const INVALID_INPUT_EVENT: &str = "InvalidHookInput";

/// The event to deliver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepared {
    /// Compact JSON of the object, with `id` and `client_ts`.
    pub json: Vec<u8>,
    /// Its `id`.
    pub id: String,
    /// What was wrong with the input, for the log.
    pub problem: Option<String>,
}

/// Builds the event from the bytes read on stdin: adds `id` (unless the input has a string
/// one) and `client_ts` (unless present), wraps anything that is not an object, and fits it
/// under [`MAX_EVENT_BYTES`].
#[must_use]
pub fn prepare(raw: &[u8], fresh_id: String, now_ms: u64) -> Prepared {
    let (mut object, mut problem) = match serde_json::from_slice::<Value>(raw) {
        Ok(Value::Object(object)) => (object, None),
        Ok(other) => {
            let kind = match other {
                Value::Array(_) => "an array",
                Value::String(_) => "a string",
                Value::Number(_) => "a number",
                Value::Bool(_) => "a boolean",
                _ => "null",
            };
            let why = format!("stdin was {kind}, not a JSON object");
            (wrap_invalid(raw, &why), Some(why))
        }
        Err(err) => {
            let why = if raw.iter().all(u8::is_ascii_whitespace) {
                "stdin was empty".to_owned()
            } else {
                format!("stdin is not JSON: {err}")
            };
            (wrap_invalid(raw, &why), Some(why))
        }
    };
    let id = match object.get("id") {
        Some(Value::String(id)) if !id.is_empty() => id.clone(),
        _ => {
            object.insert("id".to_owned(), Value::String(fresh_id.clone()));
            fresh_id
        }
    };
    object
        .entry("client_ts")
        .or_insert_with(|| Value::String(iso8601(now_ms)));
    let mut value = Value::Object(object);
    let fitted = fit(&mut value, MAX_EVENT_BYTES);
    if fitted.cuts > 0 {
        let note = format!(
            "event over {MAX_EVENT_BYTES} bytes: {} field(s) truncated",
            fitted.cuts
        );
        problem = Some(problem.map_or(note.clone(), |p| format!("{p}; {note}")));
    }
    let json = serde_json::to_vec(&value).unwrap_or_else(|_| b"{}".to_vec());
    Prepared { json, id, problem }
}

fn wrap_invalid(raw: &[u8], why: &str) -> Map<String, Value> {
    let mut object = Map::new();
    object.insert(
        "hook_event_name".to_owned(),
        Value::String(INVALID_INPUT_EVENT.to_owned()),
    );
    object.insert("error".to_owned(), Value::String(why.to_owned()));
    match std::str::from_utf8(raw) {
        Ok(text) => object.insert("raw".to_owned(), Value::String(text.to_owned())),
        Err(_) => object.insert(
            "raw_base64".to_owned(),
            Value::String(base64::engine::general_purpose::STANDARD.encode(raw)),
        ),
    };
    object
}

/// A fresh event id: 128 random bits as 32 hex digits.
#[must_use]
pub fn fresh_id() -> String {
    let seed = crate::process::random_seed();
    seed[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// Reads stdin to its end, or until `until`, whichever is first (at most
/// [`MAX_STDIN_BYTES`]). The second value is true when stdin was still open at `until`: the
/// bytes are then what had arrived.
#[must_use]
pub fn read_stdin(until: Instant) -> (Vec<u8>, bool) {
    let (tx, rx) = mpsc::channel::<Option<Vec<u8>>>();
    let spawned = std::thread::Builder::new()
        .name("stdin".to_owned())
        .spawn(move || {
            let mut stdin = std::io::stdin().lock();
            let mut total = 0usize;
            let mut chunk = vec![0u8; 64 * 1024];
            loop {
                match stdin.read(&mut chunk) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        let keep = n.min(MAX_STDIN_BYTES.saturating_sub(total));
                        total += n;
                        if keep > 0 && tx.send(Some(chunk[..keep].to_vec())).is_err() {
                            return;
                        }
                    }
                }
            }
            let _ = tx.send(None);
        });
    if spawned.is_err() {
        let mut all = Vec::new();
        let _ = std::io::stdin()
            .take(MAX_STDIN_BYTES as u64)
            .read_to_end(&mut all);
        return (all, false);
    }
    let mut bytes = Vec::new();
    loop {
        let left = until.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
            Ok(None) | Err(mpsc::RecvTimeoutError::Disconnected) => return (bytes, false),
            Err(mpsc::RecvTimeoutError::Timeout) => return (bytes, true),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(prepared: &Prepared) -> Value {
        serde_json::from_slice(&prepared.json).unwrap()
    }

    #[test]
    fn an_object_gets_an_id_and_a_client_timestamp() {
        let prepared = prepare(br#"{"hook_event_name":"Stop"}"#, "abc".into(), 0);
        assert_eq!(prepared.id, "abc");
        assert_eq!(prepared.problem, None);
        assert_eq!(
            parsed(&prepared),
            serde_json::json!({"hook_event_name": "Stop", "id": "abc", "client_ts": "1970-01-01T00:00:00.000Z"})
        );
    }

    #[test]
    fn an_id_the_sender_chose_is_kept() {
        let prepared = prepare(br#"{"id":"mine","client_ts":"t"}"#, "abc".into(), 0);
        assert_eq!(prepared.id, "mine");
        assert_eq!(
            parsed(&prepared),
            serde_json::json!({"id": "mine", "client_ts": "t"})
        );
    }

    #[test]
    fn garbage_is_wrapped_raw_not_dropped() {
        let prepared = prepare(b"not json{", "abc".into(), 0);
        let event = parsed(&prepared);
        assert_eq!(event["hook_event_name"], INVALID_INPUT_EVENT);
        assert_eq!(event["raw"], "not json{");
        assert_eq!(event["id"], "abc");
        assert!(prepared.problem.unwrap().starts_with("stdin is not JSON"));
    }

    #[test]
    fn bytes_that_are_not_utf8_are_kept_as_base64() {
        let prepared = prepare(&[0xff, 0xfe, b'{'], "abc".into(), 0);
        assert_eq!(parsed(&prepared)["raw_base64"], "//57");
    }

    #[test]
    fn empty_stdin_and_non_objects_are_reported() {
        assert_eq!(
            prepare(b"  \n", "a".into(), 0).problem.as_deref(),
            Some("stdin was empty")
        );
        assert_eq!(
            prepare(b"[1]", "a".into(), 0).problem.as_deref(),
            Some("stdin was an array, not a JSON object")
        );
    }

    #[test]
    fn an_oversized_event_is_truncated_not_dropped() {
        let big = format!(
            r#"{{"hook_event_name":"PostToolUse","tool_response":"{}"}}"#,
            "y".repeat(3 * MAX_EVENT_BYTES)
        );
        let prepared = prepare(big.as_bytes(), "abc".into(), 0);
        assert!(prepared.json.len() <= MAX_EVENT_BYTES);
        let event = parsed(&prepared);
        assert_eq!(event["hook_event_name"], "PostToolUse");
        assert_eq!(event["id"], "abc");
        assert!(prepared.problem.unwrap().contains("truncated"));
    }

    #[test]
    fn fresh_ids_are_32_hex_digits_and_differ() {
        let (a, b) = (fresh_id(), fresh_id());
        assert_eq!(a.len(), 32);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }
}
