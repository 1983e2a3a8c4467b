//! Layering: which layer wins, aliases, errors from each layer, `config show`.

use std::time::Duration;

use super::*;
use crate::http::CorsPolicy;
use crate::relay::config::{BufferPolicy, Profile};
use crate::Mode;

const FILE: &str = "/home/u/.config/iorelay/config.toml";

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn flags<'a>(pairs: &[(&'a str, &str)]) -> Vec<(&'a str, String)> {
    pairs.iter().map(|(k, v)| (*k, (*v).to_owned())).collect()
}

fn resolve(
    env_pairs: &[(&str, &str)],
    file: Option<&str>,
    flag_pairs: &[(&str, &str)],
) -> Result<Settings, SettingsError> {
    let env = env(env_pairs);
    let flags = flags(flag_pairs);
    Settings::resolve(&Inputs {
        env: &env,
        file: file.map(|text| ConfigFile {
            path: FILE,
            text: Some(text),
        }),
        flags: &flags,
    })
}

#[test]
fn nothing_given_means_the_defaults() {
    let settings = resolve(&[("HOME", "/home/u")], None, &[]).unwrap();
    assert_eq!((settings.host.as_str(), settings.port), ("127.0.0.1", 8765));
    assert_eq!(settings.data_dir, "/home/u/.local/share/iorelay");
    assert_eq!(settings.log, "info");
    assert_eq!(settings.token, None);
    assert_eq!(settings.config.ping_interval, Duration::from_secs(25));
    assert!(SETTINGS
        .iter()
        .all(|s| settings.source(s.key) == Some(&Source::Default)));
}

#[test]
fn each_layer_beats_the_one_below_default_env_file_flag() {
    let env = [
        ("IORELAY_PORT", "1001"),
        ("IORELAY_HOST", "0.0.0.0"),
        ("IORELAY_LOG", "warn"),
    ];
    let file = "port = 1002\nhost = \"::1\"\n";
    let settings = resolve(&env, Some(file), &[("port", "1003")]).unwrap();
    assert_eq!(settings.port, 1003);
    assert_eq!(settings.source("port"), Some(&Source::Flag("port")));
    assert_eq!(settings.host, "::1");
    assert_eq!(settings.source("host"), Some(&Source::File(FILE.into())));
    assert_eq!(settings.log, "warn");
    assert_eq!(settings.source("log"), Some(&Source::Env("IORELAY_LOG")));
    assert_eq!(settings.source("profile"), Some(&Source::Default));
}

#[test]
fn claude_mpm_variables_are_aliases_the_iorelay_names_beat() {
    let aliases = [
        ("CLAUDE_MPM_SERVER_HOST", "10.0.0.1"),
        ("CLAUDE_MPM_SERVER_PORT", "9000"),
    ];
    let settings = resolve(&aliases, None, &[]).unwrap();
    assert_eq!((settings.host.as_str(), settings.port), ("10.0.0.1", 9000));
    assert_eq!(
        settings.source("port"),
        Some(&Source::Env("CLAUDE_MPM_SERVER_PORT"))
    );
    let both = [("CLAUDE_MPM_SERVER_PORT", "9000"), ("IORELAY_PORT", "9001")];
    let settings = resolve(&both, None, &[]).unwrap();
    assert_eq!(settings.port, 9001);
    assert_eq!(settings.source("port"), Some(&Source::Env("IORELAY_PORT")));
}

#[test]
fn an_empty_variable_counts_as_unset() {
    let settings = resolve(&[("IORELAY_PORT", "")], None, &[]).unwrap();
    assert_eq!(settings.source("port"), Some(&Source::Default));
}

#[test]
fn a_bad_environment_value_names_the_variable() {
    let err = resolve(&[("IORELAY_PORT", "abc")], None, &[]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "IORELAY_PORT: expected a port number (0-65535), got \"abc\""
    );
    let err = resolve(&[("CLAUDE_MPM_SERVER_PORT", "x")], None, &[]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "CLAUDE_MPM_SERVER_PORT: expected a port number (0-65535), got \"x\""
    );
}

#[test]
fn a_bad_flag_value_names_the_flag() {
    let err = resolve(&[], None, &[("ping_interval_ms", "soon")]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "--ping-interval: expected a duration in milliseconds (a whole number), got \"soon\""
    );
}

