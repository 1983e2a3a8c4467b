//! The Socket.IO layer of the client: decoding what the server sends, reassembling binary
//! packets, and dispatching CONNECT, CONNECT_ERROR, DISCONNECT, EVENT and ACK to their
//! namespace.
//!
//! A packet that does not decode, an attachment nobody announced, or a binary packet while
//! another waits for its attachments ends the session as a parse error (and the client
//! reconnects), as socket.io-client does. Packets for a namespace the client is not in are
//! ignored: the server may have sent them before it read the client's DISCONNECT.

use bytes::Bytes;
use serde::Deserialize;

use super::io::{ClientEvent, DisconnectReason, LostReason};
use super::namespace::NspState;
use super::Client;
use crate::socketio::binary::{Progress, Reassembly};
use crate::socketio::event::split_event;
use crate::socketio::packet::{Limits, Packet, PacketKind};

/// The data of a CONNECT reply.
#[derive(Deserialize)]
struct ConnectReply {
    sid: String,
    pid: Option<String>,
}

impl Client {
    pub(super) fn on_sio_text(&mut self, text: Bytes) {
        let limits = Limits {
            max_attachments: self.config.max_attachments,
        };
        if self.reassembly.is_some() {
            return self.lose(LostReason::ParseError);
        }
        let packet = match Packet::decode(&text, &limits) {
            Ok(packet) => packet,
            Err(_) => return self.lose(LostReason::ParseError),
        };
        if packet.attachments == 0 {
            return self.dispatch(packet, Vec::new());
        }
        let (timeout, max_bytes) = (self.config.attachment_timeout, self.config.max_payload);
        self.reassembly = Some(Reassembly::start(packet, self.now, timeout, max_bytes));
    }

    pub(super) fn on_sio_binary(&mut self, data: Bytes) {
        let Some(reassembly) = self.reassembly.take() else {
            return self.lose(LostReason::ParseError);
        };
        match reassembly.push(data) {
            Ok(Progress::NeedMore(reassembly)) => self.reassembly = Some(reassembly),
            Ok(Progress::Complete(packet, attachments)) => self.dispatch(packet, attachments),
            Err(_) => self.lose(LostReason::ParseError),
        }
    }

    fn dispatch(&mut self, packet: Packet, attachments: Vec<Bytes>) {
        let nsp = packet.nsp.clone();
        let Some(namespace) = self.namespaces.get_mut(&nsp) else {
            return;
        };
        match (packet.kind, &namespace.state) {
            (PacketKind::Connect, NspState::Connecting { .. }) => {
                let reply = packet
                    .data
                    .as_deref()
                    .and_then(|data| serde_json::from_slice::<ConnectReply>(data).ok());
                let Some(reply) = reply else {
                    return self.lose(LostReason::ParseError);
                };
                let recovered = namespace.recovery.on_connected(reply.pid);
                namespace.state = NspState::Connected {
                    sid: reply.sid.clone(),
                };
                self.event(ClientEvent::Connected {
                    nsp,
                    sid: reply.sid,
                    recovered,
                });
            }
            (PacketKind::ConnectError, NspState::Connecting { .. }) => {
                namespace.state = NspState::Refused;
                let data = packet.data.unwrap_or_default();
                self.event(ClientEvent::ConnectError { nsp, data });
            }
            (PacketKind::Disconnect, NspState::Connected { .. }) => {
                self.remove_namespace(&nsp, DisconnectReason::ServerDisconnect);
            }
            (PacketKind::Event | PacketKind::BinaryEvent, NspState::Connected { .. }) => {
                let data = packet.data.unwrap_or_default();
                let Ok((name, args)) = split_event(&data) else {
                    return;
                };
                namespace.recovery.on_event(&args);
                let args = crate::socketio::json::join_json_array(
                    args.iter().map(|raw| raw.get().as_bytes()),
                );
                self.event(ClientEvent::Message {
                    nsp,
                    name,
                    args,
                    attachments,
                    ack: packet.id,
                });
            }
            (PacketKind::Ack | PacketKind::BinaryAck, NspState::Connected { .. }) => {
                let Some(id) = packet.id.filter(|&id| namespace.acks.resolve(id)) else {
                    return;
                };
                let args = packet.data.unwrap_or_else(|| Bytes::from_static(b"[]"));
                self.event(ClientEvent::AckReceived {
                    nsp,
                    id,
                    args,
                    attachments,
                });
            }
            _ => {}
        }
    }
}
