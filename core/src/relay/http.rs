//! The relay's HTTP routes: ingest, history, health with the relay's counters, metrics,
//! connections, shutdown.
//!
//! Why here and not in the engine's router: these routes are the product's; the engine
//! answers only what any Engine.IO server answers (its endpoints, a plain `/health`, 404).

use std::net::IpAddr;
use std::time::Instant;

use bytes::Bytes;
use serde::Serialize;

use super::exposition::CONTENT_TYPE as METRICS_CONTENT_TYPE;
use super::history::HistoryQuery;
use super::ingest::{self, Endpoint, IngestError};
use super::{Relay, RelayStats};
use crate::dashboard;
use crate::engine::Health;
use crate::http::{cors_headers, error_response, Method, RequestHead, Response};
use crate::io::{Body, ConnId, Output};
use crate::relay::subscription::Subscription;

/// Paths the relay answers itself.
const ROUTES: [&str; 7] = [
    "/health",
    "/metrics",
    "/connections",
    "/api/events",
    "/api/hooks",
    "/api/history",
    "/api/shutdown",
];

/// Whether the relay answers `head`: its API and the dashboard (CORS preflights go to the
/// engine, which answers every path alike).
pub(super) fn is_relay_route(head: &RequestHead) -> bool {
    head.method != Method::Options
        && (ROUTES.contains(&head.path.as_str()) || dashboard::is_dashboard_path(&head.path))
}

/// What the runtime knows of the persistent store, reported by `/health`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StoreHealth {
    /// Where the store lives.
    pub path: String,
    /// `ok`, or what went wrong last.
    pub status: String,
    /// Events handed to the store and not yet committed.
    pub pending: u64,
    /// Events committed since start.
    pub committed: u64,
}

/// `/health` of a relay: the engine's facts and the relay's.
#[derive(Serialize)]
struct RelayHealth<'a> {
    #[serde(flatten)]
    server: Health,
    events: &'a RelayStats,
    history: usize,
    next_offset: u64,
    store: Option<&'a StoreHealth>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cluster: Option<super::cluster::ClusterHealth<'a>>,
}

