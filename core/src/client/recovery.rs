//! Connection state recovery from the client's side: the private id (`pid`) a CONNECT reply
//! carried and the offset of the last event received, sent back in the next CONNECT's auth so
//! the server restores the socket and replays what was missed.
//!
//! The rules are socket.io-client's: the offset is the last argument of a received EVENT when
//! it is a string and the socket has a pid; a reconnect's CONNECT carries `pid` and `offset`
//! merged into the application's auth; the socket was recovered when the new CONNECT reply
//! names the same pid.

use bytes::Bytes;
use serde_json::value::RawValue;

/// What a namespace keeps for recovering its socket.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecoveryState {
    pid: Option<String>,
    offset: Option<String>,
}

impl RecoveryState {
    /// The pid the last CONNECT reply carried.
    #[must_use]
    pub fn pid(&self) -> Option<&str> {
        self.pid.as_deref()
    }

    /// The offset of the last event received.
    #[must_use]
    pub fn offset(&self) -> Option<&str> {
        self.offset.as_deref()
    }

    /// A CONNECT reply arrived with `pid`; returns whether the socket was recovered (the pid
    /// is the one asked with).
    pub fn on_connected(&mut self, pid: Option<String>) -> bool {
        let recovered = pid.is_some() && pid == self.pid;
        if pid.is_none() {
            self.offset = None;
        }
        self.pid = pid;
        recovered
    }

    /// An EVENT arrived with these arguments (raw JSON values): a last string argument is the
    /// new offset when the socket can be recovered.
    pub fn on_event(&mut self, args: &[&RawValue]) {
        if self.pid.is_none() {
            return;
        }
        if let Some(last) = args.last() {
            if let Ok(offset) = serde_json::from_str::<String>(last.get()) {
                self.offset = Some(offset);
            }
        }
    }

    /// The CONNECT auth to send: the application's `auth` (a JSON object, or none) with `pid`
    /// and `offset` added when there is something to recover.
    #[must_use]
    pub fn auth(&self, auth: Option<&Bytes>) -> Option<Bytes> {
        let Some(pid) = &self.pid else {
            return auth.cloned();
        };
        let mut object = auth
            .and_then(|a| {
                serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(a).ok()
            })
            .unwrap_or_default();
        object.insert("pid".to_owned(), pid.clone().into());
        if let Some(offset) = &self.offset {
            object.insert("offset".to_owned(), offset.clone().into());
        }
        Some(Bytes::from(serde_json::Value::Object(object).to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(items: &[&'static str]) -> Vec<Box<RawValue>> {
        items
            .iter()
            .map(|s| RawValue::from_string((*s).to_owned()).unwrap())
            .collect()
    }

    fn on_event(state: &mut RecoveryState, items: &[&'static str]) {
        let args = raw(items);
        let refs: Vec<&RawValue> = args.iter().map(AsRef::as_ref).collect();
        state.on_event(&refs);
    }

    #[test]
    fn the_last_string_argument_is_the_offset_once_there_is_a_pid() {
        let mut state = RecoveryState::default();
        on_event(&mut state, &[r#"{"a":1}"#, r#""7""#]);
        assert_eq!(state.offset(), None, "no pid, nothing to recover");
        assert!(!state.on_connected(Some("p1".to_owned())));
        on_event(&mut state, &[r#"{"a":1}"#, r#""7""#]);
        on_event(&mut state, &[r#"{"page":[]}"#]);
        assert_eq!(state.offset(), Some("7"));
        on_event(&mut state, &[r#""8""#]);
        assert_eq!(state.offset(), Some("8"));
    }

    #[test]
    fn the_auth_carries_pid_and_offset_merged_into_the_applications() {
        let mut state = RecoveryState::default();
        let app = Bytes::from_static(br#"{"session":"s1"}"#);
        assert_eq!(state.auth(Some(&app)), Some(app.clone()));
        assert_eq!(state.auth(None), None);
        state.on_connected(Some("p1".to_owned()));
        assert_eq!(
            state.auth(Some(&app)).unwrap(),
            Bytes::from_static(br#"{"pid":"p1","session":"s1"}"#)
        );
        on_event(&mut state, &[r#""12""#]);
        assert_eq!(
            state.auth(None).unwrap(),
            Bytes::from_static(br#"{"offset":"12","pid":"p1"}"#)
        );
    }

    #[test]
    fn recovered_means_the_reply_names_the_pid_asked_with() {
        let mut state = RecoveryState::default();
        state.on_connected(Some("p1".to_owned()));
        assert!(state.on_connected(Some("p1".to_owned())));
        assert!(!state.on_connected(Some("p2".to_owned())));
        assert!(!state.on_connected(None));
        assert_eq!(state.pid(), None);
    }
}
