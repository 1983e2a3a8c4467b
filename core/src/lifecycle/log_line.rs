//! The relay's log lines: RFC 3339 UTC timestamps, as text or one JSON object per line, and
//! reading them back (`iorelay logs -n`, and `iorelay start` saying why a relay died).
//!
//! Why pure: the runtime reads the clock and writes the file; what a line says is tested here
//! on literal times.

use crate::relay::clock::iso8601;

/// How log lines are written (the `log_format` setting).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum LogFormat {
    /// `2026-11-22T01:02:03.456Z INFO  message`, for people.
    #[default]
    Text,
    /// `{"ts":"2026-11-22T01:02:03.456Z","level":"info","msg":"message"}`, for log shippers.
    Json,
}

impl LogFormat {
    /// Every format's name, for messages.
    pub const NAMES: [&'static str; 2] = ["text", "json"];

    /// The format named `name` (case-insensitive).
    #[must_use]
    pub fn parse(name: &str) -> Option<Self> {
        match name.trim().to_ascii_lowercase().as_str() {
            "text" => Some(Self::Text),
            "json" => Some(Self::Json),
            _ => None,
        }
    }

    /// The format's name in settings.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Json => "json",
        }
    }
}

/// One log line, without its newline: `level` is `ERROR`, `WARN`, `INFO` or `DEBUG`, `unix_ms`
/// the wall time it happened.
#[must_use]
pub fn format_line(format: LogFormat, unix_ms: u64, level: &str, message: &str) -> String {
    let ts = iso8601(unix_ms);
    match format {
        LogFormat::Text => format!("{ts} {level:5} {message}"),
        LogFormat::Json => {
            let line = JsonLine {
                ts: &ts,
                level: &level.to_ascii_lowercase(),
                msg: message,
            };
            serde_json::to_string(&line).unwrap_or_default()
        }
    }
}

/// A JSON log line, its fields in this order.
#[derive(serde::Serialize)]
struct JsonLine<'a> {
    ts: &'a str,
    level: &'a str,
    msg: &'a str,
}

/// The message of a line [`format_line`] wrote in either format; any other line (a panic
/// message, a line printed before logging started) is its own message.
#[must_use]
pub fn message_of(line: &str) -> String {
    let line = line.trim_end();
    if line.starts_with('{') {
        if let Ok(value) = serde_json::from_str::<serde_json::Value>(line) {
            if let Some(message) = value["msg"].as_str() {
                return message.to_owned();
            }
        }
        return line.to_owned();
    }
    let mut words = line.splitn(2, ' ');
    let (Some(ts), Some(rest)) = (words.next(), words.next()) else {
        return line.to_owned();
    };
    let is_time = ts.len() == 24 && ts.ends_with('Z') && ts.as_bytes().get(10) == Some(&b'T');
    let rest = rest.trim_start();
    let level_end = rest.find(' ').unwrap_or(rest.len());
    let is_level = matches!(&rest[..level_end], "ERROR" | "WARN" | "INFO" | "DEBUG");
    if is_time && is_level {
        rest[level_end..].trim_start().to_owned()
    } else {
        line.to_owned()
    }
}

/// The last `n` lines of `text` (all of it when it has fewer), a partial last line included.
#[must_use]
pub fn last_lines(text: &[u8], n: usize) -> &[u8] {
    if n == 0 {
        return &[];
    }
    let body = text.strip_suffix(b"\n").unwrap_or(text);
    let start = body
        .iter()
        .enumerate()
        .rev()
        .filter(|(_, byte)| **byte == b'\n')
        .nth(n - 1)
        .map_or(0, |(index, _)| index + 1);
    &text[start..]
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: u64 = 1_795_309_323_456;

    #[test]
    fn text_lines_carry_an_rfc3339_utc_time_and_a_padded_level() {
        assert_eq!(
            format_line(LogFormat::Text, T, "INFO", "listening on 127.0.0.1:8765"),
            "2026-11-22T01:02:03.456Z INFO  listening on 127.0.0.1:8765"
        );
        assert_eq!(
            format_line(LogFormat::Text, 0, "ERROR", "x"),
            "1970-01-01T00:00:00.000Z ERROR x"
        );
    }

    #[test]
    fn json_lines_are_one_object_with_the_message_escaped() {
        assert_eq!(
            format_line(LogFormat::Json, T, "WARN", "a \"quoted\"\nline"),
            r#"{"ts":"2026-11-22T01:02:03.456Z","level":"warn","msg":"a \"quoted\"\nline"}"#
        );
    }

    #[test]
    fn the_message_is_read_back_from_either_format_and_other_lines_stay_whole() {
        for format in [LogFormat::Text, LogFormat::Json] {
            let line = format_line(format, T, "ERROR", "port 8765 is in use");
            assert_eq!(message_of(&line), "port 8765 is in use", "{line}");
        }
        assert_eq!(
            message_of("iorelay: cannot read config file x: denied\n"),
            "iorelay: cannot read config file x: denied"
        );
        assert_eq!(message_of("{not json"), "{not json");
    }

    #[test]
    fn the_last_lines_are_cut_at_newlines() {
        assert_eq!(last_lines(b"a\nb\nc\n", 2), b"b\nc\n");
        assert_eq!(last_lines(b"a\nb\nc", 2), b"b\nc");
        assert_eq!(last_lines(b"a\nb\n", 5), b"a\nb\n");
        assert_eq!(last_lines(b"a\nb\n", 0), b"");
        assert_eq!(last_lines(b"", 3), b"");
    }

    #[test]
    fn formats_parse_by_name() {
        assert_eq!(LogFormat::parse("JSON"), Some(LogFormat::Json));
        assert_eq!(LogFormat::parse("text"), Some(LogFormat::Text));
        assert_eq!(LogFormat::parse("xml"), None);
    }
}
