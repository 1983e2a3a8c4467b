//! What one step makes the engine do: predicted by the model, or read from the outputs.

use std::collections::{BTreeMap, BTreeSet};

use iorelay_core::{Event, Output};

/// What one step makes the engine do, as the model predicts it or as it happened.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Effects {
    pub replies: BTreeMap<u64, u16>,
    pub accepts: BTreeSet<u64>,
    pub ws_sends: BTreeSet<u64>,
    pub ws_closes: BTreeSet<u64>,
    pub opened: BTreeSet<u64>,
    pub closed: BTreeSet<(u64, String)>,
    pub connected: BTreeSet<(u64, u64, String)>,
    pub disconnected: BTreeSet<(u64, String)>,
    pub acks_received: BTreeSet<(u64, u64)>,
    pub acks_timed_out: BTreeSet<(u64, u64)>,
    pub messages: BTreeSet<(u64, Option<u64>)>,
}

impl Effects {
    /// The effects `outputs` show.
    pub fn of(outputs: &[Output]) -> Self {
        let mut fx = Self::default();
        for output in outputs {
            match output {
                Output::HttpReply { conn, response } => {
                    let again = fx.replies.insert(conn.0, response.status);
                    assert!(again.is_none(), "two replies on {conn:?} in one step");
                }
                Output::WsAccept { conn } => {
                    fx.accepts.insert(conn.0);
                }
                Output::WsSend { conn, .. } => {
                    fx.ws_sends.insert(conn.0);
                }
                Output::WsClose { conn, .. } => {
                    fx.ws_closes.insert(conn.0);
                }
                Output::Event(event) => fx.event(event),
                other => panic!("unexpected output {other:?}"),
            }
        }
        fx
    }

    fn event(&mut self, event: &Event) {
        match event {
            Event::SessionOpened { session, .. } => {
                self.opened.insert(session.0);
            }
            Event::SessionClosed { session, reason } => {
                self.closed.insert((session.0, format!("{reason:?}")));
            }
            Event::SocketConnected {
                socket,
                session,
                nsp,
                ..
            } => {
                self.connected.insert((socket.0, session.0, nsp.clone()));
            }
            Event::SocketDisconnected { socket, reason } => {
                self.disconnected.insert((socket.0, format!("{reason:?}")));
            }
            Event::AckReceived { socket, ack, .. } => {
                self.acks_received.insert((socket.0, *ack));
            }
            Event::AckTimedOut { socket, ack } => {
                self.acks_timed_out.insert((socket.0, *ack));
            }
            Event::Message { socket, ack, .. } => {
                self.messages.insert((socket.0, *ack));
            }
            other => panic!("unexpected event {other:?}"),
        }
    }
}
