//! The cluster link on virtual time.

use super::*;
use crate::time::test_clock::t0;

fn config() -> ClusterConfig {
    ClusterConfig {
        redis_url: Some("redis://127.0.0.1:6379".to_owned()),
        buffer_max: 3,
        ..ClusterConfig::default()
    }
}

fn commands(cluster: &mut Cluster) -> Vec<Command> {
    std::iter::from_fn(|| cluster.poll_command()).collect()
}

fn outgoing(id: &str) -> Outgoing {
    Outgoing {
        event_id: id.to_owned(),
        fields: vec![("uid".to_owned(), id.as_bytes().to_vec())],
    }
}

fn entry(id: &str) -> RawEntry {
    RawEntry {
        id: id.to_owned(),
        fields: Vec::new(),
    }
}

/// A link that is up with one append (of `id`) in flight and its read out.
fn appending(t0: Instant, id: &str) -> Cluster {
    let mut cluster = up(t0);
    commands(&mut cluster);
    cluster.append(t0, outgoing(id));
    commands(&mut cluster);
    cluster
}

/// A link whose first connect went out at `t0`.
fn started(t0: Instant) -> Cluster {
    let mut cluster = Cluster::new(config(), t0);
    cluster.handle_timeout(t0);
    cluster
}

/// A link that connected at `t0` to a stream whose newest entry is `1000-0`.
fn up(t0: Instant) -> Cluster {
    let mut cluster = Cluster::new(config(), t0);
    assert!(
        commands(&mut cluster).is_empty(),
        "the connect waits for the first timeout"
    );
    assert_eq!(cluster.poll_timeout(), Some(t0));
    cluster.handle_timeout(t0);
    assert_eq!(commands(&mut cluster), [Command::Connect { epoch: 1 }]);
    let reported = cluster.handle_report(
        t0,
        Report::Connected {
            epoch: 1,
            newest: Some("1000-0".to_owned()),
        },
    );
    assert!(reported.came_up);
    cluster
}

#[test]
fn a_new_link_reads_from_the_streams_newest_entry() {
    let t0 = t0();
    let mut cluster = up(t0);
    let after = StreamId { ms: 1000, seq: 0 };
    assert_eq!(commands(&mut cluster), [Command::Read { epoch: 1, after }]);
    assert_eq!(cluster.state(), LinkState::Up);
    assert_eq!(
        cluster.poll_timeout(),
        Some(t0 + Duration::from_secs(5) + READ_GRACE),
        "the read's deadline is the heartbeat"
    );
}

#[test]
fn entries_read_move_the_cursor_and_the_next_read_follows() {
    let t0 = t0();
    let mut cluster = up(t0);
    commands(&mut cluster);
    let reported = cluster.handle_report(
        t0,
        Report::Read {
            epoch: 1,
            entries: vec![entry("1001-0"), entry("1001-1")],
        },
    );
    let ids: Vec<_> = reported
        .entries
        .iter()
        .map(|(id, _)| id.to_string())
        .collect();
    assert_eq!(ids, ["1001-0", "1001-1"]);
    let after = StreamId { ms: 1001, seq: 1 };
    assert_eq!(commands(&mut cluster), [Command::Read { epoch: 1, after }]);
    assert_eq!(cluster.stats().entries_read, 2);
}

#[test]
fn an_entry_at_or_before_the_cursor_or_with_a_bad_id_is_skipped() {
    let t0 = t0();
    let mut cluster = up(t0);
    commands(&mut cluster);
    let reported = cluster.handle_report(
        t0,
        Report::Read {
            epoch: 1,
            entries: vec![entry("999-0"), entry("x"), entry("1002-0")],
        },
    );
    assert_eq!(reported.entries.len(), 1);
    assert_eq!(cluster.stats().entries_skipped, 2);
}

#[test]
fn appends_go_in_one_batch_at_a_time_in_order() {
    let t0 = t0();
    let mut cluster = up(t0);
    commands(&mut cluster);
    cluster.append(t0, outgoing("a"));
    cluster.append(t0, outgoing("b"));
    let sent = commands(&mut cluster);
    assert_eq!(
        sent,
        [Command::Append {
            epoch: 1,
            entries: vec![outgoing("a")]
        }]
    );
    assert_eq!(cluster.buffered(), 2);
    cluster.handle_report(
        t0,
        Report::Appended {
            epoch: 1,
            ids: vec![Some("1005-0".to_owned())],
        },
    );
    assert_eq!(
        commands(&mut cluster),
        [Command::Append {
            epoch: 1,
            entries: vec![outgoing("b")]
        }]
    );
    assert_eq!(cluster.stats().entries_written, 1);
    assert_eq!(
        cluster.lag_ms(),
        5,
        "read up to 1000, the stream holds 1005"
    );
}

