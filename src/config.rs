//! Flag values with structure: durations, window widths, and where a run starts and stops.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};

/// A configuration the command line cannot catch alone: exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

/// `500ms`, `30s`, `1m`, `1h`, `1d`; and a bare `0`, which is zero in any unit. Any other
/// number needs its unit: `5` could mean seconds or milliseconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (digits, unit) = s.split_at(split);
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("`{s}` is not a duration like 500ms, 30s, 1m, 1h, 1d"))?;
    let millis = match unit {
        "" if n == 0 => Some(0),
        "ms" => Some(n),
        "s" => n.checked_mul(1_000),
        "m" => n.checked_mul(60_000),
        "h" => n.checked_mul(3_600_000),
        "d" => n.checked_mul(86_400_000),
        _ => None,
    };
    millis
        .map(Duration::from_millis)
        .ok_or_else(|| format!("`{s}` is not a duration like 500ms, 30s, 1m, 1h, 1d"))
}

/// One `--windows` width: a whole, positive number of seconds. clap splits the list.
pub fn parse_widths(s: &str) -> Result<Duration, String> {
    let d = parse_duration(s)?;
    if d.is_zero() || d.subsec_nanos() != 0 {
        return Err(format!(
            "window width `{s}` must be a whole, positive number of seconds"
        ));
    }
    Ok(d)
}

/// Offsets by partition, or one offset for every partition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Offsets {
    /// `offset:N`.
    All(i64),
    /// `offset:P=N,...`; partitions not named use the default of the flag.
    Each(BTreeMap<i32, i64>),
}

impl Offsets {
    fn parse(s: &str) -> Result<Offsets, String> {
        if !s.contains('=') {
            return parse_offset(s).map(Offsets::All);
        }
        let mut each = BTreeMap::new();
        for part in s.split(',') {
            let (p, n) = part
                .split_once('=')
                .ok_or_else(|| format!("`{part}` is not P=N"))?;
            let p: i32 = p
                .trim()
                .parse()
                .ok()
                .filter(|p| *p >= 0)
                .ok_or_else(|| format!("`{p}` is not a partition"))?;
            if each.insert(p, parse_offset(n)?).is_some() {
                return Err(format!("partition {p} named twice"));
            }
        }
        Ok(Offsets::Each(each))
    }

    /// The offset for `partition`, if this names one.
    pub fn get(&self, partition: i32) -> Option<i64> {
        match self {
            Offsets::All(n) => Some(*n),
            Offsets::Each(each) => each.get(&partition).copied(),
        }
    }
}

fn parse_offset(s: &str) -> Result<i64, String> {
    s.trim()
        .parse::<i64>()
        .ok()
        .filter(|n| *n >= 0)
        .ok_or_else(|| format!("`{s}` is not an offset"))
}

/// An RFC 3339 instant.
pub fn parse_timestamp(s: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("`{s}`: {e}"))
}

/// `--from`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StartSpec {
    /// Resume from `source_positions` (earliest where none is stored).
    Committed,
    /// The first offset of each partition.
    Earliest,
    /// The end of each partition at start.
    Latest,
    /// Explicit offsets (inclusive); unnamed partitions resume from committed.
    Offset(Offsets),
    /// The first message stored at or after this time.
    Timestamp(DateTime<Utc>),
}

impl StartSpec {
    /// Parses the flag's value.
    pub fn parse(s: &str) -> Result<StartSpec, String> {
        match s {
            "committed" => Ok(StartSpec::Committed),
            "earliest" => Ok(StartSpec::Earliest),
            "latest" => Ok(StartSpec::Latest),
            _ => match s.split_once(':') {
                Some(("offset", rest)) => Offsets::parse(rest).map(StartSpec::Offset),
                Some(("timestamp", rest)) => parse_timestamp(rest).map(StartSpec::Timestamp),
                _ => Err(format!("`{s}`: expected committed, earliest, latest, offset:N, offset:P=N,... or timestamp:RFC3339")),
            },
        }
    }
}

/// `--until`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StopSpec {
    /// Run forever.
    Never,
    /// The high watermarks read at start.
    End,
    /// Explicit offsets (exclusive); unnamed partitions stop where they start.
    Offset(Offsets),
    /// The first message stored at or after this time (exclusive).
    Timestamp(DateTime<Utc>),
}

impl StopSpec {
    /// Parses the flag's value.
    pub fn parse(s: &str) -> Result<StopSpec, String> {
        match s {
            "never" => Ok(StopSpec::Never),
            "end" => Ok(StopSpec::End),
            _ => match s.split_once(':') {
                Some(("offset", rest)) => Offsets::parse(rest).map(StopSpec::Offset),
                Some(("timestamp", rest)) => parse_timestamp(rest).map(StopSpec::Timestamp),
                _ => Err(format!(
                    "`{s}`: expected never, end, offset:N, offset:P=N,... or timestamp:RFC3339"
                )),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("1d"), Ok(Duration::from_secs(86_400)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        for bad in ["", "5", "00x", "1.5s", "-1s", "1 s", "1w"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        assert!(parse_widths("1500ms").is_err());
        assert!(parse_widths("0s").is_err());
    }

    #[test]
    fn positions() {
        assert_eq!(
            StartSpec::parse("offset:5"),
            Ok(StartSpec::Offset(Offsets::All(5)))
        );
        let each = StopSpec::parse("offset:0=10,3=7").expect("valid");
        assert_eq!(
            each,
            StopSpec::Offset(Offsets::Each(BTreeMap::from([(0, 10), (3, 7)])))
        );
        assert!(StartSpec::parse("offset:1=2,1=3").is_err());
        assert!(StartSpec::parse("offset:-1").is_err());
        assert!(StartSpec::parse("timestamp:yesterday").is_err());
        assert!(StopSpec::parse("latest").is_err());
    }
}
