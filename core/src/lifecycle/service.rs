//! The user service that keeps a relay running: the systemd user unit (Linux) and the
//! launchd agent (macOS) `iorelay service install` writes.
//!
//! Why pure: the files are the product here; their text is tested literally (and with
//! `systemd-analyze verify` by the runtime's tests where it exists), while the runtime only
//! finds the paths and writes them.

/// The systemd user unit's file name (`~/.config/systemd/user/iorelay.service`).
pub const SYSTEMD_UNIT: &str = "iorelay.service";

/// The launchd agent's label (`~/Library/LaunchAgents/dev.iorelay.relay.plist`).
pub const LAUNCHD_LABEL: &str = "dev.iorelay.relay";

/// What the service runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceSpec {
    /// The binary, an absolute path.
    pub program: String,
    /// Its arguments (`serve --daemon` and the settings' flags).
    pub args: Vec<String>,
    /// Environment variables it runs with (the `IORELAY_*` settings at install time).
    pub env: Vec<(String, String)>,
    /// Where its output goes (the relay's log file), for launchd, which needs a path.
    pub log_path: String,
}

/// The systemd user unit: runs the relay, restarts it when it fails (not after `iorelay
/// stop`, which exits 0), and starts it with the user's session once enabled.
#[must_use]
pub fn systemd_unit(spec: &ServiceSpec) -> String {
    let command: Vec<String> = std::iter::once(&spec.program)
        .chain(&spec.args)
        .map(|arg| systemd_word(arg))
        .collect();
    let mut unit = String::from(
        "[Unit]\n\
         Description=iorelay, the real-time event relay for AI coding agents\n\
         \n\
         [Service]\n\
         Type=simple\n",
    );
    unit.push_str(&format!("ExecStart={}\n", command.join(" ")));
    for (key, value) in &spec.env {
        unit.push_str(&format!(
            "Environment={}\n",
            systemd_quoted(&format!("{key}={value}"))
        ));
    }
    unit.push_str(
        "Restart=on-failure\n\
         RestartSec=2\n\
         \n\
         [Install]\n\
         WantedBy=default.target\n",
    );
    unit
}

/// The command that loads and starts the installed unit.
#[must_use]
pub fn systemd_enable_command() -> String {
    format!("systemctl --user daemon-reload && systemctl --user enable --now {SYSTEMD_UNIT}")
}

/// The command that stops the unit and keeps it from starting again.
#[must_use]
pub fn systemd_disable_command() -> String {
    format!("systemctl --user disable --now {SYSTEMD_UNIT}")
}

/// The launchd agent: runs the relay at login, restarts it when it exits unsuccessfully.
#[must_use]
pub fn launchd_plist(spec: &ServiceSpec) -> String {
    let mut plist = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" \
         \"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n\
         <plist version=\"1.0\">\n\
         <dict>\n",
    );
    let string = |text: &str| format!("<string>{}</string>", xml_escaped(text));
    plist.push_str(&format!(
        "  <key>Label</key>\n  {}\n  <key>ProgramArguments</key>\n  <array>\n",
        string(LAUNCHD_LABEL)
    ));
    for arg in std::iter::once(&spec.program).chain(&spec.args) {
        plist.push_str(&format!("    {}\n", string(arg)));
    }
    plist.push_str("  </array>\n");
    if !spec.env.is_empty() {
        plist.push_str("  <key>EnvironmentVariables</key>\n  <dict>\n");
        for (key, value) in &spec.env {
            plist.push_str(&format!(
                "    <key>{}</key>\n    {}\n",
                xml_escaped(key),
                string(value)
            ));
        }
        plist.push_str("  </dict>\n");
    }
    plist.push_str(
        "  <key>RunAtLoad</key>\n  <true/>\n  <key>KeepAlive</key>\n  <dict>\n    \
         <key>SuccessfulExit</key>\n    <false/>\n  </dict>\n",
    );
    for key in ["StandardOutPath", "StandardErrorPath"] {
        plist.push_str(&format!(
            "  <key>{key}</key>\n  {}\n",
            string(&spec.log_path)
        ));
    }
    plist.push_str("</dict>\n</plist>\n");
    plist
}

/// The command that loads the installed agent (`plist` is its path).
#[must_use]
pub fn launchd_enable_command(plist: &str) -> String {
    format!("launchctl bootstrap gui/$(id -u) {}", shell_word(plist))
}

/// The command that unloads the agent.
#[must_use]
pub fn launchd_disable_command() -> String {
    format!("launchctl bootout gui/$(id -u)/{LAUNCHD_LABEL}")
}

