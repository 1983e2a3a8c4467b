//! One namespace the application asked to join: its auth, where its CONNECT stands, what it
//! keeps for recovery, and the acks its emits await.
//!
//! Why per namespace: Socket.IO multiplexes sockets over one session; each joins, recovers,
//! and awaits acks on its own, and leaving one touches no other.

use std::time::Instant;

use bytes::Bytes;

use super::recovery::RecoveryState;
use crate::socketio::ack::AckTable;

/// Where a namespace's CONNECT stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum NspState {
    /// To be sent when a session is open.
    Pending,
    /// Sent; answered by `deadline` or the session is given up.
    Connecting { deadline: Instant },
    /// Joined, with this socket id.
    Connected { sid: String },
    /// The server refused it; not asked again.
    Refused,
}

/// One namespace.
#[derive(Debug)]
pub(crate) struct Namespace {
    /// The application's auth object (JSON text), if any.
    pub(crate) auth: Option<Bytes>,
    pub(crate) state: NspState,
    pub(crate) recovery: RecoveryState,
    pub(crate) acks: AckTable,
}

impl Namespace {
    /// A namespace to join with `auth`.
    pub(crate) fn new(auth: Option<Bytes>) -> Self {
        Self {
            auth,
            state: NspState::Pending,
            recovery: RecoveryState::default(),
            acks: AckTable::default(),
        }
    }

    /// Whether the socket is joined.
    pub(crate) fn is_connected(&self) -> bool {
        matches!(self.state, NspState::Connected { .. })
    }

    /// The CONNECT auth to send now: the application's, plus `pid`/`offset` to recover.
    pub(crate) fn connect_auth(&self) -> Option<Bytes> {
        self.recovery.auth(self.auth.as_ref())
    }

    /// The earliest deadline: the CONNECT's answer, or an awaited ack.
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        let connect = match self.state {
            NspState::Connecting { deadline } => Some(deadline),
            _ => None,
        };
        crate::time::earliest(connect, self.acks.poll_timeout())
    }
}
