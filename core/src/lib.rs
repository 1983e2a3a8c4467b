//! # iorelay-core
//!
//! A sans-io Engine.IO v4 / Socket.IO v5 server: a pure state machine with no sockets, threads,
//! async, clock reads or randomness of its own. You own the IO; the [`Engine`] owns every
//! protocol decision.
//!
//! ## The run loop
//!
//! One way in, one way out:
//!
//! 1. Feed what happened with [`Engine::handle_input`] (an HTTP request, a websocket message,
//!    a closed connection, the passing of time), or give a command ([`Engine::emit`],
//!    [`Engine::emit_to`], [`Engine::ack`], …).
//! 2. **Drain rule:** after every input and every command, call [`Engine::poll_output`] until
//!    it returns [`Output::Timeout`]. Each other output is something to do now: write an HTTP
//!    reply, accept a websocket, send on one websocket or on several (a broadcast's
//!    [`Output::WsBroadcast`]), close a websocket, or look at an [`Event`].
//! 3. `Output::Timeout(Some(at))` is the next deadline: when nothing arrives before `at`, feed
//!    `Input::Timeout(at)`. `Timeout(None)`: nothing is due until the next input.
//!
//! ## The relay
//!
//! [`Relay`] is the event relay built on the engine, with the very same contract
//! (`handle_input`, drain `poll_output`). It answers its own routes (`/api/events`,
//! `/api/hooks`, `/api/history`, `/health`, `/metrics`, `/connections`, `/api/shutdown`),
//! hands everything else to the engine, and reacts to the engine's events (history on
//! connect, `subscribe`, `history`, connection state recovery). Two outputs exist for it:
//! [`Output::Persist`] (hand an accepted event to your store; give the store's events back
//! with [`Relay::restore`] at start) and [`Output::StopRequested`] (shut down as on SIGTERM).
//! In conformance mode it stands aside and the engine alone answers.
//!
//! ## The client
//!
//! [`client::Client`] is the engine's mirror: a Socket.IO client with the same contract
//! (`handle_input`, drain `poll_output` until a timeout, commands that take `now`), whose
//! outputs ask the runtime to open connections (`HttpRequest`, `WsOpen`) rather than answer
//! them. It reconnects with a seeded backoff and asks the server to recover each socket.
//! [`terminal`] holds what `iorelay tail` and `iorelay check` build on it.
//!
//! ## Time
//!
//! Every input carries `now: Instant`, read once by the runtime. The engine never reads a
//! clock; it clamps `now` so time never runs backwards and does everything due up to `now`
//! before handling the input. Tests therefore run on virtual time: `t0 + 25s` is a ping.
//!
//! ## Errors
//!
//! Whatever a peer sends, however malformed, becomes output: an HTTP 400 with the Engine.IO
//! error body, a websocket close with a code, a closed session with a [`CloseReason`]. `Err`
//! ([`ApiMisuse`]) only ever means the caller used the API wrongly, and says how to fix it.
//!
//! ## Backpressure
//!
//! The runtime bounds each connection's outbound queue in bytes ([`Config::max_queued_bytes`])
//! and reports crossing the bound with [`Input::Congestion`], and passing the hard cap
//! ([`Config::queue_hard_cap`]) with [`Input::QueueOverflow`]. Polling sessions are bounded by
//! the engine itself, with the same numbers. A congested client loses volatile emits; one that
//! stays congested for [`Config::slow_consumer_timeout`], or overflows, is disconnected as a
//! slow consumer.
//!
//! ## Measurements
//!
//! Core reads no clock, so what only a clock can tell comes back in as
//! [`Input::Measured`]: how long each HTTP request took from its head being read to its reply
//! being written (under the route label [`Config::route_label`] gave for its head), how long
//! each store commit took. The relay keeps them as histograms for `GET /metrics`.
//!
//! ## Protection
//!
//! The relay refuses what its configuration (`RelayConfig::protection`, [`Config::cors`])
//! does not allow, as ordinary outputs: 401 without the bearer token, 403 for a browser
//! `Origin` not on the allow-list, 429 with `Retry-After` over the per-address ingest rate
//! limit, CONNECT_ERROR `unauthorized` for a Socket.IO CONNECT without `auth.token`. Give each
//! request's peer address in [`Input::Http`]'s `peer` (the rate limit is per address). The
//! connection caps are decided by [`relay::admission::Admission`], which the runtime asks when
//! it accepts a connection, before the engine hears of it.
//!
//! ## Example
//!
//! A handshake over long-polling, driven by hand:
//!
//! ```
//! use std::time::Instant;
//! use iorelay_core::{Body, Config, ConnId, Engine, Input, Output};
//! use iorelay_core::http::{parse_request_head, HeadLimits};
//!
//! let now = Instant::now();
//! let mut engine = Engine::new(Config::default(), now, [7; 32]);
//! let raw = b"GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n\r\n";
//! let (head, _) = parse_request_head(raw, &HeadLimits::default()).unwrap().unwrap();
//! engine
//!     .handle_input(Input::Http { now, conn: ConnId(1), peer: None, head, body: Body::Complete(Default::default()) })
//!     .unwrap();
//! loop {
//!     match engine.poll_output() {
//!         Output::HttpReply { conn, response } => {
//!             assert_eq!(conn, ConnId(1));
//!             assert!(response.body.starts_with(b"0{\"sid\":"));
//!         }
//!         Output::Timeout(next) => {
//!             assert_eq!(next, Some(now + Config::default().ping_interval));
//!             break;
//!         }
//!         _ => {}
//!     }
//! }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod cli;
pub mod client;
pub mod cluster;
pub mod config;
pub mod dashboard;
pub mod engine;
pub mod engineio;
pub mod hook_cli;
pub mod hook_settings;
pub mod http;
pub mod io;
pub mod lifecycle;
pub mod relay;
pub mod rng;
pub mod settings;
pub mod socketio;
pub mod terminal;
pub mod time;

pub use config::{Config, EngineIoRoute, Mode, NamespacePolicy, ServerInfo};
pub use engine::{Emit, Engine, Health, Target};
pub use io::{
    ApiMisuse, Body, CloseReason, ConnId, Event, Input, Output, SessionId, SocketId, TransportKind,
};
pub use relay::Relay;
