//! One emit, start to exit: the steps the module docs of `emit` list, within the deadline.

use std::time::{Duration, Instant};

use iorelay_core::cli::EmitArgs;
use iorelay_core::relay::breaker::{BreakerPolicy, Decision};

use super::breaker_file::BreakerFile;
use super::input::{fresh_id, prepare, read_stdin};
use super::log_file::EmitLog;
use super::options::EmitOptions;
use super::spool::{DrainEnd, SendOutcome, Spool};
use super::time::unix_millis;
use crate::client::{self, Request};

/// Time kept back from the network for spooling after a failed POST.
const SPOOL_RESERVE: Duration = Duration::from_millis(40);
/// Least time worth starting another drain batch with.
const MIN_BATCH_TIME: Duration = Duration::from_millis(20);

/// What happened to the event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The relay accepted it; `drained` spooled events went with it.
    Delivered {
        /// Spooled events delivered after it.
        drained: usize,
    },
    /// Kept in the spool for a later emit; `why` it was not delivered.
    Spooled {
        /// Why it was not delivered.
        why: String,
    },
    /// The relay refused it as malformed; kept in `rejected.jsonl`.
    Rejected,
    /// Neither delivered nor spooled (the state directory is unusable); `why`.
    Lost {
        /// What went wrong.
        why: String,
    },
}

/// `iorelay emit`: runs one emit and returns the exit code, which is always 0. A panic is
/// caught (and reported only with `--verbose`) so that a bug here never fails the hook.
#[must_use]
pub fn main(args: &EmitArgs) -> i32 {
    let started = Instant::now();
    let verbose = args.verbose;
    std::panic::set_hook(Box::new(move |info| {
        if verbose {
            eprintln!("iorelay emit: internal error: {info}");
        }
    }));
    let _ = std::panic::catch_unwind(|| {
        let options = EmitOptions::resolve(args);
        emit(&options, started)
    });
    0
}

/// Delivers the hook event on stdin as `options` say, finishing by `started + deadline`.
#[must_use]
pub fn emit(options: &EmitOptions, started: Instant) -> Outcome {
    let deadline = started + options.deadline;
    let reserve = SPOOL_RESERVE.min(options.deadline / 4);
    let net_deadline = deadline.checked_sub(reserve).unwrap_or(deadline);
    let dir = &options.state_dir;
    let dir_ok = std::fs::create_dir_all(dir).is_ok();
    let log = EmitLog::new(dir_ok.then(|| dir.clone()), options.verbose);
    if !dir_ok {
        log.line(
            unix_millis(),
            &format!("cannot create the state directory {}", dir.display()),
        );
    }
    if let Some(problem) = &options.problem {
        log.line(
            unix_millis(),
            &format!("settings: {problem}; using defaults and the environment"),
        );
    }

    let stdin_until = started + options.deadline * 3 / 5;
    let (raw, still_open) = read_stdin(stdin_until);
    let now_ms = unix_millis();
    let event = prepare(&raw, fresh_id(), now_ms);
    if still_open {
        log.line(
            now_ms,
            &format!(
                "stdin still open after {:?}; used the {} bytes read",
                stdin_until - started,
                raw.len()
            ),
        );
    }
    if let Some(problem) = &event.problem {
        log.line(now_ms, &format!("event {}: {problem}", event.id));
    }

    let breaker = BreakerFile::new(dir, BreakerPolicy::default());
    let decision = if dir_ok {
        breaker.allow(now_ms).unwrap_or_else(|err| {
            log.line(now_ms, &format!("breaker state unusable ({err}); calling"));
            Decision::Call
        })
    } else {
        Decision::Call
    };
    let spool = Spool::new(dir);
    // Whether no relay answered at all (as opposed to one that answered with an error).
    let mut unreachable = decision == Decision::Skip;
    let outcome = match decision {
        Decision::Skip => keep(&spool, dir_ok, &event.json, "circuit breaker open".into()),
        Decision::Call | Decision::Probe => match post_event(options, &event.json, net_deadline) {
            SendOutcome::Accepted => {
                record(&breaker, dir_ok, true, &log);
                let drained = if dir_ok && spool.pending() {
                    drain(&spool, options, net_deadline, &log)
                } else {
                    0
                };
                Outcome::Delivered { drained }
            }
            SendOutcome::Rejected(why) => {
                record(&breaker, dir_ok, true, &log);
                log.line(
                    unix_millis(),
                    &format!("relay refused event {}: {why}", event.id),
                );
                match spool.set_aside(&event.json) {
                    Ok(()) => Outcome::Rejected,
                    Err(err) => Outcome::Lost {
                        why: format!("refused ({why}) and not kept: {err}"),
                    },
                }
            }
            SendOutcome::Failed(Failure { why, answered }) => {
                unreachable = !answered;
                record(&breaker, dir_ok, false, &log);
                keep(&spool, dir_ok, &event.json, why)
            }
        },
    };
    report(&log, &event.id, &outcome, options.verbose);
    if options.autostart && unreachable && matches!(outcome, Outcome::Spooled { .. }) {
        autostart(options, &log);
    }
    outcome
}

