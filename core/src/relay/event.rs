//! The canonical event: what the relay keeps, stores and delivers (PRODUCT.md §Events).
//!
//! Why the JSON is encoded once, at acceptance: every delivery, every history page and the
//! store carry the same bytes, so a broadcast to a thousand dashboards or a page of a hundred
//! events copies no JSON, and what a late joiner sees is byte-for-byte what was sent live.

use std::collections::BTreeMap;

use bytes::Bytes;
use serde::Serialize;
use serde_json::value::RawValue;

/// An accepted event: its canonical JSON and the fields the relay filters and routes by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayEvent {
    /// Position in the relay's sequence of accepted events; strictly increasing, also across
    /// restarts (the store remembers the last one).
    pub offset: u64,
    /// Unique id (the sender's, or one the relay assigned).
    pub id: String,
    /// When the relay accepted it, in milliseconds since the Unix epoch.
    pub received_at_ms: u64,
    /// `type` (`hook`, …).
    pub kind: String,
    /// `subtype` (`pre_tool_use`, …).
    pub subtype: String,
    /// The Claude Code session it belongs to.
    pub session_id: Option<String>,
    /// The project (the last component of `cwd`).
    pub project: Option<String>,
    /// The tool a tool event is about.
    pub tool_name: Option<String>,
    /// The canonical JSON object.
    pub json: Bytes,
}

/// What the persistent store keeps of an event: enough to rebuild the `RelayEvent`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    /// The event's offset.
    pub offset: u64,
    /// The event's id.
    pub id: String,
    /// When it was accepted, in milliseconds since the Unix epoch.
    pub received_at_ms: u64,
    /// The canonical JSON object.
    pub json: Bytes,
}

/// The canonical fields in the order users read them; `data` is the sender's JSON, verbatim.
#[derive(Serialize)]
pub(crate) struct Canonical<'a> {
    pub id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset: Option<String>,
    #[serde(rename = "type")]
    pub kind: &'a str,
    pub subtype: &'a str,
    pub hook_event_name: Option<&'a str>,
    pub timestamp: &'a str,
    pub received_at: &'a str,
    pub session_id: Option<&'a str>,
    pub agent_id: Option<&'a str>,
    pub agent_type: Option<&'a str>,
    pub cwd: Option<&'a str>,
    pub project: Option<&'a str>,
    pub tool_name: Option<&'a str>,
    pub tool_use_id: Option<&'a str>,
    pub source: &'a str,
    pub data: &'a RawValue,
}

impl RelayEvent {
    /// What the store keeps of this event.
    #[must_use]
    pub fn stored(&self) -> StoredEvent {
        StoredEvent {
            offset: self.offset,
            id: self.id.clone(),
            received_at_ms: self.received_at_ms,
            json: self.json.clone(),
        }
    }

    /// Rebuilds an event from what the store kept.
    ///
    /// # Errors
    /// The stored JSON is not a canonical event object; the message says what is wrong.
    pub fn from_stored(stored: StoredEvent) -> Result<Self, String> {
        // Read as raw members, like ingest: `data` may hold anything JSON allows (numbers
        // beyond f64 included), and it must never stop an event from coming back.
        let fields: BTreeMap<&str, &RawValue> = serde_json::from_slice(&stored.json)
            .map_err(|err| format!("stored event {} is not canonical: {err}", stored.offset))?;
        let text = |key: &str| {
            fields
                .get(key)
                .and_then(|raw| serde_json::from_str::<String>(raw.get()).ok())
        };
        Ok(Self {
            offset: stored.offset,
            kind: text("type").unwrap_or_default(),
            subtype: text("subtype").unwrap_or_default(),
            session_id: text("session_id"),
            project: text("project"),
            tool_name: text("tool_name"),
            id: stored.id,
            received_at_ms: stored.received_at_ms,
            json: stored.json,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(json: &str) -> StoredEvent {
        StoredEvent {
            offset: 7,
            id: "e7".to_owned(),
            received_at_ms: 1,
            json: Bytes::copy_from_slice(json.as_bytes()),
        }
    }

    #[test]
    fn an_event_with_numbers_beyond_f64_in_its_data_restores() {
        let json = r#"{"id":"e7","offset":"7","type":"hook","subtype":"stop","session_id":"s","project":null,"tool_name":"Bash","data":{"big":1234567890e234567890123}}"#;
        let event = RelayEvent::from_stored(stored(json)).unwrap();
        assert_eq!(
            (event.kind.as_str(), event.subtype.as_str()),
            ("hook", "stop")
        );
        assert_eq!(event.session_id.as_deref(), Some("s"));
        assert_eq!(
            (event.project, event.tool_name.as_deref()),
            (None, Some("Bash"))
        );
        assert_eq!(&event.json[..], json.as_bytes());
    }

    #[test]
    fn a_stored_row_that_is_not_an_object_is_refused_with_its_offset() {
        let err = RelayEvent::from_stored(stored("[1]")).unwrap_err();
        assert!(err.contains("stored event 7"), "{err}");
    }
}
