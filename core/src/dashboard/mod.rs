//! The built-in dashboard: the page at `/` and its files under `/assets/`, embedded at build
//! time from `dashboard/` (see `core/build.rs`).
//!
//! Why in core: which file answers which path, when a cached copy is still good, when to send
//! the gzip copy and which headers protect the page are decisions, not IO; both runtimes serve
//! the same bytes with the same headers because they only write what this module answers.

use bytes::Bytes;

use crate::http::{error_response, Method, RequestHead, Response};

#[cfg(test)]
mod tests;

/// One embedded file of the dashboard.
pub(crate) struct Asset {
    /// The URL path it answers (`/` or `/assets/…`).
    pub path: &'static str,
    /// Its Content-Type.
    pub content_type: &'static str,
    /// A weak ETag of its bytes: the same for both encodings, which are equivalent.
    pub etag: &'static str,
    /// The file as it is.
    pub body: &'static [u8],
    /// Its gzip encoding; empty when that would not be smaller.
    pub gzip: &'static [u8],
}

include!(concat!(env!("OUT_DIR"), "/dashboard_assets.rs"));

/// The page's settings, made from the relay's configuration (not a file).
pub const CONFIG_PATH: &str = "/assets/config.json";

/// What the page may load and run: only its own files and its own relay; no inline script or
/// style, no plugins, no framing. An event's text can never become code, even if a view had a
/// bug that put it in the DOM as HTML.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; \
     base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Whether `path` belongs to the dashboard.
#[must_use]
pub fn is_dashboard_path(path: &str) -> bool {
    path == "/" || path.starts_with("/assets/")
}

/// The answer to a request for a dashboard path: the file (gzipped when the client accepts
/// it), 304 when the client's copy is current, `config` (the page's settings) at
/// [`CONFIG_PATH`], 404 for no such file, 405 for a method other than GET and HEAD.
#[must_use]
pub fn respond(head: &RequestHead, config: &Bytes) -> Response {
    if !matches!(head.method, Method::Get | Method::Head) {
        return error_response(
            405,
            "method not allowed",
            &format!("GET, HEAD {}", head.path),
        )
        .header("Allow", "GET, HEAD");
    }
    if head.path == CONFIG_PATH {
        return Response::json(200, config.clone()).header("Cache-Control", "no-store");
    }
    let Some(asset) = ASSETS.iter().find(|asset| asset.path == head.path) else {
        return error_response(
            404,
            "not found",
            &format!("no dashboard file {}", head.path),
        );
    };
    let response = Response::new(200)
        .header("ETag", asset.etag)
        .header("Cache-Control", "no-cache")
        .header("Vary", "Accept-Encoding")
        .header("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        .header("X-Content-Type-Options", "nosniff")
        .header("Referrer-Policy", "no-referrer");
    if head
        .header("if-none-match")
        .is_some_and(|tags| etag_matches(tags, asset.etag))
    {
        return Response {
            status: 304,
            ..response
        };
    }
    let gzip = !asset.gzip.is_empty() && head.header("accept-encoding").is_some_and(accepts_gzip);
    if gzip {
        response
            .header("Content-Encoding", "gzip")
            .body(asset.content_type, Bytes::from_static(asset.gzip))
    } else {
        response.body(asset.content_type, Bytes::from_static(asset.body))
    }
}

/// The page's settings as [`CONFIG_PATH`] serves them: the relay's version and how many
/// events the page keeps.
#[must_use]
pub fn config_json(max_events: usize) -> Bytes {
    let config = serde_json::json!({
        "version": env!("CARGO_PKG_VERSION"),
        "max_events": max_events,
    });
    Bytes::from(config.to_string())
}

/// Whether an `If-None-Match` list names `etag` (weak comparison, RFC 9110 §13.1.2).
fn etag_matches(list: &str, etag: &str) -> bool {
    let opaque = |tag: &str| tag.trim().trim_start_matches("W/").to_owned();
    let wanted = opaque(etag);
    list.split(',')
        .any(|tag| tag.trim() == "*" || opaque(tag) == wanted)
}

/// Whether an `Accept-Encoding` value accepts gzip: listed (or `*`) without `q=0`.
fn accepts_gzip(header: &str) -> bool {
    let mut star = false;
    for item in header.split(',') {
        let mut parts = item.split(';');
        let coding = parts.next().unwrap_or_default().trim();
        let refused = parts.any(|param| {
            let param = param.trim();
            param
                .strip_prefix("q=")
                .or_else(|| param.strip_prefix("Q="))
                .and_then(|q| q.trim().parse::<f32>().ok())
                .is_some_and(|q| q <= 0.0)
        });
        if coding.eq_ignore_ascii_case("gzip") {
            return !refused;
        }
        if coding == "*" {
            star = !refused;
        }
    }
    star
}
