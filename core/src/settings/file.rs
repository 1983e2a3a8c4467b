//! The config file layer: a TOML document read into setting values, the routing table and
//! namespace policies, with every problem reported at its line.
//!
//! Why the spanned `DeTable` rather than serde: unknown keys must be refused by name with the
//! line they are on and a suggestion, and values must be checked by the same [`Kind`] rules
//! as the environment and flags; a derived struct would say neither as clearly.

use std::ops::Range;

use toml::de::{DeTable, DeValue};
use toml::Spanned;

use super::error::{unknown_key, SettingsError};
use super::table::{Setting, SETTINGS};
use super::value::Value;
use crate::relay::config::{BufferPolicy, Route};

/// Keys of the file that are tables rather than settings.
const TABLE_KEYS: [&str; 2] = ["routes", "namespaces"];

/// What the config file sets.
#[derive(Debug, Default)]
pub(super) struct FileLayer {
    /// Settings it names, with their values.
    pub values: Vec<(&'static Setting, Value)>,
    /// `[[routes]]`: when present, the whole routing table.
    pub routes: Option<Vec<Route>>,
    /// `[namespaces."/nsp"]`: changes to (or additions of) typed namespaces.
    pub namespaces: Vec<NamespaceChange>,
}

/// One `[namespaces."/nsp"]` table: what it changes about that namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct NamespaceChange {
    /// The namespace.
    pub nsp: String,
    /// Its new buffer policy, if given.
    pub policy: Option<BufferPolicy>,
    /// Its new buffer size, if given.
    pub buffer: Option<usize>,
}

/// Reads the document `text` from `path`.
///
/// # Errors
/// TOML syntax, an unknown key, or a value of the wrong kind, at its line.
pub(super) fn read(path: &str, text: &str) -> Result<FileLayer, SettingsError> {
    let doc = Doc { path, text };
    let table = DeTable::parse(text).map_err(|err| {
        let span = err.span().unwrap_or(0..0);
        let (line, column) = doc.position(span.start);
        SettingsError::File {
            path: path.to_owned(),
            line,
            message: format!("column {column}: invalid TOML: {}", err.message().trim()),
        }
    })?;
    let mut layer = FileLayer::default();
    for (key, value) in table.get_ref() {
        let name = key.get_ref().as_ref();
        match name {
            "routes" => layer.routes = Some(doc.routes(value)?),
            "namespaces" => layer.namespaces = doc.namespaces(value)?,
            _ => {
                let known = SETTINGS.iter().map(|s| s.key).chain(TABLE_KEYS);
                let setting = Setting::named(name)
                    .ok_or_else(|| doc.error(key.span(), unknown_key(name, known)))?;
                let parsed = setting
                    .kind
                    .parse_toml(value.get_ref())
                    .map_err(|message| doc.error(value.span(), format!("{name}: {message}")))?;
                layer.values.push((setting, parsed));
            }
        }
    }
    Ok(layer)
}

/// The document being read, for turning byte offsets into lines.
struct Doc<'a> {
    path: &'a str,
    text: &'a str,
}

