//! Model test: arbitrary sequences of operations (sessions opened over polling and websocket,
//! namespace CONNECTs, rooms, emits with and without acks, client acks, pongs, polls, time
//! passing by arbitrary amounts, closed connections, garbage, disconnects, server closes) run
//! against the engine and a simple reference model.
//!
//! After every step the engine must have produced exactly what the model predicts (which
//! connections got a reply, a websocket message or a close; which sessions and sockets opened
//! and closed and why; which acks resolved and how), and: live session and socket counts match;
//! the next deadline is the model's earliest deadline, never in the past and present whenever a
//! session is; each ack id resolves exactly once; each session is freed exactly once; no output
//! addresses a connection the engine was never given; each request is answered at most once.

#[path = "../support/mod.rs"]
mod support;

mod effects;
mod ops;
mod run;

use proptest::prelude::*;

use ops::{op, Op};
use run::Run;

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn the_engine_agrees_with_the_model_after_every_step(
        ops in proptest::collection::vec(op(), 1..80)
    ) {
        let mut run = Run::new();
        for op in &ops {
            if let Some(outputs) = run.apply(op) {
                run.check(op, &outputs);
            }
        }
        run.finish();
    }
}

#[test]
fn a_long_quiet_client_is_closed_by_the_heartbeat_in_the_model_too() {
    let mut run = Run::new();
    let ops = [
        Op::OpenWebSocket,
        Op::Connect { client: 0, nsp: 0 },
        Op::EmitTo {
            socket: 0,
            ack_ms: Some(2500),
        },
        Op::Advance { ms: 1000 },
        Op::Advance { ms: 499 },
        Op::Advance { ms: 1 },
    ];
    for op in &ops {
        let outputs = run.apply(op).expect("applies");
        run.check(op, &outputs);
    }
    assert_eq!(run.h.engine.session_count(), 0);
    run.finish();
}

/// The case proptest shrank the lost ack deadline to (`emit_to` did not move the session's
/// timer): the next deadline must be the ack's, 1 ms away, and the ack time out then.
#[test]
fn a_1ms_ack_deadline_is_the_next_deadline_and_expires_on_time() {
    let mut run = Run::new();
    let ops = [
        Op::OpenPolling,
        Op::Connect { client: 0, nsp: 0 },
        Op::EmitTo {
            socket: 0,
            ack_ms: Some(1),
        },
        Op::Advance { ms: 1 },
    ];
    for op in &ops {
        let outputs = run.apply(op).expect("applies");
        run.check(op, &outputs);
    }
    run.finish();
}
