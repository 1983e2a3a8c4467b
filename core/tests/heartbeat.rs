//! The heartbeat on virtual time: a ping exactly every `ping_interval`, a close exactly
//! `ping_timeout` after an unanswered ping, and a pong that restarts the interval.

mod support;

use std::time::Duration;

use iorelay_core::{CloseReason, Event};
use support::{closed_for, polling, secs, Harness};

const NS: Duration = Duration::from_nanos(1);

#[test]
fn the_first_ping_goes_out_exactly_one_interval_after_the_handshake() {
    let mut h = Harness::default_config();
    h.connected_websocket(1);
    let early = h.tick_at(h.t0 + secs(25) - NS);
    assert!(early.outputs.is_empty(), "{early:?}");
    assert_eq!(early.next, Some(h.t0 + secs(25)));
    let ping = h.tick(secs(25));
    assert_eq!(ping.transcript(), ["1 ws 2"]);
    assert_eq!(ping.next, Some(h.t0 + secs(45)));
}

#[test]
fn a_missing_pong_closes_exactly_ping_timeout_after_the_ping() {
    let mut h = Harness::default_config();
    let (opened, socket) = h.connected_websocket(1);
    h.tick(secs(25));
    let early = h.tick_at(h.t0 + secs(45) - NS);
    assert!(early.outputs.is_empty(), "not 1 ns early: {early:?}");
    let due = h.tick(secs(45));
    assert_eq!(due.transcript(), ["1 ws close 1000 ping timeout"]);
    assert_eq!(
        due.events(),
        closed_for(CloseReason::PingTimeout, socket, opened.session)
    );
    assert_eq!(
        due.next,
        Some(h.t0 + secs(45 + 120)),
        "the socket is parked for recovery"
    );
    assert_eq!(h.engine.session_count(), 0);
}

#[test]
fn a_pong_schedules_the_next_ping_one_interval_after_it() {
    let mut h = Harness::default_config();
    h.connected_websocket(1);
    h.tick(secs(25));
    h.set_time(secs(30));
    let pong = h.ws_text(1, "3");
    assert!(pong.outputs.is_empty());
    assert_eq!(pong.next, Some(h.t0 + secs(55)));
    assert!(h.tick_at(h.t0 + secs(55) - NS).outputs.is_empty());
    assert_eq!(h.tick(secs(55)).transcript(), ["1 ws 2"]);
}

#[test]
fn a_pong_just_before_the_deadline_keeps_the_session() {
    let mut h = Harness::default_config();
    h.connected_websocket(1);
    h.tick(secs(25));
    h.now = h.t0 + secs(45) - NS;
    h.ws_text(1, "3");
    let after = h.tick(secs(45));
    assert!(after.outputs.is_empty(), "{after:?}");
    assert_eq!(h.engine.session_count(), 1);
}

#[test]
fn a_pong_at_the_deadline_is_too_late() {
    let mut h = Harness::default_config();
    let (opened, _) = h.connected_websocket(1);
    h.tick(secs(25));
    h.set_time(secs(45));
    let out = h.ws_text(1, "3");
    assert!(out.events().contains(&Event::SessionClosed {
        session: opened.session,
        reason: CloseReason::PingTimeout
    }));
}

#[test]
fn an_unsolicited_pong_does_not_move_the_ping() {
    let mut h = Harness::default_config();
    h.connected_websocket(1);
    h.set_time(secs(10));
    assert_eq!(h.ws_text(1, "3").next, Some(h.t0 + secs(25)));
}

#[test]
fn a_client_ping_is_not_answered_and_changes_nothing() {
    let mut h = Harness::default_config();
    h.connected_websocket(1);
    h.set_time(secs(10));
    let out = h.ws_text(1, "2");
    assert!(out.outputs.is_empty());
    assert_eq!(out.next, Some(h.t0 + secs(25)));
}

#[test]
fn a_client_that_always_answers_lives_through_many_intervals() {
    let mut h = Harness::default_config();
    h.connected_websocket(1);
    let mut ping_at = secs(25);
    for _ in 0..40 {
        assert_eq!(h.tick(ping_at).transcript(), ["1 ws 2"]);
        h.set_time(ping_at + secs(19));
        h.ws_text(1, "3");
        ping_at += secs(19) + secs(25);
    }
    assert_eq!(h.engine.session_count(), 1);
}

#[test]
fn a_held_poll_is_answered_with_the_ping() {
    let mut h = Harness::default_config();
    let opened = h.open_polling(1);
    h.post(2, &polling(&opened.sid), b"40");
    h.get(3, &polling(&opened.sid));
    assert!(h.get(4, &polling(&opened.sid)).outputs.is_empty());
    assert_eq!(h.tick(secs(25)).transcript(), ["4 http 200 2"]);
    h.set_time(secs(26));
    assert_eq!(
        h.post(5, &polling(&opened.sid), b"3").transcript(),
        ["5 http 200 ok"]
    );
    assert_eq!(h.tick(secs(45)).outputs, []);
    assert_eq!(h.engine.session_count(), 1);
}

#[test]
fn a_polling_client_that_stops_polling_is_closed_by_its_pong_deadline() {
    let mut h = Harness::default_config();
    let opened = h.open_polling(1);
    h.post(2, &polling(&opened.sid), b"40");
    let ping = h.tick(secs(25));
    assert!(ping.outputs.is_empty(), "no poll held: the ping waits");
    let due = h.tick(secs(45));
    assert!(due.events().contains(&Event::SessionClosed {
        session: opened.session,
        reason: CloseReason::PingTimeout
    }));
    assert!(due.transcript().is_empty(), "no connection to tell");
}

#[test]
fn a_late_timeout_sends_the_ping_late_without_stretching_the_pong_deadline() {
    let mut h = Harness::default_config();
    h.connected_websocket(1);
    let late = h.tick(secs(30));
    assert_eq!(late.transcript(), ["1 ws 2"]);
    assert_eq!(
        late.next,
        Some(h.t0 + secs(45)),
        "due at 25 s, so pong by 45 s"
    );
}

#[test]
fn time_never_runs_backwards() {
    let mut h = Harness::default_config();
    h.connected_websocket(1);
    h.tick(secs(25));
    let backwards = h.tick(secs(1));
    assert!(backwards.outputs.is_empty());
    assert_eq!(backwards.next, Some(h.t0 + secs(45)));
}
