//! The relay's settings, layered: built-in defaults, then the environment (`IORELAY_*`), then
//! the config file (TOML), then command-line flags, each value remembering which layer set it.
//!
//! Why here and pure: both binaries must resolve the same values with the same errors, and
//! `config show` must say where each came from. The runtime reads the process environment
//! into pairs and the config file into a string ([`locate`] says which file); [`Settings::resolve`]
//! does the rest with no IO, so every precedence rule is a unit test.
//!
//! ```
//! use iorelay_core::settings::{ConfigFile, Inputs, Settings, Source};
//!
//! let env = vec![("IORELAY_PORT".to_owned(), "9000".to_owned())];
//! let file = ConfigFile { path: "/etc/iorelay.toml", text: Some("port = 9001\nlog = \"warn\"") };
//! let flags = vec![("log", "debug".to_owned())];
//! let settings = Settings::resolve(&Inputs { env: &env, file: Some(file), flags: &flags }).unwrap();
//! assert_eq!(settings.port, 9001);
//! assert_eq!(settings.source("port"), Some(&Source::File("/etc/iorelay.toml".into())));
//! assert_eq!(settings.log, "debug");
//! ```

mod error;
mod file;
pub mod locate;
mod show;
mod table;
pub mod value;

use std::fmt;
use std::time::Duration;

pub use error::SettingsError;
pub(crate) use show::flag_help;
pub use show::reference_markdown;
pub use table::{Setting, SETTINGS};

use crate::config::{Config, ServerInfo};
use crate::lifecycle::LogFormat;
use crate::relay::config::TypedNamespace;
use value::Value;

/// The port the relay listens on unless told otherwise (the original design's).
pub const DEFAULT_PORT: u16 = 8765;

/// Which layer set a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Built in.
    Default,
    /// An environment variable.
    Env(&'static str),
    /// The config file at this path.
    File(String),
    /// A command-line flag (without `--`).
    Flag(&'static str),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Default => f.write_str("default"),
            Self::Env(var) => write!(f, "env {var}"),
            Self::File(path) => write!(f, "file {path}"),
            Self::Flag(flag) => write!(f, "flag --{flag}"),
        }
    }
}

/// The config file as the runtime found it.
#[derive(Debug, Clone, Copy)]
pub struct ConfigFile<'a> {
    /// Where it is (or would be).
    pub path: &'a str,
    /// Its text; `None` when the default file does not exist.
    pub text: Option<&'a str>,
}

/// Everything settings are resolved from.
#[derive(Debug, Clone, Copy)]
pub struct Inputs<'a> {
    /// The process environment as pairs (any other variables are ignored).
    pub env: &'a [(String, String)],
    /// The config file, if one was looked for.
    pub file: Option<ConfigFile<'a>>,
    /// Flags given, as (setting key, text) pairs; later pairs win.
    pub flags: &'a [(&'a str, String)],
}

/// The effective settings: the engine's [`Config`] plus what only the runtime uses.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The engine configuration (with `relay`); the runtime fills in `server` at bind time,
    /// see [`Settings::engine_config`].
    pub config: Config,
    /// Address to listen on, and where `status`/`stop` look.
    pub host: String,
    /// Port to listen on, and where `status`/`stop` look.
    pub port: u16,
    /// Directory of the persistent history.
    pub data_dir: String,
    /// Directory of runtime state.
    pub state_dir: String,
    /// Log level: `error`, `warn`, `info` or `debug`.
    pub log: String,
    /// How log lines are written.
    pub log_format: LogFormat,
    /// Bearer token, if any.
    pub token: Option<String>,
    /// How long the store gathers events before a write.
    pub commit_window: Duration,
    /// How long one `iorelay emit` may take in all, from start to exit.
    pub emit_deadline: Duration,
    /// Whether `iorelay emit` launches `iorelay start` when it finds no relay.
    pub autostart: bool,
    /// How long a request head may take to arrive.
    pub header_timeout: Duration,
    /// How long a keep-alive connection may idle between requests.
    pub idle_timeout: Duration,
    /// Conformance mode (already reflected in `config`).
    pub conformance: bool,
    /// Per entry of [`SETTINGS`], the layer that set it.
    sources: Vec<Source>,
    /// The layer that set the routing table.
    routes_source: Source,
    /// The layer that set the typed namespaces' policies.
    namespaces_source: Source,
    /// The config file consulted and whether it existed.
    config_file: Option<(String, bool)>,
}

impl Settings {
    /// Built-in defaults; `conformance` picks `Config::conformance()` as the base, `env`
    /// supplies the XDG directories.
    #[must_use]
    pub fn defaults(conformance: bool, env: &[(String, String)]) -> Self {
        Self {
            config: if conformance {
                Config::conformance()
            } else {
                Config::default()
            },
            host: "127.0.0.1".to_owned(),
            port: DEFAULT_PORT,
            data_dir: locate::data_dir(env),
            state_dir: locate::state_dir(env),
            log: "info".to_owned(),
            log_format: LogFormat::Text,
            token: None,
            commit_window: Duration::from_millis(100),
            emit_deadline: Duration::from_millis(500),
            autostart: false,
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            conformance,
            sources: vec![Source::Default; SETTINGS.len()],
            routes_source: Source::Default,
            namespaces_source: Source::Default,
            config_file: None,
        }
    }