#[test]
fn a_failure_takes_the_link_down_keeps_the_batch_and_reconnects_with_backoff() {
    let t0 = t0();
    let mut cluster = appending(t0, "a");
    let reported = cluster.handle_report(
        t0,
        Report::Failed {
            epoch: 1,
            error: "connection refused".to_owned(),
        },
    );
    assert!(reported.went_down);
    assert_eq!(cluster.state(), LinkState::Down);
    assert_eq!(cluster.buffered(), 1, "the unanswered batch waits");
    assert_eq!(cluster.poll_timeout(), Some(t0 + FIRST_BACKOFF));
    cluster.append(t0, outgoing("b"));
    assert!(
        commands(&mut cluster).is_empty(),
        "nothing goes out while down"
    );

    cluster.handle_timeout(t0 + FIRST_BACKOFF);
    assert_eq!(commands(&mut cluster), [Command::Connect { epoch: 3 }]);
    // The old epoch's late answer changes nothing.
    cluster.handle_report(
        t0 + FIRST_BACKOFF,
        Report::Appended {
            epoch: 1,
            ids: vec![Some("1-1".to_owned())],
        },
    );
    assert_eq!(cluster.stats().entries_written, 0);
    // A second failure doubles the delay.
    cluster.handle_report(
        t0 + FIRST_BACKOFF,
        Report::Failed {
            epoch: 3,
            error: "refused".to_owned(),
        },
    );
    assert_eq!(cluster.poll_timeout(), Some(t0 + FIRST_BACKOFF * 3));
    cluster.handle_timeout(t0 + FIRST_BACKOFF * 3);
    commands(&mut cluster);
    cluster.handle_report(
        t0 + FIRST_BACKOFF * 3,
        Report::Connected {
            epoch: 5,
            newest: Some("2000-0".to_owned()),
        },
    );
    let after = StreamId { ms: 1000, seq: 0 };
    assert_eq!(
        commands(&mut cluster),
        [
            Command::Read { epoch: 5, after },
            Command::Append {
                epoch: 5,
                entries: vec![outgoing("a"), outgoing("b")]
            }
        ],
        "reading resumes where it stopped, not at the newest entry; the buffer goes in order"
    );
    assert_eq!(cluster.stats().disconnects, 2);
}

#[test]
fn a_read_that_does_not_answer_within_its_block_time_and_grace_is_a_lost_link() {
    let t0 = t0();
    let mut cluster = up(t0);
    commands(&mut cluster);
    let deadline = t0 + Duration::from_secs(5) + READ_GRACE;
    assert!(!cluster.handle_timeout(deadline - Duration::from_millis(1)));
    assert!(cluster.handle_timeout(deadline));
    assert_eq!(cluster.state(), LinkState::Down);
    assert_eq!(
        cluster.stats().last_error.as_deref(),
        Some("a read did not answer in time")
    );
}

#[test]
fn a_connect_that_does_not_answer_times_out() {
    let t0 = t0();
    let mut cluster = started(t0);
    commands(&mut cluster);
    assert_eq!(cluster.poll_timeout(), Some(t0 + OP_TIMEOUT));
    assert!(cluster.handle_timeout(t0 + OP_TIMEOUT));
    assert_eq!(
        cluster.poll_timeout(),
        Some(t0 + OP_TIMEOUT + FIRST_BACKOFF)
    );
}

#[test]
fn a_full_buffer_forgets_its_oldest_entry() {
    let t0 = t0();
    let mut cluster = started(t0);
    for id in ["a", "b", "c", "d"] {
        cluster.append(t0, outgoing(id));
    }
    assert_eq!(cluster.buffered(), 3);
    assert_eq!(cluster.stats().buffer_dropped, 1);
}

