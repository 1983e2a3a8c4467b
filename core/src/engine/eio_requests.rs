//! Engine.IO requests: the handshake, polls, posts, websocket opening and websocket messages,
//! with the error answers the protocol defines for each bad request.

use bytes::Bytes;

use super::client::{Client, SioState};
use super::routes::EioRoute;
use super::Engine;
use crate::engineio::handshake::{ErrorCode, OpenPacket};
use crate::engineio::packet::{Frame, Packet};
use crate::engineio::payload;
use crate::engineio::session::{Session, Source, Step, Taken};
use crate::http::{cors_headers, error_response, Method, RequestHead, Response};
use crate::io::{Body, CloseReason, ConnId, Event, Output, SessionId, TransportKind};

/// Most packets one POST body may carry; far above what clients batch.
const MAX_PACKETS_PER_POST: usize = 10_000;

impl Engine {
    pub(super) fn on_eio_request(
        &mut self,
        conn: ConnId,
        head: &RequestHead,
        body: Body,
        route: EioRoute,
    ) {
        if !self.origin_allowed(head) {
            return self.reply_eio_error(conn, ErrorCode::Forbidden, Vec::new());
        }
        let cors = cors_headers(head.header("origin"), &self.config.cors);
        let transport = match head.query.get("transport") {
            Some("polling") => TransportKind::Polling,
            Some("websocket") => TransportKind::WebSocket,
            _ => return self.reply_eio_error(conn, ErrorCode::UnknownTransport, cors),
        };
        let is_upgrade = transport == TransportKind::WebSocket;
        if is_upgrade && head.websocket_key.is_none() {
            return self.reply_eio_error(conn, ErrorCode::BadRequest, cors);
        }
        let Some(sid) = head.query.get("sid") else {
            if head.method != Method::Get {
                return self.reply_eio_error(conn, ErrorCode::BadHandshakeMethod, cors);
            }
            if head.query.get("EIO") != Some("4") {
                return self.reply_eio_error(conn, ErrorCode::UnsupportedProtocolVersion, cors);
            }
            return self.open_session(conn, transport, route, cors);
        };
        // A sid names a session of this endpoint only: a raw Engine.IO session is unknown at
        // the Socket.IO endpoint and the other way round.
        let Some(&id) = self.by_sid.get(sid).filter(|id| {
            self.clients
                .get(id)
                .is_some_and(|c| c.sio.is_some() == (route == EioRoute::SocketIo))
        }) else {
            return self.reply_eio_error(conn, ErrorCode::UnknownSid, cors);
        };
        if is_upgrade {
            return self.open_probe(conn, id);
        }
        match head.method {
            Method::Get => self.on_poll(conn, id, cors),
            Method::Post => self.on_post(conn, id, body, cors),
            _ => self.reply_eio_error(conn, ErrorCode::BadRequest, cors),
        }
    }

