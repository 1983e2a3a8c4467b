//! A latency histogram with fixed buckets from 100 µs to 10 s, kept as plain counters.
//!
//! Why fixed buckets: the numbers are aggregated by Prometheus across scrapes and servers,
//! which only works when every server uses the same bounds; and a fixed array costs a few
//! hundred bytes and one comparison loop per observation, with no allocation.

use std::time::Duration;

/// Upper bounds of the buckets, with the `le` label that names each (exact decimals, so the
/// label never depends on float formatting).
const BOUNDS: [(Duration, &str); 16] = [
    (Duration::from_micros(100), "0.0001"),
    (Duration::from_micros(250), "0.00025"),
    (Duration::from_micros(500), "0.0005"),
    (Duration::from_millis(1), "0.001"),
    (Duration::from_micros(2500), "0.0025"),
    (Duration::from_millis(5), "0.005"),
    (Duration::from_millis(10), "0.01"),
    (Duration::from_millis(25), "0.025"),
    (Duration::from_millis(50), "0.05"),
    (Duration::from_millis(100), "0.1"),
    (Duration::from_millis(250), "0.25"),
    (Duration::from_millis(500), "0.5"),
    (Duration::from_secs(1), "1"),
    (Duration::from_millis(2500), "2.5"),
    (Duration::from_secs(5), "5"),
    (Duration::from_secs(10), "10"),
];

/// Observations counted per bucket, with their sum and count.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Histogram {
    /// Observations in each bucket alone (not cumulative); the last is past every bound.
    counts: [u64; BOUNDS.len() + 1],
    sum: Duration,
    count: u64,
}

impl Histogram {
    /// Counts one observation in the first bucket whose bound it does not exceed.
    pub fn observe(&mut self, value: Duration) {
        let bucket = BOUNDS
            .iter()
            .position(|(bound, _)| value <= *bound)
            .unwrap_or(BOUNDS.len());
        self.counts[bucket] += 1;
        self.sum = self.sum.saturating_add(value);
        self.count += 1;
    }

    /// Each bucket's `le` label and the observations at or under its bound, ending with
    /// `+Inf` (every observation).
    pub fn cumulative(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        let labels = BOUNDS.iter().map(|(_, le)| *le).chain(["+Inf"]);
        labels.zip(self.counts.iter().scan(0, |total, n| {
            *total += n;
            Some(*total)
        }))
    }

    /// The sum of the observations.
    #[must_use]
    pub fn sum(&self) -> Duration {
        self.sum
    }

    /// How many observations there were.
    #[must_use]
    pub fn count(&self) -> u64 {
        self.count
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_on_a_bound_counts_in_that_bucket() {
        let mut histogram = Histogram::default();
        histogram.observe(Duration::from_millis(1));
        let at: Vec<_> = histogram.cumulative().collect();
        assert_eq!(at[2], ("0.0005", 0));
        assert_eq!(at[3], ("0.001", 1));
        assert_eq!(at.last(), Some(&("+Inf", 1)));
        assert_eq!(at.len(), 17);
    }

    #[test]
    fn values_past_every_bound_count_only_in_inf() {
        let mut histogram = Histogram::default();
        histogram.observe(Duration::from_secs(11));
        let at: Vec<_> = histogram.cumulative().collect();
        assert_eq!(at[15], ("10", 0));
        assert_eq!(at[16], ("+Inf", 1));
        assert_eq!(histogram.sum(), Duration::from_secs(11));
        assert_eq!(histogram.count(), 1);
    }
}
