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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Feeds `pieces` in order as a runtime would, keeping unconsumed bytes for the next feed.
    fn decode_pieces(
        decoder: &mut ChunkedDecoder,
        pieces: &[&[u8]],
    ) -> Result<(Vec<u8>, usize, bool), HttpError> {
        let mut out = Vec::new();
        let mut consumed_total = 0;
        let mut done = false;
        let mut pending = Vec::new();
        for piece in pieces {
            pending.extend_from_slice(piece);
            let (consumed, finished) = decoder.feed(&pending, &mut out)?;
            consumed_total += consumed;
            pending.drain(..consumed);
            done = finished;
        }
        Ok((out, consumed_total, done))
    }

    fn decode_all(max_body: usize, input: &[u8]) -> Result<(Vec<u8>, usize, bool), HttpError> {
        decode_pieces(&mut ChunkedDecoder::new(max_body), &[input])
    }

    const WIKI: &[u8] = b"4\r\nWiki\r\n5;name=\"val\"\r\npedia\r\nE \r\n in\r\n\r\nchunks.\r\n0\r\nX-Checksum: 42\r\nX-More: yes\r\n\r\n";

    #[test]
    fn decodes_chunks_skipping_extensions_and_trailers() {
        let mut input = WIKI.to_vec();
        input.extend_from_slice(b"GET / HTTP/1.1\r\n");
        let (out, consumed, done) = decode_all(1024, &input).unwrap();
        assert_eq!(out, b"Wikipedia in\r\n\r\nchunks.");
        assert_eq!((consumed, done), (WIKI.len(), true));
    }

    #[test]
    fn byte_by_byte_feeding_finishes_exactly_on_the_last_byte() {
        let mut decoder = ChunkedDecoder::new(1024);
        let mut out = Vec::new();
        for (i, byte) in WIKI.iter().enumerate() {
            let (consumed, done) = decoder.feed(std::slice::from_ref(byte), &mut out).unwrap();
            assert_eq!(consumed, 1);
            assert_eq!(done, i == WIKI.len() - 1, "byte {i}");
        }
        assert_eq!(out, b"Wikipedia in\r\n\r\nchunks.");
        assert!(decoder.is_done());
    }

    #[test]
    fn empty_body_is_just_the_last_chunk() {
        assert_eq!(decode_all(0, b"0\r\n\r\n"), Ok((Vec::new(), 5, true)));
        assert_eq!(decode_all(0, b"000\r\n\r\n"), Ok((Vec::new(), 7, true)));
    }

    #[test]
    fn finished_decoder_consumes_nothing_more() {
        let mut decoder = ChunkedDecoder::new(16);
        let mut out = Vec::new();
        assert_eq!(
            decoder.feed(b"1\r\na\r\n0\r\n\r\n", &mut out),
            Ok((11, true))
        );
        assert_eq!(decoder.feed(b"1\r\nb\r\n", &mut out), Ok((0, true)));
        assert_eq!(out, b"a");
    }

    #[test]
    fn hex_sizes_accept_both_cases() {
        let body = vec![b'x'; 0xAB];
        let mut input = b"aB\r\n".to_vec();
        input.extend_from_slice(&body);
        input.extend_from_slice(b"\r\n0\r\n\r\n");
        assert_eq!(decode_all(1024, &input).unwrap().0, body);
    }

    #[test]
    fn chunk_size_beyond_64_bits_is_an_encoding_error() {
        let err = decode_all(usize::MAX, b"10000000000000000\r\n").unwrap_err();
        assert_eq!(
            err,
            HttpError::ChunkedEncoding("chunk size overflows 64 bits".into())
        );
        assert_eq!(err.status(), 400);
    }

    #[test]
    fn body_larger_than_the_limit_is_refused_before_reading_it() {
        assert_eq!(
            decode_all(8, b"5\r\nhello\r\n3\r\nabc\r\n0\r\n\r\n")
                .unwrap()
                .0,
            b"helloabc"
        );
        let err = decode_all(8, b"5\r\nhello\r\n4\r\n").unwrap_err();
        assert_eq!(err, HttpError::BodyTooLarge);
        assert_eq!(err.status(), 413);
        assert_eq!(
            decode_all(1 << 20, b"fffffffffffff\r\n"),
            Err(HttpError::BodyTooLarge)
        );
    }

    #[test]
    fn framing_violations_are_encoding_errors() {
        let cases: [&[u8]; 8] = [
            b"\r\n",
            b"x\r\n",
            b"5x\r\n",
            b"5\nhello",
            b"5\r\nhelloXY",
            b"5\r\nhello\r\n0\r\n\n",
            b"0\r\nX-T: 1\n",
            b"3;ext\n",
        ];
        for input in cases {
            let err = decode_all(1024, input).unwrap_err();
            assert!(
                matches!(err, HttpError::ChunkedEncoding(_)),
                "{input:?}: {err:?}"
            );
        }
    }

    #[test]
    fn endless_chunk_extension_is_cut_off() {
        let mut input = b"1;".to_vec();
        input.resize(MAX_METADATA_BYTES + 1, b'a');
        let err = decode_all(1024, &input).unwrap_err();
        assert!(matches!(err, HttpError::ChunkedEncoding(_)), "{err:?}");
    }

    #[test]
    fn errors_are_sticky() {
        let mut decoder = ChunkedDecoder::new(1024);
        let mut out = Vec::new();
        let first = decoder.feed(b"z", &mut out).unwrap_err();
        assert_eq!(decoder.feed(b"0\r\n\r\n", &mut out), Err(first));
    }

    #[test]
    fn one_mebibyte_of_garbage_never_panics() {
        let mut state = 0x9E37_79B9_7F4A_7C15_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let garbage: Vec<u8> = (0..1 << 20).map(|_| next() as u8).collect();
        let alphabet = b"0123456789abcdefABCDEF;\r\n \t=xyz";
        let chunky: Vec<u8> = (0..1 << 20)
            .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
            .collect();
        for input in [&garbage, &chunky] {
            let mut decoder = ChunkedDecoder::new(1 << 16);
            let mut out = Vec::new();
            let mut rest = &input[..];
            while !rest.is_empty() {
                let take = (next() % 4096) as usize + 1;
                let piece = &rest[..take.min(rest.len())];
                match decoder.feed(piece, &mut out) {
                    Ok((consumed, false)) => rest = &rest[consumed..],
                    Ok((_, true)) | Err(_) => break,
                }
            }
            assert!(out.len() <= 1 << 16);
        }
    }

    fn encoded_body() -> impl Strategy<Value = (Vec<u8>, Vec<u8>)> {
        let chunk = (prop::collection::vec(any::<u8>(), 1..48), any::<bool>());
        let trailers = prop::collection::vec("[A-Za-z-]{1,8}: [ -~]{0,8}", 0..3);
        (prop::collection::vec(chunk, 0..6), trailers).prop_map(|(chunks, trailers)| {
            let mut encoded = Vec::new();
            for (data, extension) in &chunks {
                encoded.extend_from_slice(format!("{:x}", data.len()).as_bytes());
                if *extension {
                    encoded.extend_from_slice(b";ext=1");
                }
                encoded.extend_from_slice(b"\r\n");
                encoded.extend_from_slice(data);
                encoded.extend_from_slice(b"\r\n");
            }
            encoded.extend_from_slice(b"0\r\n");
            for trailer in &trailers {
                encoded.extend_from_slice(trailer.as_bytes());
                encoded.extend_from_slice(b"\r\n");
            }
            encoded.extend_from_slice(b"\r\n");
            let body = chunks.into_iter().flat_map(|(data, _)| data).collect();
            (body, encoded)
        })
    }

    proptest! {
        #[test]
        fn any_split_point_decodes_to_the_same_body((body, encoded) in encoded_body()) {
            let mut framed = encoded.clone();
            framed.extend_from_slice(b"NEXT");
            for split in 0..=framed.len() {
                let (head, tail) = framed.split_at(split);
                let result = decode_pieces(&mut ChunkedDecoder::new(4096), &[head, tail]);
                prop_assert_eq!(result, Ok((body.clone(), encoded.len(), true)));
            }
        }

        #[test]
        fn arbitrary_bytes_never_panic(
            input in prop::collection::vec(any::<u8>(), 0..65536),
            max_body in 0usize..100_000,
            split in any::<prop::sample::Index>(),
        ) {
            let (head, tail) = input.split_at(split.index(input.len() + 1));
            let mut decoder = ChunkedDecoder::new(max_body);
            if let Ok((out, consumed, _)) = decode_pieces(&mut decoder, &[head, tail]) {
                prop_assert!(out.len() <= max_body);
                prop_assert!(consumed <= input.len());
            }
        }
    }
}
