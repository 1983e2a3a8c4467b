//! HTTP routing: which requests go to Engine.IO, `/health`, CORS preflight, and the 404/405
//! answers for everything else.

use bytes::Bytes;

use super::Engine;
use crate::http::{
    cors_headers, error_response, preflight_response, Method, RequestHead, Response,
};
use crate::io::{Body, ConnId, Output};

/// Which Engine.IO endpoint a path names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EioRoute {
    /// Engine.IO carrying Socket.IO.
    SocketIo,
    /// Raw Engine.IO, no Socket.IO layer.
    Raw,
}

impl Engine {
    pub(crate) fn route_of(&self, path: &str) -> Option<EioRoute> {
        let matches = |mount: &str| path == mount || path == mount.trim_end_matches('/');
        if matches(&self.config.socketio_path) {
            Some(EioRoute::SocketIo)
        } else if self.config.engineio_path.as_deref().is_some_and(matches) {
            Some(EioRoute::Raw)
        } else {
            None
        }
    }

    pub(super) fn on_http(&mut self, conn: ConnId, head: RequestHead, body: Body) {
        if head.method == Method::Options {
            let response = preflight_response(&head, &self.config.cors);
            self.reply(conn, response);
            return;
        }
        if let Some(route) = self.route_of(&head.path) {
            self.on_eio_request(conn, &head, body, route);
            return;
        }
        let cors = cors_headers(head.header("origin"), &self.config.cors);
        let mut response = match (head.path.as_str(), head.method) {
            ("/health", Method::Get | Method::Head) => Response::json(200, self.health_json()),
            ("/health", _) => error_response(405, "method not allowed", "GET /health")
                .header("allow", "GET, HEAD"),
            _ => error_response(404, "not found", &format!("no route for {}", head.path)),
        };
        response.headers.extend(cors);
        self.reply(conn, response);
    }

    pub(super) fn reply(&mut self, conn: ConnId, response: Response) {
        self.out.push_back(Output::HttpReply { conn, response });
    }

    fn health_json(&self) -> Bytes {
        let uptime = self.now.saturating_duration_since(self.started).as_secs();
        let health = Health {
            status: "ok",
            service: "iorelay",
            version: env!("CARGO_PKG_VERSION"),
            pid: self.config.server.pid,
            uptime_s: uptime,
            port: self.config.server.port,
            sessions: self.clients.len(),
            sockets: self.sockets.len(),
        };
        Bytes::from(serde_json::to_vec(&health).unwrap_or_default())
    }
}

/// The `/health` body, in the key order users read it.
#[derive(serde::Serialize)]
struct Health {
    status: &'static str,
    service: &'static str,
    version: &'static str,
    pid: u32,
    uptime_s: u64,
    port: u16,
    sessions: usize,
    sockets: usize,
}
