//! Ingest: turning a POSTed body into normalised event drafts.
//!
//! Why the sender's JSON is never re-encoded: `data` must reach dashboards whole — unknown
//! fields, unknown hook names, key order, big integers that `f64` would round — so this
//! module reads the fields it needs from a map of raw values and keeps the raw text of the
//! object for `data`.

use std::collections::BTreeMap;

use serde_json::value::RawValue;

/// Which endpoint a body came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `POST /api/events`: bare events, arrays of them, or the legacy wrapper.
    Events,
    /// `POST /api/hooks`: the raw JSON Claude Code hands a hook, or an array of them.
    Hooks,
}

/// Why a body was refused; each maps to one HTTP status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IngestError {
    /// Not JSON, or JSON of the wrong shape (400).
    Malformed(String),
    /// One event is larger than the per-event limit (413).
    TooLarge(String),
}

/// An event as the sender described it, normalised, before the relay numbers it.
#[derive(Debug, Clone)]
pub struct Draft<'a> {
    /// The sender's id, if it gave one.
    pub id: Option<String>,
    /// `type`.
    pub kind: String,
    /// `subtype`.
    pub subtype: String,
    /// The Claude Code hook name, for hook events.
    pub hook_event_name: Option<String>,
    /// The sender's timestamp, if it gave one.
    pub timestamp: Option<String>,
    /// The Claude Code session.
    pub session_id: Option<String>,
    /// The sub-agent, for events inside one.
    pub agent_id: Option<String>,
    /// The sub-agent's type.
    pub agent_type: Option<String>,
    /// Working directory.
    pub cwd: Option<String>,
    /// Project name (given, or the last component of `cwd`).
    pub project: Option<String>,
    /// Tool name, for tool events.
    pub tool_name: Option<String>,
    /// Pairs pre- and post-tool events.
    pub tool_use_id: Option<String>,
    /// Who sent it (`hook`, `api`, …).
    pub source: String,
    /// The sender's data, verbatim JSON, borrowed from the body (it is copied once, into the
    /// canonical event).
    pub data: &'a RawValue,
}

/// The events of one body, and whether it was an array (which changes the reply).
#[derive(Debug)]
pub struct Batch<'a> {
    /// The events in the order they were sent.
    pub drafts: Vec<Draft<'a>>,
    /// The body was a JSON array.
    pub array: bool,
}

/// Parses a body sent to `endpoint`; every event must be an object of at most `max_event`
/// bytes of JSON.
///
/// # Errors
/// The body is not UTF-8 JSON, is not an object or an array of objects, or one event is too
/// large; the error says which and, in an array, at which index.
pub fn parse(endpoint: Endpoint, body: &[u8], max_event: usize) -> Result<Batch<'_>, IngestError> {
    let text = std::str::from_utf8(body)
        .map_err(|err| IngestError::Malformed(format!("the body is not UTF-8: {err}")))?;
    if text.trim().is_empty() {
        return Err(IngestError::Malformed("the body is empty".to_owned()));
    }
    let root: &RawValue = serde_json::from_str(text)
        .map_err(|err| IngestError::Malformed(format!("the body is not JSON: {err}")))?;
    if root.get().starts_with('[') {
        let items: Vec<&RawValue> = serde_json::from_str(root.get())
            .map_err(|err| IngestError::Malformed(err.to_string()))?;
        let drafts = items
            .iter()
            .enumerate()
            .map(|(i, raw)| normalise(endpoint, raw, Some(i), max_event))
            .collect::<Result<_, _>>()?;
        Ok(Batch {
            drafts,
            array: true,
        })
    } else {
        Ok(Batch {
            drafts: vec![normalise(endpoint, root, None, max_event)?],
            array: false,
        })
    }
}

/// An object's members as raw JSON values (a repeated key keeps its last value).
type Fields<'a> = BTreeMap<&'a str, &'a RawValue>;

