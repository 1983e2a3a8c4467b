//! Every runtime behaviour against the `iorelay` binary, and the one only it has: a hard cap
//! on a connection's outbound queue (the std runtime leaves a slow reader to the engine's
//! congestion handling).

use iorelay_tests::process::{RuntimeUnderTest, CONFORMANCE};
use iorelay_tests::runtime_scenarios;

#[test]
fn every_runtime_behaviour_holds_in_the_smol_binary() {
    for (name, behaviour) in runtime_scenarios::all() {
        println!("smol: {name}");
        behaviour(&RuntimeUnderTest::SMOL);
    }
}

#[test]
fn a_websocket_client_that_never_reads_is_cut_off_at_the_outbound_queue_cap() {
    let server = RuntimeUnderTest::SMOL.start(CONFORMANCE);
    let mut ws = server.connected_websocket();
    let message =
        tungstenite::Message::text(format!("42[\"message\",\"{}\"]", "x".repeat(64 * 1024)));
    // The echoes pile up: socket buffers, then the 4 MiB bound (congestion), then the hard cap.
    let mut sent = 0usize;
    let cut_off = loop {
        if ws.send(message.clone()).is_err() {
            break true;
        }
        sent += message.len();
        if sent > 512 * 1024 * 1024 {
            break false;
        }
    };
    assert!(cut_off, "still connected after sending {sent} bytes");
}
