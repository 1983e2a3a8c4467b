//! `iorelay-std hooks install|uninstall|status` on a real settings.json under a fake HOME.

use std::path::Path;
use std::process::{Command, Output};

const ORIGINAL: &str = r#"{
  "permissions": {
    "allow": ["Bash(git status)"]
  },
  "hooks": {
    "PreToolUse": [
      {
        "matcher": "Bash",
        "hooks": [
          {
            "type": "command",
            "command": "~/bin/guard.sh",
            "timeout": 10
          }
        ]
      }
    ]
  },
  "someFutureSetting": true
}
"#;

fn hooks(home: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_iorelay-std"))
        .arg("hooks")
        .args(args)
        .args(["--command", "/opt/iorelay/bin/iorelay"])
        .env("HOME", home)
        .output()
        .unwrap()
}

#[test]
fn install_install_uninstall_leaves_settings_byte_identical() {
    let home = std::env::temp_dir().join(format!("iorelay-hooks-home-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&home);
    std::fs::create_dir_all(home.join(".claude")).unwrap();
    let settings = home.join(".claude").join("settings.json");
    std::fs::write(&settings, ORIGINAL).unwrap();

    let dry = hooks(&home, &["install", "--dry-run"]);
    assert!(dry.status.success(), "{dry:?}");
    let diff = String::from_utf8(dry.stdout).unwrap();
    assert!(
        diff.contains("+            \"command\": \"/opt/iorelay/bin/iorelay emit --autostart\","),
        "{diff}"
    );
    assert_eq!(std::fs::read_to_string(&settings).unwrap(), ORIGINAL);

    assert!(hooks(&home, &["install"]).status.success());
    let once = std::fs::read_to_string(&settings).unwrap();
    let parsed: serde_json::Value = serde_json::from_str(&once).unwrap();
    assert_eq!(
        parsed["hooks"]["PreToolUse"][0]["hooks"][0]["command"],
        "~/bin/guard.sh"
    );
    assert_eq!(parsed["hooks"]["PreToolUse"].as_array().unwrap().len(), 2);

    let again = hooks(&home, &["install"]);
    assert!(String::from_utf8_lossy(&again.stdout).contains("already up to date"));
    assert_eq!(std::fs::read_to_string(&settings).unwrap(), once);

    let status = hooks(&home, &["status", "--user"]);
    assert!(String::from_utf8_lossy(&status.stdout).contains("iorelay hooks on 11 of 11 events"));

    assert!(hooks(&home, &["uninstall"]).status.success());
    assert_eq!(std::fs::read_to_string(&settings).unwrap(), ORIGINAL);
    std::fs::remove_dir_all(&home).unwrap();
}

#[test]
fn a_settings_file_that_is_not_json_is_left_alone_with_an_error() {
    let home = std::env::temp_dir().join(format!("iorelay-hooks-bad-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&home);
    std::fs::create_dir_all(home.join(".claude")).unwrap();
    let settings = home.join(".claude").join("settings.json");
    std::fs::write(&settings, "{ not json").unwrap();
    let output = hooks(&home, &["install"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("not valid JSON"));
    assert_eq!(std::fs::read_to_string(&settings).unwrap(), "{ not json");
    std::fs::remove_dir_all(&home).unwrap();
}