#[test]
fn a_resumed_cursor_wins_over_the_streams_end() {
    let t0 = t0();
    let mut cluster = started(t0);
    cluster.resume_after(StreamId { ms: 500, seq: 3 });
    commands(&mut cluster);
    cluster.handle_report(
        t0,
        Report::Connected {
            epoch: 1,
            newest: Some("900-0".to_owned()),
        },
    );
    let after = StreamId { ms: 500, seq: 3 };
    assert_eq!(commands(&mut cluster), [Command::Read { epoch: 1, after }]);
    assert_eq!(cluster.lag_ms(), 400);
}

fn kept(change: Option<OutboxChange>) -> Vec<String> {
    match change {
        Some(OutboxChange::Keep(entries)) => entries.into_iter().map(|k| k.event_id).collect(),
        other => panic!("expected a Keep, got {other:?}"),
    }
}

#[test]
fn the_outbox_holds_what_waits_while_the_link_is_down_and_forgets_it_once_appended() {
    let t0 = t0();
    let mut cluster = appending(t0, "a");
    assert_eq!(
        cluster.poll_outbox(),
        None,
        "nothing is kept while the link is up"
    );
    cluster.handle_report(
        t0,
        Report::Failed {
            epoch: 1,
            error: "gone".to_owned(),
        },
    );
    assert_eq!(
        kept(cluster.poll_outbox()),
        ["a"],
        "the unanswered batch is kept"
    );
    cluster.append(t0, outgoing("b"));
    assert_eq!(
        kept(cluster.poll_outbox()),
        ["b"],
        "so is what comes during the outage"
    );
    assert_eq!(cluster.poll_outbox(), None);

    cluster.handle_timeout(t0 + FIRST_BACKOFF);
    commands(&mut cluster);
    cluster.handle_report(
        t0 + FIRST_BACKOFF,
        Report::Connected {
            epoch: 3,
            newest: None,
        },
    );
    commands(&mut cluster);
    cluster.handle_report(
        t0 + FIRST_BACKOFF,
        Report::Appended {
            epoch: 3,
            ids: vec![Some("1001-0".to_owned()), None],
        },
    );
    assert_eq!(
        cluster.poll_outbox(),
        Some(OutboxChange::Forget(vec!["a".to_owned(), "b".to_owned()])),
        "appended, or claimed by another entry: Redis has both"
    );
    assert_eq!(cluster.stats().entries_written, 1);
    assert_eq!(cluster.stats().entries_claimed_elsewhere, 1);
}

#[test]
fn an_append_whose_id_was_claimed_is_reported_so_the_relay_waits_for_the_other_entry() {
    let t0 = t0();
    let mut cluster = appending(t0, "a");
    let reported = cluster.handle_report(
        t0,
        Report::Appended {
            epoch: 1,
            ids: vec![None],
        },
    );
    assert_eq!(reported.claimed_elsewhere, ["a"]);
    let reported = cluster.handle_report(
        t0,
        Report::Read {
            epoch: 1,
            entries: Vec::new(),
        },
    );
    assert!(
        reported.caught_up,
        "an empty read means the stream is read through"
    );
}

#[test]
fn a_restored_outbox_goes_out_first_and_a_full_buffer_forgets_the_oldest() {
    let t0 = t0();
    let mut cluster = started(t0);
    commands(&mut cluster);
    cluster.append(t0, outgoing("new"));
    assert_eq!(kept(cluster.poll_outbox()), ["new"], "not up yet: kept");
    let mut stored = vec![outbox::KeptEntry {
        event_id: "bad".to_owned(),
        entry: b"?".to_vec(),
    }];
    stored
        .extend(["old1", "old2", "old3"].map(|id| outbox::KeptEntry::from_outgoing(&outgoing(id))));
    cluster.restore_outbox(t0, stored);
    assert_eq!(
        cluster.poll_outbox(),
        Some(OutboxChange::Forget(vec!["bad".to_owned()])),
        "a damaged row is deleted"
    );
    assert_eq!(
        cluster.poll_outbox(),
        Some(OutboxChange::Forget(vec!["old1".to_owned()])),
        "four entries, room for three: the oldest is dropped, here and in the store"
    );
    assert_eq!(cluster.stats().buffer_dropped, 1);
    cluster.handle_report(
        t0,
        Report::Connected {
            epoch: 1,
            newest: None,
        },
    );
    let sent = commands(&mut cluster);
    assert_eq!(
        sent[1],
        Command::Append {
            epoch: 1,
            entries: vec![outgoing("old2"), outgoing("old3"), outgoing("new")],
        }
    );
}
