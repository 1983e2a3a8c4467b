//! The outage buffer's copy in the store: what a node still has to append survives a restart.
//!
//! Why only during outages: while the link is up an entry waits one round trip, and the store
//! would write and delete a row per event for nothing. When the link goes down, every entry
//! still waiting is kept, and so is each one queued until it comes back; each is forgotten
//! once Redis has it (or it is dropped from a full buffer). A node killed during an outage
//! finds its outbox at the next start and appends it first; the event ids claimed in Redis
//! (see `Command::Append`) make an entry that did land before the kill enter the stream once.

use super::entry::Fields;
use super::Outgoing;

/// A change to the store's outbox, in the order the cluster made them.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum OutboxChange {
    /// Keep these entries (oldest first) until they are forgotten.
    Keep(Vec<KeptEntry>),
    /// These event ids are in the stream now, or will never be: delete them.
    Forget(Vec<String>),
}

/// One entry as the store keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptEntry {
    /// The relay event's id (the row's key).
    pub event_id: String,
    /// The entry's fields, encoded by [`KeptEntry::from_outgoing`].
    pub entry: Vec<u8>,
}

impl KeptEntry {
    /// The stored form of `outgoing`: its fields as a JSON array of `[name, value]` pairs.
    /// Values are text: every entry a relay appends is (ids, a namespace, a type number and
    /// a JSON packet).
    #[must_use]
    pub fn from_outgoing(outgoing: &Outgoing) -> Self {
        let pairs: Vec<(&str, std::borrow::Cow<'_, str>)> = outgoing
            .fields
            .iter()
            .map(|(name, value)| (name.as_str(), String::from_utf8_lossy(value)))
            .collect();
        Self {
            event_id: outgoing.event_id.clone(),
            entry: serde_json::to_vec(&pairs).unwrap_or_default(),
        }
    }

    /// The entry to append again; `None` when the stored bytes are not such an array (a
    /// damaged row is skipped rather than appended as garbage).
    #[must_use]
    pub fn to_outgoing(&self) -> Option<Outgoing> {
        let pairs: Vec<(String, String)> = serde_json::from_slice(&self.entry).ok()?;
        let fields: Fields = pairs
            .into_iter()
            .map(|(name, value)| (name, value.into_bytes()))
            .collect();
        Some(Outgoing {
            event_id: self.event_id.clone(),
            fields,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::entry::broadcast_fields;

    #[test]
    fn an_entry_survives_the_store_unchanged() {
        let outgoing = Outgoing {
            event_id: "e-1".to_owned(),
            fields: broadcast_fields(
                "node-a",
                "/",
                "claude_event",
                br#"{"id":"e-1","x":"\u00e9"}"#,
            ),
        };
        let kept = KeptEntry::from_outgoing(&outgoing);
        assert_eq!(kept.event_id, "e-1");
        assert_eq!(kept.to_outgoing(), Some(outgoing));
    }

    #[test]
    fn a_damaged_row_is_refused() {
        let kept = KeptEntry {
            event_id: "e".to_owned(),
            entry: b"{not json".to_vec(),
        };
        assert_eq!(kept.to_outgoing(), None);
    }
}
