//! The relay serves its dashboard: the page at `/`, its files under `/assets/`, its settings
//! from the configuration; the protocol test server (conformance mode) does not.

mod support;

use iorelay_core::config::{Config, Mode};
use iorelay_core::relay::Relay;
use support::Harness;

#[test]
fn the_relay_serves_the_page_at_the_root() {
    let mut h = support::relay::relay();
    let drained = h.get(1, "/");
    let page = drained.reply(1);
    assert_eq!(page.status, 200);
    assert_eq!(
        page.header_value("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert!(page.header_value("content-security-policy").is_some());
    assert!(std::str::from_utf8(&page.body)
        .unwrap()
        .contains("/assets/"));
}

#[test]
fn the_page_settings_follow_the_dashboard_events_setting() {
    let mut config = Config::default();
    config.relay.dashboard_events = 2500;
    let mut h: Harness<Relay> = Harness::relay(config);
    let drained = h.get(1, "/assets/config.json");
    let json: serde_json::Value = serde_json::from_slice(&drained.reply(1).body).unwrap();
    assert_eq!(json["max_events"], 2500);
}

#[test]
fn a_missing_asset_is_a_json_404_and_other_paths_are_untouched() {
    let mut h = support::relay::relay();
    let drained = h.get(1, "/assets/missing.css");
    assert_eq!(drained.reply(1).status, 404);
    let drained = h.get(2, "/nothing-here");
    assert_eq!(drained.reply(2).status, 404);
    let drained = h.get(3, "/health");
    assert_eq!(drained.reply(3).status, 200);
}

#[test]
fn the_protocol_test_server_serves_no_dashboard() {
    let config = Config {
        mode: Mode::Conformance,
        ..Config::default()
    };
    let mut h: Harness<Relay> = Harness::relay(config);
    let drained = h.get(1, "/");
    assert_eq!(drained.reply(1).status, 404);
}