/// Why a POST failed, and whether a relay answered it at all.
struct Failure {
    why: String,
    answered: bool,
}

/// Launches `start` in the background when this hook is the one to (see [`super::autostart`]);
/// only the log hears about it.
fn autostart(options: &EmitOptions, log: &EmitLog) {
    let now_ms = unix_millis();
    match super::autostart::claim_launch(&options.state_dir, now_ms) {
        Ok(true) => {}
        Ok(false) => return,
        Err(err) => {
            log.line(now_ms, &format!("cannot claim the autostart: {err}"));
            return;
        }
    }
    let args = [
        "--host".to_owned(),
        options.host.clone(),
        "--port".to_owned(),
        options.port.to_string(),
    ];
    let said = match crate::lifecycle::launch_in_background(&args) {
        Ok(pid) => format!("no relay answered; launched `start` (pid {pid})"),
        Err(err) => format!("no relay answered; cannot launch `start`: {err}"),
    };
    log.line(unix_millis(), &said);
}

/// POSTs `body` (an event or an array of them) to the relay's `/api/hooks`.
fn post(options: &EmitOptions, body: &[u8], deadline: Instant) -> SendOutcome {
    match post_event(options, body, deadline) {
        SendOutcome::Accepted => SendOutcome::Accepted,
        SendOutcome::Rejected(why) => SendOutcome::Rejected(why),
        SendOutcome::Failed(failure) => SendOutcome::Failed(failure.why),
    }
}

/// [`post`], saying whether a failure had an answer from a relay.
fn post_event(options: &EmitOptions, body: &[u8], deadline: Instant) -> SendOutcome<Failure> {
    let request = Request {
        method: "POST",
        path: "/api/hooks",
        body: Some(body),
        token: options.token.as_deref(),
    };
    let failed = |why: String, answered: bool| SendOutcome::Failed(Failure { why, answered });
    match client::send(&options.host, options.port, &request, deadline) {
        Ok(reply) if (200..300).contains(&reply.status) => SendOutcome::Accepted,
        Ok(reply) if matches!(reply.status, 400 | 413 | 422) => {
            SendOutcome::Rejected(format!("{} {}", reply.status, reply.text().trim()))
        }
        Ok(reply) => failed(
            format!("relay answered {} {}", reply.status, reply.text().trim()),
            true,
        ),
        Err(err) => failed(
            format!(
                "relay at {}:{} unreachable: {err}",
                options.host, options.port
            ),
            false,
        ),
    }
}

fn keep(spool: &Spool, dir_ok: bool, event: &[u8], why: String) -> Outcome {
    if !dir_ok {
        return Outcome::Lost {
            why: format!("{why}; no state directory to spool in"),
        };
    }
    match spool.append(event) {
        Ok(()) => Outcome::Spooled { why },
        Err(err) => Outcome::Lost {
            why: format!("{why}; spooling failed: {err}"),
        },
    }
}

fn record(breaker: &BreakerFile, dir_ok: bool, succeeded: bool, log: &EmitLog) {
    if dir_ok {
        if let Err(err) = breaker.record(unix_millis(), succeeded) {
            log.line(unix_millis(), &format!("cannot update the breaker: {err}"));
        }
    }
}

/// Delivers what hooks spooled to the relay `options` name, until `deadline`; returns how many
/// events went. `start` calls it once the relay it launched answers, for events a hook spooled
/// after the relay drained the spool at its start and before it listened.
#[must_use]
pub fn deliver_spooled(options: &EmitOptions, deadline: Instant) -> usize {
    let spool = Spool::new(&options.state_dir);
    if !spool.pending() {
        return 0;
    }
    let log = EmitLog::new(Some(options.state_dir.clone()), options.verbose);
    drain(&spool, options, deadline, &log)
}

fn drain(spool: &Spool, options: &EmitOptions, deadline: Instant, log: &EmitLog) -> usize {
    let result = spool.drain(deadline, MIN_BATCH_TIME, |body, deadline| {
        post(options, body, deadline)
    });
    match result {
        Ok(report) => {
            let left = match &report.end {
                DrainEnd::Empty | DrainEnd::Busy => String::new(),
                DrainEnd::OutOfTime => "; the rest next time (deadline)".to_owned(),
                DrainEnd::Failed(why) => format!("; the rest next time ({why})"),
            };
            if report.sent > 0 || report.rejected > 0 || !left.is_empty() {
                log.line(
                    unix_millis(),
                    &format!(
                        "drained {} spooled events, set aside {}{left}",
                        report.sent, report.rejected
                    ),
                );
            }
            report.sent
        }
        Err(err) => {
            log.line(unix_millis(), &format!("cannot drain the spool: {err}"));
            0
        }
    }
}

fn report(log: &EmitLog, id: &str, outcome: &Outcome, verbose: bool) {
    match outcome {
        Outcome::Delivered { .. } | Outcome::Rejected => {
            if verbose {
                eprintln!("iorelay emit: event {id}: {outcome:?}");
            }
        }
        Outcome::Spooled { why } => log.line(unix_millis(), &format!("event {id} spooled: {why}")),
        Outcome::Lost { why } => log.line(unix_millis(), &format!("event {id} LOST: {why}")),
    }
}
