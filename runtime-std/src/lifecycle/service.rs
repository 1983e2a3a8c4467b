//! `service install|uninstall|status`: the file side of core's systemd unit and launchd agent.
//!
//! The service runs this executable's `serve --daemon` (so `iorelay logs` reads its log as for
//! `iorelay start`) with the flags given to `install` and the environment's settings at install
//! time (`IORELAY_*`, their aliases and the XDG directories, so the service and the shell that
//! installed it agree on the config file, port and directories). `IORELAY_TOKEN` is left out:
//! unit files are readable by other users; the token belongs in the config file.

use std::path::{Path, PathBuf};

use iorelay_core::cli::{Deferred, ServeArgs, ServiceAction, ServiceArgs};
use iorelay_core::lifecycle::{self, ServiceSpec, LAUNCHD_LABEL, SYSTEMD_UNIT};
use iorelay_core::settings::locate::{base_dir, lookup};
use iorelay_core::settings::SETTINGS;

use crate::control::{self, Probe};
use crate::log::LOG_FILE;
use crate::settings_io;

/// The service manager of this platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Manager {
    Systemd,
    Launchd,
}

const MANAGER: Manager = if cfg!(target_os = "macos") {
    Manager::Launchd
} else {
    Manager::Systemd
};

/// Runs `service …` and returns the exit code.
#[must_use]
pub fn main(binary: &str, args: &ServiceArgs) -> i32 {
    let env = settings_io::process_env();
    let Some(path) = service_path(MANAGER, &env) else {
        eprintln!("{binary}: HOME is not set, so there is no user service directory");
        return 1;
    };
    let result = match &args.action {
        ServiceAction::Install(Deferred(serve)) => install(binary, serve, &env, &path),
        ServiceAction::Uninstall => uninstall(&path),
        ServiceAction::Status(client) => {
            match settings_io::load(client.config.as_deref(), client.flags()) {
                Ok(settings) => Ok(status(&path, &settings.host, settings.port)),
                Err(message) => Err(message),
            }
        }
        _ => Err("this service action is not supported".to_owned()),
    };
    match result {
        Ok(message) => {
            print!("{message}");
            0
        }
        Err(message) => {
            eprintln!("{binary}: {message}");
            1
        }
    }
}

/// The unit's or agent's text for this executable, `serve`'s flags and the environment.
///
/// # Errors
/// The settings do not resolve or this executable cannot be found.
pub fn unit_text(serve: &ServeArgs, env: &[(String, String)]) -> Result<String, String> {
    let settings = settings_io::load(serve.config.as_deref(), serve.flags())?;
    let exe = std::env::current_exe()
        .and_then(std::fs::canonicalize)
        .map_err(|err| format!("cannot find this executable: {err}"))?;
    let mut args = vec!["serve".to_owned(), "--daemon".to_owned()];
    let mut given = serve.clone();
    if let Some(config) = &serve.config {
        // The service does not run in this directory.
        given.config = Some(absolute(config));
    }
    args.extend(given.to_args());
    let spec = ServiceSpec {
        program: exe.to_string_lossy().into_owned(),
        args,
        env: service_env(env),
        log_path: absolute(
            &Path::new(&settings.state_dir)
                .join(LOG_FILE)
                .to_string_lossy(),
        ),
    };
    Ok(match MANAGER {
        Manager::Systemd => lifecycle::systemd_unit(&spec),
        Manager::Launchd => lifecycle::launchd_plist(&spec),
    })
}

fn install(
    binary: &str,
    serve: &ServeArgs,
    env: &[(String, String)],
    path: &Path,
) -> Result<String, String> {
    let text = unit_text(serve, env)?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|err| format!("cannot create {}: {err}", dir.display()))?;
    }
    std::fs::write(path, text).map_err(|err| format!("cannot write {}: {err}", path.display()))?;
    let enable = match MANAGER {
        Manager::Systemd => lifecycle::systemd_enable_command(),
        Manager::Launchd => lifecycle::launchd_enable_command(&path.to_string_lossy()),
    };
    let mut message = format!("wrote {}\nenable it with:\n  {enable}\n", path.display());
    if lookup(env, "IORELAY_TOKEN").is_some() {
        message.push_str(&format!(
            "note: IORELAY_TOKEN is not written into the service; put `token = \"…\"` in the \
             config file (`{binary} config show` says which) so the service uses it\n"
        ));
    }
    Ok(message)
}

