//! The relay's behaviours (issue 4), written once and run against the simulator and both
//! binaries started WITHOUT `--conformance`: events posted over HTTP reach websocket and
//! polling dashboards live with their `id` and `session_id`, a late joiner gets
//! `event_history`, a session filter narrows what a client gets, an id posted three times
//! arrives once, and 500 events posted on one keep-alive connection arrive once each, in order.
//!
//! The scenarios share one server, so each uses its own session ids and event ids and never
//! assumes the history is empty.

use std::time::Duration;

use serde_json::{json, Value};

use crate::scenarios::{json, open_polling};
use crate::target::{HttpId, KeepAliveId, Msg, Target, TargetExt, WsId};

/// A named relay scenario.
pub type RelayScenario = (&'static str, fn(&mut dyn Target));

const SOON: Duration = Duration::from_secs(5);
const SIO: &str = "/socket.io/?EIO=4";
/// Most polls or websocket messages a client reads while waiting for what it expects.
const MAX_READS: usize = 10_000;

/// Every relay scenario, in a stable order.
#[must_use]
pub fn all() -> Vec<RelayScenario> {
    named![fn(&mut dyn Target);
        health_reports_the_relay_counters,
        a_posted_event_reaches_websocket_and_polling_clients_with_id_and_session_id,
        legacy_and_raw_hook_events_are_delivered_as_claude_event,
        a_late_joiner_gets_earlier_events_in_event_history,
        a_session_filtered_client_receives_only_its_session,
        an_id_posted_three_times_arrives_once,
        five_hundred_events_on_one_keep_alive_connection_arrive_once_each_in_order,
        subscribe_and_history_requests_are_acked,
        bad_ingest_bodies_get_json_errors,
        api_history_filters_by_session,
    ]
}

/// A Socket.IO EVENT packet on `/` (`42[...]`) as (name, arguments); `None` for anything else.
fn sio_event(packet: &str) -> Option<(String, Vec<Value>)> {
    let data = packet.strip_prefix("42")?;
    let data = data.trim_start_matches(|c: char| c.is_ascii_digit());
    let mut list = json(data).as_array()?.clone().into_iter();
    let name = list.next()?.as_str()?.to_owned();
    Some((name, list.collect()))
}

/// A dashboard: a Socket.IO client on `/` over websocket or polling, with what it received.
struct Dashboard {
    transport: Transport,
    /// Events received, in order: (name, arguments).
    got: Vec<(String, Vec<Value>)>,
    /// Acks received: (id, arguments).
    acks: Vec<(u64, Vec<Value>)>,
}

enum Transport {
    Ws(WsId),
    Polling { sid: String, poll: Option<HttpId> },
}

impl Dashboard {
    /// Connects over websocket with `auth` (empty: none) and waits for `event_history`.
    fn websocket(t: &mut dyn Target, auth: &str) -> Self {
        let ws = t
            .open_ws(&format!("{SIO}&transport=websocket"))
            .unwrap_or_else(|r| panic!("[{}] websocket refused: {}", t.label(), r.text()));
        let open = t.ws_text(ws, SOON);
        assert!(open.starts_with("0{"), "[{}] open: {open}", t.label());
        t.ws_send(ws, Msg::Text(format!("40{auth}")));
        let mut dashboard = Self {
            transport: Transport::Ws(ws),
            got: Vec::new(),
            acks: Vec::new(),
        };
        dashboard.read_until(t, |d| d.count("event_history") == 1);
        dashboard
    }

    /// Connects over polling with `auth` and waits for `event_history`.
    fn polling(t: &mut dyn Target, auth: &str) -> Self {
        let sid = open_polling(t, SIO);
        let mut dashboard = Self {
            transport: Transport::Polling { sid, poll: None },
            got: Vec::new(),
            acks: Vec::new(),
        };
        dashboard.send(t, &format!("40{auth}"));
        dashboard.read_until(t, |d| d.count("event_history") == 1);
        dashboard
    }

    fn send(&mut self, t: &mut dyn Target, packet: &str) {
        match &self.transport {
            Transport::Ws(ws) => t.ws_send(*ws, Msg::Text(packet.to_owned())),
            Transport::Polling { sid, .. } => {
                let path = format!("{SIO}&transport=polling&sid={sid}");
                let reply = t.http("POST", &path, packet.as_bytes(), SOON);
                assert_eq!(
                    (reply.status, reply.text().as_str()),
                    (200, "ok"),
                    "[{}] post {packet}",
                    t.label()
                );
            }
        }
    }

    /// Reads packets until `done` holds (bounded in reads and, per read, in time).
    fn read_until(&mut self, t: &mut dyn Target, done: impl Fn(&Self) -> bool) {
        for _ in 0..MAX_READS {
            if done(self) {
                return;
            }
            for packet in self.read(t) {
                self.take(t, &packet);
            }
        }
        panic!("[{}] still waiting after {MAX_READS} reads", t.label());
    }

    /// The next packets: one websocket message, or one poll's payload.
    fn read(&mut self, t: &mut dyn Target) -> Vec<String> {
        match &mut self.transport {
            Transport::Ws(ws) => vec![t.ws_text(*ws, SOON)],
            Transport::Polling { sid, poll } => {
                let path = format!("{SIO}&transport=polling&sid={sid}");
                let id = poll
                    .take()
                    .unwrap_or_else(|| t.send_http("GET", &path, b""));
                let label = t.label();
                let reply = t
                    .wait_http(id, SOON)
                    .unwrap_or_else(|| panic!("[{label}] no poll reply within {SOON:?}"));
                assert_eq!(reply.status, 200, "[{label}] poll: {}", reply.text());
                reply.text().split('\u{1e}').map(str::to_owned).collect()
            }
        }
    }

    fn take(&mut self, t: &mut dyn Target, packet: &str) {
        if packet == "2" {
            self.send(t, "3");
        } else if let Some(event) = sio_event(packet) {
            self.got.push(event);
        } else if let Some(ack) = packet.strip_prefix("43") {
            let digits: String = ack.chars().take_while(char::is_ascii_digit).collect();
            let args = json(&ack[digits.len()..])
                .as_array()
                .cloned()
                .unwrap_or_default();
            self.acks.push((digits.parse().expect("ack id"), args));
        }
    }

    fn count(&self, name: &str) -> usize {
        self.got.iter().filter(|(n, _)| n == name).count()
    }

    /// The `event_history` payload.
    fn history(&self) -> Value {
        self.got
            .iter()
            .find(|(n, _)| n == "event_history")
            .map(|(_, args)| args[0].clone())
            .expect("event_history")
    }

    /// Waits until `n` `claude_event`s arrived in all; returns them all.
    fn claude_events(&mut self, t: &mut dyn Target, n: usize) -> Vec<Value> {
        self.read_until(t, |d| d.count("claude_event") >= n);
        self.got
            .iter()
            .filter(|(name, _)| name == "claude_event")
            .map(|(_, args)| {
                assert_eq!(
                    args.len(),
                    2,
                    "claude_event carries the event and its offset: {args:?}"
                );
                assert_eq!(
                    args[1], args[0]["offset"],
                    "the offset argument is the event's"
                );
                args[0].clone()
            })
            .collect()
    }

    /// Sends `name` with `arg` and ack id `ack`; waits for the ack's arguments.
    fn ask(&mut self, t: &mut dyn Target, ack: u64, name: &str, arg: &str) -> Vec<Value> {
        self.send(t, &format!(r#"42{ack}["{name}",{arg}]"#));
        self.read_until(t, |d| d.acks.iter().any(|(id, _)| *id == ack));
        self.acks
            .iter()
            .find(|(id, _)| *id == ack)
            .map(|(_, args)| args.clone())
            .expect("ack")
    }

    /// A round trip: a `subscribe` with the client's own filter, acked after everything
    /// queued for it before.
    fn barrier(&mut self, t: &mut dyn Target, ack: u64, filter: &str) {
        let reply = self.ask(t, ack, "subscribe", filter);
        assert_eq!(reply[0]["ok"], true, "[{}] {reply:?}", t.label());
    }

    /// Closes the Engine.IO session.
    fn close(mut self, t: &mut dyn Target) {
        self.send(t, "1");
    }
}

/// `POST path` with `body`; returns the reply.
fn post(t: &mut dyn Target, path: &str, body: &str) -> crate::HttpReply {
    t.http("POST", path, body.as_bytes(), SOON)
}

/// Posts a stop event with `id` in `session`; expects 204.
fn post_stop(t: &mut dyn Target, id: &str, session: &str) {
    let body = json!({"id": id, "type": "hook", "subtype": "stop", "session_id": session});
    let reply = post(t, "/api/events", &body.to_string());
    assert_eq!(reply.status, 204, "[{}] {}", t.label(), reply.text());
}

fn ids(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| e["id"].as_str().expect("id").to_owned())
        .collect()
}

fn offsets(events: &[Value]) -> Vec<u64> {
    events
        .iter()
        .map(|e| {
            e["offset"]
                .as_str()
                .expect("offset")
                .parse()
                .expect("digits")
        })
        .collect()
}

fn health_reports_the_relay_counters(t: &mut dyn Target) {
    let reply = t.http("GET", "/health", b"", SOON);
    assert_eq!(reply.status, 200);
    let health = reply.json();
    assert_eq!(health["status"], "ok");
    assert!(health["events"]["events_in"].is_u64(), "{health}");
    assert!(health["next_offset"].is_u64(), "{health}");
}

fn a_posted_event_reaches_websocket_and_polling_clients_with_id_and_session_id(t: &mut dyn Target) {
    let auth = r#"{"session":"sc-live"}"#;
    let mut ws = Dashboard::websocket(t, auth);
    let mut polling = Dashboard::polling(t, auth);
    post_stop(t, "sc-live-1", "sc-live");
    for dashboard in [&mut ws, &mut polling] {
        let events = dashboard.claude_events(t, 1);
        assert_eq!(ids(&events), ["sc-live-1"], "[{}]", t.label());
        assert_eq!(events[0]["session_id"], "sc-live");
        assert_eq!(events[0]["subtype"], "stop");
    }
    ws.close(t);
    polling.close(t);
}

fn legacy_and_raw_hook_events_are_delivered_as_claude_event(t: &mut dyn Target) {
    let mut ws = Dashboard::websocket(t, r#"{"session":"sc-kinds"}"#);
    let legacy = json!({"namespace": "", "event": "claude_event", "data": {
        "id": "sc-legacy", "type": "hook", "subtype": "user_prompt_submit",
        "session_id": "sc-kinds", "data": {"prompt": "hi"}}});
    assert_eq!(post(t, "/api/events", &legacy.to_string()).status, 204);
    let hook = json!({"id": "sc-hook", "hook_event_name": "PreToolUse", "session_id": "sc-kinds",
        "cwd": "/w/shop", "tool_name": "Bash", "tool_use_id": "tu-9", "tool_input": {"command": "ls"}});
    assert_eq!(post(t, "/api/hooks", &hook.to_string()).status, 204);
    let events = ws.claude_events(t, 2);
    assert_eq!(ids(&events), ["sc-legacy", "sc-hook"]);
    assert_eq!(events[0]["subtype"], "user_prompt_submit");
    assert_eq!(events[0]["data"], json!({"prompt": "hi"}));
    assert_eq!(
        (&events[1]["subtype"], &events[1]["hook_event_name"]),
        (&json!("pre_tool_use"), &json!("PreToolUse"))
    );
    assert_eq!(
        (&events[1]["project"], &events[1]["tool_use_id"]),
        (&json!("shop"), &json!("tu-9"))
    );
    assert_eq!(
        (&events[1]["source"], &events[1]["data"]),
        (&json!("hook"), &hook)
    );
    ws.close(t);
}

fn a_late_joiner_gets_earlier_events_in_event_history(t: &mut dyn Target) {
    for i in 1..=3 {
        post_stop(t, &format!("sc-late-{i}"), "sc-late");
    }
    let auth = r#"{"session":"sc-late"}"#;
    for dashboard in [Dashboard::websocket(t, auth), Dashboard::polling(t, auth)] {
        let history = dashboard.history();
        let events = history["events"].as_array().expect("events").clone();
        assert_eq!(
            ids(&events),
            ["sc-late-1", "sc-late-2", "sc-late-3"],
            "[{}]",
            t.label()
        );
        assert_eq!(
            (&history["count"], &history["total_available"]),
            (&json!(3), &json!(3))
        );
        dashboard.close(t);
    }
    let limited = Dashboard::websocket(t, r#"{"session":"sc-late","limit":1}"#);
    let events = limited.history()["events"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(ids(&events), ["sc-late-3"]);
    limited.close(t);
}

fn a_session_filtered_client_receives_only_its_session(t: &mut dyn Target) {
    let mut mine = Dashboard::websocket(t, r#"{"session":"sc-mine"}"#);
    let mut everyone = Dashboard::polling(t, "");
    post_stop(t, "sc-f1", "sc-mine");
    post_stop(t, "sc-f2", "sc-other");
    post_stop(t, "sc-f3", "sc-mine");
    let all = everyone.claude_events(t, 3);
    let seen: Vec<String> = ids(&all)
        .into_iter()
        .filter(|id| id.starts_with("sc-f"))
        .collect();
    assert_eq!(seen, ["sc-f1", "sc-f2", "sc-f3"]);
    let filtered = mine.claude_events(t, 2);
    mine.barrier(t, 1, r#"{"session":"sc-mine"}"#);
    assert_eq!(ids(&mine.claude_events(t, 2)), ["sc-f1", "sc-f3"]);
    assert_eq!(ids(&filtered), ["sc-f1", "sc-f3"]);
    mine.close(t);
    everyone.close(t);
}

fn an_id_posted_three_times_arrives_once(t: &mut dyn Target) {
    let auth = r#"{"session":"sc-dup"}"#;
    let mut ws = Dashboard::websocket(t, auth);
    let mut polling = Dashboard::polling(t, auth);
    for _ in 0..3 {
        post_stop(t, "sc-dup-1", "sc-dup");
    }
    post_stop(t, "sc-dup-2", "sc-dup");
    for dashboard in [&mut ws, &mut polling] {
        let events = dashboard.claude_events(t, 2);
        assert_eq!(ids(&events), ["sc-dup-1", "sc-dup-2"], "[{}]", t.label());
    }
    let late = Dashboard::websocket(t, auth);
    let history = late.history();
    assert_eq!(
        ids(history["events"].as_array().unwrap()),
        ["sc-dup-1", "sc-dup-2"]
    );
    for dashboard in [ws, polling, late] {
        dashboard.close(t);
    }
}

fn five_hundred_events_on_one_keep_alive_connection_arrive_once_each_in_order(t: &mut dyn Target) {
    const N: usize = 500;
    let auth = r#"{"session":"sc-500"}"#;
    let mut ws = Dashboard::websocket(t, auth);
    let mut polling = Dashboard::polling(t, auth);
    let conn: KeepAliveId = t.open_keep_alive();
    let expected: Vec<String> = (0..N).map(|i| format!("sc-500-{i:03}")).collect();
    for id in &expected {
        let body = json!({"id": id, "type": "hook", "subtype": "stop", "session_id": "sc-500"});
        let label = t.label();
        let reply = t
            .keep_alive_request(
                conn,
                "POST",
                "/api/events",
                body.to_string().as_bytes(),
                SOON,
            )
            .unwrap_or_else(|| panic!("[{label}] no reply to event {id} on the keep-alive conn"));
        assert_eq!(reply.status, 204, "[{label}] {id}: {}", reply.text());
    }
    for dashboard in [&mut ws, &mut polling] {
        let events = dashboard.claude_events(t, N);
        assert_eq!(
            ids(&events),
            expected,
            "[{}] once each, in order",
            t.label()
        );
        let offsets = offsets(&events);
        assert!(
            offsets.windows(2).all(|w| w[1] == w[0] + 1),
            "[{}] consecutive offsets: {offsets:?}",
            t.label()
        );
        dashboard.barrier(t, 1, auth);
        assert_eq!(
            dashboard.count("claude_event"),
            N,
            "[{}] nothing more",
            t.label()
        );
    }
    ws.close(t);
    polling.close(t);
}

fn subscribe_and_history_requests_are_acked(t: &mut dyn Target) {
    for i in 1..=4 {
        post_stop(t, &format!("sc-page-{i}"), "sc-page");
    }
    let mut ws = Dashboard::websocket(t, r#"{"session":"nobody"}"#);
    let reply = ws.ask(t, 1, "subscribe", r#"{"session":"sc-page"}"#);
    assert_eq!(
        reply,
        [
            json!({"ok": true, "subscription": {"session": "sc-page", "project": null, "types": null}})
        ]
    );
    let page = ws.ask(t, 2, "history", r#"{"session":"sc-page","limit":2}"#);
    let newest = page[0]["events"].as_array().unwrap().clone();
    assert_eq!(ids(&newest), ["sc-page-3", "sc-page-4"]);
    let before = offsets(&newest)[0];
    let page = ws.ask(
        t,
        3,
        "history",
        &format!(r#"{{"session":"sc-page","before":"{before}"}}"#),
    );
    assert_eq!(
        ids(page[0]["events"].as_array().unwrap()),
        ["sc-page-1", "sc-page-2"]
    );
    let unknown = ws.ask(t, 4, "launch", "{}");
    assert_eq!(unknown[0]["error"], "unknown event");
    post_stop(t, "sc-page-5", "sc-page");
    assert_eq!(ids(&ws.claude_events(t, 1)), ["sc-page-5"]);
    ws.close(t);
}

fn bad_ingest_bodies_get_json_errors(t: &mut dyn Target) {
    let reply = post(t, "/api/events", "{not json");
    assert_eq!(reply.status, 400);
    assert_eq!(reply.json()["error"], "malformed JSON");
    let reply = t.http("GET", "/api/hooks", b"", SOON);
    assert_eq!(
        (reply.status, reply.json()["error"].clone()),
        (405, json!("method not allowed"))
    );
    let reply = post(t, "/api/events", r#"[{"id":"sc-arr-1"},{"id":"sc-arr-1"}]"#);
    assert_eq!(
        (reply.status, reply.json()),
        (202, json!({"accepted": 1, "duplicates": 1}))
    );
}

fn api_history_filters_by_session(t: &mut dyn Target) {
    post_stop(t, "sc-api-1", "sc-api");
    post_stop(t, "sc-api-x", "sc-api-other");
    post_stop(t, "sc-api-2", "sc-api");
    let reply = t.http("GET", "/api/history?session=sc-api", b"", SOON);
    assert_eq!(reply.status, 200, "{}", reply.text());
    let page = reply.json();
    assert_eq!(
        ids(page["events"].as_array().unwrap()),
        ["sc-api-1", "sc-api-2"]
    );
    let reply = t.http("GET", "/api/history?after=x", b"", SOON);
    assert_eq!(
        (reply.status, reply.json()["error"].clone()),
        (400, json!("bad query"))
    );
}