#[test]
fn a_bad_file_is_refused_even_when_a_flag_overrides_the_key() {
    let err = resolve(&[], Some("port = \"x\""), &[("port", "1")]).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("{FILE}:1: port: expected a port number (0-65535), got \"x\"")
    );
}

#[test]
fn a_missing_default_file_is_only_noted() {
    let settings = Settings::resolve(&Inputs {
        env: &[],
        file: Some(ConfigFile {
            path: FILE,
            text: None,
        }),
        flags: &[],
    })
    .unwrap();
    assert!(settings
        .show()
        .contains(&format!("# config file: {FILE} (not found)\n")));
}

#[test]
fn conformance_changes_the_base_and_explicit_values_still_apply() {
    let settings = resolve(
        &[("IORELAY_CONFORMANCE", "true")],
        None,
        &[("ping_timeout_ms", "20000")],
    )
    .unwrap();
    assert_eq!(settings.config.mode, Mode::Conformance);
    assert_eq!(settings.config.ping_interval, Duration::from_millis(300));
    assert_eq!(settings.config.ping_timeout, Duration::from_millis(20_000));
    assert_eq!(settings.config.cors, CorsPolicy::AllowAll);
}

#[test]
fn relay_and_runtime_values_reach_their_fields() {
    let file = r#"
profile = "claude-mpm"
max_event_bytes = 2048
history_capacity = 50
history_limit = 10
history_max_limit = 20
dedup_window = 5
retention_count = 500
retention_days = 2
commit_window_ms = 250
header_timeout_ms = 300
idle_timeout_ms = 400
cors_origins = ["https://example.com"]
data_dir = "/var/lib/iorelay"
"#;
    let s = resolve(&[("IORELAY_TOKEN", "s3cret")], Some(file), &[]).unwrap();
    let relay = &s.config.relay;
    assert_eq!(relay.profile, Profile::ClaudeMpm);
    assert_eq!(
        (
            relay.max_event_bytes,
            relay.history_capacity,
            relay.history_default_limit
        ),
        (2048, 50, 10)
    );
    assert_eq!(
        (
            relay.history_max_limit,
            relay.dedup_window,
            relay.retention_count
        ),
        (20, 5, 500)
    );
    assert_eq!(relay.retention_age, Duration::from_secs(2 * 24 * 3600));
    assert_eq!(s.commit_window, Duration::from_millis(250));
    assert_eq!(
        (s.header_timeout, s.idle_timeout),
        (Duration::from_millis(300), Duration::from_millis(400))
    );
    assert_eq!(
        s.config.cors,
        CorsPolicy::AllowList(vec!["https://example.com".into()])
    );
    assert_eq!(s.data_dir, "/var/lib/iorelay");
    assert_eq!(s.token.as_deref(), Some("s3cret"));
}

#[test]
fn the_file_can_replace_routes_and_change_namespace_policies() {
    let file = r#"
[[routes]]
subtypes = ["*"]
nsp = "/all"
event = "any"

[namespaces."/tools"]
policy = "always_send"

[namespaces."/all"]
buffer = 10
"#;
    let s = resolve(&[], Some(file), &[]).unwrap();
    assert_eq!(s.config.relay.routes.len(), 1);
    assert_eq!(s.config.relay.routes[0].nsp, "/all");
    let tools = &s.config.relay.namespaces[0];
    assert_eq!(
        (tools.nsp.as_str(), tools.policy, tools.buffer),
        ("/tools", BufferPolicy::AlwaysSend, 1000)
    );
    let all = s.config.relay.namespaces.last().unwrap();
    assert_eq!(
        (all.nsp.as_str(), all.policy, all.buffer),
        ("/all", BufferPolicy::BufferIfNoClients, 10)
    );
    assert_eq!(s.source("routes"), Some(&Source::File(FILE.into())));
    assert_eq!(s.source("namespaces"), Some(&Source::File(FILE.into())));
}

