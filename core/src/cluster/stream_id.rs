//! Stream entry ids (`1700000000000-2`) and how they live inside the relay's numeric offsets.
//!
//! Why pack an id into a `u64`: the history, the duplicate window, recovery and the store all
//! order events by one number. In cluster mode an event's offset *is* its stream entry id, so
//! the id is packed as `ms << 20 | seq`: numeric order is stream order, the store keeps an
//! ordinary integer, and a single-node relay's counters (far below 2⁴⁰) never collide with a
//! packed id (Redis stamps ids with the Unix time in ms, above 2⁴⁰ since 2004). Ids a packed
//! offset cannot hold (hand-made ids like `1-1`, more than 2²⁰ entries in one millisecond,
//! dates past the year 2248) are refused, never wrapped.

use std::fmt;

/// Bits of a packed offset that hold the sequence number.
const SEQ_BITS: u32 = 20;
/// The smallest packed offset: a stream id of millisecond 2²⁰ (1970, 17 minutes in).
const FIRST_PACKED: u64 = 1 << (2 * SEQ_BITS);

/// A Redis stream entry id: milliseconds and a sequence number within that millisecond.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StreamId {
    /// The millisecond part (Unix time when Redis generated the id).
    pub ms: u64,
    /// The sequence number within the millisecond.
    pub seq: u64,
}

impl StreamId {
    /// `0-0`: before every entry (reading after it reads the whole stream).
    pub const ZERO: Self = Self { ms: 0, seq: 0 };

    /// Parses `ms-seq` (both parts decimal); a bare `ms` means `ms-0`, as Redis reads it.
    ///
    /// # Errors
    /// Anything else; the message quotes the text.
    pub fn parse(text: &str) -> Result<Self, String> {
        let bad = || format!("{text:?} is not a stream id (ms-seq)");
        let (ms, seq) = text.split_once('-').unwrap_or((text, "0"));
        let digits =
            |s: &str| !s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(ms) || !digits(seq) {
            return Err(bad());
        }
        Ok(Self {
            ms: ms.parse().map_err(|_| bad())?,
            seq: seq.parse().map_err(|_| bad())?,
        })
    }

    /// The relay offset holding this id, if it fits (see the module docs).
    #[must_use]
    pub fn to_offset(self) -> Option<u64> {
        let packed = self.ms.checked_mul(1 << SEQ_BITS)?;
        let fits = self.seq < (1 << SEQ_BITS) && (FIRST_PACKED..1 << 63).contains(&packed);
        fits.then_some(packed | self.seq)
    }

    /// The id a packed offset holds; `None` for a single-node counter.
    #[must_use]
    pub fn from_offset(offset: u64) -> Option<Self> {
        (offset >= FIRST_PACKED).then_some(Self {
            ms: offset >> SEQ_BITS,
            seq: offset & ((1 << SEQ_BITS) - 1),
        })
    }
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

/// An offset as clients see it: the stream id for a packed offset, else the counter's digits.
#[must_use]
pub fn offset_text(offset: u64) -> String {
    match StreamId::from_offset(offset) {
        Some(id) => id.to_string(),
        None => offset.to_string(),
    }
}

/// An offset a client sent: a counter's digits, or a stream id (packed).
///
/// # Errors
/// Neither, or a stream id no offset can hold.
pub fn parse_offset(text: &str) -> Result<u64, String> {
    if !text.contains('-') {
        if let Ok(counter) = text.parse::<u64>() {
            return Ok(counter);
        }
    }
    let id = StreamId::parse(text).map_err(|_| format!("offset {text:?} is not a number"))?;
    id.to_offset()
        .ok_or_else(|| format!("offset {text:?} is outside what the relay can hold"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_parses_prints_and_packs_back() {
        let id = StreamId::parse("1700000000000-2").unwrap();
        assert_eq!(
            id,
            StreamId {
                ms: 1_700_000_000_000,
                seq: 2
            }
        );
        assert_eq!(id.to_string(), "1700000000000-2");
        let offset = id.to_offset().unwrap();
        assert_eq!(StreamId::from_offset(offset), Some(id));
        assert_eq!(offset_text(offset), "1700000000000-2");
        assert_eq!(parse_offset("1700000000000-2"), Ok(offset));
    }

    #[test]
    fn packed_offsets_sort_in_stream_order_above_every_counter() {
        let a = StreamId::parse("1700000000000-9")
            .unwrap()
            .to_offset()
            .unwrap();
        let b = StreamId::parse("1700000000001-0")
            .unwrap()
            .to_offset()
            .unwrap();
        assert!(a < b);
        assert!(u64::from(u32::MAX) * 100 < a, "counters stay below");
        assert_eq!(offset_text(42), "42");
        assert_eq!(parse_offset("42"), Ok(42));
    }

    #[test]
    fn ids_an_offset_cannot_hold_are_refused() {
        assert_eq!(StreamId::parse("1-1").unwrap().to_offset(), None);
        assert_eq!(
            StreamId {
                ms: 1_700_000_000_000,
                seq: 1 << 20
            }
            .to_offset(),
            None
        );
        assert_eq!(
            StreamId {
                ms: u64::MAX,
                seq: 0
            }
            .to_offset(),
            None
        );
        assert!(parse_offset("1-1").is_err());
    }

    #[test]
    fn malformed_ids_are_errors() {
        for text in [
            "",
            "-",
            "1-",
            "-1",
            "a-1",
            "1-2-3",
            "1 -2",
            "+1-2",
            "99999999999999999999999-1",
        ] {
            assert!(StreamId::parse(text).is_err(), "{text:?}");
        }
        assert_eq!(StreamId::parse("5"), Ok(StreamId { ms: 5, seq: 0 }));
    }
}
