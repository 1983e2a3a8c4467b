//! Writing JSON strings and tiny objects by hand, byte-exact with the reference encoder, so
//! packets are built with one allocation and no serialiser.

use bytes::{BufMut, Bytes, BytesMut};

/// `[a,b,…]` from already-valid JSON texts, in one buffer (event arguments kept as the raw
/// JSON they arrived as).
pub(crate) fn join_json_array<'a>(items: impl Iterator<Item = &'a [u8]>) -> Bytes {
    let mut buf = BytesMut::new();
    buf.put_u8(b'[');
    for (i, item) in items.enumerate() {
        if i > 0 {
            buf.put_u8(b',');
        }
        buf.put_slice(item);
    }
    buf.put_u8(b']');
    buf.freeze()
}

/// `{"<key>":"<value>"}` with `value` escaped; `key` must need no escaping.
pub(crate) fn json_object(key: &[u8], value: &str) -> Bytes {
    let mut out = Vec::with_capacity(key.len() + json_string_len(value) + 5);
    out.extend_from_slice(b"{\"");
    out.extend_from_slice(key);
    out.extend_from_slice(b"\":");
    push_json_string(&mut out, value);
    out.push(b'}');
    Bytes::from(out)
}

/// How a byte is written inside a JSON string.
enum Escape {
    /// As itself.
    Verbatim,
    /// As this two-byte escape sequence.
    Short(&'static [u8; 2]),
    /// As `\u00XX`.
    Unicode,
}

fn json_escape(b: u8) -> Escape {
    match b {
        b'"' => Escape::Short(b"\\\""),
        b'\\' => Escape::Short(b"\\\\"),
        b'\n' => Escape::Short(b"\\n"),
        b'\r' => Escape::Short(b"\\r"),
        b'\t' => Escape::Short(b"\\t"),
        0x08 => Escape::Short(b"\\b"),
        0x0c => Escape::Short(b"\\f"),
        0..=0x1f => Escape::Unicode,
        _ => Escape::Verbatim,
    }
}

pub(crate) fn json_string_len(s: &str) -> usize {
    let escaped: usize = s
        .bytes()
        .map(|b| match json_escape(b) {
            Escape::Verbatim => 1,
            Escape::Short(_) => 2,
            Escape::Unicode => 6,
        })
        .sum();
    escaped + 2
}

pub(crate) fn push_json_string(out: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    for b in s.bytes() {
        match json_escape(b) {
            Escape::Verbatim => out.push(b),
            Escape::Short(seq) => out.extend_from_slice(seq),
            Escape::Unicode => {
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(b >> 4)]);
                out.push(HEX[usize::from(b & 0xf)]);
            }
        }
    }
    out.push(b'"');
}
