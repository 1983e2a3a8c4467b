//! Typed namespaces and their buffer policies, and the event names of the profiles on `/`.

mod support;

use iorelay_core::relay::config::Profile;
use iorelay_core::{Config, Relay};
use support::relay::{relay, Got};
use support::Harness;

/// Posts a raw hook on keep-alive conn 100; returns what websockets `watched` received.
fn hook(h: &mut Harness<Relay>, body: &str, watched: &[u64]) -> Vec<Vec<Got>> {
    let drained = h.post_json(100, "/api/hooks", body);
    assert_eq!(drained.status_and_body(100), (204, String::new()));
    watched.iter().map(|conn| drained.got(*conn)).collect()
}

/// `(namespace, event name, event id)` of each event in `got`.
fn names(got: &[Got]) -> Vec<(String, String, String)> {
    got.iter()
        .map(|g| {
            let id = g.arg()["id"].as_str().unwrap_or("-").to_owned();
            (g.nsp.clone(), g.name.clone(), id)
        })
        .collect()
}

fn triple(nsp: &str, name: &str, id: &str) -> (String, String, String) {
    (nsp.to_owned(), name.to_owned(), id.to_owned())
}

const PRE_BASH: &str =
    r#"{"id":"p1","hook_event_name":"PreToolUse","tool_name":"Bash","session_id":"s"}"#;
const POST_EDIT: &str =
    r#"{"id":"p2","hook_event_name":"PostToolUse","tool_name":"Edit","session_id":"s"}"#;
const FAILURE: &str =
    r#"{"id":"f1","hook_event_name":"PostToolUseFailure","tool_name":"Bash","session_id":"s"}"#;

#[test]
fn tool_events_go_live_to_tools_clients_as_tool_start_and_tool_stop() {
    let mut h = relay();
    h.dashboard(1, "/tools", "");
    let got = hook(&mut h, PRE_BASH, &[1]);
    assert_eq!(names(&got[0]), [triple("/tools", "tool_start", "p1")]);
    let got = hook(&mut h, POST_EDIT, &[1]);
    assert_eq!(names(&got[0]), [triple("/tools", "tool_stop", "p2")]);
}

#[test]
fn buffer_if_no_clients_flushes_to_the_first_client_only() {
    let mut h = relay();
    hook(&mut h, PRE_BASH, &[]);
    hook(&mut h, POST_EDIT, &[]);
    assert_eq!(
        h.engine.stats().events_dropped,
        1,
        "/files dropped the edit"
    );
    let first = h.dashboard(1, "/tools", "");
    assert_eq!(
        names(&first),
        [
            triple("/tools", "tool_start", "p1"),
            triple("/tools", "tool_stop", "p2")
        ]
    );
    let second = h.dashboard(2, "/tools", "");
    assert!(second.is_empty(), "{second:?}");
}

#[test]
fn sub_agent_events_are_buffered_for_the_first_agents_client() {
    let mut h = relay();
    hook(
        &mut h,
        r#"{"id":"a1","hook_event_name":"SubagentStart","agent_id":"ag"}"#,
        &[],
    );
    hook(
        &mut h,
        r#"{"id":"a2","hook_event_name":"SubagentStop","agent_id":"ag"}"#,
        &[],
    );
    assert_eq!(
        names(&h.dashboard(1, "/agents", "")),
        [
            triple("/agents", "subagent_start", "a1"),
            triple("/agents", "subagent_stop", "a2")
        ]
    );
    assert!(h.dashboard(2, "/agents", "").is_empty());
}

#[test]
fn drop_if_no_clients_sends_file_operations_only_to_clients_present() {
    let mut h = relay();
    hook(&mut h, POST_EDIT, &[]);
    assert!(
        h.dashboard(1, "/files", "").is_empty(),
        "dropped, not buffered"
    );
    assert_eq!(h.engine.stats().events_dropped, 1);
    let edit2 = POST_EDIT.replace("p2", "p3");
    let got = hook(&mut h, &edit2, &[1]);
    assert_eq!(names(&got[0]), [triple("/files", "file_operation", "p3")]);
}

