//! Query strings and percent-decoding.

/// A parsed query string: its `application/x-www-form-urlencoded` pairs, percent-decoded, in order.
///
/// Engine.IO routes on query parameters (`EIO`, `transport`, `sid`), so they are decoded once
/// here. Decoding is forgiving: `+` is a space, a malformed escape such as `%zz` is kept
/// literally, and invalid UTF-8 becomes U+FFFD, because a lookup of a known key must never fail
/// on an unrelated broken one.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    /// Parses the raw text after `?` (without the `?`).
    ///
    /// Pairs are separated by `&`; empty segments are skipped; a segment without `=` is a key
    /// with an empty value.
    #[must_use]
    pub fn parse(raw: &str) -> Query {
        let pairs = raw
            .split('&')
            .filter(|segment| !segment.is_empty())
            .map(|segment| {
                let (key, value) = segment.split_once('=').unwrap_or((segment, ""));
                (percent_decode(key, true), percent_decode(value, true))
            })
            .collect();
        Query { pairs }
    }

    /// The value of the first pair named `key`, so a repeated parameter cannot override the first.
    #[must_use]
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// All pairs in the order they were sent, duplicates included.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Whether the query has no pairs at all.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }
}

/// Decodes `%XX` escapes (and `+` as a space when `plus_as_space`), keeping malformed escapes
/// literally and replacing invalid UTF-8 with U+FFFD.
///
/// Paths decode with `plus_as_space = false` (a `+` in a path is a plus); query components with
/// `true`, as HTML forms and the Socket.IO clients encode them.
#[must_use]
pub fn percent_decode(s: &str, plus_as_space: bool) -> String {
    match String::from_utf8(percent_decode_bytes(s, plus_as_space)) {
        Ok(decoded) => decoded,
        Err(err) => String::from_utf8_lossy(err.as_bytes()).into_owned(),
    }
}

/// Decodes `%XX` escapes into raw bytes, keeping malformed escapes literally.
pub(crate) fn percent_decode_bytes(s: &str, plus_as_space: bool) -> Vec<u8> {
    let input = s.as_bytes();
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while let Some(&byte) = input.get(i) {
        match byte {
            b'%' => {
                let hi = input.get(i + 1).copied().and_then(hex_value);
                let lo = input.get(i + 2).copied().and_then(hex_value);
                if let (Some(hi), Some(lo)) = (hi, lo) {
                    out.push(hi << 4 | lo);
                    i += 3;
                    continue;
                }
                out.push(b'%');
            }
            b'+' if plus_as_space => out.push(b' '),
            other => out.push(other),
        }
        i += 1;
    }
    out
}

fn hex_value(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(query: &Query) -> Vec<(&str, &str)> {
        query.iter().collect()
    }

    #[test]
    fn engineio_handshake_query_parses_into_ordered_pairs() {
        let query = Query::parse("EIO=4&transport=polling&t=P1a2b3");
        assert_eq!(
            pairs(&query),
            vec![("EIO", "4"), ("transport", "polling"), ("t", "P1a2b3")]
        );
        assert_eq!(query.get("transport"), Some("polling"));
        assert_eq!(query.get("sid"), None);
    }

    #[test]
    fn query_components_are_percent_decoded_with_plus_as_space() {
        let query = Query::parse("name=J%C3%BCrgen+Sch%C3%B6n&a%26b=c%3Dd");
        assert_eq!(
            pairs(&query),
            vec![("name", "Jürgen Schön"), ("a&b", "c=d")]
        );
    }

    #[test]
    fn first_value_of_a_repeated_key_wins() {
        let query = Query::parse("sid=first&sid=second");
        assert_eq!(query.get("sid"), Some("first"));
        assert_eq!(pairs(&query), vec![("sid", "first"), ("sid", "second")]);
    }

    #[test]
    fn empty_segments_are_skipped_and_bare_keys_have_empty_values() {
        let query = Query::parse("&&flag&x=&=v&");
        assert_eq!(pairs(&query), vec![("flag", ""), ("x", ""), ("", "v")]);
        assert!(Query::parse("").is_empty());
    }

    #[test]
    fn malformed_escapes_are_kept_literally() {
        assert_eq!(percent_decode("100%", false), "100%");
        assert_eq!(percent_decode("%zz%4", false), "%zz%4");
        assert_eq!(percent_decode("%4g%41", false), "%4gA");
    }

    #[test]
    fn invalid_utf8_escapes_become_replacement_characters() {
        assert_eq!(percent_decode("a%FFb", false), "a\u{FFFD}b");
    }

    #[test]
    fn plus_is_a_plus_in_paths() {
        assert_eq!(percent_decode("/a+b%20c", false), "/a+b c");
        assert_eq!(percent_decode("/a+b%20c", true), "/a b c");
    }
}
