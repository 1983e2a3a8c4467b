//! Arguments of `serve` (and of `config show`, which shows what `serve` would use).

use clap::Args;

use super::flags::SettingFlags;

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
}

impl ServeArgs {
    /// The setting flags given, as (key, text) pairs for `Settings::resolve`.
    #[must_use]
    pub fn flags(&self) -> &[(&'static str, String)] {
        &self.settings.given
    }
}
