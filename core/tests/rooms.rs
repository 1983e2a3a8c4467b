//! Rooms: join, leave, and broadcasts to a namespace, to rooms, and with exceptions.

mod support;

use iorelay_core::{Emit, SocketId, Target};
use support::{connect_reply_sid, polling, Harness};

/// Four websocket clients on conns 1..=4 connected to `/`, sockets 0..=3; a fifth on conn 5
/// connected to `/other` (socket 4).
fn five_clients(h: &mut Harness) -> Vec<SocketId> {
    let mut sockets: Vec<SocketId> = (1..=4).map(|conn| h.connected_websocket(conn).1).collect();
    h.open_websocket(5);
    sockets.push(h.ws_text(5, "40/other,").connected_socket().expect("other"));
    sockets
}

/// Broadcasts `["news"]` to `target`; returns the count and the conns that got it.
fn broadcast(h: &mut Harness, target: &Target) -> (usize, Vec<String>) {
    let now = h.now;
    let count = h.engine.emit(now, target, &Emit::new("news", &[]));
    (count, h.drain().transcript())
}

#[test]
fn a_namespace_broadcast_reaches_every_socket_of_that_namespace_only() {
    let mut h = Harness::default_config();
    five_clients(&mut h);
    let (count, lines) = broadcast(&mut h, &Target::namespace("/"));
    assert_eq!(count, 4);
    assert_eq!(
        lines,
        [
            r#"1 ws 42["news"]"#,
            r#"2 ws 42["news"]"#,
            r#"3 ws 42["news"]"#,
            r#"4 ws 42["news"]"#
        ]
    );
    let (count, lines) = broadcast(&mut h, &Target::namespace("/other"));
    assert_eq!(
        (count, lines),
        (1, vec![r#"5 ws 42/other,["news"]"#.to_owned()])
    );
}

#[test]
fn a_room_broadcast_reaches_only_its_members() {
    let mut h = Harness::default_config();
    let s = five_clients(&mut h);
    h.engine.join(s[1], "red").expect("connected");
    h.engine.join(s[3], "red").expect("connected");
    let (count, lines) = broadcast(&mut h, &Target::namespace("/").room("red"));
    assert_eq!(count, 2);
    assert_eq!(lines, [r#"2 ws 42["news"]"#, r#"4 ws 42["news"]"#]);
}

#[test]
fn a_broadcast_to_several_rooms_reaches_each_member_once() {
    let mut h = Harness::default_config();
    let s = five_clients(&mut h);
    h.engine.join(s[0], "red").expect("connected");
    h.engine.join(s[0], "blue").expect("connected");
    h.engine.join(s[2], "blue").expect("connected");
    let target = Target::namespace("/").room("red").room("blue");
    let (count, lines) = broadcast(&mut h, &target);
    assert_eq!(count, 2);
    assert_eq!(lines, [r#"1 ws 42["news"]"#, r#"3 ws 42["news"]"#]);
}

#[test]
fn except_excludes_the_members_of_a_room() {
    let mut h = Harness::default_config();
    let s = five_clients(&mut h);
    h.engine.join(s[0], "red").expect("connected");
    h.engine.join(s[1], "red").expect("connected");
    h.engine.join(s[1], "muted").expect("connected");
    let target = Target::namespace("/").room("red").except("muted");
    assert_eq!(broadcast(&mut h, &target).1, [r#"1 ws 42["news"]"#]);
    let everyone_but = Target::namespace("/").except("muted");
    let (count, lines) = broadcast(&mut h, &everyone_but);
    assert_eq!(count, 3);
    assert_eq!(
        lines,
        [
            r#"1 ws 42["news"]"#,
            r#"3 ws 42["news"]"#,
            r#"4 ws 42["news"]"#
        ]
    );
}

#[test]
fn leaving_a_room_stops_its_broadcasts() {
    let mut h = Harness::default_config();
    let s = five_clients(&mut h);
    h.engine.join(s[2], "red").expect("connected");
    h.engine.leave(s[2], "red").expect("connected");
    let (count, lines) = broadcast(&mut h, &Target::namespace("/").room("red"));
    assert_eq!((count, lines), (0, vec![]));
}

#[test]
fn a_disconnected_socket_leaves_all_its_rooms() {
    let mut h = Harness::default_config();
    let s = five_clients(&mut h);
    h.engine.join(s[0], "red").expect("connected");
    h.engine.join(s[1], "red").expect("connected");
    h.ws_text(1, "41");
    let (count, lines) = broadcast(&mut h, &Target::namespace("/").room("red"));
    assert_eq!((count, lines), (1, vec![r#"2 ws 42["news"]"#.to_owned()]));
    assert!(h.engine.join(s[0], "red").is_err());
    assert!(h.engine.leave(s[0], "red").is_err());
}

#[test]
fn each_socket_is_in_the_room_named_by_its_sid() {
    let mut h = Harness::default_config();
    h.connected_websocket(1);
    h.open_websocket(2);
    let reply = h.ws_text(2, "40").ws_sent(2).remove(0);
    let sid = connect_reply_sid(&reply, "");
    let (count, lines) = broadcast(&mut h, &Target::namespace("/").room(&sid));
    assert_eq!((count, lines), (1, vec![r#"2 ws 42["news"]"#.to_owned()]));
}

#[test]
fn rooms_are_per_namespace() {
    let mut h = Harness::default_config();
    let s = five_clients(&mut h);
    h.engine.join(s[4], "red").expect("connected");
    let (count, _) = broadcast(&mut h, &Target::namespace("/").room("red"));
    assert_eq!(count, 0);
    let (count, lines) = broadcast(&mut h, &Target::namespace("/other").room("red"));
    assert_eq!(
        (count, lines),
        (1, vec![r#"5 ws 42/other,["news"]"#.to_owned()])
    );
}

#[test]
fn a_broadcast_queues_for_polling_members_and_sends_to_websocket_members() {
    let mut h = Harness::default_config();
    h.connected_websocket(1);
    let opened = h.open_polling(2);
    h.post(3, &polling(&opened.sid), b"40");
    h.get(4, &polling(&opened.sid));
    let (count, lines) = broadcast(&mut h, &Target::namespace("/"));
    assert_eq!(count, 2);
    assert_eq!(lines, [r#"1 ws 42["news"]"#]);
    assert_eq!(h.get(5, &polling(&opened.sid)).polled(5), [r#"42["news"]"#]);
}
