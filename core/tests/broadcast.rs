//! A broadcast is encoded once: every recipient's websocket frame is the very same `Bytes`,
//! and its websocket recipients are named in one output per frame.

mod support;

use bytes::Bytes;
use iorelay_core::engineio::packet::Frame;
use iorelay_core::{ConnId, Emit, Input, Output, Target};
use support::{polling, Harness};

const RECIPIENTS: u64 = 50;

fn payload_of(frame: &Frame) -> &Bytes {
    match frame {
        Frame::Text(bytes) | Frame::Binary(bytes) => bytes,
    }
}

/// `RECIPIENTS` websocket clients connected to `/` on conns 1..=RECIPIENTS.
fn crowd() -> Harness {
    let mut h = Harness::default_config();
    for conn in 1..=RECIPIENTS {
        h.connected_websocket(conn);
    }
    h
}

#[test]
fn every_recipient_gets_the_same_bytes_of_the_text_frame() {
    let mut h = crowd();
    let now = h.now;
    let sent = h.engine.emit(
        now,
        &Target::namespace("/"),
        &Emit::new("tick", &[br#"{"n":1}"#]),
    );
    assert_eq!(sent, RECIPIENTS as usize);
    let out = h.drain();
    let frames: Vec<(u64, Frame)> = out
        .outputs
        .iter()
        .filter_map(|o| match o {
            Output::WsSend { conn, frame } => Some((conn.0, frame.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(frames.len(), RECIPIENTS as usize);
    let conns: Vec<u64> = frames.iter().map(|(conn, _)| *conn).collect();
    assert_eq!(conns, (1..=RECIPIENTS).collect::<Vec<_>>());
    let first = payload_of(&frames[0].1);
    assert_eq!(first.as_ref(), br#"42["tick",{"n":1}]"#);
    for (conn, frame) in &frames {
        let bytes = payload_of(frame);
        assert_eq!(bytes.as_ptr(), first.as_ptr(), "conn {conn} got a copy");
        assert_eq!(bytes.len(), first.len());
    }
}

#[test]
fn every_recipient_gets_the_same_bytes_of_each_attachment() {
    let mut h = crowd();
    let attachment = Bytes::from(vec![0xab; 1024]);
    let emit = Emit::new("blob", &[br#"{"_placeholder":true,"num":0}"#])
        .with_attachments(vec![attachment.clone()]);
    let now = h.now;
    h.engine.emit(now, &Target::namespace("/"), &emit);
    let out = h.drain();
    let mut headers = Vec::new();
    let mut blobs = Vec::new();
    for output in &out.outputs {
        if let Output::WsSend { frame, .. } = output {
            match frame {
                Frame::Text(bytes) => headers.push(bytes.clone()),
                Frame::Binary(bytes) => blobs.push(bytes.clone()),
            }
        }
    }
    assert_eq!(headers.len(), RECIPIENTS as usize);
    assert_eq!(blobs.len(), RECIPIENTS as usize);
    assert!(headers.iter().all(|b| b.as_ptr() == headers[0].as_ptr()));
    assert!(blobs.iter().all(|b| b.as_ptr() == attachment.as_ptr()));
}

#[test]
fn a_room_broadcast_shares_the_bytes_too() {
    let mut h = crowd();
    let sockets: Vec<_> = (0..RECIPIENTS)
        .step_by(2)
        .map(iorelay_core::SocketId)
        .collect();
    for socket in &sockets {
        h.engine.join(*socket, "even").expect("connected");
    }
    let now = h.now;
    let sent = h.engine.emit(
        now,
        &Target::namespace("/").room("even"),
        &Emit::new("tick", &[]),
    );
    assert_eq!(sent, sockets.len());
    let out = h.drain();
    let ptrs: Vec<*const u8> = out
        .outputs
        .iter()
        .filter_map(|o| match o {
            Output::WsSend { frame, .. } => Some(payload_of(frame).as_ptr()),
            _ => None,
        })
        .collect();
    assert_eq!(ptrs.len(), sockets.len());
    assert!(ptrs.iter().all(|p| *p == ptrs[0]));
}

/// The `WsBroadcast`s of one drain, each as its frame's kind and its connections.
fn broadcasts(outputs: &[Output]) -> Vec<(&'static str, Vec<u64>)> {
    outputs
        .iter()
        .filter_map(|o| match o {
            Output::WsBroadcast { conns, frame } => {
                let kind = match frame {
                    Frame::Text(_) => "text",
                    Frame::Binary(_) => "binary",
                };
                Some((kind, conns.iter().map(|conn| conn.0).collect()))
            }
            _ => None,
        })
        .collect()
}

#[test]
fn websocket_recipients_are_named_in_one_output_per_frame() {
    let mut h = crowd();
    let everyone: Vec<u64> = (1..=RECIPIENTS).collect();
    let emit = Emit::new("blob", &[br#"{"_placeholder":true,"num":0}"#])
        .with_attachments(vec![Bytes::from_static(b"\x01\x02")]);
    let now = h.now;
    h.engine.emit(now, &Target::namespace("/"), &emit);
    let out = h.drain_whole();
    assert!(
        !out.outputs
            .iter()
            .any(|o| matches!(o, Output::WsSend { .. })),
        "no output per recipient: {out:?}"
    );
    assert_eq!(
        broadcasts(&out.outputs),
        [("text", everyone.clone()), ("binary", everyone)],
        "the packet, then its attachment, each to every recipient"
    );
}

#[test]
fn a_broadcast_leaves_out_what_a_session_refuses_and_what_polls() {
    let mut h = crowd();
    // A polling client with a GET held: its frame answers that GET instead.
    let opened = h.open_polling(100);
    h.post(101, &polling(&opened.sid), b"40");
    h.get(102, &polling(&opened.sid));
    h.get(103, &polling(&opened.sid));
    // A congested websocket loses a volatile emit.
    let now = h.now;
    h.input(Input::Congestion {
        now,
        conn: ConnId(3),
        congested: true,
    });
    let volatile = Emit::new("tick", &[]).volatile();
    let sent = h.engine.emit(now, &Target::namespace("/"), &volatile);
    assert_eq!(
        sent, RECIPIENTS as usize,
        "every websocket but one, and the poller"
    );
    let out = h.drain_whole();
    let named: Vec<u64> = (1..=RECIPIENTS).filter(|conn| *conn != 3).collect();
    assert_eq!(broadcasts(&out.outputs), [("text", named)]);
    let polled = out
        .outputs
        .iter()
        .find_map(|o| match o {
            Output::HttpReply { conn, response } if conn.0 == 103 => Some(response.body.clone()),
            _ => None,
        })
        .expect("the held poll is answered");
    assert_eq!(&polled[..], br#"42["tick"]"#);
}
