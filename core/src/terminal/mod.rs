//! The pure parts of the terminal clients of a relay, `iorelay tail` and `iorelay check`:
//! what they ask for ([`filter`]), the exactly-once event feed across reconnections
//! ([`feed`]), the one-line summary the dashboard also shows ([`summary`], [`line`](mod@line)), and
//! the stability report and score ([`score`]). The runtimes drive them over the
//! [`client`](crate::client) state machine.

pub mod feed;
pub mod filter;
pub mod line;
pub mod score;
pub mod summary;

pub use feed::{Feed, FeedEvent, HistoryRequest};
pub use filter::Filter;
