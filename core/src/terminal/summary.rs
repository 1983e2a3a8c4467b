//! One line per event, as the dashboard summarises it (dashboard/js/model/summary.js): the
//! prompt for a prompt, the tool and what it works on for tool events, the reason for stops,
//! the message for notifications.
//!
//! Why a port rather than something new: a user comparing `iorelay tail` with the dashboard
//! should read the same words for the same event. Pure: reads only the canonical event.

use serde_json::{Map, Value};

/// The longest summary kept (the dashboard's `MAX_SUMMARY`).
pub const MAX_SUMMARY: usize = 300;

/// The event's Claude Code hook name (`PreToolUse`), or its subtype for other events.
#[must_use]
pub fn hook_name(event: &Value) -> String {
    non_empty(event.get("hook_event_name"))
        .or_else(|| string_field(event.get("data"), "hook_event_name"))
        .or_else(|| non_empty(event.get("subtype")))
        .unwrap_or_else(|| "event".to_owned())
}

/// A one-line description of `event`, at most [`MAX_SUMMARY`] characters.
#[must_use]
pub fn summarize(event: &Value) -> String {
    one_line(&describe(event))
}

fn describe(event: &Value) -> String {
    let empty = Value::Object(Map::new());
    let data = event
        .get("data")
        .filter(|d| d.is_object())
        .unwrap_or(&empty);
    let name = hook_name(event);
    let tool = non_empty(event.get("tool_name")).or_else(|| string_field(Some(data), "tool_name"));
    let agent =
        non_empty(event.get("agent_type")).or_else(|| string_field(Some(data), "agent_type"));
    let field = |key: &str| string_field(Some(data), key);
    match name.as_str() {
        "UserPromptSubmit" => field("prompt").unwrap_or_else(|| "(empty prompt)".to_owned()),
        "PreToolUse" | "PostToolUse" => tool_line(tool.as_deref(), data.get("tool_input")),
        "PostToolUseFailure" => joined(&[
            Some(tool_line(tool.as_deref(), data.get("tool_input"))),
            Some("→".to_owned()),
            Some(error_text(data.get("error"))),
        ]),
        "PermissionRequest" => format!(
            "asks to use {}",
            tool_line(tool.as_deref(), data.get("tool_input"))
        ),
        "Notification" => field("message")
            .or_else(|| field("title"))
            .unwrap_or_else(|| "notification".to_owned()),
        "SessionStart" => joined(&[Some("session started".to_owned()), field("source")]),
        "SessionEnd" => joined(&[Some("session ended".to_owned()), reason_of(data)]),
        "Stop" => joined(&[Some("stopped".to_owned()), reason_of(data)]),
        "SubagentStart" => joined(&[
            Some(agent.unwrap_or_else(|| "sub-agent".to_owned())),
            Some("started".to_owned()),
        ]),
        "SubagentStop" => joined(&[
            Some(agent.unwrap_or_else(|| "sub-agent".to_owned())),
            Some("finished".to_owned()),
            reason_of(data),
        ]),
        "PreCompact" => joined(&[
            Some("compacting".to_owned()),
            field("trigger"),
            field("custom_instructions"),
        ]),
        _ => unknown_line(&name, tool.as_deref(), data),
    }
}

/// `Bash ls -la`, `Read /src/main.rs`, `Grep TODO in src/`: the tool and what it works on.
#[must_use]
pub fn tool_line(tool: Option<&str>, input: Option<&Value>) -> String {
    joined(&[Some(tool.unwrap_or("tool").to_owned()), tool_target(input)])
}

/// The part of a tool's input a human recognises it by.
#[must_use]
pub fn tool_target(input: Option<&Value>) -> Option<String> {
    let Some(Value::Object(object)) = input else {
        return match input {
            Some(Value::String(s)) => Some(s.clone()),
            _ => None,
        };
    };
    let input = input?;
    for key in ["command", "file_path", "notebook_path"] {
        if let Some(value) = string_field(Some(input), key) {
            return Some(value);
        }
    }
    if let Some(pattern) = string_field(Some(input), "pattern") {
        let has_path = object.get("path").is_some_and(truthy);
        return Some(joined(&[
            Some(pattern),
            has_path.then(|| "in".to_owned()),
            string_field(Some(input), "path"),
        ]));
    }
    for key in ["url", "query", "description", "prompt"] {
        if let Some(value) = string_field(Some(input), key) {
            return Some(value);
        }
    }
    object.values().find_map(|value| match value {
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        _ => None,
    })
}

fn reason_of(data: &Value) -> Option<String> {
    string_field(Some(data), "reason").or_else(|| string_field(Some(data), "stop_reason"))
}

