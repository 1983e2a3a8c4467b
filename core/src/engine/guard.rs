//! The engine's own refusals: Engine.IO requests from a browser origin the CORS policy does
//! not allow (403), and Socket.IO CONNECTs without the token [`Config::connect_token`] asks
//! for (CONNECT_ERROR `unauthorized`).
//!
//! Why in the engine: browsers do not apply CORS to websockets, so a page on any site could
//! open one to a local server and read everything; only the server looking at `Origin` stops
//! it, and the websocket opening is an Engine.IO request. The token travels in the CONNECT
//! packet's `auth`, which only the Socket.IO layer decodes. Both stay off in conformance mode
//! (`CorsPolicy::AllowAll`, no token).
//!
//! [`Config::connect_token`]: crate::Config::connect_token

use bytes::Bytes;

use super::Engine;
use crate::engineio::packet::Frame;
use crate::http::{token_matches, RequestHead};
use crate::io::SessionId;
use crate::socketio::packet::Packet;

/// What the engine refused, for `/metrics`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Refusals {
    /// Socket.IO CONNECTs refused for a missing or wrong `auth.token`.
    pub unauthorized_connects: u64,
    /// Engine.IO requests refused (403) for an `Origin` the CORS policy does not allow.
    pub forbidden_origins: u64,
}

/// The part of a CONNECT auth payload the token check reads.
#[derive(serde::Deserialize)]
struct TokenAuth {
    token: Option<String>,
}

impl Engine {
    /// What the engine refused so far.
    #[must_use]
    pub fn refusals(&self) -> Refusals {
        self.refusals
    }

    /// Whether an Engine.IO request may proceed: no `Origin` (not a browser), or an allowed
    /// one. Counts a refusal.
    pub(super) fn origin_allowed(&mut self, head: &RequestHead) -> bool {
        let allowed = head
            .header("origin")
            .is_none_or(|origin| self.config.cors.allows(origin));
        if !allowed {
            self.refusals.forbidden_origins += 1;
        }
        allowed
    }

    /// Whether a CONNECT with `auth` carries the token, when one is required; a refused one
    /// is answered with CONNECT_ERROR `{"message":"unauthorized"}` and counted. The session
    /// stays open (the client may retry with a token) until its connect deadline.
    pub(super) fn connect_authorized(&mut self, id: SessionId, nsp: &str, auth: &Bytes) -> bool {
        let Some(expected) = self.config.connect_token.as_deref() else {
            return true;
        };
        let presented = serde_json::from_slice::<TokenAuth>(auth)
            .ok()
            .and_then(|auth| auth.token);
        if presented.is_some_and(|token| token_matches(&token, expected)) {
            return true;
        }
        self.refusals.unauthorized_connects += 1;
        let reply = Packet::connect_error(nsp, "unauthorized");
        self.send_frames(id, &[Frame::Text(reply.encode_message())], false);
        false
    }
}
