//! The chunked transfer coding (RFC 9112 §7.1), decoded incrementally.

use super::error::HttpError;

/// The longest chunk-size line (size, extensions and CRLF) or trailer section accepted, so a
/// peer cannot keep the decoder busy on metadata that is skipped, never stored.
const MAX_METADATA_BYTES: usize = 8 * 1024;

/// Incremental decoder for a chunked request body, bounded by a byte limit, so both runtimes
/// read chunked bodies the same way without trusting the peer.
///
/// Feed it bytes as they arrive; it never looks past the end of the body, so bytes of a
/// pipelined next request stay with the caller. Line ends must be CRLF: a bare LF is an error,
/// because a lenient decoder is how request smuggling starts. Chunk extensions and trailer
/// fields are skipped.
#[derive(Clone, Debug)]
pub struct ChunkedDecoder {
    state: State,
    max_body: u64,
    decoded: u64,
    metadata: usize,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum State {
    /// Reading the hex digits of a chunk size; `digits` counts them.
    Size { size: u64, digits: usize },
    /// After the size: skipping whitespace and chunk extensions up to CR.
    Extension { size: u64 },
    /// CR seen at the end of the size line; LF must follow.
    SizeLf { size: u64 },
    /// Copying chunk data.
    Data { remaining: u64 },
    /// Chunk data done; CR must follow.
    DataCr,
    /// Chunk data and CR done; LF must follow.
    DataLf,
    /// At the start of a trailer line, or the final empty line.
    TrailerStart,
    /// Inside a trailer field line, up to CR.
    TrailerLine,
    /// CR seen at the end of a trailer field line; LF must follow.
    TrailerLf,
    /// CR of the final empty line seen; LF must follow.
    FinalLf,
    /// The body ended.
    Done,
    /// An error was reported; every later call reports it again.
    Failed(HttpError),
}

impl ChunkedDecoder {
    /// A decoder that fails with [`HttpError::BodyTooLarge`] once the decoded body would exceed
    /// `max_body` bytes.
    #[must_use]
    pub fn new(max_body: usize) -> Self {
        ChunkedDecoder {
            state: State::Size { size: 0, digits: 0 },
            max_body: u64::try_from(max_body).unwrap_or(u64::MAX),
            decoded: 0,
            metadata: 0,
        }
    }

    /// Whether the terminating chunk and trailers have been consumed.
    #[must_use]
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Feeds bytes; returns how many bytes of input were consumed and appends decoded data to
    /// `out`; `Ok(true)` once the terminating chunk and trailers are consumed.
    ///
    /// All of `input` is consumed unless the body ends inside it; the unconsumed rest belongs
    /// to the next request. After the end, calls consume nothing and return `(0, true)`.
    ///
    /// # Errors
    ///
    /// [`HttpError::ChunkedEncoding`] when the input breaks the coding (a bad size, a missing
    /// CRLF, a size that overflows 64 bits, oversized metadata) and
    /// [`HttpError::BodyTooLarge`] when a chunk would take the body past the limit. After an
    /// error the decoder is spent and returns the same error again.
    pub fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<(usize, bool), HttpError> {
        if let State::Failed(err) = &self.state {
            return Err(err.clone());
        }
        match self.run(input, out) {
            Ok(consumed) => Ok((consumed, self.state == State::Done)),
            Err(err) => {
                self.state = State::Failed(err.clone());
                Err(err)
            }
        }
    }

    fn run(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<usize, HttpError> {
        let mut pos = 0;
        while pos < input.len() {
            if let State::Data { remaining } = self.state {
                let available = input.len() - pos;
                let take = usize::try_from(remaining).map_or(available, |r| r.min(available));
                out.extend_from_slice(input.get(pos..pos + take).unwrap_or_default());
                pos += take;
                let remaining = remaining - take as u64;
                self.state = if remaining == 0 {
                    State::DataCr
                } else {
                    State::Data { remaining }
                };
                continue;
            }
            if self.state == State::Done {
                break;
            }
            let byte = input.get(pos).copied().unwrap_or_default();
            self.step(byte)?;
            pos += 1;
        }
        Ok(pos)
    }

    /// Advances the state machine by one metadata byte (anything but chunk data).
    fn step(&mut self, byte: u8) -> Result<(), HttpError> {
        self.metadata += 1;
        if self.metadata > MAX_METADATA_BYTES {
            return Err(bad("chunk size line or trailer section too long"));
        }
        self.state = match (&self.state, byte) {
            (State::Size { size, digits }, _) if byte.is_ascii_hexdigit() => {
                let digit = u64::from(hex_digit(byte));
                let size = size
                    .checked_mul(16)
                    .and_then(|s| s.checked_add(digit))
                    .ok_or_else(|| bad("chunk size overflows 64 bits"))?;
                if size > self.max_body.saturating_sub(self.decoded) {
                    return Err(HttpError::BodyTooLarge);
                }
                State::Size {
                    size,
                    digits: digits + 1,
                }
            }
            (State::Size { digits: 0, .. }, _) => return Err(bad("expected a hex chunk size")),
            (State::Size { size, .. }, b';' | b' ' | b'\t') => State::Extension { size: *size },
            (State::Size { size, .. } | State::Extension { size }, b'\r') => {
                State::SizeLf { size: *size }
            }
            (State::Size { .. }, _) => return Err(bad("invalid character after chunk size")),
            (State::Extension { .. }, b'\n') => return Err(bad("bare LF in chunk size line")),
            (State::Extension { size }, _) => State::Extension { size: *size },
            (State::SizeLf { size: 0 }, b'\n') => State::TrailerStart,
            (State::SizeLf { size }, b'\n') => {
                self.decoded += size;
                self.metadata = 0;
                State::Data { remaining: *size }
            }
            (State::DataCr, b'\r') => State::DataLf,
            (State::DataLf, b'\n') => State::Size { size: 0, digits: 0 },
            (State::DataCr | State::DataLf, _) => {
                return Err(bad("expected CRLF after chunk data"))
            }
            (State::TrailerStart, b'\r') => State::FinalLf,
            (State::TrailerStart | State::TrailerLine, b'\n') => {
                return Err(bad("bare LF in trailer section"))
            }
            (State::TrailerLine, b'\r') => State::TrailerLf,
            (State::TrailerStart | State::TrailerLine, _) => State::TrailerLine,
            (State::TrailerLf, b'\n') => State::TrailerStart,
            (State::FinalLf, b'\n') => State::Done,
            (State::SizeLf { .. } | State::TrailerLf | State::FinalLf, _) => {
                return Err(bad("expected LF after CR"))
            }
            (State::Data { .. } | State::Done | State::Failed(_), _) => {
                return Err(bad("decoder stepped in a data or final state"))
            }
        };
        Ok(())
    }
}

fn bad(why: &str) -> HttpError {
    HttpError::ChunkedEncoding(why.to_owned())
}

fn hex_digit(byte: u8) -> u8 {
    match byte {
        b'0'..=b'9' => byte - b'0',
        b'a'..=b'f' => byte - b'a' + 10,
        b'A'..=b'F' => byte - b'A' + 10,
        _ => 0,
    }
}
