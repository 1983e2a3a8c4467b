//! What a client asked to receive: a session, a project, event types.
//!
//! Why a predicate and not only rooms: a client may narrow by session *and* project *and*
//! types at once, an intersection rooms cannot express. Clients still join the rooms
//! `session:<id>` and `project:<name>` so room-based tools and `/connections` see them.

use serde::{Deserialize, Serialize};

use super::event::RelayEvent;

/// A client's filter; every field left out matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct Subscription {
    /// Only events of this Claude Code session.
    #[serde(default, alias = "session_id")]
    pub session: Option<String>,
    /// Only events of this project.
    #[serde(default)]
    pub project: Option<String>,
    /// Only events whose `type` or `subtype` is one of these.
    #[serde(default)]
    pub types: Option<Vec<String>>,
}

/// A CONNECT `auth` payload: a subscription, how much history to send, and fields other
/// features read (ignored here).
#[derive(Debug, Deserialize)]
pub struct ConnectAuth {
    /// The filter.
    #[serde(flatten)]
    pub subscription: Subscription,
    /// How many events `event_history` holds.
    #[serde(default, alias = "history_limit")]
    pub limit: Option<usize>,
    /// `false` opts out of the offset argument on live events (connection state recovery
    /// appends it; clients whose handlers take exactly one argument may not want it).
    #[serde(default = "yes")]
    pub offsets: bool,
    /// The last offset the client saw, sent back by a recovering client.
    #[serde(default, deserialize_with = "super::history::offset")]
    pub offset: Option<u64>,
    /// `true` asks for reliable delivery: live events carry an ack request and are re-sent
    /// until acked (see [`super::retry`]).
    #[serde(default)]
    pub reliable: bool,
    /// `true` asks for live events in batches, as `event_batch` events (see [`super::batch`]).
    #[serde(default)]
    pub batch: bool,
}

fn yes() -> bool {
    true
}

impl ConnectAuth {
    /// Reads an auth payload; anything that is not an object of the expected shape means
    /// "no filter, default history" — a client with odd auth still gets events.
    #[must_use]
    pub fn parse(json: &[u8]) -> Self {
        serde_json::from_slice(json).unwrap_or(Self {
            subscription: Subscription::default(),
            limit: None,
            offsets: true,
            offset: None,
            reliable: false,
            batch: false,
        })
    }
}

impl Subscription {
    /// Whether `event` passes this filter.
    #[must_use]
    pub fn matches(&self, event: &RelayEvent) -> bool {
        let session_ok = self
            .session
            .as_ref()
            .is_none_or(|s| event.session_id.as_ref() == Some(s));
        let project_ok = self
            .project
            .as_ref()
            .is_none_or(|p| event.project.as_ref() == Some(p));
        let types_ok = self.types.as_ref().is_none_or(|types| {
            types
                .iter()
                .any(|t| *t == event.kind || *t == event.subtype)
        });
        session_ok && project_ok && types_ok
    }

    /// The rooms a socket with this filter is in (besides its own).
    #[must_use]
    pub fn rooms(&self) -> Vec<String> {
        let mut rooms = Vec::new();
        if let Some(session) = &self.session {
            rooms.push(format!("session:{session}"));
        }
        if let Some(project) = &self.project {
            rooms.push(format!("project:{project}"));
        }
        rooms
    }

    /// This filter as the JSON a `subscribe` ack reports.
    #[must_use]
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "session": self.session,
            "project": self.project,
            "types": self.types,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn event(kind: &str, subtype: &str, session: &str, project: &str) -> RelayEvent {
        RelayEvent {
            offset: 1,
            id: "e".to_owned(),
            received_at_ms: 0,
            kind: kind.to_owned(),
            subtype: subtype.to_owned(),
            session_id: Some(session.to_owned()),
            project: Some(project.to_owned()),
            tool_name: None,
            json: Bytes::new(),
        }
    }

    #[test]
    fn an_empty_subscription_matches_everything() {
        let all = Subscription::default();
        assert!(all.matches(&event("hook", "stop", "s", "p")));
        assert!(all.rooms().is_empty());
    }

    #[test]
    fn every_named_field_must_match() {
        let auth = ConnectAuth::parse(
            br#"{"session":"s1","project":"p","types":["pre_tool_use"],"limit":5}"#,
        );
        let sub = auth.subscription;
        assert_eq!(auth.limit, Some(5));
        assert!(sub.matches(&event("hook", "pre_tool_use", "s1", "p")));
        assert!(!sub.matches(&event("hook", "pre_tool_use", "s2", "p")));
        assert!(!sub.matches(&event("hook", "pre_tool_use", "s1", "q")));
        assert!(!sub.matches(&event("hook", "stop", "s1", "p")));
        assert_eq!(sub.rooms(), ["session:s1", "project:p"]);
    }

    #[test]
    fn types_match_the_type_or_the_subtype() {
        let sub = Subscription {
            types: Some(vec!["hook".to_owned()]),
            ..Subscription::default()
        };
        assert!(sub.matches(&event("hook", "stop", "s", "p")));
        assert!(!sub.matches(&event("system", "connection_status", "s", "p")));
    }

    #[test]
    fn delivery_modes_are_opt_in() {
        let auth = ConnectAuth::parse(br#"{"reliable":true,"batch":true}"#);
        assert!(auth.reliable && auth.batch);
        let auth = ConnectAuth::parse(br#"{"session":"s"}"#);
        assert!(!auth.reliable && !auth.batch);
    }

    #[test]
    fn odd_auth_means_no_filter() {
        let auth = ConnectAuth::parse(b"[1,2]");
        assert_eq!(auth.subscription, Subscription::default());
        assert_eq!(auth.limit, None);
        assert!(!auth.reliable && !auth.batch);
        let auth = ConnectAuth::parse(br#"{"token":"x","pid":"p","offset":"3"}"#);
        assert_eq!(auth.subscription, Subscription::default());
    }
}
