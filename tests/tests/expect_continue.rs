//! `Expect: 100-continue` over both binaries: the server sends the go-ahead before the body
//! (curl otherwise waits a second before sending any body over 1 KiB).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use iorelay_tests::net::{binary, Net};

fn go_ahead_then_reply(bin: &str, label: &'static str) {
    let server = Net::start(label, binary(bin), &[]);
    let mut stream = TcpStream::connect(server.addr()).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let head = "POST /socket.io/?EIO=4&transport=polling&sid=nope HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n";
    stream.write_all(head.as_bytes()).unwrap();
    let mut interim = [0u8; 25];
    stream.read_exact(&mut interim).unwrap();
    assert_eq!(&interim, b"HTTP/1.1 100 Continue\r\n\r\n", "[{label}]");
    stream.write_all(b"40").unwrap();
    let mut reply = [0u8; 12];
    stream.read_exact(&mut reply).unwrap();
    assert_eq!(
        &reply, b"HTTP/1.1 400",
        "[{label}] an unknown sid, answered after the body"
    );
}

#[test]
fn smol_sends_100_continue_before_the_body() {
    go_ahead_then_reply("iorelay", "smol");
}

#[test]
fn std_sends_100_continue_before_the_body() {
    go_ahead_then_reply("iorelay-std", "std");
}