#[test]
fn always_buffer_replays_errors_to_every_client_that_connects() {
    let mut h = relay();
    hook(&mut h, FAILURE, &[]);
    for conn in 1..=2 {
        let got = h.dashboard(conn, "/errors", "");
        assert_eq!(
            names(&got),
            [triple("/errors", "error", "f1")],
            "client {conn}"
        );
    }
    let live = hook(&mut h, &FAILURE.replace("f1", "f2"), &[1, 2]);
    assert_eq!(names(&live[0]), [triple("/errors", "error", "f2")]);
    let third = h.dashboard(3, "/errors", "");
    assert_eq!(
        names(&third),
        [
            triple("/errors", "error", "f1"),
            triple("/errors", "error", "f2")
        ]
    );
}

#[test]
fn always_send_keeps_nothing_for_later_clients() {
    let mut h = relay();
    let status = r#"{"id":"c1","type":"system","subtype":"connection_status","data":{"up":true}}"#;
    h.post_json(100, "/api/events", status);
    assert!(h.dashboard(1, "/system", "").is_empty());
    let drained = h.post_json(101, "/api/events", &status.replace("c1", "c2"));
    assert_eq!(
        names(&drained.got(1)),
        [triple("/system", "connection_status", "c2")]
    );
}

#[test]
fn typed_namespace_clients_are_filtered_by_their_auth_too() {
    let mut h = relay();
    h.dashboard(1, "/tools", r#"{"session":"mine"}"#);
    let got = hook(&mut h, PRE_BASH, &[1]);
    assert!(got[0].is_empty(), "session s is not mine");
    let mine = PRE_BASH.replace("\"s\"", "\"mine\"").replace("p1", "p9");
    let got = hook(&mut h, &mine, &[1]);
    assert_eq!(names(&got[0]), [triple("/tools", "tool_start", "p9")]);
}

#[test]
fn a_namespace_the_relay_does_not_serve_is_refused() {
    let mut h = relay();
    h.open_websocket(1);
    assert_eq!(
        h.ws_text(1, "40/custom,").ws_sent(1),
        [r#"44/custom,{"message":"Invalid namespace"}"#]
    );
}

#[test]
fn the_default_profile_names_every_event_claude_event() {
    let mut h = relay();
    h.dashboard(1, "/", "");
    for body in [PRE_BASH, POST_EDIT, FAILURE] {
        let got = hook(&mut h, body, &[1]);
        assert_eq!(got[0].len(), 1);
        assert_eq!(got[0][0].name, "claude_event");
    }
}

#[test]
fn the_claude_mpm_profile_names_events_by_category() {
    let mut config = Config::default();
    config.relay.profile = Profile::ClaudeMpm;
    let mut h = Harness::relay(config);
    h.dashboard(1, "/", "");
    let cases = [
        (
            r#"{"hook_event_name":"PreToolUse","tool_name":"Bash"}"#,
            "tool_event",
        ),
        (
            r#"{"hook_event_name":"PostToolUse","tool_name":"Write"}"#,
            "file_event",
        ),
        (r#"{"hook_event_name":"SubagentStart"}"#, "agent_event"),
        (r#"{"hook_event_name":"UserPromptSubmit"}"#, "session_event"),
        (r#"{"hook_event_name":"Stop"}"#, "session_event"),
        (r#"{"hook_event_name":"Notification"}"#, "system_event"),
        (r#"{"hook_event_name":"BrandNewHook"}"#, "hook_event"),
    ];
    for (body, name) in cases {
        let got = hook(&mut h, body, &[1]);
        let got: Vec<&str> = got[0].iter().map(|g| g.name.as_str()).collect();
        assert_eq!(got, [name], "{body}");
    }
    let events = [
        (r#"{"type":"response","subtype":"final"}"#, "response_event"),
        (r#"{"type":"system","subtype":"heartbeat"}"#, "system_event"),
        (r#"{"type":"custom","subtype":"thing"}"#, "claude_event"),
    ];
    for (body, name) in events {
        let drained = h.post_json(100, "/api/events", body);
        let got: Vec<String> = drained.got(1).into_iter().map(|g| g.name).collect();
        assert_eq!(got, [name], "{body}");
    }
}
