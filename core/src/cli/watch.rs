//! Arguments of the commands that watch a running relay over Socket.IO: `tail` and `check`.

use std::time::Duration;

use clap::Args;

use super::flags::ClientFlags;

/// `iorelay tail`: where the relay is, what to show, how.
#[derive(Debug, Clone, Default, PartialEq, Eq, Args)]
pub struct TailArgs {
    /// Read settings from this TOML file instead of the user config file (it must exist)
    /// [env: IORELAY_CONFIG].
    #[arg(long, value_name = "PATH")]
    pub config: Option<String>,
    /// `--host`, `--port`, `--token`.
    #[command(flatten)]
    pub settings: ClientFlags,
    /// Print each event as its canonical JSON, one per line (for `jq`).
    #[arg(long)]
    pub json: bool,
    /// Only this Claude Code session's events.
    #[arg(long, value_name = "ID")]
    pub session: Option<String>,
    /// Only this project's events.
    #[arg(long, value_name = "NAME")]
    pub project: Option<String>,
    /// Only events of this type or subtype (repeat for several: --type stop --type pre_tool_use).
    #[arg(long = "type", value_name = "TYPE")]
    pub types: Vec<String>,
    /// Start with the last N events the relay holds (at most 1000).
    #[arg(long, value_name = "N", default_value_t = 0,
          value_parser = clap::value_parser!(u16).range(0..=1000))]
    pub history: u16,
}

impl TailArgs {
    /// The setting flags given, as (key, text) pairs for `Settings::resolve`.
    #[must_use]
    pub fn flags(&self) -> &[(&'static str, String)] {
        &self.settings.given
    }
}

/// `iorelay check`: where the relay is, how long, how strict.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct CheckArgs {
    /// Read settings from this TOML file instead of the user config file (it must exist)
    /// [env: IORELAY_CONFIG].
    #[arg(long, value_name = "PATH")]
    pub config: Option<String>,
    /// `--host`, `--port`, `--token`.
    #[command(flatten)]
    pub settings: ClientFlags,
    /// How long to stay connected: `90s`, `2m`, `1500ms`, `1h` (a bare number is seconds).
    #[arg(long, value_name = "DURATION", default_value = "2m", value_parser = parse_duration)]
    pub duration: Duration,
    /// Print the report as one JSON object (`score` and each measure).
    #[arg(long)]
    pub json: bool,
    /// Exit 1 when the score is below this.
    #[arg(long, value_name = "SCORE", default_value_t = 75,
          value_parser = clap::value_parser!(u32).range(0..=100))]
    pub min_score: u32,
}

impl CheckArgs {
    /// The setting flags given, as (key, text) pairs for `Settings::resolve`.
    #[must_use]
    pub fn flags(&self) -> &[(&'static str, String)] {
        &self.settings.given
    }
}

/// `90s`, `2m`, `1500ms`, `1h`, or a bare number of seconds.
///
/// # Errors
/// The text is not a number with one of those units, or is zero.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    let (number, unit) = text.split_at(digits);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration like 90s, 2m or 1500ms"))?;
    let duration = match unit {
        "ms" => Duration::from_millis(number),
        "" | "s" => Duration::from_secs(number),
        "m" => Duration::from_secs(number.saturating_mul(60)),
        "h" => Duration::from_secs(number.saturating_mul(3600)),
        _ => return Err(format!("{text:?}: the unit must be ms, s, m or h")),
    };
    if duration.is_zero() {
        return Err("the duration must be more than zero".to_owned());
    }
    Ok(duration)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_ms_s_m_h_or_bare_seconds() {
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1500ms"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("7"), Ok(Duration::from_secs(7)));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("5d").is_err());
        assert!(parse_duration("s").is_err());
    }
}
