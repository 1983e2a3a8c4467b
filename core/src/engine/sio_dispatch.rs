//! The Socket.IO layer: decoding client packets, namespace CONNECT/DISCONNECT, events, acks
//! and binary attachments; and the raw Engine.IO application for sessions without Socket.IO.

use std::collections::BTreeSet;

use bytes::Bytes;

use super::client::Socket;
use super::Engine;
use crate::config::Mode;
use crate::engineio::packet::Frame;
use crate::io::{CloseReason, Event, Output, SessionId, SocketId};
use crate::socketio::ack::AckTable;
use crate::socketio::binary::{Progress, Reassembly};
use crate::socketio::event::split_event;
use crate::socketio::namespace;
use crate::socketio::packet::{Limits, Packet, PacketKind};
use crate::socketio::recovery::Parked;

impl Engine {
    pub(super) fn on_raw_message(&mut self, id: SessionId, message: Frame) {
        if self.config.mode == Mode::Conformance {
            let echo = super::eio_requests::message_frame(&message);
            self.send_frames(id, &[echo], false);
        }
        self.out.push_back(Output::Event(Event::RawMessage {
            session: id,
            frame: message,
        }));
    }

    pub(super) fn on_sio_text(&mut self, id: SessionId, text: Bytes) {
        let limits = Limits {
            max_attachments: self.config.max_attachments,
        };
        let packet = match Packet::decode(&text, &limits) {
            Ok(packet) => packet,
            Err(_) => return self.close_session(id, CloseReason::ParseError),
        };
        if packet.attachments == 0 {
            return self.dispatch(id, packet, Vec::new());
        }
        let now = self.now;
        let (timeout, max_bytes) = (self.config.attachment_timeout, self.config.max_payload);
        let Some(sio) = self.clients.get_mut(&id).and_then(|c| c.sio.as_mut()) else {
            return;
        };
        if sio.reassembly.is_some() {
            return self.close_session(id, CloseReason::ParseError);
        }
        sio.reassembly = Some(Reassembly::start(packet, now, timeout, max_bytes));
    }

    pub(super) fn on_sio_binary(&mut self, id: SessionId, data: Bytes) {
        let Some(sio) = self.clients.get_mut(&id).and_then(|c| c.sio.as_mut()) else {
            return;
        };
        let Some(reassembly) = sio.reassembly.take() else {
            return self.close_session(id, CloseReason::ParseError);
        };
        match reassembly.push(data) {
            Ok(Progress::NeedMore(reassembly)) => sio.reassembly = Some(reassembly),
            Ok(Progress::Complete(packet, attachments)) => self.dispatch(id, packet, attachments),
            Err(_) => self.close_session(id, CloseReason::PayloadTooLarge),
        }
    }

    fn dispatch(&mut self, id: SessionId, packet: Packet, attachments: Vec<Bytes>) {
        let socket = self
            .clients
            .get(&id)
            .and_then(|c| c.sio.as_ref())
            .and_then(|sio| sio.sockets.get(&packet.nsp).copied());
        match (packet.kind, socket) {
            (PacketKind::Connect, None) => self.on_connect(id, packet),
            (PacketKind::Disconnect, Some(socket)) => {
                self.remove_socket(socket, CloseReason::ClientDisconnect);
            }
            (PacketKind::Event | PacketKind::BinaryEvent, Some(socket)) => {
                self.on_event(socket, packet, attachments);
            }
            (PacketKind::Ack | PacketKind::BinaryAck, Some(socket)) => {
                self.on_ack(socket, packet, attachments);
            }
            // A second CONNECT to a joined namespace, anything but CONNECT for a namespace
            // not joined, and CONNECT_ERROR (a server-only packet) are protocol violations:
            // the reference server closes the connection, and so do we.
            _ => self.close_session(id, CloseReason::ParseError),
        }
    }

    fn on_connect(&mut self, id: SessionId, packet: Packet) {
        if !self.config.namespaces.allows(&packet.nsp) {
            let reply = Packet::connect_error(&packet.nsp, "Invalid namespace");
            self.send_frames(id, &[Frame::Text(reply.encode_message())], false);
            return;
        }
        if self.clients.get(&id).is_none_or(|c| c.sio.is_none()) {
            return;
        }
        let auth = packet.data.unwrap_or_else(|| Bytes::from_static(b"{}"));
        if !self.connect_authorized(id, &packet.nsp, &auth) {
            return;
        }
        if let Some(pid) = self.pid_to_look_up(&packet.nsp, &auth) {
            // Another node may have parked it: the application looks (Event::RecoveryLookup)
            // and answers with `resume_connect`.
            self.lookups.insert((id, packet.nsp.clone()), auth);
            self.out.push_back(Output::Event(Event::RecoveryLookup {
                session: id,
                nsp: packet.nsp,
                pid,
            }));
            return;
        }
        let identity = self.socket_identity(&packet.nsp, &auth);
        self.finish_connect(id, packet.nsp, auth, identity);
    }

