//! Slow consumers: a polling queue over its byte bound or a websocket the runtime reports
//! congested loses volatile emits, and one that stays congested too long is closed.

mod support;

use iorelay_core::{CloseReason, Config, ConnId, Emit, Event, Input, SocketId, Target};
use support::{polling, secs, websocket, Harness, Opened};

fn small_queue() -> Config {
    Config {
        max_queued_bytes: 100,
        slow_consumer_timeout: secs(5),
        ..Config::default()
    }
}

/// A polling session connected to `/` whose CONNECT reply was polled; nothing is queued.
fn polling_client(h: &mut Harness) -> (Opened, SocketId) {
    let opened = h.open_polling(1);
    let socket = h
        .post(2, &polling(&opened.sid), b"40")
        .connected_socket()
        .expect("connected");
    h.get(3, &polling(&opened.sid));
    (opened, socket)
}

fn big_emit() -> Emit {
    Emit::new("big", &[format!("\"{}\"", "x".repeat(200)).as_bytes()])
}

fn congest(h: &mut Harness, conn: u64, congested: bool) {
    let now = h.now;
    h.input(Input::Congestion {
        now,
        conn: ConnId(conn),
        congested,
    });
}

#[test]
fn a_polling_queue_over_its_bound_drops_volatile_emits() {
    let mut h = Harness::new(small_queue());
    let (opened, socket) = polling_client(&mut h);
    let now = h.now;
    h.engine
        .emit_to(now, socket, &big_emit(), None)
        .expect("ok");
    let volatile = Emit::new("v", &[]).volatile();
    assert_eq!(h.engine.emit(now, &Target::namespace("/"), &volatile), 0);
    assert_eq!(
        h.engine
            .emit(now, &Target::namespace("/"), &Emit::new("kept", &[])),
        1
    );
    let polled = h.get(4, &polling(&opened.sid)).polled(4);
    assert_eq!(polled.len(), 2);
    assert_eq!(polled[1], r#"42["kept"]"#);
}

#[test]
fn a_polling_client_congested_for_the_timeout_is_closed_exactly_then() {
    let mut h = Harness::new(small_queue());
    let (opened, _) = polling_client(&mut h);
    h.set_time(secs(1));
    let now = h.now;
    h.engine.emit(now, &Target::namespace("/"), &big_emit());
    let queued = h.drain();
    assert_eq!(queued.next, Some(h.t0 + secs(6)));
    let due = h.tick(secs(6));
    assert_eq!(
        due.events()[1],
        Event::SessionClosed {
            session: opened.session,
            reason: CloseReason::SlowConsumer
        }
    );
}

#[test]
fn a_poll_that_drains_the_queue_ends_the_congestion() {
    let mut h = Harness::new(small_queue());
    let (opened, _) = polling_client(&mut h);
    let now = h.now;
    h.engine.emit(now, &Target::namespace("/"), &big_emit());
    h.drain();
    h.set_time(secs(4));
    assert_eq!(h.get(4, &polling(&opened.sid)).polled(4).len(), 1);
    let later = h.tick(secs(6));
    assert!(later.outputs.is_empty(), "{later:?}");
    let volatile = Emit::new("v", &[]).volatile();
    let now = h.now;
    assert_eq!(h.engine.emit(now, &Target::namespace("/"), &volatile), 1);
}

#[test]
fn a_congested_websocket_loses_volatile_emits_until_it_drains() {
    let mut h = Harness::new(small_queue());
    h.connected_websocket(1);
    congest(&mut h, 1, true);
    let volatile = Emit::new("v", &[]).volatile();
    let now = h.now;
    assert_eq!(h.engine.emit(now, &Target::namespace("/"), &volatile), 0);
    assert!(h.drain().outputs.is_empty());
    congest(&mut h, 1, false);
    assert_eq!(h.engine.emit(now, &Target::namespace("/"), &volatile), 1);
    assert_eq!(h.drain().transcript(), [r#"1 ws 42["v"]"#]);
}

#[test]
fn a_websocket_congested_for_the_timeout_is_closed_as_a_slow_consumer() {
    let mut h = Harness::new(small_queue());
    let (opened, _) = h.connected_websocket(1);
    h.set_time(secs(2));
    congest(&mut h, 1, true);
    h.set_time(secs(3));
    congest(&mut h, 1, true);
    let due = h.tick(secs(7));
    assert_eq!(due.transcript(), ["1 ws close 1008 slow consumer"]);
    assert!(due.events().contains(&Event::SessionClosed {
        session: opened.session,
        reason: CloseReason::SlowConsumer
    }));
}

#[test]
fn an_upgrade_that_flushes_the_queue_ends_the_congestion() {
    let mut h = Harness::new(small_queue());
    let (opened, _) = polling_client(&mut h);
    let now = h.now;
    h.engine.emit(now, &Target::namespace("/"), &big_emit());
    h.drain();
    h.ws_open(4, &websocket(&opened.sid));
    h.ws_text(4, "2probe");
    let upgraded = h.ws_text(4, "5");
    assert_eq!(
        upgraded.ws_frames(4).len(),
        1,
        "the queue went to the websocket"
    );
    let later = h.tick(secs(5));
    assert!(later.events().is_empty(), "{later:?}");
    assert_eq!(h.engine.session_count(), 1);
    let volatile = Emit::new("v", &[]).volatile();
    let now = h.now;
    assert_eq!(h.engine.emit(now, &Target::namespace("/"), &volatile), 1);
}

#[test]
fn a_send_past_the_queue_cap_is_dropped_and_closes_the_session_at_once() {
    let mut h = Harness::new(small_queue());
    let (opened, _) = polling_client(&mut h);
    let now = h.now;
    let everyone = Target::namespace("/");
    assert_eq!(h.engine.queue_cap(), 400, "four times the bound");
    let sent: Vec<usize> = (0..2)
        .map(|_| h.engine.emit(now, &everyone, &big_emit()))
        .collect();
    assert_eq!(sent, [1, 0], "the second would pass the cap");
    assert!(h
        .engine
        .queued_bytes(opened.session)
        .is_some_and(|q| q <= 400));
    assert_eq!(h.engine.next_deadline(), Some(now));
    let out = h.tick(secs(0));
    assert!(out.events().contains(&Event::SessionClosed {
        session: opened.session,
        reason: CloseReason::SlowConsumer,
    }));
    assert_eq!(h.engine.session_count(), 0);
}
