//! What the engine keeps per Engine.IO session (its transport machine and, unless the session
//! is raw Engine.IO, its Socket.IO state) and per Socket.IO socket.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::Instant;

use super::Emit;
use crate::engineio::session::Session;
use crate::io::{CloseReason, SessionId, SocketId};
use crate::socketio::ack::AckTable;
use crate::socketio::binary::Reassembly;
use crate::time::earliest;

/// One Engine.IO session and the Socket.IO layer on top of it.
#[derive(Debug)]
pub(crate) struct Client {
    pub(crate) eio: Session,
    /// `None` for a raw Engine.IO session.
    pub(crate) sio: Option<SioState>,
}

/// The Socket.IO state of one session.
#[derive(Debug)]
pub(crate) struct SioState {
    /// The socket of each namespace the client joined.
    pub(crate) sockets: BTreeMap<String, SocketId>,
    /// When the session is closed if it has joined no namespace by then.
    pub(crate) connect_deadline: Option<Instant>,
    /// A binary packet waiting for its attachments.
    pub(crate) reassembly: Option<Reassembly>,
    /// Emits the application scheduled for later, in due order.
    pub(crate) deferred: VecDeque<(Instant, SocketId, Emit)>,
}

/// One socket: a session's membership of a namespace.
#[derive(Debug)]
pub(crate) struct Socket {
    pub(crate) session: SessionId,
    /// See [`crate::socketio::namespace::kept`].
    pub(crate) nsp: Cow<'static, str>,
    /// The public socket id (also its own room).
    pub(crate) sid: String,
    /// The private id that recovers this socket, when recovery is on.
    pub(crate) pid: Option<String>,
    pub(crate) rooms: BTreeSet<String>,
    pub(crate) acks: AckTable,
}

impl Client {
    /// The sockets of this session, in namespace order.
    pub(crate) fn socket_ids(&self) -> impl Iterator<Item = SocketId> + '_ {
        self.sio
            .iter()
            .flat_map(|sio| sio.sockets.values().copied())
    }

    /// Forgets the socket of `nsp` (it left or was removed).
    pub(crate) fn forget_socket(&mut self, nsp: &str) {
        if let Some(sio) = self.sio.as_mut() {
            sio.sockets.remove(nsp);
        }
    }

    /// The earliest instant anything of this session is due; always `Some` for a live session
    /// because the heartbeat always has a deadline.
    pub(crate) fn poll_timeout(&self, sockets: &BTreeMap<SocketId, Socket>) -> Instant {
        let mut at = Some(self.eio.poll_timeout());
        if let Some(sio) = &self.sio {
            at = earliest(at, sio.connect_deadline);
            at = earliest(at, sio.reassembly.as_ref().map(Reassembly::deadline));
            at = earliest(at, sio.deferred.front().map(|(due, _, _)| *due));
            for socket_id in sio.sockets.values() {
                at = earliest(
                    at,
                    sockets.get(socket_id).and_then(|s| s.acks.poll_timeout()),
                );
            }
        }
        at.unwrap_or_else(|| self.eio.poll_timeout())
    }

    /// Checks the Socket.IO deadlines at `now`; returns why the session must close, if it must.
    pub(crate) fn sio_timeout(&mut self, now: Instant) -> Option<CloseReason> {
        let sio = self.sio.as_mut()?;
        if sio.connect_deadline.is_some_and(|at| at <= now) {
            return Some(CloseReason::ConnectTimeout);
        }
        if sio.reassembly.as_ref().is_some_and(|r| r.deadline() <= now) {
            return Some(CloseReason::ParseError);
        }
        None
    }
}

impl SioState {
    /// Socket.IO state for a session opened at `now` that must join a namespace by
    /// `connect_deadline`.
    pub(crate) fn new(connect_deadline: Instant) -> Self {
        Self {
            sockets: BTreeMap::new(),
            connect_deadline: Some(connect_deadline),
            reassembly: None,
            deferred: VecDeque::new(),
        }
    }

    /// Takes the next deferred emit due at `now`.
    pub(crate) fn pop_due_emit(&mut self, now: Instant) -> Option<(SocketId, Emit)> {
        if self.deferred.front().is_some_and(|(due, _, _)| *due <= now) {
            self.deferred
                .pop_front()
                .map(|(_, socket, emit)| (socket, emit))
        } else {
            None
        }
    }
}
