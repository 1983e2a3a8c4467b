//! Commands the application gives the engine: emit to sockets and rooms, answer acks, manage
//! rooms, disconnect sockets, close sessions, shut down. Each takes `now`; drain
//! `poll_output` after each.

use std::time::{Duration, Instant};

use bytes::Bytes;

use super::Engine;
use crate::engineio::packet::Frame;
use crate::engineio::session::Taken;
use crate::io::{ApiMisuse, CloseReason, Output, SessionId, SocketId};
use crate::socketio::event::event_data;
use crate::socketio::packet::Packet;

/// An event to emit: its Socket.IO data array and binary attachments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Emit {
    /// The JSON array `["name", arg…]`; binary arguments are `{"_placeholder":true,"num":N}`.
    pub data: Bytes,
    /// The attachments the placeholders refer to, in order.
    pub attachments: Vec<Bytes>,
    /// Whether the event may be dropped for a client that is not keeping up.
    pub volatile: bool,
}

impl Emit {
    /// An event `name` with arguments given as JSON texts (each must be valid JSON).
    #[must_use]
    pub fn new(name: &str, args: &[&[u8]]) -> Self {
        Self {
            data: event_data(name, args),
            attachments: Vec::new(),
            volatile: false,
        }
    }

    /// Adds binary attachments (the data must hold matching placeholders).
    #[must_use]
    pub fn with_attachments(mut self, attachments: Vec<Bytes>) -> Self {
        self.attachments = attachments;
        self
    }

    /// Marks the event droppable for congested clients.
    #[must_use]
    pub fn volatile(mut self) -> Self {
        self.volatile = true;
        self
    }

    /// The frames that carry this event once encoded: the packet text, then each attachment.
    fn frames(&self, nsp: &str, ack: Option<u64>) -> Vec<Frame> {
        let packet = Packet::event(nsp, self.data.clone(), ack, self.attachments.len());
        packet_frames(&packet, self.attachments.iter().cloned())
    }
}

/// The Engine.IO frames that carry a Socket.IO packet: its text, then its binary attachments.
fn packet_frames(packet: &Packet, attachments: impl ExactSizeIterator<Item = Bytes>) -> Vec<Frame> {
    let mut frames = Vec::with_capacity(1 + attachments.len());
    frames.push(Frame::Text(packet.encode_message()));
    frames.extend(attachments.map(Frame::Binary));
    frames
}

/// Who receives a broadcast: the sockets of a namespace, optionally only those in some rooms,
/// minus those in other rooms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The namespace.
    pub nsp: String,
    /// Only sockets in at least one of these rooms; empty means every socket of the namespace.
    pub rooms: Vec<String>,
    /// Never sockets in any of these rooms.
    pub except: Vec<String>,
}

impl Target {
    /// Every socket of `nsp`.
    #[must_use]
    pub fn namespace(nsp: &str) -> Self {
        Self {
            nsp: nsp.to_owned(),
            rooms: Vec::new(),
            except: Vec::new(),
        }
    }

    /// Narrowed to sockets in `room` (may be called again for a union of rooms).
    #[must_use]
    pub fn room(mut self, room: &str) -> Self {
        self.rooms.push(room.to_owned());
        self
    }

    /// Excluding sockets in `room`.
    #[must_use]
    pub fn except(mut self, room: &str) -> Self {
        self.except.push(room.to_owned());
        self
    }
}

impl Engine {
    /// Broadcasts an event; the packet is encoded once and every recipient gets the same
    /// `Bytes`. Returns how many sockets it was sent to (volatile drops excluded).
    pub fn emit(&mut self, now: Instant, target: &Target, emit: &Emit) -> usize {
        let recipients = self
            .rooms
            .members(&target.nsp, &target.rooms, &target.except);
        self.emit_each(now, &target.nsp, recipients, emit)
    }

    /// Sends an event to each of `sockets` (sockets of `nsp`; others are skipped), encoded
    /// once: every recipient gets the same `Bytes`. For applications that pick recipients
    /// by their own state rather than by room. Returns how many sockets it was sent to
    /// (volatile drops excluded).
    pub fn emit_each(
        &mut self,
        now: Instant,
        nsp: &str,
        sockets: impl IntoIterator<Item = SocketId>,
        emit: &Emit,
    ) -> usize {
        self.advance(now);
        let frames = emit.frames(nsp, None);
        let mut sent = 0;
        let mut websockets = Vec::new();
        for socket in sockets {
            let Some(session) = self
                .sockets
                .get(&socket)
                .filter(|s| s.nsp == nsp)
                .map(|s| s.session)
            else {
                continue;
            };
            match self.take_frames(session, &frames, emit.volatile) {
                Taken::Websocket(conn) => websockets.push(conn),
                Taken::Queued => {}
                Taken::Refused => continue,
            }
            sent += 1;
        }
        if !websockets.is_empty() {
            // One output per frame, in the group's order, so every recipient gets the group
            // in order; the last frame takes the list rather than a copy.
            let mut frames = frames.into_iter().peekable();
            while let Some(frame) = frames.next() {
                let conns = if frames.peek().is_some() {
                    websockets.clone()
                } else {
                    std::mem::take(&mut websockets)
                };
                self.out.push_back(Output::WsBroadcast { conns, frame });
            }
        }
        sent
    }

