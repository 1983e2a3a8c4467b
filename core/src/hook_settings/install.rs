//! iorelay's entries in Claude Code's settings.json: install, uninstall, status, as pure
//! functions from the file's text to its new text.
//!
//! Each hook event gets one matcher group of ours:
//! `{"matcher": "*", "hooks": [{"type": "command", "command": "<binary> emit", "timeout": 5,
//! "async": true, "managed_by": "iorelay"}]}`. `managed_by` is the ownership marker: only
//! entries carrying it are ever replaced or removed, so the user's own hooks, other tools'
//! hooks and every other key are left byte-for-byte as they were. Install is idempotent
//! (an up-to-date entry is not touched), and install → uninstall gives back the original
//! bytes, except that an event array or `hooks` object that was present but empty before is
//! removed (an emptied one cannot be told apart from one install created).

use serde::Serialize;
use serde_json::Value;

use super::edit::{append_item, insert_member, remove_item, remove_member, replace};
use super::spans::{parse, Node};

/// The ownership marker's key and value.
pub const MARKER: (&str, &str) = ("managed_by", "iorelay");

/// Seconds Claude Code gives the hook before cancelling it (emit's own deadline is 0.5 s).
pub const TIMEOUT_SECS: u32 = 5;

/// The hook events iorelay installs for; `true` when the event concerns a tool (its matcher
/// is `*`), and whether the hook may run `async` (not for `SessionEnd`: Claude Code is exiting
/// and a background hook could be cut off).
pub const EVENTS: &[(&str, bool, bool)] = &[
    ("SessionStart", false, true),
    ("UserPromptSubmit", false, true),
    ("PreToolUse", true, true),
    ("PermissionRequest", true, true),
    ("PostToolUse", true, true),
    ("PostToolUseFailure", true, true),
    ("Notification", false, true),
    ("SubagentStop", false, true),
    ("Stop", false, true),
    ("PreCompact", false, true),
    ("SessionEnd", false, false),
];

#[derive(Serialize)]
struct Group<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    matcher: Option<&'a str>,
    hooks: [Entry<'a>; 1],
}

#[derive(Serialize)]
struct Entry<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    command: &'a str,
    timeout: u32,
    #[serde(rename = "async", skip_serializing_if = "std::ops::Not::not")]
    run_async: bool,
    managed_by: &'a str,
}

fn group<'a>(command: &'a str, tool_event: bool, run_async: bool) -> Group<'a> {
    Group {
        matcher: tool_event.then_some("*"),
        hooks: [Entry {
            kind: "command",
            command,
            timeout: TIMEOUT_SECS,
            run_async,
            managed_by: MARKER.1,
        }],
    }
}

/// The hook `command` for the binary at `binary`: `<binary> emit`, with `--autostart` when
/// the hook should start a relay that is not running, the path quoted for the shell Claude
/// Code runs it with when it needs it.
#[must_use]
pub fn hook_command(binary: &str, autostart: bool) -> String {
    let plain = binary
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+:@%~".contains(c));
    let flag = if autostart { " --autostart" } else { "" };
    if plain && !binary.is_empty() {
        format!("{binary} emit{flag}")
    } else {
        format!("'{}' emit{flag}", binary.replace('\'', r"'\''"))
    }
}

/// The settings text with our entry for every event in [`EVENTS`], running `command`.
/// Empty text (a missing file) starts from `{}`.
///
/// # Errors
/// The text is not JSON, or `hooks` or an event's entry is not the shape Claude Code reads;
/// the message says which, and nothing should be written.
pub fn install(text: &str, command: &str) -> Result<String, String> {
    let mut text = if text.trim().is_empty() {
        "{}\n".to_owned()
    } else {
        text.to_owned()
    };
    for &(event, tool_event, run_async) in EVENTS {
        let desired = group(command, tool_event, run_async);
        let desired_value = serde_json::to_value(&desired).map_err(|e| e.to_string())?;
        let root = root(&text)?;
        let Some(hooks) = root.get("hooks") else {
            let object = std::collections::BTreeMap::from([(event, [&desired])]);
            text = insert_member(&text, &root, "hooks", &object);
            continue;
        };
        if hooks.members().is_none() {
            return Err("\"hooks\" in settings.json is not an object".to_owned());
        }
        let Some(groups) = hooks.get(event) else {
            text = insert_member(&text, hooks, event, &[&desired]);
            continue;
        };
        let Some(items) = groups.items() else {
            return Err(format!(
                "\"hooks.{event}\" in settings.json is not an array"
            ));
        };
        let ours: Vec<&Node> = items.iter().filter(|g| owned_group(&text, g)).collect();
        match ours.first() {
            None => text = append_item(&text, groups, &desired),
            Some(first) if value(&text, first) == desired_value && ours.len() == 1 => {}
            Some(first) => {
                // Stale (another binary path, older fields) or duplicated: one fresh entry.
                let extra = ours.len() - 1;
                text = replace(&text, first, &desired);
                for _ in 0..extra {
                    text = remove_last_owned(&text, event)?;
                }
            }
        }
    }
    Ok(text)
}