impl Doc<'_> {
    /// 1-based line and column of byte `offset`.
    fn position(&self, offset: usize) -> (usize, usize) {
        let before = self.text.get(..offset).unwrap_or(self.text);
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        (line, column)
    }

    fn error(&self, span: Range<usize>, message: String) -> SettingsError {
        SettingsError::File {
            path: self.path.to_owned(),
            line: self.position(span.start).0,
            message,
        }
    }

    /// `[[routes]]`: an array of tables with `subtypes`, `tools`, `nsp` and `event`.
    fn routes(&self, value: &Spanned<DeValue<'_>>) -> Result<Vec<Route>, SettingsError> {
        let DeValue::Array(items) = value.get_ref() else {
            return Err(self.error(
                value.span(),
                "routes: expected [[routes]] tables".to_owned(),
            ));
        };
        items
            .iter()
            .enumerate()
            .map(|(index, item)| self.route(&format!("routes[{index}]"), item))
            .collect()
    }

    fn route(&self, at: &str, item: &Spanned<DeValue<'_>>) -> Result<Route, SettingsError> {
        let table = self.table(at, item)?;
        let mut route = Route {
            subtypes: Vec::new(),
            tools: Vec::new(),
            nsp: String::new(),
            event: String::new(),
        };
        for (key, value) in table {
            let name = key.get_ref().as_ref();
            let at = format!("{at}.{name}");
            match name {
                "subtypes" => route.subtypes = self.strings(&at, value)?,
                "tools" => route.tools = self.strings(&at, value)?,
                "nsp" => route.nsp = self.namespace_name(&at, value)?,
                "event" => route.event = self.string(&at, value)?,
                _ => {
                    let known = ["subtypes", "tools", "nsp", "event"];
                    return Err(
                        self.error(key.span(), format!("{at}: {}", unknown_key(name, known)))
                    );
                }
            }
        }
        let missing = [
            ("subtypes", route.subtypes.is_empty()),
            ("nsp", route.nsp.is_empty()),
            ("event", route.event.is_empty()),
        ];
        match missing.iter().find(|(_, absent)| *absent) {
            Some((name, _)) => Err(self.error(
                item.span(),
                format!("{at}: needs {name:?} (every route has subtypes, nsp and event)"),
            )),
            None => Ok(route),
        }
    }

    /// `[namespaces."/nsp"]` tables with `policy` and `buffer`.
    fn namespaces(
        &self,
        value: &Spanned<DeValue<'_>>,
    ) -> Result<Vec<NamespaceChange>, SettingsError> {
        let table = self.table("namespaces", value)?;
        let mut changes = Vec::new();
        for (key, value) in table {
            let nsp = key.get_ref().as_ref();
            let at = format!("namespaces.{}", super::value::quote(nsp));
            if !nsp.starts_with('/') {
                return Err(self.error(
                    key.span(),
                    format!("{at}: a namespace starts with \"/\", e.g. [namespaces.\"/tools\"]"),
                ));
            }
            let mut change = NamespaceChange {
                nsp: nsp.to_owned(),
                policy: None,
                buffer: None,
            };
            for (field, value) in self.table(&at, value)? {
                let name = field.get_ref().as_ref();
                let at = format!("{at}.{name}");
                match name {
                    "policy" => {
                        let policy =
                            BufferPolicy::parse(&self.string(&at, value)?).map_err(|message| {
                                self.error(value.span(), format!("{at}: {message}"))
                            })?;
                        change.policy = Some(policy);
                    }
                    "buffer" => {
                        let size = super::value::Kind::Count
                            .parse_toml(value.get_ref())
                            .map_err(|message| {
                                self.error(value.span(), format!("{at}: {message}"))
                            })?;
                        change.buffer = Some(size.size());
                    }
                    _ => {
                        let known = ["policy", "buffer"];
                        return Err(
                            self.error(field.span(), format!("{at}: {}", unknown_key(name, known)))
                        );
                    }
                }
            }
            changes.push(change);
        }
        Ok(changes)
    }

    fn table<'v, 'i>(
        &self,
        at: &str,
        value: &'v Spanned<DeValue<'i>>,
    ) -> Result<&'v DeTable<'i>, SettingsError> {
        match value.get_ref() {
            DeValue::Table(table) => Ok(table),
            _ => Err(self.error(value.span(), format!("{at}: expected a table"))),
        }
    }

    fn string(&self, at: &str, value: &Spanned<DeValue<'_>>) -> Result<String, SettingsError> {
        match value.get_ref() {
            DeValue::String(text) if !text.is_empty() => Ok(text.to_string()),
            _ => Err(self.error(value.span(), format!("{at}: expected a non-empty string"))),
        }
    }

    fn namespace_name(
        &self,
        at: &str,
        value: &Spanned<DeValue<'_>>,
    ) -> Result<String, SettingsError> {
        let name = self.string(at, value)?;
        if name.starts_with('/') {
            Ok(name)
        } else {
            Err(self.error(
                value.span(),
                format!("{at}: a namespace starts with \"/\", got {name:?}"),
            ))
        }
    }

    /// An array of strings, or one string as a list of one.
    fn strings(
        &self,
        at: &str,
        value: &Spanned<DeValue<'_>>,
    ) -> Result<Vec<String>, SettingsError> {
        let wrong = || self.error(value.span(), format!("{at}: expected an array of strings"));
        match value.get_ref() {
            DeValue::String(text) => Ok(vec![text.to_string()]),
            DeValue::Array(items) => items
                .iter()
                .map(|item| item.get_ref().as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(wrong),
            _ => Err(wrong()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(text: &str) -> String {
        read("/home/u/.config/iorelay/config.toml", text)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn settings_are_read_with_their_kinds() {
        let layer = read("c.toml", "port = 9000\nlog = \"debug\"\n").unwrap();
        let values: Vec<(&str, Value)> = layer
            .values
            .iter()
            .map(|(s, v)| (s.key, v.clone()))
            .collect();
        assert_eq!(
            values,
            [
                ("log", Value::Text("debug".into())),
                ("port", Value::Int(9000))
            ]
        );
    }

    #[test]
    fn an_unknown_key_is_named_with_its_line_and_the_nearest_key() {
        assert_eq!(
            error("port = 9000\n\nprot = 9001\n"),
            "/home/u/.config/iorelay/config.toml:3: unknown key \"prot\" (did you mean \"port\"?)"
        );
    }

    #[test]
    fn a_syntax_error_names_its_line_and_column() {
        let message = error("port = 9000\nhost = \n");
        assert!(
            message.starts_with("/home/u/.config/iorelay/config.toml:2: column "),
            "{message}"
        );
        assert!(message.contains("invalid TOML"), "{message}");
    }

    #[test]
    fn a_wrong_value_names_the_key_its_line_and_what_was_expected() {
        assert_eq!(
            error("\nport = \"abc\"\n"),
            "/home/u/.config/iorelay/config.toml:2: port: expected a port number (0-65535), got \"abc\""
        );
    }

    #[test]
    fn routes_replace_the_table_and_namespaces_change_policies() {
        let text = r#"
[[routes]]
subtypes = ["pre_tool_use", "post_tool_use"]
tools = ["Bash"]
nsp = "/shell"
event = "command"

[namespaces."/shell"]
policy = "always_buffer"
buffer = 50
"#;
        let layer = read("c.toml", text).unwrap();
        assert_eq!(
            layer.routes,
            Some(vec![Route {
                subtypes: vec!["pre_tool_use".into(), "post_tool_use".into()],
                tools: vec!["Bash".into()],
                nsp: "/shell".into(),
                event: "command".into(),
            }])
        );
        assert_eq!(
            layer.namespaces,
            [NamespaceChange {
                nsp: "/shell".into(),
                policy: Some(BufferPolicy::AlwaysBuffer),
                buffer: Some(50),
            }]
        );
    }

    #[test]
    fn route_and_namespace_mistakes_are_named() {
        assert_eq!(
            error("[[routes]]\nsubtypes = [\"x\"]\nnsp = \"/a\"\nevnt = \"y\"\n"),
            "/home/u/.config/iorelay/config.toml:4: routes[0].evnt: unknown key \"evnt\" (did you mean \"event\"?)"
        );
        assert_eq!(
            error("[[routes]]\nsubtypes = [\"x\"]\nnsp = \"/a\"\n"),
            "/home/u/.config/iorelay/config.toml:1: routes[0]: needs \"event\" (every route has subtypes, nsp and event)"
        );
        assert_eq!(
            error("[namespaces.\"/tools\"]\npolicy = \"sometimes\"\n"),
            "/home/u/.config/iorelay/config.toml:2: namespaces.\"/tools\".policy: unknown buffer policy \"sometimes\": expected buffer_if_no_clients, drop_if_no_clients, always_send or always_buffer"
        );
        assert_eq!(
            error("[namespaces.tools]\npolicy = \"always_send\"\n"),
            "/home/u/.config/iorelay/config.toml:1: namespaces.\"tools\": a namespace starts with \"/\", e.g. [namespaces.\"/tools\"]"
        );
    }
}
