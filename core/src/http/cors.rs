//! Cross-origin resource sharing: which browser origins may call the relay, and the replies
//! that tell the browser so.

use super::request::RequestHead;
use super::response::{error_response, Response};

/// Which origins may make credentialed cross-origin requests.
///
/// Socket.IO polling sends cookies and runs from pages on other ports during development, so
/// allowed origins are echoed back with credentials rather than answered with `*`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CorsPolicy {
    /// Every origin is allowed.
    AllowAll,
    /// Only these origins, compared ASCII-case-insensitively; an entry ending in `:*`
    /// (e.g. `http://localhost:*`) matches that scheme and host on any port or none.
    AllowList(Vec<String>),
}

impl CorsPolicy {
    /// Whether `origin` (an `Origin` header value) is allowed.
    #[must_use]
    pub fn allows(&self, origin: &str) -> bool {
        match self {
            CorsPolicy::AllowAll => true,
            CorsPolicy::AllowList(entries) => {
                entries.iter().any(|entry| origin_matches(entry, origin))
            }
        }
    }
}

/// The CORS headers for a reply to a request from `origin`: Allow-Origin echoing it,
/// Allow-Credentials and `Vary: Origin` when allowed, nothing otherwise.
///
/// Add them to every reply to a cross-origin request, so the browser hands the body to the page.
#[must_use]
pub fn cors_headers(origin: Option<&str>, allowed: &CorsPolicy) -> Vec<(&'static str, String)> {
    match origin {
        Some(origin) if allowed.allows(origin) => vec![
            ("Access-Control-Allow-Origin", origin.to_owned()),
            ("Access-Control-Allow-Credentials", "true".to_owned()),
            ("Vary", "Origin".to_owned()),
        ],
        _ => Vec::new(),
    }
}

/// The reply to a CORS preflight (`OPTIONS` with an `Origin`): 204 with the allowed methods,
/// the requested headers and a one-day max-age when the origin is allowed, 403 otherwise.
///
/// Browsers send a preflight before a polling POST with a custom content type; answering it in
/// core keeps both runtimes' answers identical.
#[must_use]
pub fn preflight_response(head: &RequestHead, policy: &CorsPolicy) -> Response {
    let Some(origin) = head.header("origin") else {
        return error_response(
            403,
            "origin_not_allowed",
            "a CORS preflight needs an Origin header",
        );
    };
    if !policy.allows(origin) {
        let detail = format!("origin {origin} is not allowed by the CORS policy");
        return error_response(403, "origin_not_allowed", &detail);
    }
    let requested = head
        .header("access-control-request-headers")
        .unwrap_or("content-type");
    let mut response = Response::new(204);
    response.headers = cors_headers(Some(origin), policy);
    response
        .header("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
        .header("Access-Control-Allow-Headers", requested)
        .header("Access-Control-Max-Age", "86400")
}

fn origin_matches(entry: &str, origin: &str) -> bool {
    let Some(scheme_and_host) = entry.strip_suffix(":*") else {
        return entry.eq_ignore_ascii_case(origin);
    };
    let Some(prefix) = origin.get(..scheme_and_host.len()) else {
        return false;
    };
    if !prefix.eq_ignore_ascii_case(scheme_and_host) {
        return false;
    }
    match origin.get(scheme_and_host.len()..) {
        Some("") => true,
        Some(rest) => rest.strip_prefix(':').is_some_and(|port| {
            (1..=5).contains(&port.len()) && port.bytes().all(|b| b.is_ascii_digit())
        }),
        None => false,
    }
}
