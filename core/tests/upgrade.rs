//! The polling → websocket upgrade: probe, release of the held poll, completion, and what the
//! session refuses afterwards.

mod support;

use iorelay_core::{CloseReason, Config, Emit, Event};
use std::time::Duration;

use support::{ms, polling, secs, websocket, Harness, Opened};

const NS: Duration = Duration::from_nanos(1);

/// A polling session connected to `/` (its CONNECT reply already polled on conn 3) with a GET
/// held on conn 4.
fn polling_session_with_held_get(h: &mut Harness) -> Opened {
    let opened = h.open_polling(1);
    h.post(2, &polling(&opened.sid), b"40");
    assert_eq!(h.get(3, &polling(&opened.sid)).polled(3).len(), 1);
    assert!(h.get(4, &polling(&opened.sid)).outputs.is_empty());
    opened
}

#[test]
fn the_upgrade_transcript_from_probe_to_completion() {
    let mut h = Harness::default_config();
    let opened = polling_session_with_held_get(&mut h);

    let accept = h.ws_open(5, &websocket(&opened.sid));
    assert_eq!(accept.transcript(), ["5 ws accept"]);
    assert_eq!(accept.events(), []);

    let probe = h.ws_text(5, "2probe");
    assert_eq!(probe.transcript(), ["5 ws 3probe", "4 http 200 6"]);

    let upgrade = h.ws_text(5, "5");
    assert_eq!(upgrade.transcript(), Vec::<String>::new());
    assert_eq!(
        upgrade.events(),
        [Event::SessionUpgraded {
            session: opened.session
        }]
    );

    let late_poll = h.get(6, &polling(&opened.sid));
    assert_eq!(
        late_poll.transcript(),
        [r#"6 http 400 {"code":3,"message":"Bad request"}"#]
    );
    let late_post = h.post(7, &polling(&opened.sid), b"42[\"x\"]");
    assert_eq!(
        late_post.transcript(),
        [r#"7 http 400 {"code":3,"message":"Bad request"}"#]
    );

    let second = h.ws_open(8, &websocket(&opened.sid));
    assert_eq!(
        second.transcript(),
        [
            "8 ws accept",
            "8 ws close 1008 session already has a websocket"
        ]
    );
    assert_eq!(
        h.engine.session_count(),
        1,
        "the session survives all of it"
    );
}

#[test]
fn after_the_upgrade_the_session_talks_over_the_websocket() {
    let mut h = Harness::default_config();
    let opened = polling_session_with_held_get(&mut h);
    h.ws_open(5, &websocket(&opened.sid));
    h.ws_text(5, "2probe");
    h.ws_text(5, "5");
    let event = h.ws_text(5, r#"42["hello"]"#);
    assert!(matches!(
        event.events()[..],
        [Event::Message { ref name, .. }] if name == "hello"
    ));
    let ping = h.tick(secs(25));
    assert_eq!(ping.transcript(), ["5 ws 2"]);
}

#[test]
fn frames_queued_during_the_upgrade_are_flushed_to_the_websocket_in_order() {
    let mut h = Harness::default_config();
    let opened = polling_session_with_held_get(&mut h);
    let socket = iorelay_core::SocketId(0);
    h.ws_open(5, &websocket(&opened.sid));
    h.ws_text(5, "2probe");
    let now = h.now;
    for n in ["1", "2", "3"] {
        h.engine
            .emit_to(now, socket, &Emit::new("n", &[n.as_bytes()]), None)
            .expect("connected");
    }
    assert!(h.drain().outputs.is_empty(), "no poll is held: queued");
    let upgrade = h.ws_text(5, "5");
    assert_eq!(
        upgrade.transcript(),
        [
            r#"5 ws 42["n",1]"#,
            r#"5 ws 42["n",2]"#,
            r#"5 ws 42["n",3]"#
        ]
    );
}

#[test]
fn a_poll_after_the_probe_is_held_50ms_then_released_with_noop() {
    let mut h = Harness::default_config();
    let opened = h.open_polling(1);
    h.ws_open(2, &websocket(&opened.sid));
    assert_eq!(h.ws_text(2, "2probe").transcript(), ["2 ws 3probe"]);
    let poll = h.get(3, &polling(&opened.sid));
    assert_eq!(poll.transcript(), Vec::<String>::new());
    assert_eq!(poll.next, Some(h.t0 + ms(50)));
    assert!(h.tick_at(h.t0 + ms(50) - NS).outputs.is_empty());
    assert_eq!(h.tick(ms(50)).transcript(), ["3 http 200 6"]);
}

#[test]
fn a_poll_after_the_probe_is_refused_when_the_upgrade_completes_first() {
    let mut h = Harness::default_config();
    let opened = h.open_polling(1);
    h.ws_open(2, &websocket(&opened.sid));
    h.ws_text(2, "2probe");
    h.get(3, &polling(&opened.sid));
    h.set_time(ms(20));
    let upgrade = h.ws_text(2, "5");
    assert_eq!(
        upgrade.transcript(),
        [r#"3 http 400 {"code":3,"message":"Bad request"}"#]
    );
    assert!(h.tick(ms(50)).outputs.is_empty(), "nothing left to release");
}

#[test]
fn a_poll_after_the_probe_answered_with_data_is_not_followed_by_a_stray_noop() {
    let mut h = Harness::default_config();
    let opened = h.open_polling(1);
    let socket = h
        .post(2, &polling(&opened.sid), b"40")
        .connected_socket()
        .expect("connected");
    h.get(3, &polling(&opened.sid));
    h.ws_open(4, &websocket(&opened.sid));
    h.ws_text(4, "2probe");
    h.get(5, &polling(&opened.sid));
    let now = h.now;
    h.engine
        .emit_to(now, socket, &Emit::new("e", &[]), None)
        .expect("connected");
    assert_eq!(h.drain().transcript(), [r#"5 http 200 42["e"]"#]);
    let release = h.tick(ms(50));
    assert!(release.outputs.is_empty(), "{release:?}");
    let upgrade = h.ws_text(4, "5");
    assert_eq!(upgrade.transcript(), Vec::<String>::new(), "no noop queued");
}

#[test]
fn a_post_during_the_upgrade_is_still_taken() {
    let mut h = Harness::default_config();
    let opened = h.open_polling(1);
    h.ws_open(2, &websocket(&opened.sid));
    h.ws_text(2, "2probe");
    let post = h.post(3, &polling(&opened.sid), b"40");
    assert_eq!(post.transcript(), ["3 http 200 ok"]);
    assert!(post.connected_socket().is_some());
    let upgrade = h.ws_text(2, "5");
    let lines = upgrade.transcript();
    assert_eq!(lines.len(), 1);
    assert!(lines[0].starts_with("2 ws 40{\"sid\":"), "{lines:?}");
}

#[test]
fn upgrade_before_probe_aborts_the_upgrade_but_not_the_session() {
    let mut h = Harness::default_config();
    let opened = h.open_polling(1);
    h.ws_open(2, &websocket(&opened.sid));
    let out = h.ws_text(2, "5");
    assert_eq!(
        out.transcript(),
        ["2 ws close 1002 unexpected packet during upgrade"]
    );
    assert_eq!(out.events(), []);
    assert_eq!(h.engine.session_count(), 1);
    let post = h.post(3, &polling(&opened.sid), b"40");
    assert_eq!(post.transcript(), ["3 http 200 ok"]);
}

#[test]
fn garbage_on_the_probe_aborts_the_upgrade_but_not_the_session() {
    let mut h = Harness::default_config();
    let opened = h.open_polling(1);
    h.ws_open(2, &websocket(&opened.sid));
    let out = h.ws_text(2, "xyz");
    assert_eq!(
        out.transcript(),
        ["2 ws close 1002 unexpected packet during upgrade"]
    );
    assert_eq!(h.engine.session_count(), 1);
    let retry = h.ws_open(3, &websocket(&opened.sid));
    assert_eq!(retry.transcript(), ["3 ws accept"], "a new probe may start");
}

#[test]
fn a_closed_probe_leaves_the_session_on_polling() {
    let mut h = Harness::default_config();
    let opened = h.open_polling(1);
    h.ws_open(2, &websocket(&opened.sid));
    h.ws_text(2, "2probe");
    let out = h.conn_closed(2);
    assert!(out.outputs.is_empty(), "{out:?}");
    assert_eq!(h.engine.session_count(), 1);
    let poll = h.get(3, &polling(&opened.sid));
    assert!(poll.outputs.is_empty(), "held as usual, no noop any more");
}

#[test]
fn a_too_large_probe_message_closes_only_the_probe() {
    let mut h = Harness::default_config();
    let opened = h.open_polling(1);
    h.ws_open(2, &websocket(&opened.sid));
    let out = h.ws_too_large(2);
    assert_eq!(out.transcript(), ["2 ws close 1009 message too big"]);
    assert_eq!(out.events(), []);
    assert_eq!(h.engine.session_count(), 1);
}

#[test]
fn a_second_probe_while_one_is_running_is_closed() {
    let mut h = Harness::default_config();
    let opened = h.open_polling(1);
    h.ws_open(2, &websocket(&opened.sid));
    let second = h.ws_open(3, &websocket(&opened.sid));
    assert_eq!(
        second.transcript(),
        [
            "3 ws accept",
            "3 ws close 1008 session already has a websocket"
        ]
    );
    assert_eq!(h.ws_text(2, "2probe").transcript(), ["2 ws 3probe"]);
}

#[test]
fn a_websocket_only_session_refuses_a_probe() {
    let mut h = Harness::default_config();
    let opened = h.open_websocket(1);
    let out = h.ws_open(2, &websocket(&opened.sid));
    assert_eq!(
        out.transcript(),
        [
            "2 ws accept",
            "2 ws close 1008 session already has a websocket"
        ]
    );
}

#[test]
fn a_ping_queued_during_the_upgrade_goes_out_on_the_websocket() {
    let config = Config {
        ping_interval: ms(1000),
        ping_timeout: ms(500),
        ..Config::default()
    };
    let mut h = Harness::new(config);
    let opened = h.open_polling(1);
    h.ws_open(2, &websocket(&opened.sid));
    h.ws_text(2, "2probe");
    assert!(h.tick(ms(1000)).outputs.is_empty(), "queued: no poll held");
    h.set_time(ms(1100));
    assert_eq!(h.ws_text(2, "5").transcript(), ["2 ws 2"]);
    h.set_time(ms(1200));
    h.ws_text(2, "3");
    let later = h.tick(ms(1600));
    assert!(
        later.events().is_empty(),
        "the pong over the websocket counted"
    );
    assert_eq!(later.next, Some(h.t0 + ms(2200)));
}

#[test]
fn a_session_closed_mid_upgrade_closes_the_probe_too() {
    let mut h = Harness::default_config();
    let opened = h.open_polling(1);
    h.ws_open(2, &websocket(&opened.sid));
    let poll = h.get(3, &polling(&opened.sid));
    assert!(poll.outputs.is_empty());
    let now = h.now;
    h.engine.close(now, opened.session);
    let out = h.drain();
    assert_eq!(
        out.transcript(),
        ["2 ws close 1001 session closed", "3 http 200 1"]
    );
    assert_eq!(
        out.events(),
        [Event::SessionClosed {
            session: opened.session,
            reason: CloseReason::ServerClose
        }]
    );
}
