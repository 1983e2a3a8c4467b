//! Why a configuration was refused, said so the user can fix it: which variable, flag or file
//! line, what was expected, what was there, and for a misspelt key what was probably meant.

use std::fmt;

/// A setting that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SettingsError {
    /// An environment variable holds a value of the wrong kind.
    Env {
        /// The variable, e.g. `IORELAY_PORT`.
        var: &'static str,
        /// What was expected and what was found.
        message: String,
    },
    /// A flag holds a value of the wrong kind.
    Flag {
        /// The flag without `--`.
        flag: &'static str,
        /// What was expected and what was found.
        message: String,
    },
    /// The config file is not TOML, names an unknown key, or holds a wrong value.
    File {
        /// The file's path.
        path: String,
        /// 1-based line of the problem.
        line: usize,
        /// The key path and what is wrong with it.
        message: String,
    },
}

impl fmt::Display for SettingsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Env { var, message } => write!(f, "{var}: {message}"),
            Self::Flag { flag, message } => write!(f, "--{flag}: {message}"),
            Self::File {
                path,
                line,
                message,
            } => write!(f, "{path}:{line}: {message}"),
        }
    }
}

impl std::error::Error for SettingsError {}

/// "unknown key "x"" with a "did you mean" when one of `known` is close to it.
#[must_use]
pub fn unknown_key<'a>(key: &str, known: impl IntoIterator<Item = &'a str>) -> String {
    match suggest(key, known) {
        Some(near) => format!("unknown key {key:?} (did you mean {near:?}?)"),
        None => format!("unknown key {key:?}"),
    }
}

/// The candidate nearest `word`, if it is near enough to be what was meant: within a few
/// edits (about one in three letters), or `word` is a prefix of it (`ping_interval` for
/// `ping_interval_ms`).
fn suggest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let normal = word.to_ascii_lowercase().replace('-', "_");
    let limit = (normal.len() / 3).max(2);
    candidates
        .into_iter()
        .filter_map(|candidate| {
            let distance = if candidate.starts_with(&normal) && normal.len() >= 3 {
                1
            } else {
                edit_distance(&normal, candidate)
            };
            (distance <= limit).then_some((distance, candidate))
        })
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

/// Levenshtein distance over characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = if ca == *cb {
                diagonal
            } else {
                1 + diagonal.min(above).min(row[j])
            };
            diagonal = above;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEYS: [&str; 4] = ["port", "host", "ping_interval_ms", "max_payload"];

    #[test]
    fn a_misspelt_key_gets_the_nearest_known_one() {
        assert_eq!(
            unknown_key("prot", KEYS),
            "unknown key \"prot\" (did you mean \"port\"?)"
        );
        assert_eq!(
            unknown_key("max-payload", KEYS),
            "unknown key \"max-payload\" (did you mean \"max_payload\"?)"
        );
        assert_eq!(
            unknown_key("ping_interval", KEYS),
            "unknown key \"ping_interval\" (did you mean \"ping_interval_ms\"?)"
        );
    }

    #[test]
    fn a_key_like_nothing_known_gets_no_suggestion() {
        assert_eq!(unknown_key("colour", KEYS), "unknown key \"colour\"");
    }

    #[test]
    fn errors_name_where_the_value_came_from() {
        let env = SettingsError::Env {
            var: "IORELAY_PORT",
            message: "expected a port number (0-65535), got \"abc\"".into(),
        };
        assert_eq!(
            env.to_string(),
            "IORELAY_PORT: expected a port number (0-65535), got \"abc\""
        );
        let file = SettingsError::File {
            path: "/etc/iorelay.toml".into(),
            line: 3,
            message: "unknown key \"prot\"".into(),
        };
        assert_eq!(
            file.to_string(),
            "/etc/iorelay.toml:3: unknown key \"prot\""
        );
    }
}