impl Relay {
    pub(super) fn on_http(
        &mut self,
        conn: ConnId,
        peer: Option<IpAddr>,
        head: &RequestHead,
        body: Body,
    ) {
        if let Some(mut response) = self.check_request(head) {
            // A refused origin gets no CORS headers: the page is not let read the refusal.
            if response.status != 403 {
                response.headers.extend(cors_headers(
                    head.header("origin"),
                    &self.engine.config().cors,
                ));
            }
            self.out.push_back(Output::HttpReply { conn, response });
            return;
        }
        let mut response = match (head.path.as_str(), head.method) {
            (path, _) if dashboard::is_dashboard_path(path) => {
                dashboard::respond(head, &self.dashboard_config)
            }
            ("/health", Method::Get | Method::Head) => Response::json(200, self.health_json()),
            ("/api/events", Method::Post) => self.ingest(peer, Endpoint::Events, body),
            ("/api/hooks", Method::Post) => self.ingest(peer, Endpoint::Hooks, body),
            ("/api/history", Method::Get | Method::Head) => self.history_reply(head),
            ("/metrics", Method::Get | Method::Head) => {
                Response::new(200).body(METRICS_CONTENT_TYPE, self.metrics_text())
            }
            ("/connections", Method::Get | Method::Head) => {
                Response::json(200, self.connections_json())
            }
            ("/api/shutdown", Method::Post) => {
                self.out.push_back(Output::StopRequested);
                Response::json(202, Bytes::from_static(br#"{"stopping":true}"#))
            }
            (path, _) => {
                let allow = match path {
                    "/health" | "/api/history" | "/metrics" | "/connections" => "GET, HEAD",
                    _ => "POST",
                };
                error_response(405, "method not allowed", &format!("{allow} {path}"))
                    .header("allow", allow)
            }
        };
        response.headers.extend(cors_headers(
            head.header("origin"),
            &self.engine.config().cors,
        ));
        self.out.push_back(Output::HttpReply { conn, response });
    }

    /// Ingests events that did not come over HTTP — a hook spool drained at start — exactly
    /// as a POST of `body` to `endpoint` would; returns how many were accepted and how many
    /// were duplicates. Drain `poll_output` afterwards.
    ///
    /// # Errors
    /// The body would have been refused (malformed, too large); nothing was accepted.
    pub fn ingest_body(
        &mut self,
        now: Instant,
        endpoint: Endpoint,
        body: &[u8],
    ) -> Result<(usize, usize), IngestError> {
        self.advance(now);
        let batch = ingest::parse(endpoint, body, self.config.max_event_bytes)?;
        let accepted = self.accept(batch.drafts);
        Ok((accepted.accepted, accepted.duplicates))
    }

    /// Tells `/health` what the store is doing.
    pub fn set_store_health(&mut self, store: StoreHealth) {
        self.store = Some(store);
    }

    fn health_json(&self) -> Bytes {
        let health = RelayHealth {
            server: self.engine.health(),
            events: &self.stats,
            history: self.history.len(),
            next_offset: self.next_offset,
            store: self.store.as_ref(),
            cluster: self
                .cluster
                .as_ref()
                .map(super::cluster::ClusterNode::health),
        };
        Bytes::from(serde_json::to_vec(&health).unwrap_or_default())
    }

    fn ingest(&mut self, peer: Option<IpAddr>, endpoint: Endpoint, body: Body) -> Response {
        let Body::Complete(body) = body else {
            self.stats.requests_rejected += 1;
            let limit = self.config.max_request_bytes;
            return error_response(
                413,
                "payload too large",
                &format!("the body is over the {limit}-byte request limit"),
            );
        };
        let batch = match ingest::parse(endpoint, &body, self.config.max_event_bytes) {
            Ok(batch) => batch,
            Err(err) => {
                self.stats.requests_rejected += 1;
                return match err {
                    IngestError::Malformed(detail) => {
                        error_response(400, "malformed JSON", &detail)
                    }
                    IngestError::TooLarge(detail) => {
                        error_response(413, "event too large", &detail)
                    }
                };
            }
        };
        if let Some(refused) = self.check_rate(peer, batch.drafts.len()) {
            return refused;
        }
        let accepted = self.accept(batch.drafts);
        if batch.array {
            let body = format!(
                "{{\"accepted\":{},\"duplicates\":{}}}",
                accepted.accepted, accepted.duplicates
            );
            Response::json(202, Bytes::from(body))
        } else {
            Response::new(204)
        }
    }

    /// `GET /api/history?session=&project=&type=&after=&before=&limit=`.
    fn history_reply(&self, head: &RequestHead) -> Response {
        let query = match history_query(head) {
            Ok(query) => query,
            Err(detail) => return error_response(400, "bad query", &detail),
        };
        let page = self.page(&query, self.config.history_default_limit);
        Response::json(200, page.to_json())
    }
}

fn history_query(head: &RequestHead) -> Result<HistoryQuery, String> {
    let offset = |key: &str| -> Result<Option<u64>, String> {
        head.query
            .get(key)
            .filter(|v| !v.is_empty())
            .map(|v| {
                crate::cluster::stream_id::parse_offset(v).map_err(|_| {
                    format!("{key}={v:?} is not an offset (a non-negative integer or a stream id)")
                })
            })
            .transpose()
    };
    let number = |key: &str| -> Result<Option<u64>, String> {
        head.query
            .get(key)
            .filter(|v| !v.is_empty())
            .map(|v| {
                v.parse::<u64>()
                    .map_err(|_| format!("{key}={v:?} is not a non-negative integer"))
            })
            .transpose()
    };
    let text = |key: &str| {
        head.query
            .get(key)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let types: Vec<String> = head
        .query
        .iter()
        .filter(|(k, v)| (*k == "type" || *k == "types") && !v.is_empty())
        .flat_map(|(_, v)| v.split(',').map(str::to_owned).collect::<Vec<_>>())
        .collect();
    Ok(HistoryQuery {
        filter: Subscription {
            session: text("session").or_else(|| text("session_id")),
            project: text("project"),
            types: (!types.is_empty()).then_some(types),
        },
        after: offset("after")?,
        before: offset("before")?,
        limit: number("limit")?.map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
    })
}
