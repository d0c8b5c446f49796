//! A quote's event time: an RFC 3339 string or integer epoch milliseconds, truncated to
//! microseconds.
//!
//! SPEC's canonical shape, `2026-11-21T10:00:00.123Z`, is read field by field (reading a
//! canonical timestamp took 494 instructions through chrono's general parser, 391 this way);
//! chrono's RFC 3339 parser reads the rest (numeric offsets, lowercase `t`/`z`, leap seconds)
//! and rejects what is malformed.

use chrono::{DateTime, NaiveDate, NaiveTime, Timelike};

use super::{string_contents, Rejection};
use crate::quote::Micros;

/// 9999-12-31T23:59:59.999999Z: the last instant PostgreSQL and RFC 3339 agree on.
const MAX_MICROS: i64 = 253_402_300_799_999_999;

/// An RFC 3339 string (no space separator) or integer epoch milliseconds, truncated to micros.
pub(super) fn timestamp(text: &str) -> Result<Micros, Rejection> {
    let micros = if let Some(inner) = string_contents(text) {
        canonical_utc(inner.as_bytes())
            .or_else(|| rfc3339(&inner))
            .ok_or(Rejection::BadTimestamp)?
    } else if text.bytes().all(|b| b.is_ascii_digit() || b == b'-') {
        let millis: i64 = text.parse().map_err(|_| Rejection::BadTimestamp)?;
        millis.checked_mul(1_000).ok_or(Rejection::BadTimestamp)?
    } else {
        return Err(Rejection::BadTimestamp);
    };
    if !(0..=MAX_MICROS).contains(&micros) {
        return Err(Rejection::BadTimestamp);
    }
    Ok(micros as Micros)
}

/// Any RFC 3339 time chrono reads, with `T` or `t` between date and time (not a space).
fn rfc3339(text: &str) -> Option<i64> {
    if !matches!(text.as_bytes().get(10), Some(b'T' | b't')) {
        return None;
    }
    let parsed = DateTime::parse_from_rfc3339(text).ok()?;
    parsed
        .timestamp()
        .checked_mul(1_000_000)?
        .checked_add(i64::from(parsed.nanosecond() / 1_000))
}

/// `YYYY-MM-DDTHH:MM:SS[.1 to 9 digits]Z`: the instant [`rfc3339`] gives for the same text, or
/// `None` for any other shape, a second of 60 or a date that does not exist, which are left to
/// it.
fn canonical_utc(text: &[u8]) -> Option<i64> {
    let (head, fraction) = text.strip_suffix(b"Z")?.split_at_checked(19)?;
    let separators = [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':')];
    if separators.iter().any(|&(at, byte)| head[at] != byte) {
        return None;
    }
    let field = |from: usize, to: usize| digits(&head[from..to]);
    let nanos = match fraction {
        [] => 0,
        [b'.', places @ ..] if (1..=9).contains(&places.len()) => {
            digits(places)? * 10u32.pow(9 - places.len() as u32)
        }
        _ => return None,
    };
    let date = NaiveDate::from_ymd_opt(field(0, 4)? as i32, field(5, 7)?, field(8, 10)?)?;
    let time = NaiveTime::from_hms_nano_opt(field(11, 13)?, field(14, 16)?, field(17, 19)?, nanos)?;
    Some(date.and_time(time).and_utc().timestamp_micros())
}

/// The value of a run of ASCII digits (at most 9, so it fits).
fn digits(text: &[u8]) -> Option<u32> {
    text.iter().try_fold(0u32, |n, &b| {
        b.is_ascii_digit().then(|| n * 10 + u32::from(b - b'0'))
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn the_spec_example_is_canonical() {
        let text = b"2026-11-21T10:00:00.123Z";
        assert_eq!(canonical_utc(text), rfc3339("2026-11-21T10:00:00.123Z"));
        assert_eq!(canonical_utc(text), Some(1_795_255_200_123_000));
    }

    proptest! {
        /// Wherever the canonical reading gives an instant, chrono's gives the same one: for
        /// canonical texts (days past a month's end included), and for texts near that shape
        /// (other separators, offsets, fractions up to 11 places, impossible dates and times).
        #[test]
        fn canonical_times_read_as_chrono_reads_them(
            text in prop_oneof![
                "[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\\.[0-9]{1,9})?Z",
                "[0-9]{4}-[01][0-9]-[0-3][0-9][Tt ][0-2][0-9]:[0-6][0-9]:[0-6][0-9](\\.[0-9]{0,11})?([Zz]|[+-][01][0-9]:[0-5][0-9])?",
            ],
        ) {
            if let Some(micros) = canonical_utc(text.as_bytes()) {
                prop_assert_eq!(Some(micros), rfc3339(&text));
            }
        }

        /// Every valid time of the canonical shape takes the canonical reading.
        #[test]
        fn canonical_shape_is_read_canonically(
            micros in 0i64..MAX_MICROS,
            places in 0usize..=9,
        ) {
            let time = DateTime::from_timestamp_micros(micros).expect("in range");
            let text = match places {
                0 => time.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
                n => format!("{}.{}Z", time.format("%Y-%m-%dT%H:%M:%S"), &time.format("%f").to_string()[..n]),
            };
            prop_assert!(canonical_utc(text.as_bytes()).is_some(), "{}", text);
            prop_assert_eq!(canonical_utc(text.as_bytes()), rfc3339(&text));
        }
    }
}
