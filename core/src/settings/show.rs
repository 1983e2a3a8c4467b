//! What `config show` prints, and the settings reference in docs/operations.md.
//!
//! Why TOML with comments: the output can be pasted into a config file as it is, and the
//! trailing `# source` says which layer to change to change a value.

use std::fmt::Write as _;

use super::table::SETTINGS;
use super::value::{quote, Kind};
use super::Settings;

/// Values are padded to this width before their `# source` comment, unless longer.
const COMMENT_COLUMN: usize = 36;

impl Settings {
    /// Every effective value as `key = value    # source`, secrets masked, then the routing
    /// table and namespace policies as TOML tables.
    #[must_use]
    pub fn show(&self) -> String {
        let mut out =
            String::from("# iorelay settings; layers, lowest first: default, env, file, flag\n");
        match &self.config_file {
            Some((path, true)) => {
                let _ = writeln!(out, "# config file: {path}");
            }
            Some((path, false)) => {
                let _ = writeln!(out, "# config file: {path} (not found)");
            }
            None => out.push_str("# config file: none\n"),
        }
        for (setting, source) in SETTINGS.iter().zip(&self.sources) {
            let line = match (setting.get)(self) {
                Some(value) => format!("{} = {}", setting.key, setting.kind.render(&value)),
                None => format!("# {} is not set", setting.key),
            };
            let _ = writeln!(out, "{line:<COMMENT_COLUMN$}  # {source}");
        }
        let _ = writeln!(out, "\n# routes: {}", self.routes_source);
        for route in &self.config.relay.routes {
            out.push_str("[[routes]]\n");
            let _ = writeln!(out, "subtypes = {}", list(&route.subtypes));
            if !route.tools.is_empty() {
                let _ = writeln!(out, "tools = {}", list(&route.tools));
            }
            let _ = writeln!(out, "nsp = {}", quote(&route.nsp));
            let _ = writeln!(out, "event = {}\n", quote(&route.event));
        }
        let _ = writeln!(out, "# namespaces: {}", self.namespaces_source);
        for namespace in &self.config.relay.namespaces {
            let _ = writeln!(out, "[namespaces.{}]", quote(&namespace.nsp));
            let _ = writeln!(out, "policy = {}", quote(namespace.policy.name()));
            let _ = writeln!(out, "buffer = {}\n", namespace.buffer);
        }
        while out.ends_with("\n\n") {
            out.pop();
        }
        out
    }
}

fn list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|item| quote(item)).collect();
    format!("[{}]", quoted.join(", "))
}

/// The settings reference as a Markdown table: key, environment variables, flag, default and
/// description of every setting. docs/operations.md embeds it (a test keeps them equal).
#[must_use]
pub fn reference_markdown() -> String {
    let defaults = Settings::defaults(false, &[]);
    let mut out = String::from(
        "| key | environment | flag | default | what it does |\n| --- | --- | --- | --- | --- |\n",
    );
    for setting in SETTINGS {
        let env: Vec<String> = setting.env.iter().map(|var| format!("`{var}`")).collect();
        let flag = if setting.kind == Kind::Bool {
            format!("`--{}`", setting.flag)
        } else {
            format!("`--{} <{}>`", setting.flag, setting.kind.placeholder())
        };
        let default = match (setting.default_note, (setting.get)(&defaults)) {
            (Some(note), _) => note.to_owned(),
            (None, Some(value)) => format!("`{}`", setting.kind.render(&value)),
            (None, None) => "not set".to_owned(),
        };
        let _ = writeln!(
            out,
            "| `{}` | {} | {flag} | {default} | {}. |",
            setting.key,
            env.join(", "),
            setting.about.replace('|', "\\|")
        );
    }
    out
}

/// What `--help` says about a setting's flag: its description, variables and its value in
/// `defaults` (built once by the caller for all its flags: a relay builds its command line
/// at every start, and every `iorelay emit` too).
#[must_use]
pub(crate) fn flag_help(setting: &super::Setting, defaults: &Settings) -> String {
    let default = match (setting.default_note, (setting.get)(defaults)) {
        (Some(note), _) => note.to_owned(),
        (None, Some(value)) => setting.kind.render(&value),
        (None, None) => "not set".to_owned(),
    };
    format!(
        "{} [env: {}] [default: {default}]",
        setting.about,
        setting.env.join(", ")
    )
}
