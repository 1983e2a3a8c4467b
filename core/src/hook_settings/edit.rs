//! In-place edits of a JSON text: insert a member or an item, replace a value, remove one.
//!
//! Why these exact shapes: an insertion followed by the matching removal gives back the
//! original bytes. A member or item appended after the last one is `,` + newline + indent +
//! value, and removing the last one removes exactly that span; inserting into an empty
//! container fills `{}`/`[]`, and removing the only member or item leaves `{}`/`[]`. New text
//! follows the document's style: its indent unit, one line per member when the container is
//! laid out that way, compact when it is on one line.

use serde::Serialize;

use super::spans::{Kind, Node};

/// Appends `"key": value` to the object `object` of `text`.
#[must_use]
pub fn insert_member(text: &str, object: &Node, key: &str, value: &impl Serialize) -> String {
    let key = serde_json::to_string(key).unwrap_or_default();
    let members = object.members().unwrap_or_default();
    let style = Style::of(text, object);
    match members.last() {
        Some(last) if style.pretty => splice(
            text,
            last.value.end,
            last.value.end,
            &format!(",\n{}{key}: {}", style.inner, style.render(value)),
        ),
        Some(last) => splice(
            text,
            last.value.end,
            last.value.end,
            &format!(", {key}: {}", style.render(value)),
        ),
        None if style.pretty => splice(
            text,
            object.start,
            object.end,
            &format!(
                "{{\n{}{key}: {}\n{}}}",
                style.inner,
                style.render(value),
                style.outer
            ),
        ),
        None => splice(
            text,
            object.start,
            object.end,
            &format!("{{{key}: {}}}", style.render(value)),
        ),
    }
}

/// Appends `value` to the array `array` of `text`.
#[must_use]
pub fn append_item(text: &str, array: &Node, value: &impl Serialize) -> String {
    let items = array.items().unwrap_or_default();
    let style = Style::of(text, array);
    match items.last() {
        Some(last) if style.pretty => splice(
            text,
            last.end,
            last.end,
            &format!(",\n{}{}", style.inner, style.render(value)),
        ),
        Some(last) => splice(
            text,
            last.end,
            last.end,
            &format!(", {}", style.render(value)),
        ),
        None if style.pretty => splice(
            text,
            array.start,
            array.end,
            &format!(
                "[\n{}{}\n{}]",
                style.inner,
                style.render(value),
                style.outer
            ),
        ),
        None => splice(
            text,
            array.start,
            array.end,
            &format!("[{}]", style.render(value)),
        ),
    }
}

/// Replaces `node` with `value`, laid out at `node`'s indentation.
#[must_use]
pub fn replace(text: &str, node: &Node, value: &impl Serialize) -> String {
    let mut style = Style::of(text, node);
    style.pretty = text.trim_end().contains('\n');
    splice(text, node.start, node.end, &style.render_at_outer(value))
}

/// Removes member `index` of `object`, with the separator that joined it.
#[must_use]
pub fn remove_member(text: &str, object: &Node, index: usize) -> String {
    let members = object.members().unwrap_or_default();
    let spans: Vec<(usize, usize)> = members.iter().map(|m| (m.key_start, m.value.end)).collect();
    remove_entry(text, object, &spans, index)
}

/// Removes item `index` of `array`, with the separator that joined it.
#[must_use]
pub fn remove_item(text: &str, array: &Node, index: usize) -> String {
    let items = array.items().unwrap_or_default();
    let spans: Vec<(usize, usize)> = items.iter().map(|n| (n.start, n.end)).collect();
    remove_entry(text, array, &spans, index)
}

fn remove_entry(text: &str, container: &Node, spans: &[(usize, usize)], index: usize) -> String {
    let empty = if matches!(container.kind, Kind::Object(_)) {
        "{}"
    } else {
        "[]"
    };
    match (spans.len(), index) {
        (0, _) => text.to_owned(),
        (1, _) => splice(text, container.start, container.end, empty),
        (n, i) if i + 1 == n => splice(text, spans[i - 1].1, spans[i].1, ""),
        (_, i) => splice(text, spans[i].0, spans[i + 1].0, ""),
    }
}

fn splice(text: &str, from: usize, to: usize, with: &str) -> String {
    let mut out = String::with_capacity(text.len() + with.len());
    out.push_str(&text[..from]);
    out.push_str(with);
    out.push_str(&text[to..]);
    out
}

/// How new text is laid out inside one container.
struct Style {
    pretty: bool,
    unit: String,
    /// Indentation of the line the container starts on.
    outer: String,
    /// Indentation of its members.
    inner: String,
}

