//! iorelay on blocking std threads (the `iorelay-std` binary), and the helpers both runtimes
//! share (logging, signals, seeds, the websocket handshake reply, websocket data frames, the
//! settings' IO, the commands that talk to a running relay: status, stop, config show, the
//! commands that run one in the background: start, restart, open, logs, service (in
//! [`lifecycle`] and [`daemon`]), and the persistent event history in [`store`]).
//!
//! Why the shared helpers live here: they do IO, so they cannot live in core, and this crate
//! depends on no async crate, so the smol runtime can reuse them (DESIGN §1). The runtime
//! itself lives in the binary (`src/server/`), so the smol binary compiles none of it.
//!
//! # The `iorelay-std` runtime
//!
//! A thin driver around `iorelay_core::Engine`: it owns sockets, threads, timers, the clock
//! and shutdown, and executes whatever the engine outputs. It never looks at Engine.IO or
//! Socket.IO packets.
//!
//! ## Threads
//!
//! | thread | count | does |
//! | --- | --- | --- |
//! | main (the driver) | 1 | owns the `Engine` (no lock); waits with `recv_timeout(deadline - now)`; one `Instant::now()` per input; drains `poll_output` until `Timeout` after every input and command; routes outputs to connection queues |
//! | `acceptor` | 1 | `accept`, `TCP_NODELAY`, registers the connection with the driver, starts its two threads |
//! | `conn-N-r` (reader) | 1 per connection | blocks in `read`; feeds core's `RequestReader` or tungstenite; sends inputs to the driver; reports `ConnClosed` exactly once, when the connection ends |
//! | `conn-N-w` (writer) | 1 per connection | the only thread writing the socket: replies, the 101, websocket frames, control frames, close frames, in queue order, batched into one write; also the connection's timer |
//! | `signals` | 1 | turns SIGINT/SIGTERM into a shutdown message |
//!
//! The reader keeps reading while a request waits for its reply, so a peer abandoning a held
//! long-poll is noticed at once. Every way a connection ends (the peer's close, a deadline,
//! the engine's close, a write error, shutdown) shuts the socket down, which ends the
//! reader's `read`; the reader then sends the one `ConnClosed`.
//!
//! Websocket: a `tungstenite::WebSocket` over an in-memory stream decodes what the reader
//! read (so the writer can also feed it the bytes that came behind the upgrade request);
//! the pongs and close replies tungstenite produces are queued for the writer, and the writer
//! formats close frames itself. Data frames are built by the driver, once per payload buffer
//! ([`wsframe::FrameMemo`]), so every recipient of a broadcast is queued the same framed
//! `Bytes` and the writer copies it out verbatim. The module docs of `server::ws_conn` say why.
//!
//! ## Channels and locks
//!
//! - **Into the driver**: one `std::sync::mpsc::sync_channel` of 256 messages (accepted
//!   connections, requests, websocket messages, too-large messages, drained queues, closes,
//!   shutdown). A full channel makes readers wait, which stops them reading their sockets:
//!   TCP back-pressure instead of unbounded memory.
//! - **Out of the driver**: each connection's outbound queue (`Mutex` + `Condvar`). The driver
//!   only pushes and never waits on a connection thread, so it cannot deadlock with them.
//! - **Per connection**: the inbound state (HTTP reader or websocket decoder) is locked by the
//!   reader and the writer, never by the driver; inputs are sent while it is held, so one
//!   connection's inputs reach the engine in the order they were read.
//!
//! ## Bounds
//!
//! | what | bound |
//! | --- | --- |
//! | request head | core's `HeadLimits` (16 KiB, 64 fields); body: `Engine::body_limit` for the path, beyond it `Body::TooLarge`, the reply, and close |
//! | requests in flight per connection | one: the next is parsed after the reply is written; up to 64 KiB may wait behind it, then the reader pauses |
//! | websocket message and frame | `Config::max_payload` (tungstenite `max_message_size`/`max_frame_size`); beyond it `Input::WsTooLarge` |
//! | outbound queue | `max_client_queue_bytes` (1 MiB): crossing it sends `Input::Congestion { congested: true }`, draining under half of it sends `false`; the engine decides what happens. Past four times the bound the connection is cut off with a reset (`reset`: an orderly close would wait behind the unread bytes) and `Input::QueueOverflow` reported (the engine closes the session as a slow consumer). A close for a congested connection resets it at once |
//! | write batch | 256 KiB per write |
//! | header deadline | 10 s from the first byte of a request to its end (setting `header_timeout_ms`) |
//! | idle deadline | 60 s without a request on a keep-alive connection (setting `idle_timeout_ms`); neither deadline applies while a request is held |
//! | stalled write | 60 s without progress (`SO_SNDTIMEO`): the peer is gone |
//! | linger | 2 s after a closing HTTP reply (half-closed, so the peer reads it rather than a reset) or a websocket close frame (for the peer's answering close) |
//! | shutdown | SIGINT/SIGTERM: `Engine::shutdown`, drain, then every connection flushes what it was sent and closes; at most 2 s, then exit 0 |
//! | thread stacks | 256 KiB per connection thread |

pub mod client;
pub mod cluster;
pub mod commands;
pub mod control;
pub mod daemon;
pub mod emit;
pub mod flush_window;
pub mod hooks;
pub mod lifecycle;
pub mod log;
pub mod measurements;
pub mod mem_stream;
pub mod persist;
pub mod process;
pub mod protect;
pub mod reset;
pub mod send_now;
pub mod settings_io;
pub mod store;
pub mod watch;
pub mod wsframe;
