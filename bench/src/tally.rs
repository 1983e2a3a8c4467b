//! The benchmark's events and the count of what the clients received.
//!
//! An event carries its sequence number and its send time (nanoseconds since the benchmark's
//! epoch, one `Instant` shared by the sender thread and the clients), first in a fixed layout
//! so a client finds them without parsing JSON:
//! `42["claude_event",{"s":17,"t":123456789,"p":"xxxx…"}]`.

use std::time::Instant;

/// The room every client joins.
pub const ROOM: &str = "r";

/// What a receiving client's message prefix must be for a measured event.
const EVENT_PREFIX: &[u8] = br#"42["claude_event",{"s":"#;

/// The prefix of the warm-up broadcasts that check every client is in the room.
const WARMUP_PREFIX: &[u8] = br#"42["warmup""#;

/// The sender's Socket.IO packet asking the conformance app to broadcast event `seq` to the
/// room; the event's JSON object is `object_len` bytes long (or as short as it can be).
pub fn to_room_event(seq: usize, sent_ns: u64, object_len: usize) -> Vec<u8> {
    let head = format!(r#"{{"s":{seq},"t":{sent_ns},"p":""#);
    let pad = object_len.saturating_sub(head.len() + 2);
    let mut packet = Vec::with_capacity(object_len + 40);
    packet.extend_from_slice(format!(r#"42["to-room","{ROOM}","claude_event","#).as_bytes());
    packet.extend_from_slice(head.as_bytes());
    packet.resize(packet.len() + pad, b'x');
    packet.extend_from_slice(br#""}]"#);
    packet
}

/// The sender's packet for one warm-up broadcast.
pub fn to_room_warmup() -> Vec<u8> {
    format!(r#"42["to-room","{ROOM}","warmup",{{}}]"#).into_bytes()
}

/// The receiving side's packet joining the room.
pub fn join() -> Vec<u8> {
    format!(r#"42["join","{ROOM}"]"#).into_bytes()
}

/// What one text message was.
#[derive(Debug, PartialEq, Eq)]
pub enum Received {
    /// Measured event `seq`, sent at `sent_ns`.
    Event {
        /// Sequence number.
        seq: usize,
        /// Send time, nanoseconds since the epoch.
        sent_ns: u64,
    },
    /// A warm-up broadcast.
    Warmup,
    /// An Engine.IO ping: answer `3`.
    Ping,
    /// Anything else.
    Other,
}

/// Classifies a text message a receiving client got.
pub fn classify(text: &[u8]) -> Received {
    if let Some(rest) = text.strip_prefix(EVENT_PREFIX) {
        let (seq, rest) = leading_number(rest);
        let (sent_ns, _) = match rest.strip_prefix(br#","t":"#) {
            Some(rest) => leading_number(rest),
            None => (None, rest),
        };
        return match (seq, sent_ns) {
            (Some(seq), Some(sent_ns)) => Received::Event {
                seq: usize::try_from(seq).unwrap_or(usize::MAX),
                sent_ns,
            },
            _ => Received::Other,
        };
    }
    if text.starts_with(WARMUP_PREFIX) {
        Received::Warmup
    } else if text == b"2" {
        Received::Ping
    } else {
        Received::Other
    }
}

fn leading_number(text: &[u8]) -> (Option<u64>, &[u8]) {
    let digits = text.iter().take_while(|b| b.is_ascii_digit()).count();
    let value = std::str::from_utf8(&text[..digits])
        .ok()
        .and_then(|d| d.parse().ok());
    (value, &text[digits..])
}

/// Everything the receiving clients counted, shared by their tasks on one thread.
#[derive(Debug)]
pub struct Tally {
    events: usize,
    /// One bit per (client, event): whether it arrived.
    seen: Vec<u64>,
    /// Distinct (client, event) deliveries.
    pub unique: u64,
    /// Deliveries of a (client, event) already seen.
    pub duplicates: u64,
    /// Messages that were neither a measured event, a warm-up, nor a ping.
    pub unexpected: u64,
    /// Send-to-receive latency of every unique delivery, in microseconds.
    pub latencies_us: Vec<u32>,
    warmed: Vec<bool>,
    /// Clients that have received at least one warm-up broadcast.
    pub warmed_count: usize,
    /// Clients whose connection ended (the server closed it, or an error).
    pub closed: usize,
    /// When the last unique delivery was read.
    pub last_delivery: Option<Instant>,
}

impl Tally {
    /// A tally for `clients` clients each expecting `events` events.
    pub fn new(clients: usize, events: usize) -> Self {
        let bits = clients * events;
        Self {
            events,
            seen: vec![0; bits.div_ceil(64)],
            unique: 0,
            duplicates: 0,
            unexpected: 0,
            latencies_us: Vec::with_capacity(bits),
            warmed: vec![false; clients],
            warmed_count: 0,
            closed: 0,
            last_delivery: None,
        }
    }

    /// Records a text message client `client` read at `now_ns` (since the epoch), `now`.
    /// Returns whether it was an Engine.IO ping to answer.
    pub fn on_text(&mut self, client: usize, text: &[u8], now_ns: u64, now: Instant) -> bool {
        match classify(text) {
            Received::Event { seq, sent_ns } if seq < self.events => {
                let bit = client * self.events + seq;
                let (word, mask) = (bit / 64, 1u64 << (bit % 64));
                if self.seen[word] & mask != 0 {
                    self.duplicates += 1;
                } else {
                    self.seen[word] |= mask;
                    self.unique += 1;
                    let us = now_ns.saturating_sub(sent_ns) / 1000;
                    self.latencies_us
                        .push(u32::try_from(us).unwrap_or(u32::MAX));
                    self.last_delivery = Some(now);
                }
            }
            Received::Warmup => {
                if !self.warmed[client] {
                    self.warmed[client] = true;
                    self.warmed_count += 1;
                }
            }
            Received::Ping => return true,
            Received::Event { .. } | Received::Other => self.unexpected += 1,
        }
        false
    }
}

/// The `q` quantile (0..=1) of sorted values, by nearest rank; 0 when empty.
pub fn quantile(sorted: &[u32], q: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_object_has_the_requested_length_and_round_trips_as_broadcast() {
        let packet = to_room_event(42, 123_456, 512);
        let text = std::str::from_utf8(&packet).unwrap();
        let args: Vec<&serde_json::value::RawValue> = serde_json::from_str(&text[2..]).unwrap();
        assert_eq!(args[0].get(), r#""to-room""#);
        assert_eq!(args[3].get().len(), 512);
        // What the conformance app broadcasts: the arguments after the room, verbatim.
        let broadcast = format!(r#"42["claude_event",{}]"#, args[3].get());
        assert_eq!(
            classify(broadcast.as_bytes()),
            Received::Event {
                seq: 42,
                sent_ns: 123_456
            }
        );
    }

    #[test]
    fn warmups_pings_and_others_are_told_apart() {
        assert_eq!(classify(br#"42["warmup",{}]"#), Received::Warmup);
        assert_eq!(classify(b"2"), Received::Ping);
        assert_eq!(classify(br#"42["auth",{}]"#), Received::Other);
        assert_eq!(classify(br#"42["claude_event",{"s":x}]"#), Received::Other);
    }

    #[test]
    fn a_second_delivery_of_an_event_to_a_client_is_a_duplicate() {
        let mut tally = Tally::new(2, 3);
        let now = Instant::now();
        let event = br#"42["claude_event",{"s":2,"t":1000,"p":""}]"#;
        assert!(!tally.on_text(1, event, 6000, now));
        tally.on_text(1, event, 7000, now);
        tally.on_text(0, event, 9000, now);
        assert_eq!((tally.unique, tally.duplicates), (2, 1));
        assert_eq!(tally.latencies_us, vec![5, 8]);
    }

    #[test]
    fn quantiles_use_the_nearest_rank() {
        let sorted: Vec<u32> = (1..=100).collect();
        assert_eq!(quantile(&sorted, 0.5), 50);
        assert_eq!(quantile(&sorted, 0.99), 99);
        assert_eq!(quantile(&sorted, 1.0), 100);
        assert_eq!(quantile(&[], 0.5), 0);
    }
}
