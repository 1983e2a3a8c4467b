//! Fitting a hook event under a byte cap by cutting its largest strings, never dropping it.
//!
//! Why: the relay refuses events over its per-event limit (1 MiB), and a hook event can be
//! bigger (a tool's whole output in `tool_response`). Dropping the event would lose the fact
//! that the tool ran; cutting the one huge field keeps everything else and says, in the field
//! itself, how much was cut. Pure so both binaries and the server can share it.

use serde_json::Value;

/// Appended to a cut string: the text says it was cut and how many bytes went.
pub const MARKER_PREFIX: &str = "…[truncated by iorelay: ";

/// How many cuts are tried before giving up; each cut removes at least the excess from a
/// string or a whole subtree, so real inputs need one or two.
const MAX_CUTS: usize = 64;

/// What [`fit`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fitted {
    /// Strings or subtrees cut.
    pub cuts: usize,
    /// Serialised size after fitting.
    pub bytes: usize,
}

/// Cuts the largest strings of `event` (and, when strings alone cannot do it, replaces the
/// largest non-root subtree with a marker) until its compact JSON is at most `cap` bytes.
/// The root object and its small fields (ids, names) stay as they were.
pub fn fit(event: &mut Value, cap: usize) -> Fitted {
    let mut cuts = 0;
    let mut size = json_len(event);
    while size > cap && cuts < MAX_CUTS {
        let excess = size - cap;
        if !cut_largest_string(event, excess) && !replace_largest_subtree(event) {
            break;
        }
        cuts += 1;
        size = json_len(event);
    }
    Fitted { cuts, bytes: size }
}

fn json_len(value: &Value) -> usize {
    serde_json::to_vec(value).map_or(usize::MAX, |bytes| bytes.len())
}

fn marker(removed: usize) -> String {
    format!("{MARKER_PREFIX}{removed} bytes]")
}

/// Shortens the largest string so the document shrinks by `excess` (or empties it to the
/// marker when it is shorter than that). False when no string is long enough to be worth it.
fn cut_largest_string(event: &mut Value, excess: usize) -> bool {
    let Some(text) = largest_string(event) else {
        return false;
    };
    // A string not much longer than its marker frees nothing worth a cut.
    if text.len() <= marker(text.len()).len() * 2 {
        return false;
    }
    // Escapes make the serialised string longer than the text, so cutting `excess` bytes of
    // text frees at least `excess` bytes of JSON; the marker's own length is added back.
    let keep = text
        .len()
        .saturating_sub(excess + marker(text.len()).len() + 2);
    let mut keep = keep.min(text.len());
    while !text.is_char_boundary(keep) {
        keep -= 1;
    }
    let removed = text.len() - keep;
    text.truncate(keep);
    text.push_str(&marker(removed));
    true
}

fn largest_string(value: &mut Value) -> Option<&mut String> {
    match value {
        Value::String(text) => Some(text),
        Value::Array(items) => items
            .iter_mut()
            .filter_map(largest_string)
            .max_by_key(|text| text.len()),
        Value::Object(map) => map
            .values_mut()
            .filter_map(largest_string)
            .max_by_key(|text| text.len()),
        _ => None,
    }
}

/// Replaces the largest subtree below the root with a marker string saying its size.
fn replace_largest_subtree(event: &mut Value) -> bool {
    let children: Vec<&mut Value> = match event {
        Value::Array(items) => items.iter_mut().collect(),
        Value::Object(map) => map.values_mut().collect(),
        _ => return false,
    };
    let Some(largest) = children.into_iter().max_by_key(|child| json_len(child)) else {
        return false;
    };
    let size = json_len(largest);
    if size <= marker(size).len() + 2 {
        return false;
    }
    // Descend while one child holds most of it, so `{"tool_response": {"items": [...]}}` loses
    // the items, not the whole response.
    if matches!(largest, Value::Array(_) | Value::Object(_)) && replace_largest_subtree(largest) {
        return true;
    }
    *largest = Value::String(marker(size));
    true
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_small_event_is_left_alone() {
        let mut event = json!({"id": "a", "hook_event_name": "Stop"});
        let before = event.clone();
        let fitted = fit(&mut event, 1024);
        assert_eq!(fitted.cuts, 0);
        assert_eq!(event, before);
    }

    #[test]
    fn one_huge_field_is_cut_with_a_marker_and_the_rest_kept() {
        let mut event = json!({
            "id": "e1",
            "hook_event_name": "PostToolUse",
            "tool_response": {"stdout": "x".repeat(2_000_000), "exit_code": 0},
        });
        let fitted = fit(&mut event, 1 << 20);
        assert_eq!(fitted.cuts, 1);
        assert!(fitted.bytes <= 1 << 20);
        assert_eq!(event["id"], "e1");
        assert_eq!(event["hook_event_name"], "PostToolUse");
        assert_eq!(event["tool_response"]["exit_code"], 0);
        let stdout = event["tool_response"]["stdout"].as_str().unwrap();
        assert!(stdout.starts_with("xxxx"));
        assert!(
            stdout.ends_with(" bytes]"),
            "{}",
            &stdout[stdout.len() - 60..]
        );
        assert!(stdout.contains(MARKER_PREFIX));
        assert!(fitted.bytes > (1 << 20) - 200, "cut only what was needed");
    }

    #[test]
    fn escapes_and_multibyte_text_still_fit_on_a_char_boundary() {
        let mut event = json!({"a": "\"é\n".repeat(100_000), "b": "ü".repeat(50_000)});
        let fitted = fit(&mut event, 10_000);
        assert!(fitted.bytes <= 10_000, "{fitted:?}");
        assert!(serde_json::to_vec(&event).unwrap().len() <= 10_000);
    }

    #[test]
    fn many_small_values_are_replaced_as_a_subtree() {
        let mut event = json!({"id": "e2", "numbers": (0..100_000).collect::<Vec<_>>()});
        let fitted = fit(&mut event, 1_000);
        assert!(fitted.bytes <= 1_000, "{fitted:?}");
        assert_eq!(event["id"], "e2");
        assert!(event["numbers"]
            .as_str()
            .unwrap()
            .starts_with(MARKER_PREFIX));
    }
}