    /// Layers `inputs` over the defaults: environment, then file, then flags. For each
    /// setting `IORELAY_<KEY>` wins over its aliases (`CLAUDE_MPM_SERVER_PORT`).
    ///
    /// # Errors
    /// The first value that does not parse, an unknown key in the file, or invalid TOML; the
    /// error names the variable, flag, or file and line.
    pub fn resolve(inputs: &Inputs<'_>) -> Result<Self, SettingsError> {
        let file = match inputs.file {
            Some(ConfigFile {
                path,
                text: Some(text),
            }) => Some((path, file::read(path, text)?)),
            _ => None,
        };
        let mut chosen: Vec<Option<(Value, Source)>> = vec![None; SETTINGS.len()];
        for (slot, setting) in chosen.iter_mut().zip(SETTINGS) {
            let from_env = setting
                .env
                .iter()
                .find_map(|var| locate::lookup(inputs.env, var).map(|text| (*var, text)));
            if let Some((var, text)) = from_env {
                let value = setting
                    .kind
                    .parse_text(text)
                    .map_err(|message| SettingsError::Env { var, message })?;
                *slot = Some((value, Source::Env(var)));
            }
            if let Some((path, layer)) = &file {
                if let Some((_, value)) = layer.values.iter().find(|(s, _)| s.key == setting.key) {
                    *slot = Some((value.clone(), Source::File((*path).to_owned())));
                }
            }
            if let Some((_, text)) = inputs.flags.iter().rev().find(|(k, _)| *k == setting.key) {
                let value =
                    setting
                        .kind
                        .parse_text(text)
                        .map_err(|message| SettingsError::Flag {
                            flag: setting.flag,
                            message,
                        })?;
                *slot = Some((value, Source::Flag(setting.flag)));
            }
        }
        let conformance = SETTINGS
            .iter()
            .zip(&chosen)
            .find(|(setting, _)| setting.key == "conformance")
            .and_then(|(_, slot)| slot.as_ref())
            .is_some_and(|(value, _)| value.flag());
        let mut settings = Self::defaults(conformance, inputs.env);
        for (index, (setting, slot)) in SETTINGS.iter().zip(chosen).enumerate() {
            if let Some((value, source)) = slot {
                (setting.set)(&mut settings, &value);
                settings.sources[index] = source;
            }
        }
        if let Some((path, layer)) = file {
            settings.apply_tables(path, layer);
        }
        settings.config_file = inputs
            .file
            .map(|file| (file.path.to_owned(), file.text.is_some()));
        Ok(settings)
    }

    /// Which layer set `key` (a [`SETTINGS`] key, `routes` or `namespaces`).
    #[must_use]
    pub fn source(&self, key: &str) -> Option<&Source> {
        match key {
            "routes" => Some(&self.routes_source),
            "namespaces" => Some(&self.namespaces_source),
            _ => SETTINGS
                .iter()
                .position(|setting| setting.key == key)
                .map(|index| &self.sources[index]),
        }
    }

    /// The engine configuration with the process facts `/health` reports, and the relay's
    /// own origin (`http://<host>:<port>` as bound) added to the CORS allow-list, so a page
    /// the relay serves may call it whatever the list says.
    #[must_use]
    pub fn engine_config(&self, server: ServerInfo) -> Config {
        let mut config = self.config.clone();
        config.server = server;
        if let Some(own) = own_origin(&self.host, server.port) {
            if let crate::http::CorsPolicy::AllowList(list) = &mut config.cors {
                if !list.iter().any(|entry| entry.eq_ignore_ascii_case(&own)) {
                    list.push(own);
                }
            }
        }
        config
    }

    fn apply_tables(&mut self, path: &str, layer: file::FileLayer) {
        let source = Source::File(path.to_owned());
        if let Some(routes) = layer.routes {
            self.config.relay.routes = routes;
            self.routes_source = source.clone();
        }
        if layer.namespaces.is_empty() {
            return;
        }
        let namespaces = &mut self.config.relay.namespaces;
        for change in layer.namespaces {
            let index = match namespaces.iter().position(|n| n.nsp == change.nsp) {
                Some(index) => index,
                None => {
                    namespaces.push(TypedNamespace {
                        nsp: change.nsp.clone(),
                        policy: crate::relay::config::BufferPolicy::BufferIfNoClients,
                        buffer: 1000,
                    });
                    namespaces.len() - 1
                }
            };
            let namespace = &mut namespaces[index];
            if let Some(policy) = change.policy {
                namespace.policy = policy;
            }
            if let Some(buffer) = change.buffer {
                namespace.buffer = buffer;
            }
        }
        self.namespaces_source = source;
    }
}

/// The origin of pages served by a relay bound to `host:port`; `None` for a wildcard address
/// (0.0.0.0, `::`), which names no origin a browser could have.
fn own_origin(host: &str, port: u16) -> Option<String> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<std::net::IpAddr>() {
        Ok(ip) if ip.is_unspecified() => None,
        Ok(std::net::IpAddr::V6(v6)) => Some(format!("http://[{v6}]:{port}")),
        _ => Some(format!("http://{bare}:{port}")),
    }
}

#[cfg(test)]
mod tests;
