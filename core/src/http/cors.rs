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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::{parse_request_head, HeadLimits};

    fn list(entries: &[&str]) -> CorsPolicy {
        CorsPolicy::AllowList(entries.iter().map(|e| (*e).to_owned()).collect())
    }

    fn request(raw: &str) -> RequestHead {
        parse_request_head(raw.as_bytes(), &HeadLimits::default())
            .unwrap()
            .unwrap()
            .0
    }

    fn allowed_headers(origin: &str) -> Vec<(&'static str, String)> {
        vec![
            ("Access-Control-Allow-Origin", origin.to_owned()),
            ("Access-Control-Allow-Credentials", "true".to_owned()),
            ("Vary", "Origin".to_owned()),
        ]
    }

    #[test]
    fn allow_all_echoes_the_origin_with_credentials() {
        assert_eq!(
            cors_headers(Some("https://app.example"), &CorsPolicy::AllowAll),
            allowed_headers("https://app.example")
        );
    }

    #[test]
    fn requests_without_origin_get_no_cors_headers() {
        assert_eq!(cors_headers(None, &CorsPolicy::AllowAll), Vec::new());
    }

    #[test]
    fn allow_list_matches_whole_origins_case_insensitively() {
        let policy = list(&["https://app.example"]);
        assert_eq!(
            cors_headers(Some("HTTPS://App.Example"), &policy),
            allowed_headers("HTTPS://App.Example")
        );
        for origin in [
            "https://app.example.evil",
            "http://app.example",
            "https://app.example:443",
            "null",
        ] {
            assert_eq!(cors_headers(Some(origin), &policy), Vec::new(), "{origin}");
        }
    }

    #[test]
    fn port_wildcard_matches_any_port_of_that_host_only() {
        let policy = list(&["http://localhost:*"]);
        for origin in [
            "http://localhost",
            "http://localhost:3000",
            "http://localhost:5173",
            "http://LOCALHOST:1",
        ] {
            assert!(policy.allows(origin), "{origin}");
        }
        for origin in [
            "https://localhost:3000",
            "http://localhost.evil.com:3000",
            "http://localhostx:3000",
            "http://localhost:",
            "http://localhost:30a0",
            "http://localhost:123456",
            "http://localhost:3000/",
            "http://127.0.0.1:3000",
        ] {
            assert!(!policy.allows(origin), "{origin}");
        }
    }

    #[test]
    fn allowed_preflight_answers_204_with_methods_headers_and_max_age() {
        let head = request(
            "OPTIONS /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nOrigin: http://localhost:5173\r\nAccess-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: content-type, x-relay-token\r\n\r\n",
        );
        let wire = preflight_response(&head, &list(&["http://localhost:*"])).encode(true);
        assert_eq!(
            std::str::from_utf8(&wire).unwrap(),
            "HTTP/1.1 204 No Content\r\n\
             Access-Control-Allow-Origin: http://localhost:5173\r\n\
             Access-Control-Allow-Credentials: true\r\n\
             Vary: Origin\r\n\
             Access-Control-Allow-Methods: GET, POST, OPTIONS\r\n\
             Access-Control-Allow-Headers: content-type, x-relay-token\r\n\
             Access-Control-Max-Age: 86400\r\n\
             Connection: keep-alive\r\n\r\n"
        );
    }

    #[test]
    fn preflight_without_requested_headers_allows_content_type() {
        let head = request("OPTIONS / HTTP/1.1\r\nOrigin: https://a.example\r\n\r\n");
        let response = preflight_response(&head, &CorsPolicy::AllowAll);
        assert_eq!(response.status, 204);
        assert!(response
            .headers
            .contains(&("Access-Control-Allow-Headers", "content-type".to_owned())));
    }

    #[test]
    fn preflight_from_a_foreign_or_missing_origin_is_forbidden() {
        let policy = list(&["https://a.example"]);
        let foreign = request("OPTIONS / HTTP/1.1\r\nOrigin: https://b.example\r\n\r\n");
        assert_eq!(
            preflight_response(&foreign, &policy),
            error_response(
                403,
                "origin_not_allowed",
                "origin https://b.example is not allowed by the CORS policy"
            )
        );
        let missing = request("OPTIONS / HTTP/1.1\r\n\r\n");
        assert_eq!(
            preflight_response(&missing, &CorsPolicy::AllowAll),
            error_response(
                403,
                "origin_not_allowed",
                "a CORS preflight needs an Origin header"
            )
        );
    }
}