/// One word of a systemd command line: bare when it is plain, else double-quoted; `%` and `$`
/// are doubled so systemd expands neither.
fn systemd_word(arg: &str) -> String {
    let plain = !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+:@,=".contains(c));
    if plain {
        arg.to_owned()
    } else {
        systemd_quoted(arg)
    }
}

fn systemd_quoted(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '%' => out.push_str("%%"),
            '$' => out.push_str("$$"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn xml_escaped(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A word for a POSIX shell: bare when plain, else single-quoted.
fn shell_word(text: &str) -> String {
    if !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+:@".contains(c))
    {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(program: &str, args: &[&str], env: &[(&str, &str)]) -> ServiceSpec {
        ServiceSpec {
            program: program.to_owned(),
            args: args.iter().map(|a| (*a).to_owned()).collect(),
            env: env
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            log_path: "/home/me/.local/state/iorelay/relay.log".to_owned(),
        }
    }

    #[test]
    fn the_systemd_unit_runs_the_binary_restarts_on_failure_and_starts_with_the_session() {
        let unit = systemd_unit(&spec(
            "/usr/local/bin/iorelay",
            &["serve", "--daemon", "--port", "9000"],
            &[("IORELAY_LOG", "debug")],
        ));
        assert_eq!(
            unit,
            "[Unit]\n\
             Description=iorelay, the real-time event relay for AI coding agents\n\
             \n\
             [Service]\n\
             Type=simple\n\
             ExecStart=/usr/local/bin/iorelay serve --daemon --port 9000\n\
             Environment=\"IORELAY_LOG=debug\"\n\
             Restart=on-failure\n\
             RestartSec=2\n\
             \n\
             [Install]\n\
             WantedBy=default.target\n"
        );
    }

    #[test]
    fn systemd_words_with_spaces_quotes_percent_or_dollar_are_quoted_and_escaped() {
        let unit = systemd_unit(&spec(
            "/opt/my tools/iorelay",
            &["serve", "--config", "/c/100% \"x\"$HOME"],
            &[("IORELAY_DATA_DIR", "/d/a b")],
        ));
        assert!(unit.contains(
            "ExecStart=\"/opt/my tools/iorelay\" serve --config \"/c/100%% \\\"x\\\"$$HOME\"\n"
        ));
        assert!(unit.contains("Environment=\"IORELAY_DATA_DIR=/d/a b\"\n"));
    }

    #[test]
    fn the_launchd_agent_runs_at_load_and_keeps_a_failed_relay_alive() {
        let plist = launchd_plist(&spec(
            "/usr/local/bin/iorelay",
            &["serve", "--daemon"],
            &[("IORELAY_PORT", "9000")],
        ));
        assert_eq!(
            plist,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
             <!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" \
             \"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n\
             <plist version=\"1.0\">\n\
             <dict>\n  \
             <key>Label</key>\n  <string>dev.iorelay.relay</string>\n  \
             <key>ProgramArguments</key>\n  <array>\n    \
             <string>/usr/local/bin/iorelay</string>\n    <string>serve</string>\n    \
             <string>--daemon</string>\n  </array>\n  \
             <key>EnvironmentVariables</key>\n  <dict>\n    \
             <key>IORELAY_PORT</key>\n    <string>9000</string>\n  </dict>\n  \
             <key>RunAtLoad</key>\n  <true/>\n  \
             <key>KeepAlive</key>\n  <dict>\n    <key>SuccessfulExit</key>\n    <false/>\n  \
             </dict>\n  \
             <key>StandardOutPath</key>\n  \
             <string>/home/me/.local/state/iorelay/relay.log</string>\n  \
             <key>StandardErrorPath</key>\n  \
             <string>/home/me/.local/state/iorelay/relay.log</string>\n\
             </dict>\n</plist>\n"
        );
    }

    #[test]
    fn plist_strings_are_xml_escaped() {
        let plist = launchd_plist(&spec("/a&b/<iorelay>", &[], &[]));
        assert!(plist.contains("<string>/a&amp;b/&lt;iorelay&gt;</string>"));
        assert!(!plist.contains("EnvironmentVariables"));
    }

    #[test]
    fn the_enable_commands_are_one_line_each() {
        assert_eq!(
            systemd_enable_command(),
            "systemctl --user daemon-reload && systemctl --user enable --now iorelay.service"
        );
        assert_eq!(
            launchd_enable_command("/Users/me/Library/LaunchAgents/dev.iorelay.relay.plist"),
            "launchctl bootstrap gui/$(id -u) /Users/me/Library/LaunchAgents/dev.iorelay.relay.plist"
        );
        assert_eq!(
            launchd_enable_command("/Users/a b/x.plist"),
            "launchctl bootstrap gui/$(id -u) '/Users/a b/x.plist'"
        );
    }
}
