//! Connection state recovery across cluster nodes: a socket parked on one relay is written to
//! Redis (`SaveSession`), and a CONNECT naming its pid on another relay waits for the session
//! to be taken from Redis (`TakeSession`) and resumes as a recovery.

mod support;

use iorelay_core::cluster::{Command, Report};
use iorelay_core::{Config, Input, Output, Relay};
use support::{Drained, Harness};

fn cluster_relay() -> Harness<Relay> {
    let mut config = Config::default();
    config.relay.cluster.redis_url = Some("redis://127.0.0.1:1".to_owned());
    let mut h = Harness::relay(config);
    let now = h.now;
    // The link's first connect (epoch 1) answers: the link is up.
    h.input(Input::Cluster {
        now,
        report: Report::Connected {
            epoch: 1,
            newest: None,
        },
    });
    h
}

fn commands(drained: &Drained) -> Vec<Command> {
    drained
        .outputs
        .iter()
        .filter_map(|output| match output {
            Output::Cluster(command) => Some(command.clone()),
            _ => None,
        })
        .collect()
}

/// A websocket client on `/` (conn `conn`) connecting with `auth`; returns what was sent.
fn connect(h: &mut Harness<Relay>, conn: u64, auth: &str) -> Drained {
    h.open_websocket(conn);
    h.ws_text(conn, &format!("40{auth}"))
}

fn reply_pid(frame: &str) -> String {
    let reply: serde_json::Value = serde_json::from_str(&frame[2..]).expect("CONNECT reply");
    reply["pid"].as_str().expect("a pid").to_owned()
}

#[test]
fn a_session_parked_on_one_node_is_recovered_on_another() {
    let mut a = cluster_relay();
    let pid = reply_pid(&connect(&mut a, 1, "").ws_sent(1)[0]);
    let closed = a.conn_closed(1);
    let saved = commands(&closed);
    let [Command::SaveSession { key, value, ttl_ms }] = &saved[..] else {
        panic!("one SaveSession: {saved:?}");
    };
    assert_eq!(key, &format!("sio:session:{pid}"));
    assert_eq!(*ttl_ms, 120_000, "the recovery window");

    let mut b = cluster_relay();
    let asked = connect(&mut b, 2, &format!(r#"{{"pid":"{pid}","offset":"0"}}"#));
    assert!(
        asked.ws_sent(2).is_empty(),
        "the CONNECT waits for the lookup"
    );
    let looked = commands(&asked);
    let [Command::TakeSession { token, key: taken }] = &looked[..] else {
        panic!("one TakeSession: {looked:?}");
    };
    assert_eq!(taken, key);
    let now = b.now;
    let resumed = b.input(Input::Cluster {
        now,
        report: Report::Session {
            token: *token,
            value: Some(value.clone().into_bytes()),
        },
    });
    let sent = resumed.ws_sent(2);
    assert_eq!(
        reply_pid(&sent[0]),
        pid,
        "same pid: the client reports recovered"
    );
    assert!(
        !sent.iter().any(|f| f.contains("event_history")),
        "a recovery, not a new connection: {sent:?}"
    );
}

#[test]
fn a_pid_redis_does_not_know_connects_as_new() {
    let mut b = cluster_relay();
    let asked = connect(&mut b, 2, r#"{"pid":"unknown","offset":"0"}"#);
    let looked = commands(&asked);
    let [Command::TakeSession { token, .. }] = &looked[..] else {
        panic!("one TakeSession: {looked:?}");
    };
    let now = b.now;
    let resumed = b.input(Input::Cluster {
        now,
        report: Report::Session {
            token: *token,
            value: None,
        },
    });
    let sent = resumed.ws_sent(2);
    assert_ne!(reply_pid(&sent[0]), "unknown");
    assert!(sent[1].starts_with("42[\"event_history\""), "{sent:?}");
}

#[test]
fn a_session_a_node_js_server_parked_is_recovered() {
    use iorelay_core::cluster::session::StoredSession;
    // What the Node adapter stores: no namespace in `data` (its key is per pid).
    let stored = StoredSession {
        sid: "node-sid".into(),
        pid: "node-pid".into(),
        rooms: vec!["node-sid".into()],
        data: serde_json::json!({}),
    };
    let mut b = cluster_relay();
    let asked = connect(&mut b, 2, r#"{"pid":"node-pid","offset":"0"}"#);
    let looked = commands(&asked);
    let [Command::TakeSession { token, .. }] = &looked[..] else {
        panic!("one TakeSession: {looked:?}");
    };
    let now = b.now;
    let resumed = b.input(Input::Cluster {
        now,
        report: Report::Session {
            token: *token,
            value: Some(stored.encode().into_bytes()),
        },
    });
    let sent = resumed.ws_sent(2);
    let reply: serde_json::Value = serde_json::from_str(&sent[0][2..]).expect("CONNECT reply");
    assert_eq!(reply["pid"], "node-pid");
    assert_eq!(reply["sid"], "node-sid", "the session's sid back");
    assert!(
        !sent.iter().any(|f| f.contains("event_history")),
        "{sent:?}"
    );
}
