//! Where things live by default, worked out from the environment the runtime passes in: the
//! config file, the data directory and the state directory (XDG base directories).
//!
//! Why pure: which file is read and which directory is used are decisions worth testing with
//! literal environments; the runtime only reads the file this names.

/// The value of `name` in `env`, when set and not empty.
#[must_use]
pub fn lookup<'a>(env: &'a [(String, String)], name: &str) -> Option<&'a str> {
    env.iter()
        .find(|(key, value)| key == name && !value.is_empty())
        .map(|(_, value)| value.as_str())
}

/// Which config file to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigPath {
    /// The file.
    pub path: String,
    /// Named by `--config` or `IORELAY_CONFIG`: its absence is an error. The default file
    /// may be absent.
    pub explicit: bool,
}

/// The config file: `--config`, else `$IORELAY_CONFIG`, else
/// `$XDG_CONFIG_HOME/iorelay/config.toml`, else `~/.config/iorelay/config.toml`; `None` when
/// there is no flag and no home to look in.
#[must_use]
pub fn config_path(flag: Option<&str>, env: &[(String, String)]) -> Option<ConfigPath> {
    let explicit = |path: &str| ConfigPath {
        path: path.to_owned(),
        explicit: true,
    };
    if let Some(path) = flag.filter(|path| !path.is_empty()) {
        return Some(explicit(path));
    }
    if let Some(path) = lookup(env, "IORELAY_CONFIG") {
        return Some(explicit(path));
    }
    base_dir(env, "XDG_CONFIG_HOME", ".config").map(|dir| ConfigPath {
        path: format!("{dir}/iorelay/config.toml"),
        explicit: false,
    })
}

/// The default data directory: `$XDG_DATA_HOME/iorelay`, else `~/.local/share/iorelay`, else
/// `.iorelay/data` in the working directory.
#[must_use]
pub fn data_dir(env: &[(String, String)]) -> String {
    base_dir(env, "XDG_DATA_HOME", ".local/share").map_or_else(
        || ".iorelay/data".to_owned(),
        |dir| format!("{dir}/iorelay"),
    )
}

/// The default state directory: `$XDG_STATE_HOME/iorelay`, else `~/.local/state/iorelay`,
/// else `.iorelay/state` in the working directory.
#[must_use]
pub fn state_dir(env: &[(String, String)]) -> String {
    base_dir(env, "XDG_STATE_HOME", ".local/state").map_or_else(
        || ".iorelay/state".to_owned(),
        |dir| format!("{dir}/iorelay"),
    )
}

/// An XDG base directory: the variable when it holds an absolute path (the spec says to
/// ignore relative ones), else `$HOME/<fallback>`.
#[must_use]
pub fn base_dir(env: &[(String, String)], variable: &str, fallback: &str) -> Option<String> {
    if let Some(dir) = lookup(env, variable).filter(|dir| dir.starts_with('/')) {
        return Some(dir.trim_end_matches('/').to_owned());
    }
    lookup(env, "HOME").map(|home| format!("{}/{fallback}", home.trim_end_matches('/')))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn the_flag_beats_iorelay_config_which_beats_the_user_config_dir() {
        let all = env(&[("IORELAY_CONFIG", "/etc/relay.toml"), ("HOME", "/home/u")]);
        assert_eq!(
            config_path(Some("./mine.toml"), &all),
            Some(ConfigPath {
                path: "./mine.toml".into(),
                explicit: true
            })
        );
        assert_eq!(
            config_path(None, &all),
            Some(ConfigPath {
                path: "/etc/relay.toml".into(),
                explicit: true
            })
        );
        assert_eq!(
            config_path(None, &env(&[("HOME", "/home/u/")])),
            Some(ConfigPath {
                path: "/home/u/.config/iorelay/config.toml".into(),
                explicit: false
            })
        );
        assert_eq!(config_path(None, &[]), None);
    }

    #[test]
    fn xdg_variables_win_when_absolute() {
        let vars = env(&[
            ("HOME", "/home/u"),
            ("XDG_CONFIG_HOME", "/cfg"),
            ("XDG_DATA_HOME", "relative"),
            ("XDG_STATE_HOME", "/state/"),
        ]);
        assert_eq!(
            config_path(None, &vars).map(|c| c.path),
            Some("/cfg/iorelay/config.toml".into())
        );
        assert_eq!(data_dir(&vars), "/home/u/.local/share/iorelay");
        assert_eq!(state_dir(&vars), "/state/iorelay");
        assert_eq!(data_dir(&[]), ".iorelay/data");
    }
}
