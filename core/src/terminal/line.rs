//! How `iorelay tail` prints an event: `12:34:56  3f2a9c1d  PreToolUse  Bash ls -la` (time,
//! session, what happened as the dashboard summarises it), or the canonical JSON for `--json`.

use serde_json::Value;

use super::summary::{hook_name, summarize};

/// The readable line for a canonical event (JSON text); an event that is not a JSON object
/// is shown as it came.
#[must_use]
pub fn readable(json: &[u8]) -> String {
    let Ok(event) = serde_json::from_slice::<Value>(json) else {
        return String::from_utf8_lossy(json).into_owned();
    };
    if !event.is_object() {
        return event.to_string();
    }
    let time = clock(event.get("timestamp"))
        .or_else(|| clock(event.get("received_at")))
        .unwrap_or_else(|| "--:--:--".to_owned());
    let session: String = match event.get("session_id") {
        Some(Value::String(s)) if !s.is_empty() => s.chars().take(8).collect(),
        _ => "-".to_owned(),
    };
    format!(
        "{time}  {session:<8}  {:<18}  {}",
        hook_name(&event),
        summarize(&event)
    )
}

/// `HH:MM:SS` from an ISO 8601 timestamp (`2025-01-02T12:34:56.789Z`).
fn clock(value: Option<&Value>) -> Option<String> {
    let text = value?.as_str()?;
    let (_, time) = text.split_once('T')?;
    let hms: String = time.chars().take(8).collect();
    let bytes = hms.as_bytes();
    let shaped = bytes.len() == 8 && bytes[2] == b':' && bytes[5] == b':';
    shaped.then_some(hms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_holds_time_session_name_and_summary() {
        let event = br#"{"id":"e","offset":"3","hook_event_name":"PreToolUse","timestamp":"2025-01-02T12:34:56.789Z","session_id":"3f2a9c1d-77","tool_name":"Bash","data":{"tool_input":{"command":"ls"}}}"#;
        assert_eq!(
            readable(event),
            "12:34:56  3f2a9c1d  PreToolUse          Bash ls"
        );
    }

    #[test]
    fn missing_fields_have_placeholders() {
        assert_eq!(
            readable(br#"{"subtype":"ping","timestamp":1700000000,"received_at":"x"}"#),
            "--:--:--  -         ping                ping"
        );
        assert_eq!(readable(b"[1]"), "[1]");
        assert_eq!(readable(b"\xff"), "\u{fffd}");
    }
}
