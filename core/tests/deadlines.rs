//! Every wait has a deadline: the upgrade, the namespace CONNECT, the binary attachments.

mod support;

use std::time::Duration;

use iorelay_core::{CloseReason, Config, Event, NamespacePolicy};
use support::{closed_for, polling, secs, websocket, Harness};

const NS: Duration = Duration::from_nanos(1);

fn connect_timeout(secs_: u64) -> Config {
    Config {
        connect_timeout: secs(secs_),
        ..Config::default()
    }
}

#[test]
fn an_upgrade_that_never_completes_closes_the_probe_at_its_deadline() {
    let mut h = Harness::default_config();
    let opened = h.open_polling(1);
    h.post(2, &polling(&opened.sid), b"40");
    h.set_time(secs(2));
    h.ws_open(3, &websocket(&opened.sid));
    let probe = h.ws_text(3, "2probe");
    assert_eq!(probe.next, Some(h.t0 + secs(12)));
    assert!(h.tick_at(h.t0 + secs(12) - NS).outputs.is_empty());
    let due = h.tick(secs(12));
    assert_eq!(due.transcript(), ["3 ws close 1008 upgrade timeout"]);
    assert_eq!(due.events(), [], "the session stays");
    assert_eq!(due.next, Some(h.t0 + secs(25)));
    let poll = h.get(4, &polling(&opened.sid));
    assert_eq!(poll.polled(4).len(), 1, "the connect reply, no noop");
}

#[test]
fn after_an_upgrade_timeout_a_new_probe_may_succeed() {
    let mut h = Harness::default_config();
    let opened = h.open_polling(1);
    h.ws_open(2, &websocket(&opened.sid));
    h.tick(secs(10));
    h.ws_open(3, &websocket(&opened.sid));
    assert_eq!(h.ws_text(3, "2probe").transcript(), ["3 ws 3probe"]);
    let done = h.ws_text(3, "5");
    assert_eq!(
        done.events(),
        [Event::SessionUpgraded {
            session: opened.session
        }]
    );
}

#[test]
fn a_session_without_connect_closes_at_the_connect_deadline() {
    let mut h = Harness::new(connect_timeout(5));
    let opened = h.open_polling(1);
    assert_eq!(h.get(2, &polling(&opened.sid)).outputs, []);
    assert!(h.tick_at(h.t0 + secs(5) - NS).outputs.is_empty());
    let due = h.tick(secs(5));
    assert_eq!(due.transcript(), ["2 http 200 1"]);
    assert_eq!(
        due.events(),
        [Event::SessionClosed {
            session: opened.session,
            reason: CloseReason::ConnectTimeout
        }]
    );
    assert_eq!(h.engine.session_count(), 0);
}

#[test]
fn a_websocket_session_without_connect_is_closed_with_a_close_frame() {
    let mut h = Harness::new(connect_timeout(5));
    h.open_websocket(1);
    let due = h.tick(secs(5));
    assert_eq!(due.transcript(), ["1 ws close 1000 connect timeout"]);
}

#[test]
fn a_connect_cancels_the_connect_deadline() {
    let mut h = Harness::new(connect_timeout(5));
    h.open_websocket(1);
    h.set_time(secs(4));
    let connected = h.ws_text(1, "40");
    assert_eq!(connected.next, Some(h.t0 + secs(25)));
    assert!(h.tick(secs(5)).outputs.is_empty());
    assert_eq!(h.engine.session_count(), 1);
}

#[test]
fn a_refused_connect_does_not_cancel_the_connect_deadline() {
    let config = Config {
        namespaces: NamespacePolicy::Only(vec!["/".to_owned()]),
        ..connect_timeout(5)
    };
    let mut h = Harness::new(config);
    let opened = h.open_websocket(1);
    h.ws_text(1, "40/nope,");
    let due = h.tick(secs(5));
    assert_eq!(
        due.events(),
        [Event::SessionClosed {
            session: opened.session,
            reason: CloseReason::ConnectTimeout
        }]
    );
}

#[test]
fn missing_attachments_close_the_session_at_the_attachment_deadline() {
    let mut h = Harness::default_config();
    let (opened, socket) = h.connected_websocket(1);
    h.set_time(secs(3));
    let header = h.ws_text(1, r#"451-["up",{"_placeholder":true,"num":0}]"#);
    assert_eq!(header.next, Some(h.t0 + secs(13)));
    assert!(h.tick_at(h.t0 + secs(13) - NS).outputs.is_empty());
    let due = h.tick(secs(13));
    assert_eq!(due.transcript(), ["1 ws close 1002 parse error"]);
    assert_eq!(
        due.events(),
        closed_for(CloseReason::ParseError, socket, opened.session)
    );
}

#[test]
fn attachments_that_arrive_in_time_cancel_the_attachment_deadline() {
    let mut h = Harness::default_config();
    h.connected_websocket(1);
    h.ws_text(1, r#"451-["up",{"_placeholder":true,"num":0}]"#);
    h.set_time(secs(9));
    let done = h.ws_binary(1, &[1]);
    assert_eq!(done.next, Some(h.t0 + secs(25)));
}

#[test]
fn the_next_deadline_is_the_earliest_of_all_sessions() {
    let mut h = Harness::new(connect_timeout(5));
    h.open_websocket(1);
    h.set_time(secs(1));
    h.open_websocket(2);
    h.set_time(secs(2));
    let out = h.ws_text(1, "40");
    assert_eq!(
        out.next,
        Some(h.t0 + secs(6)),
        "session 2's connect deadline"
    );
    assert_eq!(h.engine.next_deadline(), Some(h.t0 + secs(6)));
}
