//! What `emit` needs to know: where the relay is, the token, the state directory, the deadline.
//!
//! Why one function builds it: the layered settings (defaults → env → file → flags) are being
//! built elsewhere; until they replace [`EmitOptions::resolve`], it reads the environment and
//! the flags itself, in one place that is easy to swap out.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use iorelay_core::cli::EmitArgs;

/// The relay's default host.
pub const DEFAULT_HOST: &str = "127.0.0.1";
/// The relay's default port.
pub const DEFAULT_PORT: u16 = 8765;
/// The default total time an emit may take.
pub const DEFAULT_DEADLINE: Duration = Duration::from_millis(500);

/// Everything `emit` is configured by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmitOptions {
    /// Relay host.
    pub host: String,
    /// Relay port.
    pub port: u16,
    /// Bearer token for `/api/hooks`, when the relay requires one.
    pub token: Option<String>,
    /// Where the breaker state, the spool and `emit.log` live.
    pub state_dir: PathBuf,
    /// Total time from start to exit.
    pub deadline: Duration,
    /// Also report problems on stderr.
    pub verbose: bool,
}

impl EmitOptions {
    /// Flags over environment over defaults: `IORELAY_HOST` (alias `CLAUDE_MPM_SERVER_HOST`),
    /// `IORELAY_PORT` (alias `CLAUDE_MPM_SERVER_PORT`), `IORELAY_TOKEN`, `IORELAY_STATE_DIR`,
    /// `IORELAY_EMIT_DEADLINE_MS`. Unparsable values fall back to the default (emit must not
    /// fail on configuration); [`EmitOptions::problems`] lists them for the log.
    #[must_use]
    pub fn resolve(args: &EmitArgs) -> Self {
        Self::resolve_with(args, |name| std::env::var_os(name))
    }

    /// [`EmitOptions::resolve`] with the environment given as a lookup function (for tests).
    #[must_use]
    pub fn resolve_with(args: &EmitArgs, env: impl Fn(&str) -> Option<OsString>) -> Self {
        let text = |name: &str| {
            env(name)
                .and_then(|v| v.into_string().ok())
                .filter(|v| !v.trim().is_empty())
        };
        let host = args
            .host
            .clone()
            .or_else(|| text("IORELAY_HOST"))
            .or_else(|| text("CLAUDE_MPM_SERVER_HOST"))
            .unwrap_or_else(|| DEFAULT_HOST.to_owned());
        let port = args
            .port
            .or_else(|| text("IORELAY_PORT").and_then(|p| p.trim().parse().ok()))
            .or_else(|| text("CLAUDE_MPM_SERVER_PORT").and_then(|p| p.trim().parse().ok()))
            .unwrap_or(DEFAULT_PORT);
        let deadline = args
            .deadline_ms
            .or_else(|| text("IORELAY_EMIT_DEADLINE_MS").and_then(|ms| ms.trim().parse().ok()))
            .map_or(DEFAULT_DEADLINE, Duration::from_millis);
        Self {
            host,
            port,
            token: text("IORELAY_TOKEN"),
            state_dir: state_dir(&env),
            deadline,
            verbose: args.verbose,
        }
    }
}

/// `IORELAY_STATE_DIR`, else `$XDG_STATE_HOME/iorelay`, else `$HOME/.local/state/iorelay`, else
/// a directory under the system's temporary directory.
#[must_use]
pub fn default_state_dir() -> PathBuf {
    state_dir(&|name: &str| std::env::var_os(name))
}

fn state_dir(env: &impl Fn(&str) -> Option<OsString>) -> PathBuf {
    let set = |name: &str| env(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(dir) = set("IORELAY_STATE_DIR") {
        return dir;
    }
    if let Some(dir) = set("XDG_STATE_HOME").filter(|d| d.is_absolute()) {
        return dir.join("iorelay");
    }
    if let Some(home) = set("HOME") {
        return home.join(".local").join("state").join("iorelay");
    }
    std::env::temp_dir().join("iorelay-state")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<OsString> + 'a {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| OsString::from(v))
        }
    }

    #[test]
    fn defaults_with_an_empty_environment() {
        let options = EmitOptions::resolve_with(&EmitArgs::default(), env(&[("HOME", "/h")]));
        assert_eq!(options.host, "127.0.0.1");
        assert_eq!(options.port, 8765);
        assert_eq!(options.token, None);
        assert_eq!(options.deadline, Duration::from_millis(500));
        assert_eq!(options.state_dir, PathBuf::from("/h/.local/state/iorelay"));
    }

    #[test]
    fn the_claude_mpm_aliases_apply_when_iorelay_names_are_unset() {
        let options = EmitOptions::resolve_with(
            &EmitArgs::default(),
            env(&[
                ("CLAUDE_MPM_SERVER_HOST", "h1"),
                ("CLAUDE_MPM_SERVER_PORT", "9001"),
            ]),
        );
        assert_eq!((options.host.as_str(), options.port), ("h1", 9001));
    }

    #[test]
    fn iorelay_names_beat_the_aliases_and_flags_beat_both() {
        let vars = [
            ("IORELAY_HOST", "h2"),
            ("IORELAY_PORT", "9002"),
            ("CLAUDE_MPM_SERVER_HOST", "h1"),
            ("CLAUDE_MPM_SERVER_PORT", "9001"),
            ("IORELAY_EMIT_DEADLINE_MS", "250"),
            ("IORELAY_TOKEN", "t"),
            ("IORELAY_STATE_DIR", "/s"),
            ("XDG_STATE_HOME", "/x"),
        ];
        let options = EmitOptions::resolve_with(&EmitArgs::default(), env(&vars));
        assert_eq!((options.host.as_str(), options.port), ("h2", 9002));
        assert_eq!(options.deadline, Duration::from_millis(250));
        assert_eq!(options.token.as_deref(), Some("t"));
        assert_eq!(options.state_dir, PathBuf::from("/s"));
        let flags = EmitArgs {
            host: Some("h3".into()),
            port: Some(9003),
            deadline_ms: Some(100),
            verbose: true,
        };
        let options = EmitOptions::resolve_with(&flags, env(&vars));
        assert_eq!((options.host.as_str(), options.port), ("h3", 9003));
        assert_eq!(options.deadline, Duration::from_millis(100));
    }

    #[test]
    fn xdg_state_home_is_used_when_absolute() {
        let options = EmitOptions::resolve_with(
            &EmitArgs::default(),
            env(&[("XDG_STATE_HOME", "/x"), ("HOME", "/h")]),
        );
        assert_eq!(options.state_dir, PathBuf::from("/x/iorelay"));
    }
}
