//! Engine.IO handshakes: the exact open packet over polling and over websocket.

mod support;

use iorelay_core::{Config, Event, TransportKind};
use support::{ms, secs, sio, Harness};

fn open_json(sid: &str, upgrades: &str) -> String {
    format!(
        r#"0{{"sid":"{sid}","upgrades":{upgrades},"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}}"#
    )
}

#[test]
fn polling_handshake_answers_the_get_with_the_open_packet() {
    let mut h = Harness::default_config();
    let out = h.get(1, &sio("transport=polling"));
    let (session, sid) = out.opened_session().expect("SessionOpened");
    assert_eq!(
        out.transcript(),
        [format!(
            "1 http 200 {}",
            open_json(&sid, r#"["websocket"]"#)
        )]
    );
    assert_eq!(
        out.events(),
        [Event::SessionOpened {
            session,
            sid: sid.clone(),
            transport: TransportKind::Polling
        }]
    );
    assert_eq!(sid.len(), 20);
    assert_eq!(out.next, Some(h.t0 + secs(25)));
    assert_eq!(h.engine.session_count(), 1);
}

#[test]
fn polling_handshake_reply_is_plain_text_utf8() {
    let mut h = Harness::default_config();
    let out = h.get(1, &sio("transport=polling"));
    let reply = out.reply(1);
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.headers,
        [("Content-Type", "text/plain; charset=UTF-8".to_owned())]
    );
}

#[test]
fn open_packet_has_exactly_the_five_protocol_keys() {
    let mut h = Harness::default_config();
    let out = h.get(1, &sio("transport=polling"));
    let body = &out.reply(1).body;
    assert_eq!(body[0], b'0');
    let json: serde_json::Value = serde_json::from_slice(&body[1..]).expect("JSON");
    let object = json.as_object().expect("object");
    let keys: Vec<&str> = object.keys().map(String::as_str).collect();
    let mut sorted = keys.clone();
    sorted.sort_unstable();
    assert_eq!(
        sorted,
        [
            "maxPayload",
            "pingInterval",
            "pingTimeout",
            "sid",
            "upgrades"
        ]
    );
    assert_eq!(json["upgrades"], serde_json::json!(["websocket"]));
    assert_eq!(json["pingInterval"], 25_000);
    assert_eq!(json["pingTimeout"], 20_000);
    assert_eq!(json["maxPayload"], 1_000_000);
}

#[test]
fn open_packet_reports_the_configured_timings() {
    let config = Config {
        ping_interval: ms(300),
        ping_timeout: ms(200),
        max_payload: 4096,
        ..Config::default()
    };
    let mut h = Harness::new(config);
    let out = h.get(1, &sio("transport=polling"));
    let (_, sid) = out.opened_session().expect("opened");
    assert_eq!(
        out.polled(1),
        [format!(
            r#"0{{"sid":"{sid}","upgrades":["websocket"],"pingInterval":300,"pingTimeout":200,"maxPayload":4096}}"#
        )]
    );
    assert_eq!(out.next, Some(h.t0 + ms(300)));
}

#[test]
fn websocket_handshake_accepts_then_sends_the_open_packet_with_no_upgrades() {
    let mut h = Harness::default_config();
    let out = h.ws_open(1, &sio("transport=websocket"));
    let (session, sid) = out.opened_session().expect("SessionOpened");
    assert_eq!(
        out.transcript(),
        [
            "1 ws accept".to_owned(),
            format!("1 ws {}", open_json(&sid, "[]"))
        ]
    );
    assert_eq!(
        out.events(),
        [Event::SessionOpened {
            session,
            sid,
            transport: TransportKind::WebSocket
        }]
    );
    assert_eq!(out.next, Some(h.t0 + secs(25)));
}

#[test]
fn the_mount_path_works_without_its_trailing_slash() {
    let mut h = Harness::default_config();
    let out = h.get(1, "/socket.io?EIO=4&transport=polling");
    assert!(out.opened_session().is_some());
    assert_eq!(out.reply(1).status, 200);
}

#[test]
fn every_handshake_gets_a_fresh_sid() {
    let mut h = Harness::default_config();
    let a = h.open_polling(1);
    let b = h.open_websocket(2);
    let c = h.open_polling(3);
    assert_ne!(a.sid, b.sid);
    assert_ne!(b.sid, c.sid);
    assert_ne!(a.session, b.session);
    assert_eq!(h.engine.session_count(), 3);
}

#[test]
fn the_same_seed_and_inputs_give_the_same_transcript() {
    let run = || {
        let mut h = Harness::default_config();
        let mut lines = h.get(1, &sio("transport=polling")).transcript();
        lines.extend(h.ws_open(2, &sio("transport=websocket")).transcript());
        lines.extend(h.ws_text(2, "40").transcript());
        lines
    };
    assert_eq!(run(), run());
}

#[test]
fn an_allowed_origin_gets_cors_headers_on_every_reply_of_the_session() {
    let mut h = Harness::default_config();
    let request = "GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: localhost\r\n\
                   Origin: http://localhost:5173\r\n\r\n";
    let out = h.http(1, request, iorelay_core::Body::Complete(Default::default()));
    let cors = [
        (
            "Access-Control-Allow-Origin",
            "http://localhost:5173".to_owned(),
        ),
        ("Access-Control-Allow-Credentials", "true".to_owned()),
        ("Vary", "Origin".to_owned()),
    ];
    let reply = out.reply(1);
    for header in &cors {
        assert!(reply.headers.contains(header), "{:?}", reply.headers);
    }
    let (_, sid) = out.opened_session().expect("opened");
    let post = h.post(2, &support::polling(&sid), b"40");
    for header in &cors {
        assert!(post.reply(2).headers.contains(header));
    }
    let poll = h.get(3, &support::polling(&sid));
    for header in &cors {
        assert!(poll.reply(3).headers.contains(header));
    }
}
