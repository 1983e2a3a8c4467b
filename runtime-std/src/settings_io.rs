//! The IO half of the settings: read the process environment and the config file, and hand
//! both to core's pure layering ([`Settings::resolve`]).
//!
//! Why here: both binaries resolve settings the same way, and reading env and files is IO,
//! which core does not do (DESIGN §1).

use iorelay_core::settings::locate::config_path;
use iorelay_core::settings::{ConfigFile, Inputs, Settings};

/// The process environment as (name, value) pairs; variables that are not UTF-8 are skipped
/// (no setting could use them).
#[must_use]
pub fn process_env() -> Vec<(String, String)> {
    std::env::vars_os()
        .filter_map(|(name, value)| Some((name.into_string().ok()?, value.into_string().ok()?)))
        .collect()
}

/// The effective settings for a command given `--config` (if any) and its setting flags.
///
/// # Errors
/// An explicit config file (`--config`, `IORELAY_CONFIG`) that cannot be read, a default one
/// that exists but cannot be read, or any error of [`Settings::resolve`]; the message says
/// which file or variable and why.
pub fn load(config_flag: Option<&str>, flags: &[(&str, String)]) -> Result<Settings, String> {
    let env = process_env();
    let location = config_path(config_flag, &env);
    let text = match &location {
        Some(location) => match std::fs::read_to_string(&location.path) {
            Ok(text) => Some(text),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound && !location.explicit => None,
            Err(err) => return Err(format!("cannot read config file {}: {err}", location.path)),
        },
        None => None,
    };
    let file = location.as_ref().map(|location| ConfigFile {
        path: &location.path,
        text: text.as_deref(),
    });
    Settings::resolve(&Inputs {
        env: &env,
        file,
        flags,
    })
    .map_err(|err| err.to_string())
}
