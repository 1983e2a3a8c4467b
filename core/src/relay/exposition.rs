//! The Prometheus text exposition format (version 0.0.4): `# HELP` and `# TYPE` lines, then
//! samples `name{label="value"} number`, one family after another.
//!
//! Why hand-written rather than the `prometheus-client` crate: that crate is a registry of
//! shared metric handles (atomics behind `Arc`s, collectors), which is exactly what core does
//! not want — the relay's numbers are plain fields of one state machine, read when `/metrics`
//! is asked. What remains is a text format of a few rules (escaping, cumulative buckets,
//! `+Inf`), tested here.

use std::fmt::Write;

use super::histogram::Histogram;

/// The content type of the format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// What a family's samples mean, for its `# TYPE` line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Only goes up (names end in `_total`).
    Counter,
    /// Goes up and down.
    Gauge,
    /// Observations in cumulative buckets, with `_sum` and `_count`.
    Histogram,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Self::Counter => "counter",
            Self::Gauge => "gauge",
            Self::Histogram => "histogram",
        }
    }
}

/// A page of metrics being written.
#[derive(Debug, Default)]
pub struct Exposition {
    text: String,
}

/// One family being written: samples of one name (histograms: its `_bucket`, `_sum`,
/// `_count` series).
#[derive(Debug)]
pub struct Family<'a> {
    text: &'a mut String,
    name: &'a str,
}

impl Exposition {
    /// An empty page.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts a family: writes its `# HELP` and `# TYPE` lines. Write all its samples before
    /// the next family (the format wants each family in one piece).
    pub fn family<'a>(&'a mut self, name: &'a str, kind: Kind, help: &str) -> Family<'a> {
        let _ = writeln!(self.text, "# HELP {name} {}", escape_help(help));
        let _ = writeln!(self.text, "# TYPE {name} {}", kind.as_str());
        Family {
            text: &mut self.text,
            name,
        }
    }

    /// A counter family with one unlabelled sample.
    pub fn counter(&mut self, name: &str, help: &str, value: u64) {
        self.family(name, Kind::Counter, help)
            .sample(&[], value as f64);
    }

    /// A gauge family with one unlabelled sample.
    pub fn gauge(&mut self, name: &str, help: &str, value: f64) {
        self.family(name, Kind::Gauge, help).sample(&[], value);
    }

    /// The text.
    #[must_use]
    pub fn finish(self) -> String {
        self.text
    }
}

impl Family<'_> {
    /// One sample of the family.
    pub fn sample(&mut self, labels: &[(&str, &str)], value: f64) -> &mut Self {
        write_sample(self.text, self.name, "", labels, None, value);
        self
    }

    /// One histogram of the family: a cumulative `_bucket` per bound and `+Inf`, `_sum` in
    /// seconds and `_count`.
    pub fn histogram(&mut self, labels: &[(&str, &str)], histogram: &Histogram) -> &mut Self {
        for (le, cumulative) in histogram.cumulative() {
            let le = ("le", le);
            write_sample(
                self.text,
                self.name,
                "_bucket",
                labels,
                Some(le),
                cumulative as f64,
            );
        }
        let sum = histogram.sum().as_secs_f64();
        write_sample(self.text, self.name, "_sum", labels, None, sum);
        let count = histogram.count() as f64;
        write_sample(self.text, self.name, "_count", labels, None, count);
        self
    }
}

fn write_sample(
    text: &mut String,
    name: &str,
    suffix: &str,
    labels: &[(&str, &str)],
    extra: Option<(&str, &str)>,
    value: f64,
) {
    text.push_str(name);
    text.push_str(suffix);
    let mut all = labels.iter().copied().chain(extra).peekable();
    if all.peek().is_some() {
        text.push('{');
        for (i, (key, value)) in all.enumerate() {
            if i > 0 {
                text.push(',');
            }
            let _ = write!(text, "{key}=\"{}\"", escape_label(value));
        }
        text.push('}');
    }
    text.push(' ');
    text.push_str(&format_value(value));
    text.push('\n');
}

