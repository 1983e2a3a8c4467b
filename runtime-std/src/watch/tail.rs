//! `iorelay tail`: the relay's events as they arrive, one line each, across reconnections.

use std::io::Write as _;
use std::time::{Duration, Instant};

use bytes::Bytes;
use iorelay_core::cli::TailArgs;
use iorelay_core::client::{ClientEvent, DisconnectReason};
use iorelay_core::terminal::line::readable;
use iorelay_core::terminal::{Feed, FeedEvent, Filter, HistoryRequest};
use iorelay_core::Emit;
use serde_json::value::RawValue;

use super::driver::{Driver, Step};

/// How long a `history` page may take.
const HISTORY_TIMEOUT: Duration = Duration::from_secs(10);
/// How far ahead [`Driver::next`] is asked to wait (it wakes for every event anyway).
const FOREVER: Duration = Duration::from_secs(3600);

/// Runs `tail`; returns the exit code.
#[must_use]
pub fn main(binary: &str, args: &TailArgs) -> i32 {
    let (settings, address) =
        match super::reach_relay(binary, "tail", args.config.as_deref(), args.flags()) {
            Ok(reached) => reached,
            Err(code) => return code,
        };
    let filter = Filter {
        session: args.session.clone(),
        project: args.project.clone(),
        types: args.types.clone(),
    };
    let backlog = usize::from(args.history);
    let auth = filter.auth(backlog.max(1), settings.token.as_deref());
    let stop = super::interrupt_flag();
    let mut driver = Driver::new(super::client_config(), super::endpoint(&settings), stop);
    if let Err(err) = driver.client().connect(Instant::now(), "/", Some(auth)) {
        eprintln!("{binary} tail: {err}");
        return 1;
    }
    let mut tail = Tail {
        feed: Feed::new(filter, backlog),
        pending: None,
        json: args.json,
    };
    let code = loop {
        match driver.next(Instant::now() + FOREVER) {
            Step::Interrupted => break 0,
            Step::Idle => {}
            Step::Event(event) => match tail.on_event(binary, &address, &mut driver, event) {
                Ok(()) => {}
                Err(code) => break code,
            },
        }
    };
    driver.close();
    code
}

struct Tail {
    feed: Feed,
    pending: Option<u64>,
    json: bool,
}

impl Tail {
    /// Reacts to one client event; `Err(code)` ends the command.
    fn on_event(
        &mut self,
        binary: &str,
        address: &str,
        driver: &mut Driver,
        event: ClientEvent,
    ) -> Result<(), i32> {
        let request = match event {
            ClientEvent::Connected { recovered, .. } => {
                if self.feed.last_offset().is_some() {
                    let how = if recovered { " (state recovered)" } else { "" };
                    eprintln!("{binary} tail: reconnected to {address}{how}");
                }
                self.feed.on_connected(recovered)
            }
            ClientEvent::Disconnected {
                reason: DisconnectReason::Lost(reason),
                ..
            } => {
                eprintln!("{binary} tail: disconnected ({reason}); reconnecting");
                self.pending = None;
                None
            }
            ClientEvent::Disconnected { .. } => {
                eprintln!("{binary} tail: the relay closed the connection");
                return Err(1);
            }
            ClientEvent::ConnectError { data, .. } => {
                eprintln!(
                    "{binary} tail: the relay refused the connection: {}",
                    String::from_utf8_lossy(&data)
                );
                return Err(1);
            }
            ClientEvent::Message { name, args, .. } => {
                let args: Vec<&RawValue> = serde_json::from_slice(&args).unwrap_or_default();
                match (name.as_str(), args.as_slice()) {
                    ("event_history", [page, ..]) => {
                        let (shown, request) = self.feed.on_event_history(page.get().as_bytes());
                        self.print(&shown)?;
                        request
                    }
                    ("claude_event", [event, offset, ..]) => {
                        let offset = serde_json::from_str::<String>(offset.get())
                            .ok()
                            .and_then(|o| o.parse().ok());
                        if let Some(offset) = offset {
                            let json = Bytes::copy_from_slice(event.get().as_bytes());
                            let shown = self.feed.on_live(json, offset);
                            self.print(&shown)?;
                        }
                        None
                    }
                    _ => None,
                }
            }
            ClientEvent::AckReceived { id, args, .. } if Some(id) == self.pending => {
                self.pending = None;
                let args: Vec<&RawValue> = serde_json::from_slice(&args).unwrap_or_default();
                let page = args.first().map_or(&b"{}"[..], |p| p.get().as_bytes());
                let (shown, request) = self.feed.on_history_page(page);
                self.print(&shown)?;
                request
            }
            ClientEvent::AckTimedOut { id, .. } if Some(id) == self.pending => {
                self.pending = None;
                let connected = driver.client().is_connected("/");
                self.feed.on_history_lost(connected)
            }
            _ => None,
        };
        if let Some(HistoryRequest(query)) = request {
            let emit = Emit::new("history", &[&query]);
            self.pending = driver
                .client()
                .emit(Instant::now(), "/", &emit, Some(HISTORY_TIMEOUT))
                .ok()
                .flatten();
        }
        Ok(())
    }

    /// Prints events; a closed stdout (`tail | head`) ends the command with 0.
    fn print(&self, events: &[FeedEvent]) -> Result<(), i32> {
        if events.is_empty() {
            return Ok(());
        }
        let mut out = std::io::stdout().lock();
        for event in events {
            let written = if self.json {
                out.write_all(&event.json)
                    .and_then(|()| out.write_all(b"\n"))
            } else {
                writeln!(out, "{}", readable(&event.json))
            };
            if written.is_err() {
                return Err(0);
            }
        }
        out.flush().map_err(|_| 0)
    }
}
