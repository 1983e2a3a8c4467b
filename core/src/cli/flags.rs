//! Command-line flags generated from the settings table, so every setting has its flag with
//! the same name, validation and help wherever a command takes it.
//!
//! Why by hand rather than derived: a derived struct would repeat each setting's name, help and
//! parser; these implement clap's `Args` by walking [`SETTINGS`], and hand back what was given
//! as (key, text) pairs for [`Settings::resolve`](crate::settings::Settings::resolve).

use clap::{Arg, ArgAction, ArgMatches, Args, FromArgMatches};

use crate::settings::value::Kind;
use crate::settings::{flag_help, Setting, Settings, SETTINGS};

/// Flags for every setting (`serve`, `config show`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SettingFlags {
    /// The flags given, as (setting key, text).
    pub given: Vec<(&'static str, String)>,
}

/// Flags for the settings a client of a running relay needs: `--host`, `--port`, `--token`
/// (`status`, `stop`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientFlags {
    /// The flags given, as (setting key, text).
    pub given: Vec<(&'static str, String)>,
}

fn every(_: &&Setting) -> bool {
    true
}

fn client(setting: &&Setting) -> bool {
    matches!(setting.key, "host" | "port" | "token")
}

macro_rules! setting_flags {
    ($type:ty, $filter:expr) => {
        impl FromArgMatches for $type {
            fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
                Ok(Self {
                    given: given(matches, $filter),
                })
            }

            fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
                self.given.extend(given(matches, $filter));
                Ok(())
            }
        }

        impl Args for $type {
            fn augment_args(cmd: clap::Command) -> clap::Command {
                augment(cmd, $filter)
            }

            fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
                augment(cmd, $filter)
            }
        }
    };
}

setting_flags!(SettingFlags, every);
setting_flags!(ClientFlags, client);

/// Adds a flag for each setting `filter` keeps; values are checked by the setting's kind, so
/// a bad value is a usage error naming the flag.
fn augment(cmd: clap::Command, filter: fn(&&Setting) -> bool) -> clap::Command {
    let defaults = Settings::defaults(false, &[]);
    SETTINGS.iter().filter(filter).fold(cmd, |cmd, setting| {
        let arg = Arg::new(setting.key)
            .long(setting.flag)
            .help(flag_help(setting, &defaults));
        let kind = setting.kind;
        let arg = if kind == Kind::Bool {
            arg.action(ArgAction::SetTrue)
        } else {
            arg.value_name(kind.placeholder())
                .value_parser(move |text: &str| kind.parse_text(text).map(|_| text.to_owned()))
        };
        cmd.arg(arg)
    })
}

fn given(matches: &ArgMatches, filter: fn(&&Setting) -> bool) -> Vec<(&'static str, String)> {
    SETTINGS
        .iter()
        .filter(filter)
        .filter_map(|setting| {
            let text = if setting.kind == Kind::Bool {
                let on = matches.try_get_one::<bool>(setting.key).ok().flatten() == Some(&true);
                on.then(|| "true".to_owned())
            } else {
                matches
                    .try_get_one::<String>(setting.key)
                    .ok()
                    .flatten()
                    .cloned()
            };
            text.map(|text| (setting.key, text))
        })
        .collect()
}