    /// The pid a CONNECT asks to recover when remote lookups are on and no socket is parked
    /// here under it.
    fn pid_to_look_up(&self, nsp: &str, auth: &Bytes) -> Option<String> {
        if !self.remote_recovery {
            return None;
        }
        let table = self.recovery.as_ref()?;
        let pid = serde_json::from_slice::<RecoveryAuth>(auth).ok()?.pid?;
        let here = table.get(self.now, &pid).is_some_and(|p| p.nsp == nsp);
        (!here).then_some(pid)
    }

    /// Ends a CONNECT held for a [`Event::RecoveryLookup`]: `found` is the socket parked
    /// elsewhere under the pid it asked for (its pid and identity), `None` when there is none;
    /// the socket then gets fresh ids, as any CONNECT naming an unknown pid. Nothing happens
    /// when the session closed meanwhile.
    pub fn resume_connect(
        &mut self,
        session: SessionId,
        nsp: &str,
        found: Option<(String, Parked)>,
    ) {
        let Some(auth) = self.lookups.remove(&(session, nsp.to_owned())) else {
            return;
        };
        if self.clients.get(&session).is_none_or(|c| c.sio.is_none()) {
            return;
        }
        let identity = match found {
            Some((pid, parked)) if parked.nsp == nsp => (parked.sid, Some(pid), parked.rooms, true),
            _ => self.socket_identity(nsp, &auth),
        };
        self.finish_connect(session, nsp.to_owned(), auth, identity);
    }

    fn finish_connect(
        &mut self,
        id: SessionId,
        nsp: String,
        auth: Bytes,
        (sid, pid, rooms, recovered): (String, Option<String>, BTreeSet<String>, bool),
    ) {
        let socket_id = SocketId(self.next_socket);
        self.next_socket += 1;
        let Some(sio) = self.clients.get_mut(&id).and_then(|c| c.sio.as_mut()) else {
            return;
        };
        sio.sockets.insert(nsp.clone(), socket_id);
        sio.connect_deadline = None;
        self.rooms.add_socket(&nsp, socket_id);
        for room in &rooms {
            self.rooms.join(&nsp, room, socket_id);
        }
        let reply = match &pid {
            Some(pid) => Packet::connect_ok_recoverable(&nsp, &sid, pid),
            None => Packet::connect_ok(&nsp, &sid),
        };
        self.sockets.insert(
            socket_id,
            Socket {
                session: id,
                nsp: namespace::kept(&nsp),
                sid,
                pid,
                rooms,
                acks: AckTable::default(),
            },
        );
        self.send_frames(id, &[Frame::Text(reply.encode_message())], false);
        if self.config.mode == Mode::Conformance {
            super::conformance::on_connect(self, socket_id, &auth);
        }
        self.out.push_back(Output::Event(Event::SocketConnected {
            socket: socket_id,
            session: id,
            nsp,
            auth,
            recovered,
        }));
    }

    /// The ids and rooms of a socket connecting to `nsp` with `auth`: those of the socket it
    /// recovers when the auth names a parked `pid`, else fresh ones (with a fresh pid when
    /// recovery is on).
    fn socket_identity(
        &mut self,
        nsp: &str,
        auth: &Bytes,
    ) -> (String, Option<String>, BTreeSet<String>, bool) {
        let now = self.now;
        if let Some(table) = self.recovery.as_mut() {
            let asked = serde_json::from_slice::<RecoveryAuth>(auth)
                .ok()
                .and_then(|a| a.pid);
            if let Some(pid) = asked {
                if let Some(parked) = table.take_if(now, &pid, |p| p.nsp == nsp) {
                    return (parked.sid, Some(pid), parked.rooms, true);
                }
            }
        }
        let sid = self.rng.id();
        let pid = self.recovery.is_some().then(|| self.rng.id());
        let rooms = BTreeSet::from([sid.clone()]);
        (sid, pid, rooms, false)
    }

    fn on_event(&mut self, socket: SocketId, packet: Packet, attachments: Vec<Bytes>) {
        let Some(data) = packet.data else {
            return;
        };
        let Ok((name, args)) = split_event(&data) else {
            return;
        };
        let args =
            crate::socketio::json::join_json_array(args.iter().map(|raw| raw.get().as_bytes()));
        if self.config.mode == Mode::Conformance {
            super::conformance::on_event(self, socket, &name, &args, &attachments, packet.id);
        }
        self.out.push_back(Output::Event(Event::Message {
            socket,
            name,
            args,
            attachments,
            ack: packet.id,
        }));
    }

    fn on_ack(&mut self, socket_id: SocketId, packet: Packet, attachments: Vec<Bytes>) {
        let (Some(ack), Some(socket)) = (packet.id, self.sockets.get_mut(&socket_id)) else {
            return;
        };
        if !socket.acks.resolve(ack) {
            return;
        }
        let session = socket.session;
        let args = packet.data.unwrap_or_else(|| Bytes::from_static(b"[]"));
        if self.config.mode == Mode::Conformance {
            super::conformance::on_ack(self, socket_id, &args, &attachments);
        }
        self.out.push_back(Output::Event(Event::AckReceived {
            socket: socket_id,
            ack,
            args,
            attachments,
        }));
        self.refresh_timer(session);
    }
}

/// The part of a CONNECT auth payload recovery reads.
#[derive(serde::Deserialize)]
struct RecoveryAuth {
    pid: Option<String>,
}
