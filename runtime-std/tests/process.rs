//! Process behaviour of the real binary: the listening line, signals, a busy port, help.

mod support;

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::{ws_expect, Server, WAIT};
use tungstenite::Message;

#[test]
fn sigterm_closes_websockets_and_exits_zero() {
    let mut server = Server::start(&[]);
    let mut ws = server.websocket("");
    ws_expect(&mut ws, "0");
    ws.send(Message::text("40")).unwrap();
    ws_expect(&mut ws, "40");
    let status = server.terminate();
    assert!(status.success(), "{status:?}");
    for _ in 0..10 {
        match ws.read() {
            Ok(Message::Close(_)) => return,
            Ok(_) => {}
            Err(err) => panic!("no close frame before the end: {err}"),
        }
    }
    panic!("no close frame");
}

#[test]
fn sigterm_answers_a_held_poll_before_exiting() {
    let mut server = Server::start(&[]);
    let sid = server.handshake();
    let mut held = server.connect();
    held.send_request(
        "GET",
        &format!("/socket.io/?EIO=4&transport=polling&sid={sid}"),
        b"",
    );
    held.expect_nothing_for(Duration::from_millis(200));
    assert!(server.terminate().success());
    let reply = held.read_reply(false);
    // 503 with a JSON reason: clients treat it as a transport error and reconnect.
    assert_eq!(
        (reply.status, reply.text().as_str()),
        (
            503,
            r#"{"error":"shutting down","detail":"the server is shutting down"}"#
        )
    );
}

#[test]
fn a_busy_port_is_a_clear_error_and_exit_code_1() {
    let server = Server::start(&[]);
    let port = server.port.to_string();
    let mut second = Command::new(env!("CARGO_BIN_EXE_iorelay-std"))
        .args(["serve", "--port", &port])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let until = Instant::now() + WAIT;
    let status = loop {
        if let Some(status) = second.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > until {
            let _ = second.kill();
            panic!("the second server did not exit");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let mut stderr = String::new();
    second
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert_eq!(status.code(), Some(1));
    assert!(stderr.contains(&format!("127.0.0.1:{port}")), "{stderr}");
}

#[test]
fn help_exits_zero_and_names_the_binary() {
    let output = Command::new(env!("CARGO_BIN_EXE_iorelay-std"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(output.status.success());
    assert!(String::from_utf8_lossy(&output.stdout).contains("iorelay-std"));
}