    fn reply_eio_error(
        &mut self,
        conn: ConnId,
        code: ErrorCode,
        cors: Vec<(&'static str, String)>,
    ) {
        let status = if code == ErrorCode::Forbidden {
            403
        } else {
            400
        };
        let mut response = Response::json(status, code.body());
        response.headers.extend(cors);
        self.reply(conn, response);
    }

    fn open_session(
        &mut self,
        conn: ConnId,
        transport: TransportKind,
        route: EioRoute,
        cors: Vec<(&'static str, String)>,
    ) {
        let now = self.now;
        let id = SessionId(self.next_session);
        self.next_session += 1;
        let mut sid = self.rng.id();
        while self.by_sid.contains_key(&sid) {
            sid = self.rng.id();
        }
        let ws_conn = (transport == TransportKind::WebSocket).then_some(conn);
        let upgrades: &[&str] = if ws_conn.is_some() {
            &[]
        } else {
            &["websocket"]
        };
        let open = OpenPacket {
            sid: &sid,
            upgrades,
            ping_interval_ms: millis(self.config.ping_interval),
            ping_timeout_ms: millis(self.config.ping_timeout),
            max_payload: self.config.max_payload as u64,
        }
        .to_json();
        let mut session = Session::new(id, sid.clone(), now, ws_conn, cors, self.limits);
        if ws_conn.is_some() {
            self.out.push_back(Output::WsAccept { conn });
            self.conns.insert(conn, id);
        }
        session.send(&[Packet::Open(open).encode()], false, now, &mut self.out);
        if ws_conn.is_none() {
            // The handshake GET is the session's first poll: it is answered with the open packet.
            let _ = session.on_poll(now, conn, &mut self.out);
        }
        let sio =
            (route == EioRoute::SocketIo).then(|| SioState::new(now + self.config.connect_timeout));
        self.by_sid.insert(sid.clone(), id);
        self.clients
            .insert(id, Box::new(Client { eio: session, sio }));
        self.out.push_back(Output::Event(Event::SessionOpened {
            session: id,
            sid,
            transport,
        }));
        self.refresh_timer(id);
    }

    fn open_probe(&mut self, conn: ConnId, id: SessionId) {
        let now = self.now;
        let Some(client) = self.clients.get_mut(&id) else {
            return;
        };
        self.out.push_back(Output::WsAccept { conn });
        match client.eio.on_probe_opened(now, conn) {
            Ok(()) => {
                self.conns.insert(conn, id);
                self.refresh_timer(id);
            }
            Err(_) => self.out.push_back(Output::WsClose {
                conn,
                code: 1008,
                reason: "session already has a websocket",
            }),
        }
    }

    fn on_poll(&mut self, conn: ConnId, id: SessionId, cors: Vec<(&'static str, String)>) {
        let Some(client) = self.clients.get_mut(&id) else {
            return;
        };
        match client.eio.on_poll(self.now, conn, &mut self.out) {
            Ok(()) => {
                self.conns.insert(conn, id);
                self.refresh_timer(id);
            }
            Err(crate::engineio::session::PollRejected::NotPolling) => {
                self.reply_eio_error(conn, ErrorCode::BadRequest, cors);
            }
            Err(crate::engineio::session::PollRejected::Overlap) => {
                self.reply_eio_error(conn, ErrorCode::BadRequest, cors);
                self.close_session(id, CloseReason::TransportError);
            }
        }
    }

    fn on_post(
        &mut self,
        conn: ConnId,
        id: SessionId,
        body: Body,
        cors: Vec<(&'static str, String)>,
    ) {
        let Some(client) = self.clients.get(&id) else {
            return;
        };
        if !client.eio.accepts_post() {
            return self.reply_eio_error(conn, ErrorCode::BadRequest, cors);
        }
        let ok = client.eio.post_ok();
        let body = match body {
            Body::Complete(body) => body,
            Body::TooLarge => {
                let mut response =
                    error_response(413, "payload too large", "the body exceeds maxPayload");
                response.headers.extend(cors);
                self.reply(conn, response);
                return self.close_session(id, CloseReason::PayloadTooLarge);
            }
        };
        let frames = match payload::decode(&body, MAX_PACKETS_PER_POST) {
            Ok(frames) => frames,
            Err(err) => {
                let mut response = error_response(400, "bad payload", &err.to_string());
                response.headers.extend(cors);
                self.reply(conn, response);
                return self.close_session(id, CloseReason::ParseError);
            }
        };
        self.reply(conn, ok);
        for frame in frames {
            if !self.clients.contains_key(&id) {
                break;
            }
            self.on_frame(id, Source::Primary, frame);
        }
        self.refresh_timer(id);
    }

    pub(super) fn on_ws_frame(&mut self, conn: ConnId, frame: Frame) {
        let Some(&id) = self.conns.get(&conn) else {
            return;
        };
        let Some(source) = self.clients.get(&id).and_then(|c| c.eio.source_of(conn)) else {
            return;
        };
        self.on_frame(id, source, frame);
        self.refresh_timer(id);
    }

    pub(super) fn on_ws_too_large(&mut self, conn: ConnId) {
        let Some(&id) = self.conns.get(&conn) else {
            return;
        };
        match self.clients.get(&id).and_then(|c| c.eio.source_of(conn)) {
            Some(Source::Primary) => self.close_session(id, CloseReason::PayloadTooLarge),
            Some(Source::Probe) => {
                // A failed probe ends the upgrade, not the session.
                if let Some(client) = self.clients.get_mut(&id) {
                    client
                        .eio
                        .abort_upgrade(&mut self.out, 1009, "message too big");
                }
                self.refresh_timer(id);
            }
            None => {}
        }
    }

    /// One Engine.IO packet from the client, on the session's transport or its probe.
    fn on_frame(&mut self, id: SessionId, source: Source, frame: Frame) {
        let now = self.now;
        let Some(client) = self.clients.get_mut(&id) else {
            return;
        };
        let packet = match Packet::decode(frame) {
            Ok(packet) => packet,
            Err(_) if source == Source::Probe => {
                client
                    .eio
                    .abort_upgrade(&mut self.out, 1002, "unexpected packet during upgrade");
                return;
            }
            Err(_) => return self.close_session(id, CloseReason::ParseError),
        };
        match client.eio.on_packet(now, source, packet, &mut self.out) {
            Step::Nothing => {}
            Step::Upgraded => self
                .out
                .push_back(Output::Event(Event::SessionUpgraded { session: id })),
            Step::Close(reason) => self.close_session(id, reason),
            Step::Message(Packet::Message(text)) => self.on_message(id, Frame::Text(text)),
            Step::Message(Packet::Binary(data)) => self.on_message(id, Frame::Binary(data)),
            Step::Message(_) => {}
        }
    }

    /// A message for the layer above Engine.IO: Socket.IO, or the raw Engine.IO application.
    fn on_message(&mut self, id: SessionId, message: Frame) {
        let is_raw = self.clients.get(&id).is_some_and(|c| c.sio.is_none());
        if is_raw {
            self.on_raw_message(id, message);
        } else {
            match message {
                Frame::Text(text) => self.on_sio_text(id, text),
                Frame::Binary(data) => self.on_sio_binary(id, data),
            }
        }
    }

    /// Sends raw Engine.IO message frames to a session (text as `4…`, binary as is).
    pub(super) fn send_frames(&mut self, id: SessionId, frames: &[Frame], volatile: bool) -> bool {
        self.take_frames(id, frames, volatile)
            .send_alone(frames, &mut self.out)
    }

    /// Hands session `id` a group of frames as [`Engine::send_frames`] does, but leaves a
    /// websocket's sending to the caller (see [`Session::take`]); an unknown session refuses.
    pub(super) fn take_frames(&mut self, id: SessionId, frames: &[Frame], volatile: bool) -> Taken {
        let now = self.now;
        let Some(client) = self.clients.get_mut(&id) else {
            return Taken::Refused;
        };
        // Only a polling queue crossing its bound moves a deadline (a websocket send never
        // does); skipping the timer table otherwise keeps a broadcast's per-recipient cost to
        // a refcount and a queue push, and a websocket recipient's to no deadline at all.
        let polling = matches!(client.eio.transport(), TransportKind::Polling);
        let before = polling.then(|| client.eio.poll_timeout());
        let taken = client.eio.take(frames, volatile, now, &mut self.out);
        if before.is_some_and(|before| before != client.eio.poll_timeout()) {
            self.refresh_timer(id);
        }
        taken
    }
}

/// A raw Engine.IO message as the frame that carries it back to a client.
pub(super) fn message_frame(message: &Frame) -> Frame {
    match message {
        Frame::Text(text) => Packet::message_frame(text),
        Frame::Binary(data) => Frame::Binary(Bytes::clone(data)),
    }
}

fn millis(duration: std::time::Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}
