//! What a setting's value is and how each layer spells it: text (environment, flags) or a TOML
//! value (the config file), rendered back as TOML for `config show`.
//!
//! Why one `Kind` per shape rather than per setting: a port, a duration in milliseconds or a
//! byte size is validated and reported the same way wherever it appears, so the error a user
//! sees for `IORELAY_PORT=abc` and for `port = "abc"` in the file says the same thing.

use toml::de::DeValue;

/// A setting's value, already validated for its [`Kind`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// Host names, paths, log levels, profiles, secrets.
    Text(String),
    /// Ports, durations, sizes and counts.
    Int(u64),
    /// Switches.
    Bool(bool),
    /// Lists of strings (CORS origins).
    List(Vec<String>),
}

impl Value {
    /// The text, for text kinds (empty for any other).
    #[must_use]
    pub fn text(&self) -> &str {
        match self {
            Self::Text(text) => text,
            _ => "",
        }
    }

    /// The number, for numeric kinds (0 for any other).
    #[must_use]
    pub fn int(&self) -> u64 {
        match self {
            Self::Int(n) => *n,
            _ => 0,
        }
    }

    /// The number as a `usize`, saturating on 32-bit hosts.
    #[must_use]
    pub fn size(&self) -> usize {
        usize::try_from(self.int()).unwrap_or(usize::MAX)
    }

    /// The switch, for `Bool` (false for any other).
    #[must_use]
    pub fn flag(&self) -> bool {
        matches!(self, Self::Bool(true))
    }

    /// The list, for `List` (empty for any other).
    #[must_use]
    pub fn list(&self) -> &[String] {
        match self {
            Self::List(list) => list,
            _ => &[],
        }
    }
}

/// The shape of a setting's value: how it parses, what an error says, how it renders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A host name or IP address.
    Host,
    /// A TCP port, 0-65535.
    Port,
    /// A file-system path.
    Path,
    /// `error`, `warn`, `info` or `debug`.
    LogLevel,
    /// `text` or `json`.
    LogFormat,
    /// A relay profile name.
    Profile,
    /// A secret: shown masked.
    Secret,
    /// A duration in whole milliseconds.
    Millis,
    /// A size in bytes.
    Bytes,
    /// A count of things.
    Count,
    /// A duration in whole days.
    Days,
    /// `true` or `false`.
    Bool,
    /// A list of browser origins (`*` allows every origin).
    Origins,
    /// A list of names (event types or subtypes); may be empty.
    Names,
    /// A Redis key or key prefix: non-empty, no whitespace.
    Key,
}

const LOG_LEVELS: [&str; 4] = ["error", "warn", "info", "debug"];