impl Style {
    fn of(text: &str, container: &Node) -> Self {
        let unit = indent_unit(text);
        let outer = line_indent(text, container.start);
        let first_child = match &container.kind {
            Kind::Object(members) => members.first().map(|m| m.key_start),
            Kind::Array(items) => items.first().map(|n| n.start),
            Kind::Scalar => None,
        };
        let pretty = match first_child {
            Some(child) => text[container.start..child].contains('\n'),
            // An empty container in a one-line document stays compact, unless the document is
            // nothing but it (a new file): that one is laid out like Claude Code writes it.
            None => text.trim().len() <= 2 || text.trim_end().contains('\n'),
        };
        let inner = format!("{outer}{unit}");
        Self {
            pretty,
            unit,
            outer,
            inner,
        }
    }

    /// `value` laid out to sit at the members' indentation.
    fn render(&self, value: &impl Serialize) -> String {
        self.render_indented(value, &self.inner)
    }

    /// `value` laid out to sit at the container's own indentation.
    fn render_at_outer(&self, value: &impl Serialize) -> String {
        self.render_indented(value, &self.outer)
    }

    fn render_indented(&self, value: &impl Serialize, base: &str) -> String {
        if !self.pretty {
            return serde_json::to_string(value).unwrap_or_default();
        }
        let mut out = Vec::new();
        let formatter = serde_json::ser::PrettyFormatter::with_indent(self.unit.as_bytes());
        let mut serializer = serde_json::Serializer::with_formatter(&mut out, formatter);
        if value.serialize(&mut serializer).is_err() {
            return String::new();
        }
        String::from_utf8_lossy(&out).replace('\n', &format!("\n{base}"))
    }
}

/// The document's indent unit: the leading whitespace of its first indented line (two spaces
/// when there is none).
fn indent_unit(text: &str) -> String {
    text.lines()
        .map(|line| {
            let trimmed = line.trim_start_matches([' ', '\t']);
            &line[..line.len() - trimmed.len()]
        })
        .find(|indent| !indent.is_empty())
        .unwrap_or("  ")
        .to_owned()
}

/// The leading whitespace of the line holding byte `at`.
fn line_indent(text: &str, at: usize) -> String {
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    text[line_start..]
        .chars()
        .take_while(|c| *c == ' ' || *c == '\t')
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::spans::parse;
    use super::*;

    #[test]
    fn a_member_appended_then_removed_gives_back_the_bytes() {
        let text = "{\n    \"a\": 1\n}\n";
        let root = parse(text).unwrap();
        let added = insert_member(text, &root, "b", &json!({"c": [true]}));
        assert_eq!(
            added,
            "{\n    \"a\": 1,\n    \"b\": {\n        \"c\": [\n            true\n        ]\n    }\n}\n"
        );
        let root = parse(&added).unwrap();
        assert_eq!(remove_member(&added, &root, 1), text);
    }

    #[test]
    fn an_empty_container_is_filled_and_emptied() {
        let text = "{\n  \"a\": []\n}";
        let root = parse(text).unwrap();
        let added = append_item(text, root.get("a").unwrap(), &json!(1));
        assert_eq!(added, "{\n  \"a\": [\n    1\n  ]\n}");
        let root = parse(&added).unwrap();
        assert_eq!(remove_item(&added, root.get("a").unwrap(), 0), text);
    }

    #[test]
    fn a_compact_document_stays_compact() {
        let text = r#"{"a":[1,2]}"#;
        let root = parse(text).unwrap();
        let added = append_item(text, root.get("a").unwrap(), &json!({"x": 1}));
        assert_eq!(added, r#"{"a":[1,2, {"x":1}]}"#);
        let root = parse(&added).unwrap();
        assert_eq!(remove_item(&added, root.get("a").unwrap(), 2), text);
    }

    #[test]
    fn removing_a_middle_member_takes_its_trailing_separator() {
        let text = "{\n  \"a\": 1,\n  \"b\": 2,\n  \"c\": 3\n}";
        let root = parse(text).unwrap();
        assert_eq!(
            remove_member(text, &root, 1),
            "{\n  \"a\": 1,\n  \"c\": 3\n}"
        );
        assert_eq!(
            remove_member(text, &root, 0),
            "{\n  \"b\": 2,\n  \"c\": 3\n}"
        );
    }

    #[test]
    fn replace_keeps_the_indentation() {
        let text = "{\n  \"a\": [\n    {\"old\": 1}\n  ]\n}";
        let root = parse(text).unwrap();
        let item = &root.get("a").unwrap().items().unwrap()[0];
        assert_eq!(
            replace(text, item, &json!({"new": 2})),
            "{\n  \"a\": [\n    {\n      \"new\": 2\n    }\n  ]\n}"
        );
    }

    #[test]
    fn tabs_are_followed() {
        let text = "{\n\t\"a\": 1\n}";
        let root = parse(text).unwrap();
        assert_eq!(
            insert_member(text, &root, "b", &json!([1])),
            "{\n\t\"a\": 1,\n\t\"b\": [\n\t\t1\n\t]\n}"
        );
    }
}