/// A label value with `\`, `"` and newlines escaped.
fn escape_label(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// Help text with `\` and newlines escaped (quotes need none there).
fn escape_help(help: &str) -> String {
    help.replace('\\', "\\\\").replace('\n', "\\n")
}

/// A sample value as the format spells it (`+Inf`, `-Inf`, `NaN`, else a plain decimal).
fn format_value(value: f64) -> String {
    if value.is_nan() {
        "NaN".to_owned()
    } else if value.is_infinite() {
        if value > 0.0 { "+Inf" } else { "-Inf" }.to_owned()
    } else {
        format!("{value}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_counter_has_help_type_and_one_sample() {
        let mut page = Exposition::new();
        page.counter("x_total", "Things.", 3);
        assert_eq!(
            page.finish(),
            "# HELP x_total Things.\n# TYPE x_total counter\nx_total 3\n"
        );
    }

    #[test]
    fn labelled_samples_share_one_help_and_type() {
        let mut page = Exposition::new();
        page.family("s", Kind::Gauge, "Sessions.")
            .sample(&[("transport", "polling")], 2.0)
            .sample(&[("transport", "websocket")], 0.5);
        assert_eq!(
            page.finish(),
            "# HELP s Sessions.\n# TYPE s gauge\n\
             s{transport=\"polling\"} 2\ns{transport=\"websocket\"} 0.5\n"
        );
    }

    #[test]
    fn label_values_and_help_are_escaped() {
        let mut page = Exposition::new();
        page.family("g", Kind::Gauge, "a \\ b\nc \"q\"")
            .sample(&[("nsp", "a\"b\\c\nd")], 1.0);
        assert_eq!(
            page.finish(),
            "# HELP g a \\\\ b\\nc \"q\"\n# TYPE g gauge\ng{nsp=\"a\\\"b\\\\c\\nd\"} 1\n"
        );
    }

    #[test]
    fn special_values_are_spelled_as_the_format_wants() {
        assert_eq!(format_value(f64::INFINITY), "+Inf");
        assert_eq!(format_value(f64::NEG_INFINITY), "-Inf");
        assert_eq!(format_value(f64::NAN), "NaN");
        assert_eq!(format_value(0.0001), "0.0001");
        assert_eq!(format_value(1e15), "1000000000000000");
    }

    #[test]
    fn a_histogram_has_cumulative_buckets_up_to_inf_then_sum_and_count() {
        let mut histogram = Histogram::default();
        histogram.observe(Duration::from_micros(50));
        histogram.observe(Duration::from_millis(1));
        histogram.observe(Duration::from_millis(3));
        histogram.observe(Duration::from_secs(60));
        let mut page = Exposition::new();
        page.family("h_seconds", Kind::Histogram, "Latency.")
            .histogram(&[("route", "/x")], &histogram);
        let text = page.finish();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "# HELP h_seconds Latency.");
        assert_eq!(lines[1], "# TYPE h_seconds histogram");
        assert_eq!(lines[2], "h_seconds_bucket{route=\"/x\",le=\"0.0001\"} 1");
        assert!(lines.contains(&"h_seconds_bucket{route=\"/x\",le=\"0.001\"} 2"));
        assert!(lines.contains(&"h_seconds_bucket{route=\"/x\",le=\"0.0025\"} 2"));
        assert!(lines.contains(&"h_seconds_bucket{route=\"/x\",le=\"0.005\"} 3"));
        assert!(lines.contains(&"h_seconds_bucket{route=\"/x\",le=\"10\"} 3"));
        let n = lines.len();
        assert_eq!(lines[n - 3], "h_seconds_bucket{route=\"/x\",le=\"+Inf\"} 4");
        assert_eq!(lines[n - 2], "h_seconds_sum{route=\"/x\"} 60.00405");
        assert_eq!(lines[n - 1], "h_seconds_count{route=\"/x\"} 4");
        let buckets: Vec<u64> = lines
            .iter()
            .filter(|l| l.starts_with("h_seconds_bucket"))
            .map(|l| l.rsplit(' ').next().unwrap().parse().unwrap())
            .collect();
        assert!(buckets.windows(2).all(|w| w[0] <= w[1]), "{buckets:?}");
    }
}
