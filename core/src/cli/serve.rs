//! Arguments of `serve` (and of `config show`, which shows what `serve` would use).

use clap::Args;

use super::flags::SettingFlags;
use crate::settings::value::Kind;
use crate::settings::Setting;

/// Flags of `serve`: `--config` and one flag per setting.
#[derive(Debug, Clone, Default, PartialEq, Eq, Args)]
pub struct ServeArgs {
    /// Read settings from this TOML file instead of the user config file (it must exist)
    /// [env: IORELAY_CONFIG].
    #[arg(long, value_name = "PATH")]
    pub config: Option<String>,
    /// One flag per setting.
    #[command(flatten)]
    pub settings: SettingFlags,
    /// Run as a background relay (what `start` and the user service run): leave the
    /// terminal's session, log to relay.log in the state directory (rotated by size), and
    /// write relay.pid there.
    #[arg(long, hide = true)]
    pub daemon: bool,
}

impl ServeArgs {
    /// The setting flags given, as (key, text) pairs for `Settings::resolve`.
    #[must_use]
    pub fn flags(&self) -> &[(&'static str, String)] {
        &self.settings.given
    }

    /// The arguments that give another `serve` (or `start`) the same `--config` and setting
    /// flags, for `start` to hand to the relay it launches and the service to bake in.
    #[must_use]
    pub fn to_args(&self) -> Vec<String> {
        let mut args = Vec::new();
        if let Some(config) = &self.config {
            args.extend(["--config".to_owned(), config.clone()]);
        }
        for (key, text) in self.flags() {
            let Some(setting) = Setting::named(key) else {
                continue;
            };
            if setting.kind == Kind::Bool {
                if text == "true" {
                    args.push(format!("--{}", setting.flag));
                }
            } else {
                args.extend([format!("--{}", setting.flag), text.clone()]);
            }
        }
        args
    }
}
