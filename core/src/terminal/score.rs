//! `iorelay check`'s report: what the stability run measured, a 0-100 score, and what lowered
//! it.
//!
//! Why pure: the scoring rules are the product (the original stability script's target was
//! 75), and tests should pin them on literal numbers, not on a two-minute run.

use std::fmt::Write as _;

use serde_json::{json, Value};

/// What one check run measured.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Measures {
    /// How long the run lasted.
    pub duration_ms: u64,
    /// How long the socket was joined.
    pub connected_ms: u64,
    /// Times the connection was lost.
    pub disconnects: u32,
    /// Times the socket joined again after a loss.
    pub reconnects: u32,
    /// Of those, how many the relay recovered (connection state recovery).
    pub recovered: u32,
    /// The longest time without a joined socket after a loss.
    pub longest_outage_ms: u64,
    /// Probe events the relay accepted.
    pub probes_posted: u32,
    /// Probe events that could not be posted (the relay did not answer).
    pub probes_unposted: u32,
    /// Accepted probes that arrived.
    pub probes_received: u32,
    /// Extra arrivals of a probe that had already arrived.
    pub probes_duplicated: u32,
    /// Post-to-arrival times of the probes that arrived live.
    pub delivery_ms: Vec<u64>,
    /// Round trips asked for (acked `history` requests).
    pub pings_sent: u32,
    /// Round trip times of those answered.
    pub rtt_ms: Vec<u64>,
    /// Engine.IO pings the relay sent.
    pub heartbeats: u32,
}

impl Measures {
    /// Accepted probes that never arrived.
    #[must_use]
    pub fn probes_lost(&self) -> u32 {
        self.probes_posted.saturating_sub(self.probes_received)
    }

    /// The share of the run the socket was joined, in percent.
    #[must_use]
    pub fn uptime_pct(&self) -> f64 {
        if self.duration_ms == 0 {
            return 0.0;
        }
        (self.connected_ms.min(self.duration_ms) as f64 * 100.0) / self.duration_ms as f64
    }
}

/// One reason the score went down.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deduction {
    /// Points taken off.
    pub points: u32,
    /// Why, in words.
    pub reason: String,
}

/// The score (0-100) and its deductions, largest first.
#[must_use]
pub fn score(m: &Measures) -> (u32, Vec<Deduction>) {
    let mut deductions = Vec::new();
    let mut take = |points: u32, reason: String| {
        if points > 0 {
            deductions.push(Deduction { points, reason });
        }
    };
    let downtime = 100.0 - m.uptime_pct();
    take(
        (downtime.round() as u32).min(40),
        format!("not connected {:.1} % of the time", downtime),
    );
    take(
        (5 * m.disconnects).min(20),
        format!("{} disconnect(s)", m.disconnects),
    );
    if m.probes_posted > 0 && m.probes_lost() > 0 {
        let share = 40 * m.probes_lost() / m.probes_posted;
        take(
            share.max(10),
            format!(
                "{} of {} probe events never arrived",
                m.probes_lost(),
                m.probes_posted
            ),
        );
    }
    if m.probes_posted > 0 && m.probes_duplicated > 0 {
        let share = 20 * m.probes_duplicated / m.probes_posted;
        take(
            share.max(5),
            format!("{} probe events arrived twice", m.probes_duplicated),
        );
    }
    if m.probes_posted + m.probes_unposted == 0 {
        take(20, "no probe event could be posted".to_owned());
    }
    let unanswered = m.pings_sent.saturating_sub(m.rtt_ms.len() as u32);
    take(
        (2 * unanswered).min(10),
        format!("{unanswered} round trip(s) unanswered"),
    );
    let rtt95 = percentile(&m.rtt_ms, 95);
    match rtt95 {
        Some(ms) if ms > 1000 => take(10, format!("slow round trips (p95 {ms} ms)")),
        Some(ms) if ms > 250 => take(5, format!("slow round trips (p95 {ms} ms)")),
        _ => {}
    }
    if let Some(ms) = percentile(&m.delivery_ms, 95).filter(|&ms| ms > 1000) {
        take(5, format!("slow delivery (p95 {ms} ms)"));
    }
    deductions.sort_by_key(|d| std::cmp::Reverse(d.points));
    let lost: u32 = deductions.iter().map(|d| d.points).sum();
    (100u32.saturating_sub(lost), deductions)
}

/// The `p`th percentile (nearest rank) of `values`.
#[must_use]
pub fn percentile(values: &[u64], p: usize) -> Option<u64> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    let rank = (p * sorted.len()).div_ceil(100).clamp(1, sorted.len());
    sorted.get(rank - 1).copied()
}

fn spread(values: &[u64]) -> String {
    match (
        percentile(values, 50),
        percentile(values, 95),
        values.iter().max(),
    ) {
        (Some(p50), Some(p95), Some(max)) => format!("p50 {p50} ms, p95 {p95} ms, max {max} ms"),
        _ => "none".to_owned(),
    }
}

fn spread_json(values: &[u64]) -> Value {
    json!({
        "p50": percentile(values, 50),
        "p95": percentile(values, 95),
        "max": values.iter().max(),
    })
}

