//! A connection's writer thread: the only thread that writes to the socket. It writes
//! replies, the 101, websocket messages (framed by the driver, copied out verbatim), control
//! frames and close frames in queue order, batching whatever is queued into one write, and it
//! is the connection's timer (the header and idle deadlines, and the linger after a closing
//! reply or a close frame). Once a reply or 101 is written it reports the request's latency
//! (head read → reply written) to the driver.
//!
//! A writer with nothing to write and no deadline to keep for [`IDLE`] ends, leaving the
//! connection to its reader; the next item queued starts a new one (see `outbound`).

use std::io::Write;
use std::net::Shutdown;
use std::sync::Arc;
use std::time::{Duration, Instant};

use iorelay_core::relay::measure::Measurement;
use iorelay_std::process::websocket_accept;
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::protocol::frame::{CloseFrame, Frame as WsFrame, Utf8Bytes};

use super::conn::Conn;
use super::driver::Msg;
use super::http_conn::Pending;
use super::outbound::{Item, Wait};

/// Up to this many queued bytes go out in one write.
const MAX_BATCH: usize = 256 * 1024;

/// How long the connection stays open after a closing HTTP reply (to read what the peer
/// still sends, so it is not reset before it reads the reply) or after a websocket close
/// frame (for the peer's answering close).
const LINGER: Duration = Duration::from_secs(2);

/// A writer with nothing to do for this long ends (the connection stays). Why a second: a
/// dashboard between bursts of events or pings (every 25 s) gives its thread back soon, and a
/// busy one (more than an event a second) keeps it, paying no thread start per message.
const IDLE: Duration = Duration::from_secs(1);

/// What a write completed that the connection's state must learn about.
enum Written {
    Reply,
    Accept,
}

/// Runs the writer until the connection ends, then makes sure it has; or until it idles.
pub fn run(conn: &Arc<Conn>) {
    let mut out = Vec::new();
    let mut linger: Option<Instant> = None;
    // After a close frame or a closing reply nothing more is sent.
    let mut sending = true;
    loop {
        let (items, weight) = match conn.outbound.wait(linger, MAX_BATCH, IDLE) {
            Wait::Items(items, weight) => (items, weight),
            Wait::Deadline | Wait::Stop => break,
            Wait::Idle => return,
        };
        out.clear();
        let mut written = None;
        let mut measured = None;
        let mut finish = false;
        for item in items {
            match item {
                Item::Finish => finish = true,
                _ if !sending || finish => {}
                Item::Reply(response) => match conn.pending() {
                    Some(pending) => {
                        out.extend_from_slice(&if pending.head_only {
                            response.encode_head(pending.keep_alive)
                        } else {
                            response.encode(pending.keep_alive)
                        });
                        written = Some(Written::Reply);
                        measured = Some((pending.route, response.status, pending.read_at));
                    }
                    None => iorelay_std::log!(Warn, "conn {}: reply without request", conn.id.0),
                },
                Item::Accept => match conn.pending() {
                    Some(Pending {
                        websocket_key: Some(key),
                        route,
                        read_at,
                        ..
                    }) => {
                        out.extend_from_slice(&websocket_accept(&key).encode(true));
                        written = Some(Written::Accept);
                        measured = Some((route, 101, read_at));
                    }
                    _ => {
                        iorelay_std::log!(Warn, "conn {}: accept without upgrade", conn.id.0);
                        finish = true;
                    }
                },
                Item::Message(bytes) | Item::Control(bytes) => out.extend_from_slice(&bytes),
                Item::Close { code, reason } => {
                    format_close(code, reason, &mut out);
                    sending = false;
                    linger = Some(Instant::now() + LINGER);
                }
            }
        }
        if !out.is_empty() && conn.stream().write_all(&out).is_err() {
            break;
        }
        if conn.outbound.written(weight) {
            conn.send(Msg::Drained { conn: conn.id });
        }
        if let Some((route, status, read_at)) = measured {
            let latency = read_at.elapsed();
            conn.measured(Measurement::Request {
                route,
                status,
                latency,
            });
        }
        if out.capacity() > 4 * MAX_BATCH {
            out = Vec::new();
        }
        match written {
            Some(Written::Reply) if !conn.reply_written() => {
                // Half-close: the peer reads the reply, then sees the end.
                let _ = conn.stream().shutdown(Shutdown::Write);
                sending = false;
                linger = Some(Instant::now() + LINGER);
            }
            Some(Written::Accept) => conn.accept_written(),
            _ => {}
        }
        if finish {
            break;
        }
    }
    conn.abort();
}

fn format_close(code: u16, reason: &'static str, out: &mut Vec<u8>) {
    let close = CloseFrame {
        code: CloseCode::from(code),
        reason: Utf8Bytes::from_static(reason),
    };
    // Formatting into a Vec cannot fail.
    let _ = WsFrame::close(Some(close)).format(out);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_close_frame_carries_code_and_reason() {
        let mut out = Vec::new();
        format_close(1009, "big", &mut out);
        assert_eq!(out, b"\x88\x05\x03\xf1big");
    }
}
