//! Where each value of a JSON document is, in bytes: what lets the installer edit the user's
//! settings.json in place instead of re-serialising it.
//!
//! Why not parse into a `Value` and write it back: that rewrites the whole file in serde's
//! format and key order, so a user's formatting would change on the first install and an
//! uninstall could not give back the bytes they had. This parser runs only on text that
//! `serde_json` already accepted, so it checks little; it only records spans.

/// A value and where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// Byte offset of its first character.
    pub start: usize,
    /// Byte offset just past its last character.
    pub end: usize,
    /// What it is.
    pub kind: Kind,
}

/// The shape of a [`Node`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// `{...}` and its members in order.
    Object(Vec<Member>),
    /// `[...]` and its items in order.
    Array(Vec<Node>),
    /// A string, number, `true`, `false` or `null`.
    Scalar,
}

/// One `"key": value` of an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The decoded key.
    pub key: String,
    /// Byte offset of the key's opening quote.
    pub key_start: usize,
    /// The value.
    pub value: Node,
}

impl Node {
    /// The members, when this is an object.
    #[must_use]
    pub fn members(&self) -> Option<&[Member]> {
        match &self.kind {
            Kind::Object(members) => Some(members),
            _ => None,
        }
    }

    /// The items, when this is an array.
    #[must_use]
    pub fn items(&self) -> Option<&[Node]> {
        match &self.kind {
            Kind::Array(items) => Some(items),
            _ => None,
        }
    }

    /// The value of member `key`, when this is an object that has it.
    #[must_use]
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.members()?
            .iter()
            .find(|m| m.key == key)
            .map(|m| &m.value)
    }
}

/// Parses `text`, which must be valid JSON.
///
/// # Errors
/// `text` is not valid JSON; the message is `serde_json`'s.
pub fn parse(text: &str) -> Result<Node, String> {
    serde_json::from_str::<serde::de::IgnoredAny>(text).map_err(|err| err.to_string())?;
    let mut parser = Parser {
        bytes: text.as_bytes(),
        text,
        at: 0,
    };
    parser.value()
}

struct Parser<'a> {
    bytes: &'a [u8],
    text: &'a str,
    at: usize,
}

impl Parser<'_> {
    fn skip_space(&mut self) {
        while self
            .bytes
            .get(self.at)
            .is_some_and(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
        {
            self.at += 1;
        }
    }

    fn value(&mut self) -> Result<Node, String> {
        self.skip_space();
        let start = self.at;
        let kind = match self.bytes.get(self.at) {
            Some(b'{') => Kind::Object(self.object()?),
            Some(b'[') => Kind::Array(self.array()?),
            Some(b'"') => {
                self.string()?;
                Kind::Scalar
            }
            Some(_) => {
                while self.bytes.get(self.at).is_some_and(|b| {
                    !matches!(b, b',' | b']' | b'}' | b' ' | b'\t' | b'\n' | b'\r')
                }) {
                    self.at += 1;
                }
                Kind::Scalar
            }
            None => return Err("unexpected end of JSON".to_owned()),
        };
        Ok(Node {
            start,
            end: self.at,
            kind,
        })
    }

    /// Skips a string and returns its decoded text.
    fn string(&mut self) -> Result<String, String> {
        let start = self.at;
        self.at += 1;
        while let Some(&b) = self.bytes.get(self.at) {
            self.at += 1;
            match b {
                b'\\' => self.at += 1,
                b'"' => {
                    return serde_json::from_str(&self.text[start..self.at])
                        .map_err(|err| err.to_string())
                }
                _ => {}
            }
        }
        Err("unterminated string".to_owned())
    }

    fn object(&mut self) -> Result<Vec<Member>, String> {
        self.at += 1;
        let mut members = Vec::new();
        loop {
            self.skip_space();
            match self.bytes.get(self.at) {
                Some(b'}') => {
                    self.at += 1;
                    return Ok(members);
                }
                Some(b',') => self.at += 1,
                Some(b'"') => {
                    let key_start = self.at;
                    let key = self.string()?;
                    self.skip_space();
                    self.at += 1; // ':'
                    let value = self.value()?;
                    members.push(Member {
                        key,
                        key_start,
                        value,
                    });
                }
                _ => return Err(format!("unexpected byte at {}", self.at)),
            }
        }
    }

    fn array(&mut self) -> Result<Vec<Node>, String> {
        self.at += 1;
        let mut items = Vec::new();
        loop {
            self.skip_space();
            match self.bytes.get(self.at) {
                Some(b']') => {
                    self.at += 1;
                    return Ok(items);
                }
                Some(b',') => self.at += 1,
                Some(_) => items.push(self.value()?),
                None => return Err("unterminated array".to_owned()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_cover_exactly_each_value() {
        let text = "{\n  \"a\": [1, {\"b\": \"x\\\"y\"}],\n  \"c\": null\n}\n";
        let root = parse(text).unwrap();
        assert_eq!((root.start, root.end), (0, text.len() - 1));
        let a = root.get("a").unwrap();
        assert_eq!(&text[a.start..a.end], "[1, {\"b\": \"x\\\"y\"}]");
        let items = a.items().unwrap();
        assert_eq!(&text[items[1].start..items[1].end], "{\"b\": \"x\\\"y\"}");
        let members = root.members().unwrap();
        assert_eq!(
            &text[members[1].key_start..members[1].value.end],
            "\"c\": null"
        );
    }

    #[test]
    fn invalid_json_is_an_error() {
        assert!(parse("{\"a\": }").is_err());
    }
}