/// The report for people: the measures, the score, what lowered it.
#[must_use]
pub fn text_report(target: &str, m: &Measures, min_score: u32) -> String {
    let (score, deductions) = score(m);
    let secs = |ms: u64| ms as f64 / 1000.0;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "iorelay check: {target} for {:.1} s",
        secs(m.duration_ms)
    );
    let _ = writeln!(
        out,
        "  uptime        {:.1} % (joined {:.1} s of {:.1} s)",
        m.uptime_pct(),
        secs(m.connected_ms),
        secs(m.duration_ms)
    );
    let _ = writeln!(
        out,
        "  disconnects   {} (reconnected {}, state recovered {}, longest outage {:.1} s)",
        m.disconnects,
        m.reconnects,
        m.recovered,
        secs(m.longest_outage_ms)
    );
    let _ = writeln!(
        out,
        "  probes        {} posted, {} arrived, {} lost, {} duplicated, {} not accepted (relay down)",
        m.probes_posted,
        m.probes_received,
        m.probes_lost(),
        m.probes_duplicated,
        m.probes_unposted
    );
    let _ = writeln!(out, "  delivery      {}", spread(&m.delivery_ms));
    let _ = writeln!(
        out,
        "  round trips   {} of {} answered, {}",
        m.rtt_ms.len(),
        m.pings_sent,
        spread(&m.rtt_ms)
    );
    let _ = writeln!(out, "  heartbeats    {} pings from the relay", m.heartbeats);
    let verdict = if score >= min_score { "pass" } else { "FAIL" };
    let _ = writeln!(out, "score {score}/100 ({verdict}, minimum {min_score})");
    for deduction in deductions {
        let _ = writeln!(out, "  -{:<3} {}", deduction.points, deduction.reason);
    }
    out
}

/// The report for scripts: one JSON object with `score` and each measure.
#[must_use]
pub fn json_report(target: &str, m: &Measures, min_score: u32) -> Value {
    let (score, deductions) = score(m);
    json!({
        "target": target,
        "score": score,
        "min_score": min_score,
        "passed": score >= min_score,
        "duration_ms": m.duration_ms,
        "connected_ms": m.connected_ms,
        "uptime_pct": (m.uptime_pct() * 10.0).round() / 10.0,
        "disconnects": m.disconnects,
        "reconnects": m.reconnects,
        "recovered": m.recovered,
        "longest_outage_ms": m.longest_outage_ms,
        "probes_posted": m.probes_posted,
        "probes_received": m.probes_received,
        "probes_lost": m.probes_lost(),
        "probes_duplicated": m.probes_duplicated,
        "probes_unposted": m.probes_unposted,
        "delivery_ms": spread_json(&m.delivery_ms),
        "pings_sent": m.pings_sent,
        "pings_answered": m.rtt_ms.len(),
        "rtt_ms": spread_json(&m.rtt_ms),
        "heartbeats": m.heartbeats,
        "deductions": deductions
            .iter()
            .map(|d| json!({"points": d.points, "reason": d.reason}))
            .collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn healthy() -> Measures {
        Measures {
            duration_ms: 10_000,
            connected_ms: 9_990,
            probes_posted: 10,
            probes_received: 10,
            delivery_ms: vec![3; 10],
            pings_sent: 10,
            rtt_ms: vec![1; 10],
            ..Measures::default()
        }
    }

    #[test]
    fn a_healthy_run_scores_100() {
        assert_eq!(score(&healthy()), (100, vec![]));
    }

    #[test]
    fn an_outage_costs_its_downtime_and_the_disconnect() {
        let m = Measures {
            connected_ms: 7_000,
            disconnects: 1,
            reconnects: 1,
            longest_outage_ms: 3_000,
            ..healthy()
        };
        let (score, deductions) = score(&m);
        assert_eq!(score, 65);
        assert_eq!(
            deductions,
            [
                Deduction {
                    points: 30,
                    reason: "not connected 30.0 % of the time".to_owned()
                },
                Deduction {
                    points: 5,
                    reason: "1 disconnect(s)".to_owned()
                },
            ]
        );
    }

    #[test]
    fn lost_and_duplicated_probes_and_slow_round_trips_lower_the_score() {
        let m = Measures {
            probes_received: 9,
            probes_duplicated: 1,
            rtt_ms: vec![2000; 9],
            ..healthy()
        };
        let (score, deductions) = score(&m);
        let points: Vec<u32> = deductions.iter().map(|d| d.points).collect();
        assert_eq!(points, [10, 10, 5, 2]);
        assert_eq!(score, 73);
    }

    #[test]
    fn percentiles_use_the_nearest_rank() {
        assert_eq!(percentile(&[], 50), None);
        assert_eq!(percentile(&[5], 95), Some(5));
        let values: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&values, 50), Some(50));
        assert_eq!(percentile(&values, 95), Some(95));
    }

    #[test]
    fn the_reports_name_the_score_and_each_measure() {
        let text = text_report("127.0.0.1:8765", &healthy(), 75);
        assert!(text.contains("score 100/100 (pass, minimum 75)"), "{text}");
        assert!(
            text.contains("10 posted, 10 arrived, 0 lost, 0 duplicated"),
            "{text}"
        );
        let json = json_report("127.0.0.1:8765", &healthy(), 75);
        assert_eq!(json["score"], 100);
        assert_eq!(json["passed"], true);
        assert_eq!(json["rtt_ms"]["p95"], 1);
    }
}