fn uninstall(path: &Path) -> Result<String, String> {
    let disable = match MANAGER {
        Manager::Systemd => lifecycle::systemd_disable_command(),
        Manager::Launchd => lifecycle::launchd_disable_command(),
    };
    match std::fs::remove_file(path) {
        Ok(()) => Ok(format!(
            "removed {}\nif it is running, stop it with:\n  {disable}\n",
            path.display()
        )),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            Ok(format!("no service installed at {}\n", path.display()))
        }
        Err(err) => Err(format!("cannot remove {}: {err}", path.display())),
    }
}

fn status(path: &Path, host: &str, port: u16) -> String {
    let installed = if path.exists() {
        format!("installed: {}\n", path.display())
    } else {
        format!("not installed (would be {})\n", path.display())
    };
    let relay = match control::probe(host, port) {
        Probe::Relay(health) => format!(
            "relay: {} on {}\n",
            control::holder(&health),
            control::address(host, port)
        ),
        Probe::Other => format!("relay: {}\n", control::other_program(port)),
        Probe::Nothing => format!("relay: none on {}\n", control::address(host, port)),
    };
    installed + &relay
}

/// Where the unit or agent lives: `$XDG_CONFIG_HOME/systemd/user/iorelay.service` (else
/// `~/.config/…`), or `~/Library/LaunchAgents/dev.iorelay.relay.plist`.
fn service_path(manager: Manager, env: &[(String, String)]) -> Option<PathBuf> {
    match manager {
        Manager::Systemd => base_dir(env, "XDG_CONFIG_HOME", ".config").map(|config| {
            PathBuf::from(config)
                .join("systemd/user")
                .join(SYSTEMD_UNIT)
        }),
        Manager::Launchd => Some(
            PathBuf::from(lookup(env, "HOME")?)
                .join("Library/LaunchAgents")
                .join(format!("{LAUNCHD_LABEL}.plist")),
        ),
    }
}

/// The environment the service keeps: every variable a setting reads, `IORELAY_CONFIG` and
/// the XDG base directories, but not the token.
fn service_env(env: &[(String, String)]) -> Vec<(String, String)> {
    let kept = |name: &str| {
        name != "IORELAY_TOKEN"
            && (name == "IORELAY_CONFIG"
                || name.starts_with("XDG_") && name.ends_with("_HOME")
                || SETTINGS.iter().any(|setting| setting.env.contains(&name)))
    };
    let mut kept: Vec<(String, String)> = env
        .iter()
        .filter(|(name, value)| kept(name) && !value.is_empty())
        .cloned()
        .collect();
    kept.sort();
    kept
}

fn absolute(path: &str) -> String {
    let path = Path::new(path);
    if path.is_absolute() {
        return path.to_string_lossy().into_owned();
    }
    std::env::current_dir()
        .map(|dir| dir.join(path))
        .unwrap_or_else(|_| path.to_path_buf())
        .to_string_lossy()
        .into_owned()
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
    fn the_unit_lives_in_the_user_config_dir_and_the_agent_in_launch_agents() {
        let vars = env(&[("HOME", "/home/me")]);
        assert_eq!(
            service_path(Manager::Systemd, &vars),
            Some(PathBuf::from(
                "/home/me/.config/systemd/user/iorelay.service"
            ))
        );
        let vars = env(&[("HOME", "/home/me"), ("XDG_CONFIG_HOME", "/cfg")]);
        assert_eq!(
            service_path(Manager::Systemd, &vars),
            Some(PathBuf::from("/cfg/systemd/user/iorelay.service"))
        );
        assert_eq!(
            service_path(Manager::Launchd, &vars),
            Some(PathBuf::from(
                "/home/me/Library/LaunchAgents/dev.iorelay.relay.plist"
            ))
        );
        assert_eq!(service_path(Manager::Systemd, &[]), None);
    }

    #[test]
    fn the_service_keeps_the_settings_environment_but_not_the_token() {
        let vars = env(&[
            ("IORELAY_PORT", "9000"),
            ("CLAUDE_MPM_SERVER_HOST", "127.0.0.2"),
            ("IORELAY_TOKEN", "secret"),
            ("IORELAY_CONFIG", "/c.toml"),
            ("XDG_STATE_HOME", "/state"),
            ("PATH", "/bin"),
            ("IORELAY_LOG", ""),
        ]);
        assert_eq!(
            service_env(&vars),
            env(&[
                ("CLAUDE_MPM_SERVER_HOST", "127.0.0.2"),
                ("IORELAY_CONFIG", "/c.toml"),
                ("IORELAY_PORT", "9000"),
                ("XDG_STATE_HOME", "/state"),
            ])
        );
    }
}