fn error_text(error: Option<&Value>) -> String {
    match error {
        Some(Value::String(s)) => s.clone(),
        Some(object @ Value::Object(_)) => {
            string_field(Some(object), "message").unwrap_or_else(|| object.to_string())
        }
        _ => "failed".to_owned(),
    }
}

fn unknown_line(name: &str, tool: Option<&str>, data: &Value) -> String {
    for key in [
        "message",
        "reason",
        "prompt",
        "title",
        "text",
        "description",
        "status",
    ] {
        if let Some(value) = string_field(Some(data), key) {
            return joined(&[Some(name.to_owned()), tool.map(str::to_owned), Some(value)]);
        }
    }
    if let Some(tool) = tool {
        return joined(&[
            Some(name.to_owned()),
            Some(tool_line(Some(tool), data.get("tool_input"))),
        ]);
    }
    name.to_owned()
}

/// A string (non-blank), number or boolean member of an object, as text.
fn string_field(object: Option<&Value>, key: &str) -> Option<String> {
    match object?.as_object()?.get(key)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn non_empty(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        _ => None,
    }
}

fn truthy(value: &Value) -> bool {
    match value {
        Value::Null | Value::Bool(false) => false,
        Value::String(s) => !s.is_empty(),
        Value::Number(n) => n.as_f64() != Some(0.0),
        _ => true,
    }
}

fn joined(parts: &[Option<String>]) -> String {
    parts
        .iter()
        .flatten()
        .filter(|part| !part.is_empty())
        .cloned()
        .collect::<Vec<_>>()
        .join(" ")
}

fn one_line(text: &str) -> String {
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() > MAX_SUMMARY {
        let mut cut: String = line.chars().take(MAX_SUMMARY - 1).collect();
        cut.push('…');
        cut
    } else {
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn hook(name: &str, data: Value) -> Value {
        json!({"hook_event_name": name, "data": data})
    }

    #[test]
    fn tool_events_name_the_tool_and_what_it_works_on() {
        let bash = json!({"hook_event_name":"PreToolUse","tool_name":"Bash","data":{"tool_input":{"command":"ls -la"}}});
        assert_eq!(summarize(&bash), "Bash ls -la");
        let grep = hook(
            "PostToolUse",
            json!({"tool_name":"Grep","tool_input":{"pattern":"TODO","path":"src/"}}),
        );
        assert_eq!(summarize(&grep), "Grep TODO in src/");
        let failed = hook(
            "PostToolUseFailure",
            json!({"tool_name":"Read","tool_input":{"file_path":"/x"},"error":{"message":"no such file"}}),
        );
        assert_eq!(summarize(&failed), "Read /x → no such file");
        let asks = hook(
            "PermissionRequest",
            json!({"tool_name":"Write","tool_input":{"file_path":"a.rs"}}),
        );
        assert_eq!(summarize(&asks), "asks to use Write a.rs");
    }

    #[test]
    fn prompts_stops_notifications_and_agents_read_as_the_dashboard_reads_them() {
        assert_eq!(
            summarize(&hook(
                "UserPromptSubmit",
                json!({"prompt":"fix\n the  bug"})
            )),
            "fix the bug"
        );
        assert_eq!(
            summarize(&hook("UserPromptSubmit", json!({}))),
            "(empty prompt)"
        );
        assert_eq!(
            summarize(&hook("Stop", json!({"stop_reason":"end_turn"}))),
            "stopped end_turn"
        );
        assert_eq!(
            summarize(&hook("Notification", json!({"title":"Waiting"}))),
            "Waiting"
        );
        assert_eq!(
            summarize(&hook("SessionStart", json!({"source":"resume"}))),
            "session started resume"
        );
        let agent = json!({"hook_event_name":"SubagentStop","agent_type":"explorer","data":{}});
        assert_eq!(summarize(&agent), "explorer finished");
        assert_eq!(
            summarize(&hook("PreCompact", json!({"trigger":"auto"}))),
            "compacting auto"
        );
    }

    #[test]
    fn unknown_events_show_their_name_and_a_describing_field() {
        let custom = json!({"subtype":"deploy","data":{"status":"green"}});
        assert_eq!(summarize(&custom), "deploy green");
        assert_eq!(summarize(&json!({"data":[]})), "event");
        assert_eq!(
            hook_name(&json!({"subtype":"x","data":{"hook_event_name":"Stop"}})),
            "Stop"
        );
    }

    #[test]
    fn a_long_summary_is_cut_to_the_maximum_with_an_ellipsis() {
        let long = "x".repeat(400);
        let line = summarize(&hook("UserPromptSubmit", json!({ "prompt": long })));
        assert_eq!(line.chars().count(), MAX_SUMMARY);
        assert!(line.ends_with('…'));
    }
}