    /// Sends an event to one socket; with `ack_timeout`, asks for an ack and returns its id,
    /// answered later by `Event::AckReceived` or `Event::AckTimedOut` (exactly one of them).
    ///
    /// # Errors
    /// The socket is not connected (it may have just disconnected: watch
    /// `Event::SocketDisconnected`).
    pub fn emit_to(
        &mut self,
        now: Instant,
        socket: SocketId,
        emit: &Emit,
        ack_timeout: Option<Duration>,
    ) -> Result<Option<u64>, ApiMisuse> {
        self.advance(now);
        let state = self
            .sockets
            .get_mut(&socket)
            .ok_or_else(|| not_connected(socket))?;
        let ack = ack_timeout.map(|timeout| state.acks.register(self.now, timeout));
        let (session, frames) = (state.session, emit.frames(&state.nsp, ack));
        self.send_frames(session, &frames, emit.volatile);
        if ack.is_some() {
            // The ack deadline is the session's, and `send_frames` only moves the session's
            // timer for Engine.IO deadlines.
            self.refresh_timer(session);
        }
        Ok(ack)
    }

    /// Answers a client's ack request `ack` (from `Event::Message`) with arguments given as a
    /// JSON array text, plus binary attachments its placeholders refer to.
    ///
    /// # Errors
    /// The socket is not connected, or `args` is not a JSON array.
    pub fn ack(
        &mut self,
        now: Instant,
        socket: SocketId,
        ack: u64,
        args: Bytes,
        attachments: Vec<Bytes>,
    ) -> Result<(), ApiMisuse> {
        self.advance(now);
        if !args.starts_with(b"[") {
            return Err(ApiMisuse(format!(
                "ack args must be a JSON array text, got {:?}",
                String::from_utf8_lossy(&args)
            )));
        }
        let state = self
            .sockets
            .get(&socket)
            .ok_or_else(|| not_connected(socket))?;
        let packet = Packet::ack(&state.nsp, ack, args, attachments.len());
        let frames = packet_frames(&packet, attachments.into_iter());
        let session = state.session;
        self.send_frames(session, &frames, false);
        Ok(())
    }

    /// Puts a socket in a room of its namespace.
    ///
    /// # Errors
    /// The socket is not connected.
    pub fn join(&mut self, socket: SocketId, room: &str) -> Result<(), ApiMisuse> {
        let state = self
            .sockets
            .get_mut(&socket)
            .ok_or_else(|| not_connected(socket))?;
        state.rooms.insert(room.to_owned());
        self.rooms.join(&state.nsp, room, socket);
        Ok(())
    }

    /// Takes a socket out of a room.
    ///
    /// # Errors
    /// The socket is not connected.
    pub fn leave(&mut self, socket: SocketId, room: &str) -> Result<(), ApiMisuse> {
        let state = self
            .sockets
            .get_mut(&socket)
            .ok_or_else(|| not_connected(socket))?;
        state.rooms.remove(room);
        self.rooms.leave(&state.nsp, room, socket);
        Ok(())
    }

    /// Disconnects a socket from its namespace (the client receives DISCONNECT); its session
    /// stays open.
    ///
    /// # Errors
    /// The socket is not connected.
    pub fn disconnect(&mut self, now: Instant, socket: SocketId) -> Result<(), ApiMisuse> {
        self.advance(now);
        let state = self
            .sockets
            .get(&socket)
            .ok_or_else(|| not_connected(socket))?;
        let (session, packet) = (state.session, Packet::disconnect(&state.nsp));
        self.send_frames(session, &[Frame::Text(packet.encode_message())], false);
        self.remove_socket(socket, CloseReason::ServerClose);
        self.refresh_timer(session);
        Ok(())
    }

    /// Sends a message on a raw Engine.IO session (`Frame::Text` carries the message text).
    ///
    /// # Errors
    /// The session is not open.
    pub fn send_raw(
        &mut self,
        now: Instant,
        session: SessionId,
        message: &Frame,
    ) -> Result<(), ApiMisuse> {
        self.advance(now);
        if !self.clients.contains_key(&session) {
            return Err(ApiMisuse(format!("session {} is not open", session.0)));
        }
        self.send_frames(
            session,
            &[super::eio_requests::message_frame(message)],
            false,
        );
        Ok(())
    }

    /// Closes a session and frees everything it held.
    pub fn close(&mut self, now: Instant, session: SessionId) {
        self.advance(now);
        self.close_session(session, CloseReason::ServerClose);
    }

    /// Closes every session (server shutdown): clients see their transport close and
    /// reconnect to the next server. No Socket.IO DISCONNECT is sent: clients read that as
    /// "kicked by the server" and would not reconnect.
    pub fn shutdown(&mut self, now: Instant) {
        self.advance(now);
        let sessions: Vec<SessionId> = self.clients.keys().copied().collect();
        for session in sessions {
            self.close_session(session, CloseReason::Shutdown);
        }
    }
}

fn not_connected(socket: SocketId) -> ApiMisuse {
    ApiMisuse(format!(
        "socket {} is not connected (it may have just disconnected: watch Event::SocketDisconnected)",
        socket.0
    ))
}
