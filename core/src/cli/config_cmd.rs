//! `config …`: inspecting the layered settings.

use clap::Subcommand;

use super::serve::ServeArgs;
use super::Deferred;
use super::SETTINGS_HELP;

/// What `config` does.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
#[non_exhaustive]
pub enum ConfigCommand {
    /// Print every effective setting and where it came from (default, env, file or flag), as
    /// TOML that can be pasted into a config file; the token is masked.
    #[command(after_help = SETTINGS_HELP)]
    Show(Deferred<ServeArgs>),
}
