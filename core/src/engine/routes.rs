//! HTTP routing: which requests go to Engine.IO, `/health`, CORS preflight, and the 404/405
//! answers for everything else.

use bytes::Bytes;

use super::Engine;
pub(crate) use crate::config::EngineIoRoute as EioRoute;
use crate::http::{
    cors_headers, error_response, preflight_response, Method, RequestHead, Response,
};
use crate::io::{Body, ConnId, Output};

impl Engine {
    pub(super) fn on_http(&mut self, conn: ConnId, head: RequestHead, body: Body) {
        if head.method == Method::Options {
            let response = preflight_response(&head, &self.config.cors);
            self.reply(conn, response);
            return;
        }
        if let Some(route) = self.config.engineio_route(&head.path) {
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
        Bytes::from(serde_json::to_vec(&self.health()).unwrap_or_default())
    }

    /// What `/health` reports about the server.
    #[must_use]
    pub fn health(&self) -> Health {
        let uptime = self.now.saturating_duration_since(self.started).as_secs();
        Health {
            status: "ok",
            service: "iorelay",
            version: env!("CARGO_PKG_VERSION"),
            pid: self.config.server.pid,
            uptime_s: uptime,
            port: self.config.server.port,
            sessions: self.clients.len(),
            sockets: self.sockets.len(),
        }
    }
}

/// The `/health` body, in the key order users read it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Health {
    /// Always `ok` when the server answers.
    pub status: &'static str,
    /// `iorelay`: what single-instance detection looks for.
    pub service: &'static str,
    /// The server's version.
    pub version: &'static str,
    /// Process id.
    pub pid: u32,
    /// Seconds since the engine started.
    pub uptime_s: u64,
    /// The port it listens on.
    pub port: u16,
    /// Engine.IO sessions open.
    pub sessions: usize,
    /// Socket.IO sockets connected.
    pub sockets: usize,
}