#[test]
fn show_prints_each_value_with_its_source_and_masks_the_token() {
    let s = resolve(
        &[("IORELAY_TOKEN", "s3cret"), ("IORELAY_HOST", "0.0.0.0")],
        Some("log = \"debug\"\n"),
        &[("port", "9000")],
    )
    .unwrap();
    let shown = s.show();
    let line = |key: &str| {
        shown
            .lines()
            .find(|line| line.starts_with(&format!("{key} = ")))
            .unwrap_or_else(|| panic!("no {key} in\n{shown}"))
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert_eq!(line("host"), "host = \"0.0.0.0\" # env IORELAY_HOST");
    assert_eq!(line("port"), "port = 9000 # flag --port");
    assert_eq!(line("log"), format!("log = \"debug\" # file {FILE}"));
    assert_eq!(line("token"), "token = \"********\" # env IORELAY_TOKEN");
    assert_eq!(
        line("ping_interval_ms"),
        "ping_interval_ms = 25000 # default"
    );
    assert!(!shown.contains("s3cret"));
    assert!(shown.contains("\n# routes: default\n[[routes]]\nsubtypes = [\"pre_tool_use\"]\nnsp = \"/tools\"\nevent = \"tool_start\"\n"), "{shown}");
    assert!(
        shown.contains("[namespaces.\"/files\"]\npolicy = \"drop_if_no_clients\"\nbuffer = 1000\n"),
        "{shown}"
    );
}

#[test]
fn an_unset_token_is_shown_as_a_comment() {
    let shown = resolve(&[], None, &[]).unwrap().show();
    assert!(shown.contains("# token is not set"), "{shown}");
}

#[test]
fn show_output_is_a_valid_config_file_that_resolves_to_the_same_values() {
    let original = resolve(
        &[("IORELAY_PORT", "1234")],
        Some("profile = \"claude-mpm\""),
        &[],
    )
    .unwrap();
    let again = resolve(&[], Some(&original.show()), &[]).unwrap();
    for setting in SETTINGS {
        assert_eq!(
            (setting.get)(&again),
            (setting.get)(&original),
            "{}",
            setting.key
        );
    }
    assert_eq!(again.config.relay, original.config.relay);
}

#[test]
fn the_operations_guide_lists_every_setting_as_the_table_says() {
    let guide = include_str!("../../../docs/operations.md");
    assert!(
        guide.contains(&reference_markdown()),
        "docs/operations.md is out of date; paste in:\n{}",
        reference_markdown()
    );
}

#[test]
fn the_token_reaches_the_relay_and_the_protections_are_layered() {
    let settings = resolve(
        &[
            ("IORELAY_TOKEN", "s3cret"),
            ("IORELAY_RATE_LIMIT_BURST", "50"),
        ],
        Some("max_connections = 100\ncap_loopback = true"),
        &[("max_connections_per_ip", "4")],
    )
    .unwrap();
    let protection = &settings.config.relay.protection;
    assert_eq!(settings.token.as_deref(), Some("s3cret"));
    assert_eq!(protection.token.as_deref(), Some("s3cret"));
    assert_eq!(protection.rate_limit.burst, 50);
    assert_eq!(protection.rate_limit.per_second, 5_000);
    assert_eq!(protection.max_connections, 100);
    assert_eq!(protection.max_connections_per_ip, 4);
    assert!(protection.cap_loopback);
}

#[test]
fn the_engine_config_allows_the_relays_own_origin() {
    let info = |port| ServerInfo {
        port,
        ..ServerInfo::default()
    };
    let settings = resolve(&[("IORELAY_HOST", "192.168.1.5")], None, &[]).unwrap();
    let config = settings.engine_config(info(9000));
    assert!(config.cors.allows("http://192.168.1.5:9000"));
    assert!(!config.cors.allows("http://192.168.1.5:9001"));
    assert!(config.cors.allows("http://localhost:3000"));

    let settings = resolve(&[("IORELAY_HOST", "::1")], None, &[]).unwrap();
    assert!(settings
        .engine_config(info(1))
        .cors
        .allows("http://[::1]:1"));

    let wildcard = resolve(&[("IORELAY_HOST", "0.0.0.0")], None, &[]).unwrap();
    assert_eq!(
        wildcard.engine_config(info(9000)).cors,
        Settings::defaults(false, &[]).config.cors
    );
    let any = resolve(&[("IORELAY_CORS_ORIGINS", "*")], None, &[]).unwrap();
    assert_eq!(any.engine_config(info(9000)).cors, CorsPolicy::AllowAll);
}
