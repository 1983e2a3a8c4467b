use serde_json::{json, Value};

use super::*;

const CMD: &str = "/usr/local/bin/iorelay emit";

/// A user's settings with their own hooks, other keys, and their own formatting.
const USER: &str = r#"{
    "model": "opus",
    "permissions": {"allow": ["Bash(ls:*)"]},
    "hooks": {
        "PreToolUse": [
            {
                "matcher": "Bash",
                "hooks": [{"type": "command", "command": "~/guard.sh"}]
            }
        ],
        "Stop": []
    },
    "unknownFutureKey": {"x": [1, 2.50, null]}
}
"#;

fn parsed(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

#[test]
fn install_adds_one_marked_entry_per_event_and_keeps_everything_else() {
    let installed = install(USER, CMD).unwrap();
    let settings = parsed(&installed);
    for &(event, tool_event, run_async) in EVENTS {
        let groups = settings["hooks"][event].as_array().unwrap();
        let ours: Vec<&Value> = groups
            .iter()
            .filter(|g| g["hooks"][0]["managed_by"] == "iorelay")
            .collect();
        assert_eq!(ours.len(), 1, "{event}");
        let entry = &ours[0]["hooks"][0];
        assert_eq!(entry["command"], CMD);
        assert_eq!(entry["type"], "command");
        assert_eq!(entry["timeout"], 5);
        assert_eq!(entry.get("async").is_some(), run_async, "{event}");
        assert_eq!(ours[0].get("matcher").is_some(), tool_event, "{event}");
    }
    assert_eq!(
        settings["hooks"]["PreToolUse"][0],
        json!({"matcher": "Bash", "hooks": [{"type": "command", "command": "~/guard.sh"}]})
    );
    assert_eq!(settings["model"], "opus");
    // Untouched text stays byte-for-byte (2.50 is not reformatted to 2.5).
    assert!(installed.contains(r#""unknownFutureKey": {"x": [1, 2.50, null]}"#));
    assert!(installed.starts_with("{\n    \"model\": \"opus\",\n"));
}

#[test]
fn install_twice_changes_nothing_the_second_time() {
    let once = install(USER, CMD).unwrap();
    assert_eq!(install(&once, CMD).unwrap(), once);
}

#[test]
fn install_install_uninstall_gives_back_the_original_bytes() {
    // "Stop": [] was present but empty: the one documented exception, so use settings without it.
    let original = USER.replace(",\n        \"Stop\": []", "");
    let twice = install(&install(&original, CMD).unwrap(), CMD).unwrap();
    assert_eq!(uninstall(&twice).unwrap(), original);
}

#[test]
fn install_into_settings_without_hooks_and_back() {
    let original = "{\n  \"model\": \"opus\"\n}\n";
    let installed = install(original, CMD).unwrap();
    assert!(installed.contains("\n  \"hooks\": {\n    \"SessionStart\": [\n      {\n"));
    assert_eq!(uninstall(&installed).unwrap(), original);
}

#[test]
fn a_missing_file_gets_a_minimal_document() {
    let installed = install("", CMD).unwrap();
    assert!(
        installed.starts_with("{\n  \"hooks\": {\n    \"SessionStart\": [\n      {\n        \"hooks\": [\n          {\n            \"type\": \"command\",\n"),
        "{installed}"
    );
    assert_eq!(status(&installed).unwrap().len(), EVENTS.len());
    assert!(status(&installed).unwrap().iter().all(|(_, c)| c == &[CMD]));
    assert_eq!(uninstall(&installed).unwrap(), "{}\n");
}

#[test]
fn a_new_binary_path_replaces_our_entry_in_place() {
    let installed = install(USER, CMD).unwrap();
    let moved = install(&installed, "/opt/iorelay emit").unwrap();
    let settings = parsed(&moved);
    assert_eq!(
        settings["hooks"]["Stop"][0]["hooks"][0]["command"],
        "/opt/iorelay emit"
    );
    assert_eq!(settings["hooks"]["Stop"].as_array().unwrap().len(), 1);
    assert_eq!(install(&moved, CMD).unwrap(), installed);
}

#[test]
fn uninstall_removes_only_marked_entries_even_inside_a_shared_group() {
    let shared = r#"{"hooks": {"Stop": [{"hooks": [
        {"type": "command", "command": "mine.sh"},
        {"type": "command", "command": "iorelay emit", "managed_by": "iorelay"}
    ]}]}}"#;
    let removed = uninstall(shared).unwrap();
    assert_eq!(
        parsed(&removed),
        json!({"hooks": {"Stop": [{"hooks": [{"type": "command", "command": "mine.sh"}]}]}})
    );
}

#[test]
fn uninstall_without_our_entries_changes_nothing() {
    assert_eq!(uninstall(USER).unwrap(), USER);
    assert_eq!(uninstall("").unwrap(), "");
}

#[test]
fn status_lists_what_is_installed_per_event() {
    let report = status(USER).unwrap();
    assert!(report.iter().all(|(_, commands)| commands.is_empty()));
    let report = status(&install(USER, CMD).unwrap()).unwrap();
    assert_eq!(report[0], ("SessionStart".to_owned(), vec![CMD.to_owned()]));
}

#[test]
fn settings_of_the_wrong_shape_are_refused() {
    assert!(install("[1]", CMD)
        .unwrap_err()
        .contains("not a JSON object"));
    assert!(install("{\"hooks\": 3}", CMD)
        .unwrap_err()
        .contains("not an object"));
    assert!(install("{\"hooks\": {\"Stop\": {}}}", CMD)
        .unwrap_err()
        .contains("not an array"));
    assert!(install("{oops", CMD)
        .unwrap_err()
        .contains("not valid JSON"));
}

#[test]
fn commands_are_quoted_when_the_path_needs_it() {
    assert_eq!(
        hook_command("/usr/bin/iorelay", false),
        "/usr/bin/iorelay emit"
    );
    assert_eq!(
        hook_command("/Users/a b/iorelay", false),
        "'/Users/a b/iorelay' emit"
    );
    assert_eq!(hook_command("/x/it's", false), r"'/x/it'\''s' emit");
}

#[test]
fn autostarting_hooks_pass_the_flag_after_emit() {
    assert_eq!(
        hook_command("/usr/bin/iorelay", true),
        "/usr/bin/iorelay emit --autostart"
    );
    assert_eq!(
        hook_command("/Users/a b/iorelay", true),
        "'/Users/a b/iorelay' emit --autostart"
    );
}
