//! Bearer tokens: reading `Authorization: Bearer <token>` and comparing a presented token with
//! the configured one in constant time.
//!
//! Why its own module: the relay's HTTP routes and the engine's Socket.IO CONNECT both check
//! the same token, and both must compare it without leaking, through timing, how much of a
//! guess was right.

use super::request::RequestHead;

/// The token of an `Authorization: Bearer <token>` header, if the request has one (the scheme
/// is matched case-insensitively, surrounding spaces are ignored).
#[must_use]
pub fn bearer_token(head: &RequestHead) -> Option<&str> {
    let value = head.header("authorization")?.trim();
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|token| !token.is_empty())
}

/// Whether `presented` equals `expected`, taking the same time for every `presented` of a
/// given length whatever its content (the length of the expected token is not a secret
/// worth hiding: it is reported by no response).
#[must_use]
pub fn token_matches(presented: &str, expected: &str) -> bool {
    let (a, b) = (presented.as_bytes(), expected.as_bytes());
    let mut diff = u8::from(a.len() != b.len());
    for (i, byte) in a.iter().enumerate() {
        diff |= byte ^ b.get(i % b.len().max(1)).copied().unwrap_or(0);
    }
    diff == 0 && !b.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::{parse_request_head, HeadLimits};

    fn head(authorization: Option<&str>) -> RequestHead {
        let field = authorization.map_or(String::new(), |v| format!("Authorization: {v}\r\n"));
        let raw = format!("POST /api/events HTTP/1.1\r\nHost: x\r\n{field}\r\n");
        parse_request_head(raw.as_bytes(), &HeadLimits::default())
            .unwrap()
            .unwrap()
            .0
    }

    #[test]
    fn the_bearer_scheme_is_case_insensitive_and_the_token_trimmed() {
        assert_eq!(bearer_token(&head(Some("Bearer s3cret"))), Some("s3cret"));
        assert_eq!(bearer_token(&head(Some("bearer  s3cret "))), Some("s3cret"));
    }

    #[test]
    fn other_schemes_empty_tokens_and_no_header_give_no_token() {
        assert_eq!(bearer_token(&head(Some("Basic czNjcmV0"))), None);
        assert_eq!(bearer_token(&head(Some("Bearer "))), None);
        assert_eq!(bearer_token(&head(Some("s3cret"))), None);
        assert_eq!(bearer_token(&head(None)), None);
    }

    #[test]
    fn only_the_exact_token_matches() {
        assert!(token_matches("s3cret", "s3cret"));
        for wrong in ["", "s3cre", "s3cret!", "S3cret", "x3cret", "s3crex"] {
            assert!(!token_matches(wrong, "s3cret"), "{wrong:?}");
        }
    }

    #[test]
    fn an_empty_expected_token_matches_nothing() {
        assert!(!token_matches("", ""));
        assert!(!token_matches("a", ""));
    }
}