/// The settings text without any entry carrying our marker (in any event, in any group).
///
/// # Errors
/// The text is not JSON or not an object.
pub fn uninstall(text: &str) -> Result<String, String> {
    if text.trim().is_empty() {
        return Ok(text.to_owned());
    }
    let mut text = text.to_owned();
    let mut touched: Vec<String> = Vec::new();
    // One removal per pass, re-parsing after each: spans shift with every edit.
    while let Some((event, next)) = remove_one(&text)? {
        text = next;
        if !touched.contains(&event) {
            touched.push(event);
        }
    }
    for event in &touched {
        let root = root(&text)?;
        if let Some(hooks) = root.get("hooks") {
            let members = hooks.members().unwrap_or_default();
            if let Some(index) = members
                .iter()
                .position(|m| &m.key == event && m.value.items().is_some_and(<[Node]>::is_empty))
            {
                text = remove_member(&text, hooks, index);
            }
        }
    }
    if !touched.is_empty() {
        let root = root(&text)?;
        let members = root.members().unwrap_or_default();
        if let Some(index) = members.iter().position(|m| {
            m.key == "hooks"
                && m.value
                    .members()
                    .is_some_and(<[super::spans::Member]>::is_empty)
        }) {
            text = remove_member(&text, &root, index);
        }
    }
    Ok(text)
}

/// What is installed: per event of [`EVENTS`], the commands of our entries (empty: none);
/// then our entries under events not in [`EVENTS`].
///
/// # Errors
/// The text is not JSON.
pub fn status(text: &str) -> Result<Vec<(String, Vec<String>)>, String> {
    if text.trim().is_empty() {
        return Ok(EVENTS
            .iter()
            .map(|e| (e.0.to_owned(), Vec::new()))
            .collect());
    }
    let settings: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let hooks = settings.get("hooks").and_then(Value::as_object);
    let commands = |event: &str| -> Vec<String> {
        hooks
            .and_then(|h| h.get(event))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|g| g.get("hooks").and_then(Value::as_array))
            .flatten()
            .filter(|entry| is_owned(entry))
            .filter_map(|entry| entry.get("command").and_then(Value::as_str))
            .map(str::to_owned)
            .collect()
    };
    let mut out: Vec<(String, Vec<String>)> = EVENTS
        .iter()
        .map(|e| (e.0.to_owned(), commands(e.0)))
        .collect();
    for event in hooks.into_iter().flat_map(|h| h.keys()) {
        if !EVENTS.iter().any(|e| e.0 == event) {
            let found = commands(event);
            if !found.is_empty() {
                out.push((event.clone(), found));
            }
        }
    }
    Ok(out)
}

fn root(text: &str) -> Result<Node, String> {
    let root = parse(text).map_err(|err| format!("settings.json is not valid JSON: {err}"))?;
    if root.members().is_none() {
        return Err("settings.json is not a JSON object".to_owned());
    }
    Ok(root)
}

fn value(text: &str, node: &Node) -> Value {
    serde_json::from_str(&text[node.start..node.end]).unwrap_or(Value::Null)
}

fn is_owned(entry: &Value) -> bool {
    entry.get(MARKER.0).and_then(Value::as_str) == Some(MARKER.1)
}

/// A group all of whose entries are ours.
fn owned_group(text: &str, group: &Node) -> bool {
    let group = value(text, group);
    group
        .get("hooks")
        .and_then(Value::as_array)
        .is_some_and(|entries| !entries.is_empty() && entries.iter().all(is_owned))
}

fn remove_last_owned(text: &str, event: &str) -> Result<String, String> {
    let root = root(text)?;
    let groups = root
        .get("hooks")
        .and_then(|h| h.get(event))
        .ok_or("hooks vanished")?;
    let items = groups.items().unwrap_or_default();
    let index = items
        .iter()
        .rposition(|g| owned_group(text, g))
        .ok_or("no entry to remove")?;
    Ok(remove_item(text, groups, index))
}

/// Removes one of our groups, or one of our entries from a group the user shares with us;
/// returns the event it was under and the new text.
fn remove_one(text: &str) -> Result<Option<(String, String)>, String> {
    let root = root(text)?;
    let Some(hooks) = root.get("hooks") else {
        return Ok(None);
    };
    for member in hooks.members().unwrap_or_default() {
        let groups = &member.value;
        for (index, group) in groups.items().unwrap_or_default().iter().enumerate() {
            if owned_group(text, group) {
                return Ok(Some((member.key.clone(), remove_item(text, groups, index))));
            }
            let Some(entries) = group.get("hooks") else {
                continue;
            };
            for (entry_index, entry) in entries.items().unwrap_or_default().iter().enumerate() {
                if is_owned(&value(text, entry)) {
                    let next = remove_item(text, entries, entry_index);
                    return Ok(Some((member.key.clone(), next)));
                }
            }
        }
    }
    Ok(None)
}

#[cfg(test)]
#[path = "install_tests.rs"]
mod tests;
