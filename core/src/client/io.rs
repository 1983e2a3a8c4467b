//! The client's boundary: what goes in ([`ClientInput`]), what comes out ([`ClientOutput`]),
//! and what it reports ([`ClientEvent`]).
//!
//! Why its own types rather than the engine's: the client opens connections where the engine
//! accepts them, so its outputs are requests to open (`HttpRequest`, `WsOpen`) and its inputs
//! are their answers. Connection ids ([`ConnId`]), frames ([`Frame`]) and transport kinds
//! ([`TransportKind`]) are shared with the engine, so one runtime vocabulary serves both.

use std::fmt;
use std::time::Instant;

use bytes::Bytes;

use crate::engineio::packet::Frame;
use crate::io::{ConnId, TransportKind};

/// Something that happened, handed to the client.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientInput {
    /// Time has passed; deadlines up to `now` are due.
    Timeout(Instant),
    /// The HTTP response to the [`ClientOutput::HttpRequest`] on `conn`, or the refusal of the
    /// websocket upgrade asked for with [`ClientOutput::WsOpen`] (any status but 101).
    HttpReply {
        /// When it arrived.
        now: Instant,
        /// The connection the request went out on.
        conn: ConnId,
        /// The status code.
        status: u16,
        /// The whole body (the runtime reads it up to [`ClientConfig::max_payload`](super::ClientConfig::max_payload)
        /// bytes; a longer body is a closed connection).
        body: Bytes,
    },
    /// The websocket asked for with [`ClientOutput::WsOpen`] completed its handshake (101).
    WsOpened {
        /// When.
        now: Instant,
        /// The connection.
        conn: ConnId,
    },
    /// A websocket message arrived.
    WsMessage {
        /// When.
        now: Instant,
        /// The websocket connection.
        conn: ConnId,
        /// The message: text or binary.
        frame: Frame,
    },
    /// The connection closed or could not be opened (refused, reset, closed by the server,
    /// a close frame, an HTTP exchange that broke off).
    ConnClosed {
        /// When it was noticed.
        now: Instant,
        /// The connection.
        conn: ConnId,
    },
}

/// The HTTP method of a polling request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// A handshake or a poll.
    Get,
    /// Packets for the server.
    Post,
}

impl Method {
    /// The method as written in a request line.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
        }
    }
}

/// One HTTP request of the polling transport; the runtime adds `Host`, `Content-Length` and
/// its own headers (a POST body is `text/plain;charset=UTF-8`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientRequest {
    /// GET or POST.
    pub method: Method,
    /// Path and query, e.g. `/socket.io/?EIO=4&transport=polling&sid=…`.
    pub target: String,
    /// The body (empty for a GET).
    pub body: Bytes,
}

/// Something the runtime must do, drained from [`Client::poll_output`](super::Client::poll_output).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ClientOutput {
    /// Open a new connection `conn` and send this one request on it; answer with
    /// [`ClientInput::HttpReply`] or [`ClientInput::ConnClosed`].
    HttpRequest {
        /// The new connection's id.
        conn: ConnId,
        /// The request.
        request: ClientRequest,
    },
    /// Open a new connection `conn` and ask for a websocket at `target`; answer with
    /// [`ClientInput::WsOpened`], or [`ClientInput::HttpReply`] when the server refuses the
    /// upgrade, or [`ClientInput::ConnClosed`].
    WsOpen {
        /// The new connection's id.
        conn: ConnId,
        /// Path and query, e.g. `/socket.io/?EIO=4&transport=websocket`.
        target: String,
    },
    /// Send one websocket message on `conn` (the runtime masks and frames it).
    WsSend {
        /// The websocket connection.
        conn: ConnId,
        /// The message.
        frame: Frame,
    },
    /// Close `conn` (a websocket with a normal close, an HTTP exchange by dropping it). No
    /// input about it is expected afterwards; one that comes anyway is ignored.
    Close {
        /// The connection.
        conn: ConnId,
    },
    /// Something the application may want to know or act on.
    Event(ClientEvent),
    /// Nothing more to do now; feed `ClientInput::Timeout(at)` at `at`, or wait for input
    /// when `None`.
    Timeout(Option<Instant>),
}

