//! `Expect: 100-continue` over both binaries: the server sends the go-ahead before the body
//! (curl otherwise waits a second before sending any body over 1 KiB).

use iorelay_tests::net::{binary, Net};
use iorelay_tests::raw::Client;

fn go_ahead_then_reply(bin: &str, label: &'static str) {
    let server = Net::start(label, binary(bin), &[]);
    let mut client = Client::connect(server.addr());
    client.send(b"POST /socket.io/?EIO=4&transport=polling&sid=nope HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n");
    assert_eq!(
        client.read_bytes(25),
        b"HTTP/1.1 100 Continue\r\n\r\n",
        "[{label}]"
    );
    client.send(b"40");
    let reply = client.response();
    assert_eq!(
        reply.status, 400,
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
