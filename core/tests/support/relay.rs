//! Helpers for the relay's transcript tests: posting events, dashboards connecting with an
//! `auth` filter, and what each one received as (event name, first argument) pairs.

use iorelay_core::engineio::packet::{Frame, Packet};
use iorelay_core::socketio::packet::{Limits, Packet as SioPacket, PacketKind};
use iorelay_core::{Config, Relay};
use serde_json::Value;

use super::{Drained, Harness};

/// A relay harness with the default configuration (relay mode, default profile).
pub fn relay() -> Harness<Relay> {
    Harness::relay(Config::default())
}

/// One Socket.IO event a client received: namespace, name, and the arguments after the name.
#[derive(Debug, Clone, PartialEq)]
pub struct Got {
    /// The namespace (`/`, `/tools`, …).
    pub nsp: String,
    /// The event name.
    pub name: String,
    /// The arguments after the name.
    pub args: Vec<Value>,
}

impl Got {
    /// The first argument.
    pub fn arg(&self) -> &Value {
        &self.args[0]
    }
}

/// The Socket.IO EVENT and ACK packets in `frames` (Engine.IO frames as sent): events as
/// `Got`, acks as `Got { name: "ack <id>" }`.
pub fn socketio_events(frames: &[Frame]) -> Vec<Got> {
    frames
        .iter()
        .filter_map(|frame| match Packet::decode(frame.clone()) {
            Ok(Packet::Message(text)) => Some(text),
            _ => None,
        })
        .filter_map(|text| SioPacket::decode(&text, &Limits::default()).ok())
        .filter_map(|packet| {
            let data: Vec<Value> = serde_json::from_slice(&packet.data?).ok()?;
            match packet.kind {
                PacketKind::Event => {
                    let mut data = data.into_iter();
                    let name = data.next()?.as_str()?.to_owned();
                    Some(Got {
                        nsp: packet.nsp,
                        name,
                        args: data.collect(),
                    })
                }
                PacketKind::Ack => Some(Got {
                    nsp: packet.nsp,
                    name: format!("ack {}", packet.id?),
                    args: data,
                }),
                _ => None,
            }
        })
        .collect()
}

impl Drained {
    /// The Socket.IO events and acks sent over websocket `conn`.
    pub fn got(&self, conn: u64) -> Vec<Got> {
        socketio_events(&self.ws_frames(conn))
    }

    /// The Socket.IO events and acks in the one polling reply on `conn`.
    pub fn got_polled(&self, conn: u64) -> Vec<Got> {
        let response = self.reply(conn);
        assert_eq!(response.status, 200, "{response:?}");
        socketio_events(&super::decode_payload(&response.body))
    }

    /// The HTTP reply on `conn` as `(status, body text)`.
    pub fn status_and_body(&self, conn: u64) -> (u16, String) {
        let response = self.reply(conn);
        (
            response.status,
            String::from_utf8_lossy(&response.body).into_owned(),
        )
    }
}

/// The `offset`s of canonical events, as numbers.
pub fn offsets<'a>(events: impl IntoIterator<Item = &'a Value>) -> Vec<u64> {
    events
        .into_iter()
        .map(|e| {
            e["offset"]
                .as_str()
                .expect("offset is a string")
                .parse()
                .expect("digits")
        })
        .collect()
}

/// The `id`s of canonical events.
pub fn ids<'a>(events: impl IntoIterator<Item = &'a Value>) -> Vec<String> {
    events
        .into_iter()
        .map(|e| e["id"].as_str().expect("id").to_owned())
        .collect()
}

/// The events a `claude_event` stream carried, in order.
pub fn claude_events(got: &[Got]) -> Vec<Value> {
    got.iter()
        .filter(|g| g.name == "claude_event")
        .map(|g| g.arg().clone())
        .collect()
}

impl Harness<Relay> {
    /// `POST path` with a JSON body on `conn`.
    pub fn post_json(&mut self, conn: u64, path: &str, body: &str) -> Drained {
        self.post(conn, path, body.as_bytes())
    }

    /// Posts `{"id":"<id>","type":"hook","subtype":"stop","session_id":"<session>"}` to
    /// `/api/events` on `conn`; expects 204.
    pub fn post_stop(&mut self, conn: u64, id: &str, session: &str) -> Drained {
        let body =
            format!(r#"{{"id":"{id}","type":"hook","subtype":"stop","session_id":"{session}"}}"#);
        let drained = self.post_json(conn, "/api/events", &body);
        assert_eq!(drained.status_and_body(conn), (204, String::new()));
        drained
    }

    /// A websocket client on `conn` connecting to `nsp` with `auth` (no payload if empty);
    /// returns what came after the CONNECT reply (for `/`: `event_history`).
    pub fn dashboard(&mut self, conn: u64, nsp: &str, auth: &str) -> Vec<Got> {
        self.open_websocket(conn);
        let prefix = if nsp == "/" {
            String::new()
        } else {
            format!("{nsp},")
        };
        let drained = self.ws_text(conn, &format!("40{prefix}{auth}"));
        let frames = drained.ws_frames(conn);
        let reply = frames.first().map(super::show_frame).unwrap_or_default();
        assert!(
            reply.starts_with(&format!("40{prefix}{{\"sid\":")),
            "CONNECT reply: {reply}"
        );
        socketio_events(&frames[1..])
    }

    /// A polling client: the handshake on `conn`, CONNECT to `/` with `auth` posted on
    /// `conn + 1`; returns its sid (the CONNECT reply and `event_history` wait in its queue).
    pub fn polling_dashboard(&mut self, conn: u64, auth: &str) -> String {
        let opened = self.open_polling(conn);
        let packet = format!("40{auth}");
        let drained = self.post(conn + 1, &super::polling(&opened.sid), packet.as_bytes());
        assert_eq!(drained.status_and_body(conn + 1), (200, "ok".to_owned()));
        opened.sid
    }

    /// A websocket client on `conn` sends event `name` with `arg` and ack id `ack`; returns
    /// what it got back.
    pub fn ask(&mut self, conn: u64, ack: u64, name: &str, arg: &str) -> Vec<Got> {
        self.ws_text(conn, &format!(r#"42{ack}["{name}",{arg}]"#))
            .got(conn)
    }
}

/// The `event_history` payload among `got`.
///
/// # Panics
/// Unless exactly one `event_history` arrived.
pub fn event_history(got: &[Got]) -> Value {
    let histories: Vec<&Got> = got.iter().filter(|g| g.name == "event_history").collect();
    assert_eq!(histories.len(), 1, "{got:#?}");
    histories[0].arg().clone()
}
