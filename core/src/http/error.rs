//! Why a request head or body could not be accepted, and the status that answers it.

use std::fmt;

use super::response::{error_response, Response};

/// A framing or syntax fault in a request the peer sent.
///
/// Every variant is the peer's fault, never the caller's: the runtime answers it with
/// [`HttpError::to_response`] and closes the connection, because after a framing error the
/// position of the next request in the byte stream is unknown.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HttpError {
    /// The head is not valid HTTP/1.x syntax; the text says what was wrong.
    Malformed(String),
    /// The head did not end within `HeadLimits::max_head_bytes`.
    HeadTooLarge,
    /// The head has more header fields than `HeadLimits::max_headers`.
    TooManyHeaders,
    /// A Content-Length value is not a decimal number, or several values disagree.
    BadContentLength,
    /// Both Content-Length and Transfer-Encoding are present, which is a smuggling vector.
    ContentLengthWithTransferEncoding,
    /// Transfer-Encoding names a coding other than a single `chunked`.
    UnsupportedTransferEncoding,
    /// The request line names an HTTP version other than 1.0 or 1.1.
    UnsupportedVersion,
    /// A chunked body breaks the chunked coding; the text says where.
    ChunkedEncoding(String),
    /// The body is longer than the limit the runtime reads.
    BodyTooLarge,
}

impl HttpError {
    /// The HTTP status code that answers this error.
    ///
    /// 431 for oversized heads, 413 for oversized bodies, 501 for codings we do not implement,
    /// 505 for other HTTP versions and 400 for everything else.
    #[must_use]
    pub fn status(&self) -> u16 {
        match self {
            HttpError::HeadTooLarge | HttpError::TooManyHeaders => 431,
            HttpError::BodyTooLarge => 413,
            HttpError::UnsupportedTransferEncoding => 501,
            HttpError::UnsupportedVersion => 505,
            HttpError::Malformed(_)
            | HttpError::BadContentLength
            | HttpError::ContentLengthWithTransferEncoding
            | HttpError::ChunkedEncoding(_) => 400,
        }
    }

    /// A short, stable, machine-readable name of the error, used as the `error` field of replies.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            HttpError::Malformed(_) => "malformed_request",
            HttpError::HeadTooLarge => "head_too_large",
            HttpError::TooManyHeaders => "too_many_headers",
            HttpError::BadContentLength => "bad_content_length",
            HttpError::ContentLengthWithTransferEncoding => "conflicting_framing",
            HttpError::UnsupportedTransferEncoding => "unsupported_transfer_encoding",
            HttpError::UnsupportedVersion => "unsupported_http_version",
            HttpError::ChunkedEncoding(_) => "bad_chunked_encoding",
            HttpError::BodyTooLarge => "body_too_large",
        }
    }

    /// The reply a runtime writes before closing the connection, so both runtimes answer
    /// framing errors identically.
    #[must_use]
    pub fn to_response(&self) -> Response {
        error_response(self.status(), self.code(), &self.to_string())
    }
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HttpError::Malformed(why) => write!(f, "malformed request: {why}"),
            HttpError::HeadTooLarge => f.write_str("request head is larger than the limit"),
            HttpError::TooManyHeaders => {
                f.write_str("request has more header fields than the limit")
            }
            HttpError::BadContentLength => {
                f.write_str("Content-Length is not a single non-negative decimal number")
            }
            HttpError::ContentLengthWithTransferEncoding => {
                f.write_str("request has both Content-Length and Transfer-Encoding")
            }
            HttpError::UnsupportedTransferEncoding => {
                f.write_str("only Transfer-Encoding: chunked is supported")
            }
            HttpError::UnsupportedVersion => {
                f.write_str("only HTTP/1.0 and HTTP/1.1 are supported")
            }
            HttpError::ChunkedEncoding(why) => write!(f, "bad chunked body: {why}"),
            HttpError::BodyTooLarge => f.write_str("request body is larger than the limit"),
        }
    }
}

impl std::error::Error for HttpError {}