impl Kind {
    /// What a value of this kind is, for "expected …" messages and docs.
    #[must_use]
    pub fn expected(self) -> &'static str {
        match self {
            Self::Host => "a host name or IP address",
            Self::Port => "a port number (0-65535)",
            Self::Path => "a path",
            Self::LogLevel => "a log level (error, warn, info or debug)",
            Self::LogFormat => "a log format (text or json)",
            Self::Profile => "a profile (default or claude-mpm)",
            Self::Secret => "a non-empty string",
            Self::Millis => "a duration in milliseconds (a whole number)",
            Self::Bytes => "a size in bytes (a whole number)",
            Self::Count => "a whole number",
            Self::Days => "a number of days (a whole number)",
            Self::Bool => "true or false",
            Self::Origins => {
                "a list of origins like \"http://localhost:*\", or \"*\" for any origin"
            }
            Self::Names => "a list of names like \"post_tool_use\" (may be empty)",
            Self::Key => "a Redis key (non-empty, no spaces)",
        }
    }

    /// The placeholder `--help` and the docs show for a flag's value (`--port <PORT>`).
    #[must_use]
    pub fn placeholder(self) -> &'static str {
        match self {
            Self::Host => "HOST",
            Self::Port => "PORT",
            Self::Path => "DIR",
            Self::LogLevel => "LEVEL",
            Self::LogFormat => "FORMAT",
            Self::Profile => "PROFILE",
            Self::Secret => "TOKEN",
            Self::Millis => "MS",
            Self::Bytes => "BYTES",
            Self::Count => "N",
            Self::Days => "DAYS",
            Self::Bool => "BOOL",
            Self::Origins => "ORIGINS",
            Self::Names => "NAMES",
            Self::Key => "KEY",
        }
    }

    /// Parses the text an environment variable or a flag holds.
    ///
    /// # Errors
    /// The text is not a value of this kind: `expected <what>, got "<text>"`.
    pub fn parse_text(self, text: &str) -> Result<Value, String> {
        let wrong = || format!("expected {}, got {text:?}", self.expected());
        let trimmed = text.trim();
        match self {
            Self::Host => {
                let valid = !trimmed.is_empty()
                    && !trimmed.contains(|c: char| c.is_whitespace() || "/?#@".contains(c));
                valid
                    .then(|| Value::Text(trimmed.to_owned()))
                    .ok_or_else(wrong)
            }
            Self::Port => trimmed
                .parse::<u16>()
                .map(|port| Value::Int(u64::from(port)))
                .map_err(|_| wrong()),
            Self::Path | Self::Secret => (!text.is_empty())
                .then(|| Value::Text(text.to_owned()))
                .ok_or_else(wrong),
            Self::LogLevel => {
                let level = match trimmed.to_ascii_lowercase().as_str() {
                    "warning" => "warn".to_owned(),
                    "trace" => "debug".to_owned(),
                    other => other.to_owned(),
                };
                LOG_LEVELS
                    .contains(&level.as_str())
                    .then_some(Value::Text(level))
                    .ok_or_else(wrong)
            }
            Self::LogFormat => crate::lifecycle::LogFormat::parse(trimmed)
                .map(|format| Value::Text(format.name().to_owned()))
                .ok_or_else(wrong),
            Self::Profile => crate::relay::config::Profile::parse(trimmed)
                .map(|profile| Value::Text(profile.name().to_owned()))
                .map_err(|_| wrong()),
            Self::Millis | Self::Bytes | Self::Count | Self::Days => trimmed
                .replace('_', "")
                .parse::<u64>()
                .map(Value::Int)
                .map_err(|_| wrong()),
            Self::Bool => match trimmed.to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" | "on" => Ok(Value::Bool(true)),
                "false" | "0" | "no" | "off" => Ok(Value::Bool(false)),
                _ => Err(wrong()),
            },
            Self::Origins => {
                let list: Vec<String> = trimmed
                    .split(',')
                    .map(str::trim)
                    .filter(|origin| !origin.is_empty())
                    .map(str::to_owned)
                    .collect();
                check_origins(list).map_err(|_| wrong())
            }
            Self::Names => check_names(split_list(trimmed)).map_err(|_| wrong()),
            Self::Key => (!text.is_empty() && !text.contains(char::is_whitespace))
                .then(|| Value::Text(text.to_owned()))
                .ok_or_else(wrong),
        }
    }

    /// Reads a value written in the config file.
    ///
    /// # Errors
    /// The TOML value has the wrong type or is out of range: `expected <what>, got <toml>`.
    pub fn parse_toml(self, value: &DeValue<'_>) -> Result<Value, String> {
        let wrong = || format!("expected {}, got {}", self.expected(), toml_text(value));
        match (self, value) {
            (
                Self::Port | Self::Millis | Self::Bytes | Self::Count | Self::Days,
                DeValue::Integer(n),
            ) => {
                let number = u64::from_str_radix(n.as_str(), n.radix()).map_err(|_| wrong())?;
                if self == Self::Port && u16::try_from(number).is_err() {
                    return Err(wrong());
                }
                Ok(Value::Int(number))
            }
            (Self::Bool, DeValue::Boolean(flag)) => Ok(Value::Bool(*flag)),
            (
                Self::Host
                | Self::Path
                | Self::LogLevel
                | Self::LogFormat
                | Self::Profile
                | Self::Secret
                | Self::Key,
                DeValue::String(text),
            ) => self.parse_text(text).map_err(|_| wrong()),
            (Self::Origins | Self::Names, DeValue::String(text)) => {
                self.parse_text(text).map_err(|_| wrong())
            }
            (Self::Names, DeValue::Array(items)) => {
                let list = items
                    .iter()
                    .map(|item| item.get_ref().as_str().map(str::to_owned))
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(wrong)?;
                check_names(list).map_err(|_| wrong())
            }
            (Self::Origins, DeValue::Array(items)) => {
                let list = items
                    .iter()
                    .map(|item| item.get_ref().as_str().map(str::to_owned))
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(wrong)?;
                check_origins(list).map_err(|_| wrong())
            }
            _ => Err(wrong()),
        }
    }

    /// The value as TOML (`8765`, `"127.0.0.1"`, `["http://localhost:*"]`), secrets masked.
    #[must_use]
    pub fn render(self, value: &Value) -> String {
        match (self, value) {
            (Self::Secret, _) => "\"********\"".to_owned(),
            (_, Value::Text(text)) => quote(text),
            (_, Value::Int(n)) => n.to_string(),
            (_, Value::Bool(flag)) => flag.to_string(),
            (_, Value::List(list)) => {
                let items: Vec<String> = list.iter().map(|item| quote(item)).collect();
                format!("[{}]", items.join(", "))
            }
        }
    }
}