/// One event of a body (`at`: its index in an array), normalised for `endpoint`.
fn normalise<'a>(
    endpoint: Endpoint,
    raw: &'a RawValue,
    at: Option<usize>,
    max_event: usize,
) -> Result<Draft<'a>, IngestError> {
    let place = at.map_or_else(String::new, |i| format!("event {i}: "));
    if raw.get().len() > max_event {
        return Err(IngestError::TooLarge(format!(
            "{place}{} bytes, over the {max_event}-byte limit per event",
            raw.get().len()
        )));
    }
    let fields: Fields<'a> = serde_json::from_str(raw.get())
        .map_err(|_| IngestError::Malformed(format!("{place}an event must be a JSON object")))?;
    Ok(match endpoint {
        Endpoint::Events => bare_or_legacy(raw, &fields),
        Endpoint::Hooks => hook(raw, &fields),
    })
}

/// A raw Claude Code hook object: everything is read from its top level, and it is `data`.
fn hook<'a>(raw: &'a RawValue, fields: &Fields<'_>) -> Draft<'a> {
    let hook_event_name = text(fields, "hook_event_name");
    let subtype = hook_event_name
        .as_deref()
        .map_or_else(|| "unknown".to_owned(), snake_case);
    let cwd = text(fields, "cwd");
    Draft {
        id: given_id(fields, "id"),
        kind: "hook".to_owned(),
        subtype,
        hook_event_name,
        timestamp: text(fields, "client_ts").or_else(|| text(fields, "timestamp")),
        session_id: text(fields, "session_id"),
        agent_id: text(fields, "agent_id"),
        agent_type: text(fields, "agent_type"),
        project: cwd.as_deref().and_then(project_of),
        cwd,
        tool_name: text(fields, "tool_name"),
        tool_use_id: text(fields, "tool_use_id"),
        source: "hook".to_owned(),
        data: raw,
    }
}

/// A bare event (`{"type","subtype","data",…}` or any object), or the legacy wrapper
/// `{"namespace","event","data":{…}}` around one.
fn bare_or_legacy<'a>(raw: &'a RawValue, fields: &Fields<'a>) -> Draft<'a> {
    if let Some(inner) = legacy_inner(fields) {
        if let Ok(inner_fields) = serde_json::from_str::<Fields<'_>>(inner.get()) {
            return bare(inner, &inner_fields);
        }
    }
    bare(raw, fields)
}

/// The event inside a legacy wrapper: an object with `event` and an object `data`, and none
/// of a bare event's own naming fields.
fn legacy_inner<'a>(fields: &Fields<'a>) -> Option<&'a RawValue> {
    let names_itself = ["type", "subtype", "hook_event_name"]
        .iter()
        .any(|key| fields.contains_key(key));
    let data = fields.get("data")?;
    (fields.contains_key("event") && !names_itself && data.get().starts_with('{')).then_some(*data)
}

/// A bare event: fields are read from its top level, then from its `data` object; `data` is
/// its `data` member, or the whole object when it has none.
fn bare<'a>(raw: &'a RawValue, fields: &Fields<'a>) -> Draft<'a> {
    let data = fields.get("data").copied();
    let nested: Fields<'_> = data
        .filter(|d| d.get().starts_with('{'))
        .and_then(|d| serde_json::from_str(d.get()).ok())
        .unwrap_or_default();
    let get = |key: &str| text(fields, key).or_else(|| text(&nested, key));
    let hook_event_name = get("hook_event_name");
    let kind = text(fields, "type").unwrap_or_else(|| {
        if hook_event_name.is_some() {
            "hook"
        } else {
            "event"
        }
        .to_owned()
    });
    let subtype = text(fields, "subtype")
        .or_else(|| hook_event_name.as_deref().map(snake_case))
        .unwrap_or_else(|| "unknown".to_owned());
    let cwd = get("cwd").or_else(|| get("working_directory"));
    Draft {
        id: given_id(fields, "id").or_else(|| given_id(fields, "event_id")),
        kind,
        subtype,
        hook_event_name,
        timestamp: text(fields, "timestamp").or_else(|| get("client_ts")),
        session_id: get("session_id").or_else(|| get("sessionId")),
        agent_id: get("agent_id"),
        agent_type: get("agent_type"),
        project: get("project").or_else(|| cwd.as_deref().and_then(project_of)),
        cwd,
        tool_name: get("tool_name"),
        tool_use_id: get("tool_use_id"),
        source: text(fields, "source").unwrap_or_else(|| "api".to_owned()),
        data: data.unwrap_or(raw),
    }
}

