//! What a terminal client asks the relay for: the CONNECT auth (the same filter a dashboard
//! sends: session, project, types, history limit) and `history` page requests.
//!
//! Why built here: the filter narrows `event_history`, the live stream and every `history`
//! page alike, so one value builds all three and they cannot disagree.

use bytes::Bytes;
use serde_json::{json, Map, Value};

/// Which events a terminal client wants.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// Only this session's events.
    pub session: Option<String>,
    /// Only this project's events.
    pub project: Option<String>,
    /// Only events whose `type` or `subtype` is one of these (empty: any).
    pub types: Vec<String>,
}

impl Filter {
    fn fields(&self) -> Map<String, Value> {
        let mut object = Map::new();
        if let Some(session) = &self.session {
            object.insert("session".to_owned(), session.clone().into());
        }
        if let Some(project) = &self.project {
            object.insert("project".to_owned(), project.clone().into());
        }
        if !self.types.is_empty() {
            object.insert("types".to_owned(), json!(self.types));
        }
        object
    }

    /// The CONNECT auth: the filter, `limit` for `event_history`, and the relay's bearer
    /// `token` when one is configured.
    #[must_use]
    pub fn auth(&self, limit: usize, token: Option<&str>) -> Bytes {
        let mut object = self.fields();
        object.insert("limit".to_owned(), limit.into());
        if let Some(token) = token {
            object.insert("token".to_owned(), token.into());
        }
        Bytes::from(Value::Object(object).to_string())
    }

    /// A `history` request for the oldest `limit` events after `after` that pass the filter.
    #[must_use]
    pub fn history_after(&self, after: u64, limit: usize) -> Bytes {
        let mut object = self.fields();
        object.insert("after".to_owned(), after.into());
        object.insert("limit".to_owned(), limit.into());
        Bytes::from(Value::Object(object).to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_auth_and_history_requests_carry_the_same_filter() {
        let filter = Filter {
            session: Some("s1".to_owned()),
            project: None,
            types: vec!["stop".to_owned(), "hook".to_owned()],
        };
        assert_eq!(
            filter.auth(0, Some("t")),
            Bytes::from_static(
                br#"{"limit":0,"session":"s1","token":"t","types":["stop","hook"]}"#
            )
        );
        assert_eq!(
            filter.history_after(41, 500),
            Bytes::from_static(
                br#"{"after":41,"limit":500,"session":"s1","types":["stop","hook"]}"#
            )
        );
        assert_eq!(
            Filter::default().auth(5, None),
            Bytes::from_static(br#"{"limit":5}"#)
        );
    }
}