/// A string as a TOML basic string.
#[must_use]
pub fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A TOML value as the user wrote it, near enough for an error message.
fn toml_text(value: &DeValue<'_>) -> String {
    match value {
        DeValue::String(text) => quote(text),
        DeValue::Integer(n) if n.radix() == 10 => n.as_str().to_owned(),
        DeValue::Integer(n) => format!("an integer in base {}", n.radix()),
        DeValue::Float(f) => f.as_str().to_owned(),
        DeValue::Boolean(flag) => flag.to_string(),
        DeValue::Datetime(when) => when.to_string(),
        DeValue::Array(_) => "an array".to_owned(),
        DeValue::Table(_) => "a table".to_owned(),
    }
}

/// The comma-separated items of an environment variable or flag, trimmed, empties dropped.
fn split_list(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Names are snake-case words: letters, digits, `_` and `-`.
fn check_names(list: Vec<String>) -> Result<Value, ()> {
    let valid = |name: &String| {
        !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    };
    if list.iter().all(valid) {
        Ok(Value::List(list))
    } else {
        Err(())
    }
}

/// Origins are `*` or `scheme://host[:port|:*]`.
fn check_origins(list: Vec<String>) -> Result<Value, ()> {
    let valid = |origin: &String| {
        origin == "*"
            || ["http://", "https://"]
                .iter()
                .any(|scheme| origin.len() > scheme.len() && origin.starts_with(scheme))
    };
    if list.iter().all(valid) {
        Ok(Value::List(list))
    } else {
        Err(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toml_value(text: &str) -> toml::Spanned<DeValue<'_>> {
        DeValue::parse(text).unwrap()
    }

    #[test]
    fn a_port_that_is_not_a_number_says_what_was_expected_and_what_came() {
        assert_eq!(
            Kind::Port.parse_text("abc"),
            Err("expected a port number (0-65535), got \"abc\"".to_owned())
        );
        assert_eq!(
            Kind::Port.parse_text("70000"),
            Err("expected a port number (0-65535), got \"70000\"".to_owned())
        );
        assert_eq!(Kind::Port.parse_text(" 3000 "), Ok(Value::Int(3000)));
    }

    #[test]
    fn toml_values_must_have_the_kinds_type() {
        assert_eq!(
            Kind::Port.parse_toml(toml_value("\"8765\"").get_ref()),
            Err("expected a port number (0-65535), got \"8765\"".to_owned())
        );
        assert_eq!(
            Kind::Port.parse_toml(toml_value("65536").get_ref()),
            Err("expected a port number (0-65535), got 65536".to_owned())
        );
        assert_eq!(
            Kind::Millis.parse_toml(toml_value("-5").get_ref()),
            Err("expected a duration in milliseconds (a whole number), got -5".to_owned())
        );
        assert_eq!(
            Kind::Bytes.parse_toml(toml_value("0x10").get_ref()),
            Ok(Value::Int(16))
        );
        assert_eq!(
            Kind::Bool.parse_toml(toml_value("\"yes\"").get_ref()),
            Err("expected true or false, got \"yes\"".to_owned())
        );
    }

    #[test]
    fn log_levels_are_normalised() {
        assert_eq!(
            Kind::LogLevel.parse_text("WARNING"),
            Ok(Value::Text("warn".into()))
        );
        assert_eq!(
            Kind::LogLevel.parse_text("loud"),
            Err("expected a log level (error, warn, info or debug), got \"loud\"".to_owned())
        );
    }

    #[test]
    fn origins_come_comma_separated_from_text_and_as_an_array_from_toml() {
        let both = Value::List(vec!["http://a:*".into(), "https://b".into()]);
        assert_eq!(
            Kind::Origins.parse_text("http://a:*, https://b"),
            Ok(both.clone())
        );
        assert_eq!(
            Kind::Origins.parse_toml(toml_value("[\"http://a:*\", \"https://b\"]").get_ref()),
            Ok(both.clone())
        );
        assert_eq!(
            Kind::Origins.render(&both),
            "[\"http://a:*\", \"https://b\"]"
        );
        assert!(Kind::Origins.parse_text("localhost").is_err());
        assert_eq!(
            Kind::Names.parse_text(" post_tool_use, notification "),
            Ok(Value::List(vec![
                "post_tool_use".to_owned(),
                "notification".to_owned()
            ]))
        );
        assert_eq!(Kind::Names.parse_text(""), Ok(Value::List(Vec::new())));
        assert_eq!(
            Kind::Names.parse_toml(toml_value("[\"stop\"]").get_ref()),
            Ok(Value::List(vec!["stop".to_owned()]))
        );
        assert!(Kind::Names.parse_text("a b").is_err());
    }

    #[test]
    fn secrets_render_masked_and_strings_quoted() {
        assert_eq!(
            Kind::Secret.render(&Value::Text("s3cret".into())),
            "\"********\""
        );
        assert_eq!(
            Kind::Path.render(&Value::Text("C:\\x \"y\"".into())),
            "\"C:\\\\x \\\"y\\\"\""
        );
    }
}