/// Why the Engine.IO session was lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LostReason {
    /// The handshake failed: refused, answered with an error, or no open packet in time.
    HandshakeFailed,
    /// The connection closed or broke.
    TransportClose,
    /// A poll or post was answered with an error status.
    TransportError,
    /// No ping from the server within `pingInterval + pingTimeout`.
    PingTimeout,
    /// The server sent an Engine.IO close packet.
    ServerClose,
    /// The server sent something that does not decode, or a packet out of place.
    ParseError,
    /// A namespace CONNECT was not answered in time.
    ConnectTimeout,
}

impl LostReason {
    /// The reason as words, as socket.io-client names its disconnect reasons where it has one.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::HandshakeFailed => "handshake failed",
            Self::TransportClose => "transport close",
            Self::TransportError => "transport error",
            Self::PingTimeout => "ping timeout",
            Self::ServerClose => "server close",
            Self::ParseError => "parse error",
            Self::ConnectTimeout => "connect timeout",
        }
    }
}

impl fmt::Display for LostReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a namespace's socket ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DisconnectReason {
    /// The session under it was lost; the client reconnects (and asks to recover).
    Lost(LostReason),
    /// The server sent DISCONNECT for the namespace: it is not joined again.
    ServerDisconnect,
    /// The application left it ([`Client::disconnect`](super::Client::disconnect) or
    /// [`Client::close`](super::Client::close)).
    ClientDisconnect,
}

/// What happened at the Engine.IO or Socket.IO level.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ClientEvent {
    /// An Engine.IO session opened.
    Opened {
        /// Its sid.
        sid: String,
        /// The transport it opened on.
        transport: TransportKind,
    },
    /// The session moved from polling to websocket.
    Upgraded,
    /// The server pinged (and was answered): a sign of life, for statistics.
    Pinged,
    /// A namespace was joined.
    Connected {
        /// The namespace.
        nsp: String,
        /// The socket's public id.
        sid: String,
        /// The server restored the socket of the last session (connection state recovery):
        /// it sends what was missed after the last offset.
        recovered: bool,
    },
    /// The server refused a namespace CONNECT; the namespace is not asked for again until
    /// the application connects it again.
    ConnectError {
        /// The namespace.
        nsp: String,
        /// The CONNECT_ERROR data as sent (JSON: `{"message":…}` or a string).
        data: Bytes,
    },
    /// A namespace's socket ended.
    Disconnected {
        /// The namespace.
        nsp: String,
        /// Why.
        reason: DisconnectReason,
    },
    /// The Engine.IO session ended (or could not be opened).
    Lost {
        /// Why.
        reason: LostReason,
    },
    /// The next attempt to open a session is due at `at` (attempt 1 is the first retry).
    Reconnecting {
        /// Which attempt.
        attempt: u32,
        /// When it starts.
        at: Instant,
    },
    /// Reconnection gave up after its last attempt; the client is closed.
    GaveUp,
    /// The server emitted an event.
    Message {
        /// The namespace.
        nsp: String,
        /// The event name.
        name: String,
        /// The arguments as a JSON array text (binary arguments are placeholders).
        args: Bytes,
        /// The binary attachments, in placeholder order.
        attachments: Vec<Bytes>,
        /// The server asked for an ack: answer with [`Client::ack`](super::Client::ack).
        ack: Option<u64>,
    },
    /// The server acknowledged an emit.
    AckReceived {
        /// The namespace.
        nsp: String,
        /// The id [`Client::emit`](super::Client::emit) returned.
        id: u64,
        /// The ack's arguments as a JSON array text.
        args: Bytes,
        /// Binary attachments.
        attachments: Vec<Bytes>,
    },
    /// An emit was not acknowledged in time, or its socket went away first.
    AckTimedOut {
        /// The namespace.
        nsp: String,
        /// The id.
        id: u64,
    },
}
