//! What `emit` needs to know: where the relay is, the token, the state directory, the deadline.
//!
//! Why from the layered settings: `emit` and `serve` must agree on the relay's address, the
//! token and the state directory, so both resolve them through the same table (defaults →
//! env, with the `CLAUDE_MPM_SERVER_*` aliases → config file → flags). Emit must never fail
//! on configuration: a broken config file falls back to defaults and environment, and the
//! problem is logged.

use std::path::PathBuf;
use std::time::Duration;

use iorelay_core::cli::EmitArgs;
use iorelay_core::settings::{ConfigFile, Inputs, Settings};

use crate::settings_io;

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
    /// Launch `iorelay start` when no relay answers.
    pub autostart: bool,
    /// Why the settings could not be resolved as configured, for the log.
    pub problem: Option<String>,
}

impl EmitOptions {
    /// The process's settings with `emit`'s flags on top (`--host`, `--port`,
    /// `--deadline-ms`).
    #[must_use]
    pub fn resolve(args: &EmitArgs) -> Self {
        match settings_io::load(None, &flags(args)) {
            Ok(settings) => Self::from_settings(&settings, args.verbose, None),
            Err(problem) => {
                let env = settings_io::process_env();
                let fallback = resolve_without_file(&env, args);
                Self::from_settings(&fallback, args.verbose, Some(problem))
            }
        }
    }

    /// The options `settings` give, noting `problem` for the log.
    #[must_use]
    pub fn from_settings(settings: &Settings, verbose: bool, problem: Option<String>) -> Self {
        Self {
            host: settings.host.clone(),
            port: settings.port,
            token: settings.token.clone(),
            state_dir: PathBuf::from(&settings.state_dir),
            deadline: settings.emit_deadline,
            verbose,
            autostart: settings.autostart,
            problem,
        }
    }
}

/// `emit`'s flags as setting keys and values.
fn flags(args: &EmitArgs) -> Vec<(&'static str, String)> {
    let mut flags = Vec::new();
    if let Some(host) = &args.host {
        flags.push(("host", host.clone()));
    }
    if let Some(port) = args.port {
        flags.push(("port", port.to_string()));
    }
    if let Some(ms) = args.deadline_ms {
        flags.push(("emit_deadline_ms", ms.to_string()));
    }
    if args.autostart {
        flags.push(("autostart", "true".to_owned()));
    }
    flags
}

/// Settings from the environment and flags alone; values that do not parse are left at
/// their defaults rather than failing the emit.
fn resolve_without_file(env: &[(String, String)], args: &EmitArgs) -> Settings {
    let flags = flags(args);
    let inputs = |env: &'_ [(String, String)]| -> Option<Settings> {
        Settings::resolve(&Inputs {
            env,
            file: None::<ConfigFile<'_>>,
            flags: &flags,
        })
        .ok()
    };
    inputs(env).unwrap_or_else(|| Settings::defaults(false, env))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(vars: &[(&str, &str)], args: &EmitArgs) -> EmitOptions {
        let env: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        EmitOptions::from_settings(&resolve_without_file(&env, args), args.verbose, None)
    }

    #[test]
    fn defaults_with_an_empty_environment() {
        let options = options(&[("HOME", "/h")], &EmitArgs::default());
        assert_eq!(options.host, "127.0.0.1");
        assert_eq!(options.port, 8765);
        assert_eq!(options.token, None);
        assert_eq!(options.deadline, Duration::from_millis(500));
        assert_eq!(options.state_dir, PathBuf::from("/h/.local/state/iorelay"));
    }

    #[test]
    fn the_claude_mpm_aliases_apply_when_iorelay_names_are_unset() {
        let vars = [
            ("CLAUDE_MPM_SERVER_HOST", "h1"),
            ("CLAUDE_MPM_SERVER_PORT", "9001"),
        ];
        let options = options(&vars, &EmitArgs::default());
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
        let from_env = options(&vars, &EmitArgs::default());
        assert_eq!((from_env.host.as_str(), from_env.port), ("h2", 9002));
        assert_eq!(from_env.deadline, Duration::from_millis(250));
        assert_eq!(from_env.token.as_deref(), Some("t"));
        assert_eq!(from_env.state_dir, PathBuf::from("/s"));
        let flags = EmitArgs {
            host: Some("h3".into()),
            port: Some(9003),
            deadline_ms: Some(100),
            verbose: true,
            autostart: false,
        };
        let from_flags = options(&vars, &flags);
        assert_eq!((from_flags.host.as_str(), from_flags.port), ("h3", 9003));
        assert_eq!(from_flags.deadline, Duration::from_millis(100));
    }

    #[test]
    fn autostart_is_off_unless_the_flag_or_the_environment_turns_it_on() {
        assert!(!options(&[], &EmitArgs::default()).autostart);
        assert!(options(&[("IORELAY_AUTOSTART", "true")], &EmitArgs::default()).autostart);
        let flag = EmitArgs {
            autostart: true,
            ..EmitArgs::default()
        };
        assert!(options(&[], &flag).autostart);
    }

    #[test]
    fn xdg_state_home_is_used_when_absolute() {
        let options = options(
            &[("XDG_STATE_HOME", "/x"), ("HOME", "/h")],
            &EmitArgs::default(),
        );
        assert_eq!(options.state_dir, PathBuf::from("/x/iorelay"));
    }

    #[test]
    fn a_bad_value_falls_back_to_the_defaults_instead_of_failing() {
        let options = options(&[("IORELAY_PORT", "abc")], &EmitArgs::default());
        assert_eq!(options.port, 8765);
    }
}