/// The sender's id: a non-blank string or number. A blank id is no id (the relay assigns
/// one), or every blank-id event after the first would be dropped as its duplicate.
fn given_id(fields: &Fields<'_>, key: &str) -> Option<String> {
    text(fields, key).filter(|id| !id.trim().is_empty())
}

/// A member as text: a JSON string, or a number's digits; anything else is absent.
fn text(fields: &Fields<'_>, key: &str) -> Option<String> {
    let raw = fields.get(key)?.get();
    if raw.starts_with('"') {
        serde_json::from_str(raw).ok()
    } else if raw.starts_with(|c: char| c == '-' || c.is_ascii_digit()) {
        Some(raw.to_owned())
    } else {
        None
    }
}

/// `PreToolUse` → `pre_tool_use`, `MCPServerStart` → `mcp_server_start`, `user-prompt` →
/// `user_prompt`; already snake-case names are unchanged.
#[must_use]
pub fn snake_case(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::with_capacity(name.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        if c == '-' || c == ' ' || c == '.' {
            out.push('_');
        } else if c.is_uppercase() {
            let prev = i.checked_sub(1).map(|p| chars[p]);
            let next = chars.get(i + 1);
            let starts_word = prev.is_some_and(|p| p.is_lowercase() || p.is_ascii_digit())
                || (prev.is_some_and(char::is_uppercase) && next.is_some_and(|n| n.is_lowercase()));
            if starts_word && !out.ends_with('_') {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// The project a working directory is: its last path component.
#[must_use]
pub fn project_of(cwd: &str) -> Option<String> {
    cwd.trim_end_matches(['/', '\\'])
        .rsplit(['/', '\\'])
        .next()
        .filter(|name| !name.is_empty())
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(endpoint: Endpoint, body: &str) -> Draft<'_> {
        let batch = parse(endpoint, body.as_bytes(), 1 << 20).unwrap();
        assert!(!batch.array);
        batch.drafts.into_iter().next().unwrap()
    }

    #[test]
    fn hook_names_become_snake_case() {
        assert_eq!(snake_case("PreToolUse"), "pre_tool_use");
        assert_eq!(snake_case("SubagentStop"), "subagent_stop");
        assert_eq!(snake_case("PostToolUseFailure"), "post_tool_use_failure");
        assert_eq!(snake_case("MCPServerStart"), "mcp_server_start");
        assert_eq!(snake_case("user-prompt"), "user_prompt");
        assert_eq!(snake_case("pre_tool_use"), "pre_tool_use");
    }

    #[test]
    fn the_project_is_the_last_component_of_cwd() {
        assert_eq!(project_of("/home/a/iorelay"), Some("iorelay".to_owned()));
        assert_eq!(project_of("/home/a/iorelay/"), Some("iorelay".to_owned()));
        assert_eq!(project_of(r"C:\src\app"), Some("app".to_owned()));
        assert_eq!(project_of("/"), None);
    }

    #[test]
    fn a_raw_hook_is_normalised_and_kept_whole_under_data() {
        let raw = r#"{"session_id":"s1","transcript_path":"/t.jsonl","cwd":"/w/proj","hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"ls"},"tool_use_id":"tu1","future_field":[1,12345678901234567890123]}"#;
        let draft = one(Endpoint::Hooks, raw);
        assert_eq!(draft.kind, "hook");
        assert_eq!(draft.subtype, "pre_tool_use");
        assert_eq!(draft.hook_event_name.as_deref(), Some("PreToolUse"));
        assert_eq!(draft.session_id.as_deref(), Some("s1"));
        assert_eq!(draft.project.as_deref(), Some("proj"));
        assert_eq!(draft.tool_name.as_deref(), Some("Bash"));
        assert_eq!(draft.tool_use_id.as_deref(), Some("tu1"));
        assert_eq!(draft.source, "hook");
        assert_eq!(draft.data.get(), raw, "byte for byte, big integer included");
    }

    #[test]
    fn an_unknown_hook_name_is_accepted() {
        let draft = one(Endpoint::Hooks, r#"{"hook_event_name":"BrandNewHook2027"}"#);
        assert_eq!(draft.subtype, "brand_new_hook2027");
        let draft = one(Endpoint::Hooks, r#"{"session_id":"s"}"#);
        assert_eq!(draft.subtype, "unknown");
    }

    #[test]
    fn the_legacy_wrapper_is_unwrapped_and_its_inner_data_kept() {
        let body = r#"{"namespace":"","event":"claude_event","data":{"type":"hook","subtype":"post_tool_use","timestamp":"2026-01-01T00:00:00Z","session_id":"s2","data":{"tool_name":"Edit","cwd":"/x/y"}}}"#;
        let draft = one(Endpoint::Events, body);
        assert_eq!(
            (draft.kind.as_str(), draft.subtype.as_str()),
            ("hook", "post_tool_use")
        );
        assert_eq!(draft.session_id.as_deref(), Some("s2"));
        assert_eq!(
            draft.tool_name.as_deref(),
            Some("Edit"),
            "read from the nested data"
        );
        assert_eq!(draft.project.as_deref(), Some("y"));
        assert_eq!(draft.timestamp.as_deref(), Some("2026-01-01T00:00:00Z"));
        assert_eq!(draft.data.get(), r#"{"tool_name":"Edit","cwd":"/x/y"}"#);
    }

    #[test]
    fn a_bare_event_without_data_is_its_own_data() {
        let body = r#"{"seq":1,"hook_event_name":"PostToolUse","session_id":"s3","id":"e-1"}"#;
        let draft = one(Endpoint::Events, body);
        assert_eq!(draft.id.as_deref(), Some("e-1"));
        assert_eq!(
            (draft.kind.as_str(), draft.subtype.as_str()),
            ("hook", "post_tool_use")
        );
        assert_eq!(draft.source, "api");
        assert_eq!(draft.data.get(), body);
    }

    #[test]
    fn a_blank_id_is_no_id() {
        assert_eq!(one(Endpoint::Events, r#"{"id":"","type":"t"}"#).id, None);
        assert_eq!(
            one(Endpoint::Hooks, r#"{"id":"  ","hook_event_name":"Stop"}"#).id,
            None
        );
        assert_eq!(
            one(Endpoint::Hooks, r#"{"id":42}"#).id.as_deref(),
            Some("42")
        );
    }

    #[test]
    fn an_array_gives_one_draft_per_element() {
        let batch = parse(Endpoint::Events, br#"[{"type":"a"},{"type":"b"}]"#, 1 << 20).unwrap();
        assert!(batch.array);
        let kinds: Vec<_> = batch.drafts.iter().map(|d| d.kind.as_str()).collect();
        assert_eq!(kinds, ["a", "b"]);
    }

    #[test]
    fn bad_bodies_say_what_is_wrong() {
        let err = |body: &[u8]| parse(Endpoint::Events, body, 64).unwrap_err();
        assert!(matches!(err(b"{\"oops\": "), IngestError::Malformed(m) if m.contains("not JSON")));
        assert!(matches!(err(b""), IngestError::Malformed(m) if m.contains("empty")));
        assert!(matches!(err(b"\xff"), IngestError::Malformed(m) if m.contains("UTF-8")));
        assert!(matches!(err(b"42"), IngestError::Malformed(m) if m.contains("object")));
        assert!(matches!(err(b"[{},7]"), IngestError::Malformed(m) if m.contains("event 1")));
        let big = format!(r#"[{{}},{{"x":"{}"}}]"#, "a".repeat(100));
        assert!(matches!(err(big.as_bytes()), IngestError::TooLarge(m) if m.contains("event 1")));
    }
}
