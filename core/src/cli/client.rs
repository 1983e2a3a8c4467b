//! Arguments of the commands that talk to a running relay (`status`, `stop`).

use clap::Args;

use super::flags::ClientFlags;

/// Where the relay is: `--config`, `--host`, `--port`, `--token`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Args)]
pub struct ClientArgs {
    /// Read settings from this TOML file instead of the user config file (it must exist)
    /// [env: IORELAY_CONFIG].
    #[arg(long, value_name = "PATH")]
    pub config: Option<String>,
    /// `--host`, `--port`, `--token`.
    #[command(flatten)]
    pub settings: ClientFlags,
}

impl ClientArgs {
    /// The setting flags given, as (key, text) pairs for `Settings::resolve`.
    #[must_use]
    pub fn flags(&self) -> &[(&'static str, String)] {
        &self.settings.given
    }
}
