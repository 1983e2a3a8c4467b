//! A pure HTTP/1.1 codec shared by both runtimes.
//!
//! The runtimes own sockets; this module turns the bytes they read into a [`RequestHead`]
//! (and a chunked body into plain bytes with [`ChunkedDecoder`]) and turns the engine's
//! [`Response`] into the bytes they write. Nothing here does IO, so both runtimes parse,
//! bound and answer requests identically, and every decoder is total: arbitrary bytes give an
//! [`HttpError`] with the status to answer, never a panic.

pub mod bearer;
pub mod chunked;
pub mod cors;
pub mod error;
mod fields;
pub mod query;
pub mod reader;
pub mod request;
pub mod response;

pub use bearer::{bearer_token, token_matches};
pub use chunked::ChunkedDecoder;
pub use cors::{cors_headers, preflight_response, CorsPolicy};
pub use error::HttpError;
pub use query::{percent_decode, Query};
pub use reader::{ReadProgress, RequestReader, CONTINUE};
pub use request::{parse_request_head, BodyKind, HeadLimits, Method, RequestHead};
pub use response::{error_response, reason_phrase, Response};
