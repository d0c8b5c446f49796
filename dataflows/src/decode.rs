//! Decoding a Kafka message value into a [`Quote`], or a [`Rejection`] saying why not.
//!
//! The rules are SPEC's "canonical quote". Prices never pass through binary floating point: a
//! JSON number is read from its text, so `50000.1` and `"50000.1"` decode to the same decimal.
//! Duplicate keys are rejected (a silent last-wins would hide a broken producer), unknown keys
//! are ignored. A message of the common flat shape is read without a JSON parser
//! (`decode/flat.rs`); anything else, and every rejection, goes through serde_json.

use std::borrow::Cow;
use std::fmt;

use rust_decimal::Decimal;
use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::pair_name::pair_name;
use crate::quote::Quote;

mod flat;
mod time;

use time::timestamp;

/// Longest pair accepted, in bytes, after trimming.
pub const MAX_PAIR_BYTES: usize = 32;

/// Why a message is a dead letter. Its `Display` is the `reason` stored in `dead_letters`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// Empty value: a tombstone.
    #[error("empty value")]
    Empty,
    /// The value is not UTF-8.
    #[error("not utf-8")]
    NotUtf8,
    /// The value is not a JSON object.
    #[error("not json: {0}")]
    NotJson(String),
    /// A required field is absent.
    #[error("missing field {0}")]
    Missing(&'static str),
    /// A required field is `null`.
    #[error("null field {0}")]
    Null(&'static str),
    /// A key appears twice.
    #[error("duplicate field {0}")]
    Duplicate(&'static str),
    /// A price is not a decimal this engine can hold exactly.
    #[error("bad number in {0}")]
    BadNumber(&'static str),
    /// `bid <= 0`.
    #[error("bid not positive")]
    BidNotPositive,
    /// `ask < bid`.
    #[error("ask below bid")]
    AskBelowBid,
    /// The timestamp is not RFC 3339 or epoch milliseconds, or lies before 1970.
    #[error("bad timestamp")]
    BadTimestamp,
    /// The pair is empty after trimming, longer than 32 bytes, or not a string.
    #[error("bad pair")]
    BadPair,
    /// Arrived below the frontier under `--late drop`.
    #[error("late")]
    Late,
}

/// Decodes one message value.
pub fn decode(value: &[u8]) -> Result<Quote, Rejection> {
    if value.is_empty() {
        return Err(Rejection::Empty);
    }
    let text = std::str::from_utf8(value).map_err(|_| Rejection::NotUtf8)?;
    let fields = match flat_fields(text) {
        Some(fields) => fields,
        None => parsed_fields(text)?,
    };

    let pair = string_contents(required(fields.pair, "pair")?).ok_or(Rejection::BadPair)?;
    let pair = pair.trim();
    if pair.is_empty() || pair.len() > MAX_PAIR_BYTES {
        return Err(Rejection::BadPair);
    }
    let bid = price(required(fields.bid, "bid")?, "bid")?;
    let ask = price(required(fields.ask, "ask")?, "ask")?;
    let ts = timestamp(required(fields.timestamp, "timestamp")?)?;
    if bid <= Decimal::ZERO {
        return Err(Rejection::BidNotPositive);
    }
    if ask < bid {
        return Err(Rejection::AskBelowBid);
    }
    // Decimal arithmetic would round a result that needs more than 96 bits or 28 places:
    // such a quote is refused instead.
    let inexact = || Rejection::BadNumber("ask");
    let sum = exact_sum(bid, ask, false).ok_or_else(inexact)?;
    let spread = exact_sum(ask, bid, true).ok_or_else(inexact)?;
    let mid = half(sum).ok_or_else(inexact)?;
    Ok(Quote {
        pair: pair_name(pair),
        bid,
        ask,
        mid,
        spread,
        ts,
    })
}

/// `a + b`, or `a - b` when `subtract`, for `a, b >= 0`, as [`Decimal`] computes it, or `None`
/// when that rounds. Prices of one quote usually share their scale, and then the mantissas
/// simply add.
fn exact_sum(a: Decimal, b: Decimal, subtract: bool) -> Option<Decimal> {
    let signed = |m: i128| if subtract { -m } else { m };
    if a.scale() == b.scale() {
        let mantissa = a.mantissa() + signed(b.mantissa());
        if let Ok(d) = Decimal::try_from_i128_with_scale(mantissa, a.scale()) {
            return Some(d);
        }
    }
    let computed = if subtract {
        a.checked_sub(b)
    } else {
        a.checked_add(b)
    }?;
    let (a, b) = (a.normalize(), b.normalize());
    let scale = a.scale().max(b.scale());
    let widen = |d: Decimal| {
        d.mantissa()
            .checked_mul(10i128.checked_pow(scale - d.scale())?)
    };
    // Normalized, a term of larger scale ends in a non-zero digit, so the exact result has that
    // scale unless both do and their last digits cancel, which stripping trailing zeros covers;
    // a term too wide for i128 makes a result too wide for a decimal.
    let mut mantissa = widen(a)?.checked_add(signed(widen(b)?))?;
    let mut scale = scale;
    while scale > 0 && mantissa % 10 == 0 {
        mantissa /= 10;
        scale -= 1;
    }
    let exact = Decimal::try_from_i128_with_scale(mantissa, scale).ok()?;
    (exact == computed).then_some(computed)
}

/// `d / 2` exactly, or `None` when that needs a 29th place. A mid keeps the places of its sum,
/// and an odd mantissa takes one more; `Decimal` division would pad some (`201 / 2 = 100.50`).
fn half(d: Decimal) -> Option<Decimal> {
    let mantissa = d.mantissa();
    if mantissa % 2 == 0 {
        return Decimal::try_from_i128_with_scale(mantissa / 2, d.scale()).ok();
    }
    Decimal::try_from_i128_with_scale(mantissa * 5, d.scale() + 1).ok()
}

/// The four fields as raw JSON text.
#[derive(Debug, Default, PartialEq)]
struct Fields<'a> {
    pair: Option<&'a str>,
    bid: Option<&'a str>,
    ask: Option<&'a str>,
    timestamp: Option<&'a str>,
}

impl<'a> Fields<'a> {
    /// Where the field `key` goes, with its name; `None` for other keys.
    fn slot(&mut self, key: &[u8]) -> Option<(&mut Option<&'a str>, &'static str)> {
        Some(match key {
            b"pair" => (&mut self.pair, "pair"),
            b"bid" => (&mut self.bid, "bid"),
            b"ask" => (&mut self.ask, "ask"),
            b"timestamp" => (&mut self.timestamp, "timestamp"),
            _ => return None,
        })
    }
}

/// The fields of a message of the common flat shape ([`flat`]); `None` for any other message,
/// and for one with a key twice, so that the parser judges those.
fn flat_fields(text: &str) -> Option<Fields<'_>> {
    let mut fields = Fields::default();
    let read = flat::members(text, |key, raw| match fields.slot(key.as_bytes()) {
        Some((slot, _)) => slot.replace(raw).is_none(),
        None => true,
    });
    read.then_some(fields)
}

/// The fields of any message, read by serde_json.
fn parsed_fields(text: &str) -> Result<Fields<'_>, Rejection> {
    let mut de = serde_json::Deserializer::from_str(text);
    let fields = RawFields::deserialize(&mut de)
        .and_then(|fields| de.end().map(|()| fields))
        .map_err(|e| Rejection::NotJson(e.to_string()))?;
    fields.0
}

/// The four fields, or the first structural rejection met while reading them.
struct RawFields<'a>(Result<Fields<'a>, Rejection>);

impl<'de: 'a, 'a> Deserialize<'de> for RawFields<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(FieldsVisitor(std::marker::PhantomData))
    }
}

struct FieldsVisitor<'a>(std::marker::PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for FieldsVisitor<'a> {
    type Value = RawFields<'a>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
        let mut fields = Fields::default();
        let mut duplicate = None;
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            let Some((slot, name)) = fields.slot(key.as_bytes()) else {
                map.next_value::<IgnoredAny>()?;
                continue;
            };
            let value: &'de RawValue = map.next_value()?;
            if slot.replace(value.get()).is_some() && duplicate.is_none() {
                duplicate = Some(name);
            }
        }
        Ok(RawFields(match duplicate {
            Some(name) => Err(Rejection::Duplicate(name)),
            None => Ok(fields),
        }))
    }
}

fn required<'a>(raw: Option<&'a str>, name: &'static str) -> Result<&'a str, Rejection> {
    match raw {
        None => Err(Rejection::Missing(name)),
        Some("null") => Err(Rejection::Null(name)),
        Some(raw) => Ok(raw),
    }
}

/// What a JSON string literal holds, escapes resolved; `None` when `text` is not a string.
fn string_contents(text: &str) -> Option<Cow<'_, str>> {
    let inner = text.strip_prefix('"')?.strip_suffix('"')?;
    if inner.contains('\\') {
        serde_json::from_str::<String>(text).ok().map(Cow::Owned)
    } else {
        Some(Cow::Borrowed(inner))
    }
}

/// A price: a JSON string holding a plain decimal, or any JSON number, read exactly.
fn price(text: &str, name: &'static str) -> Result<Decimal, Rejection> {
    let unquoted = text.strip_prefix('"').and_then(|t| t.strip_suffix('"'));
    if let Some(price) = short_plain_decimal(unquoted.unwrap_or(text).as_bytes()) {
        return Ok(price);
    }
    let parsed = match string_contents(text) {
        Some(inner) if is_plain_decimal(&inner) => exact(&inner),
        Some(_) => None,
        None if text.starts_with(['-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9']) => {
            json_number(text)
        }
        None => None,
    };
    parsed.ok_or(Rejection::BadNumber(name))
}

/// A plain decimal of at most 19 characters (`50000.10`, the common price) read in one pass: the
/// value [`exact`] reads from the same text, bit for bit, without `Decimal::from_str_exact`'s
/// generality (434 instructions a price through it, 145 this way). `None` for anything else,
/// left to the general path.
fn short_plain_decimal(text: &[u8]) -> Option<Decimal> {
    // At most 19 digits: below 10^19, inside a u64.
    if text.len() > 19 {
        return None;
    }
    let (mut mantissa, mut point) = (0u64, None);
    for (at, &b) in text.iter().enumerate() {
        match b {
            b'0'..=b'9' => mantissa = mantissa * 10 + u64::from(b - b'0'),
            b'.' if point.is_none() && at > 0 => point = Some(at),
            _ => return None,
        }
    }
    let places = match point {
        None if !text.is_empty() => 0,
        Some(at) if at + 1 < text.len() => text.len() - at - 1,
        _ => return None,
    };
    Some(Decimal::from_i128_with_scale(
        i128::from(mantissa),
        places as u32,
    ))
}

/// `123` or `0.00012`: digits with at most one dot between digits; no sign, exponent or spaces.
fn is_plain_decimal(s: &str) -> bool {
    let mut parts = s.splitn(2, '.');
    let all_digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    parts.next().is_some_and(all_digits) && parts.next().is_none_or(all_digits)
}

/// A plain decimal, optionally signed, without rounding: `None` when a digit other than a
/// trailing fractional zero would not fit a 96-bit decimal with at most 28 places.
fn exact(text: &str) -> Option<Decimal> {
    Decimal::from_str_exact(text).ok().or_else(|| {
        let (_, fraction) = text.split_once('.')?;
        let kept = fraction.trim_end_matches('0');
        let text = &text[..text.len() - fraction.len() + kept.len()];
        Decimal::from_str_exact(text.strip_suffix('.').unwrap_or(text)).ok()
    })
}

/// A JSON number's text (already validated by the JSON parser), converted without rounding:
/// the exponent is applied to the digits as text, then read by [`exact`].
fn json_number(text: &str) -> Option<Decimal> {
    let Some(e) = text.find(['e', 'E']) else {
        return exact(text);
    };
    let exponent = text[e + 1..].parse::<i64>().ok()?;
    let (sign, mantissa) = match text[..e].strip_prefix('-') {
        Some(unsigned) => ("-", unsigned),
        None => ("", &text[..e]),
    };
    let (int, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let all = format!("{int}{fraction}");
    let digits = all.trim_start_matches('0');
    if digits.is_empty() {
        return Some(Decimal::ZERO);
    }
    // Where the decimal point falls in `digits`. Beyond these bounds the value is either above
    // the largest decimal or needs more than 28 places.
    let point = exponent.saturating_add(int.len() as i64 - (all.len() - digits.len()) as i64);
    if !(-64..=64).contains(&point) {
        return None;
    }
    let plain = if point <= 0 {
        format!(
            "{sign}0.{}{digits}",
            "0".repeat(point.unsigned_abs() as usize)
        )
    } else if point as usize >= digits.len() {
        format!(
            "{sign}{digits}{}",
            "0".repeat(point as usize - digits.len())
        )
    } else {
        let (whole, part) = digits.split_at(point as usize);
        format!("{sign}{whole}.{part}")
    };
    exact(&plain)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// Member values of the flat shape, and values that make a message leave it.
    const FLAT_VALUES: &[&str] = &[
        r#""BTC-USD""#,
        r#"" a ""#,
        r#""1.5""#,
        r#""2026-11-21T10:00:00Z""#,
        r#""""#,
        r#""é""#,
        "12",
        "0",
        "null",
    ];
    const OTHER_VALUES: &[&str] = &[
        "012",
        "1.5",
        "1e3",
        "-1",
        "true",
        r#""a\"b""#,
        "\"a\tb\"",
        r#""\u0041""#,
        "{}",
        "[1]",
        "nul",
    ];
    const FLAT_KEYS: &[&str] = &[
        r#""pair""#,
        r#""bid""#,
        r#""ask""#,
        r#""timestamp""#,
        r#""x""#,
    ];
    const OTHER_KEYS: &[&str] = &[r#""p\u0061ir""#, "pair"];
    const BLANKS: &[&str] = &["", " ", "\t\n", "\r "];

    fn message() -> impl Strategy<Value = String> {
        let blank = || proptest::sample::select(BLANKS);
        let key = prop_oneof![
            9 => proptest::sample::select(FLAT_KEYS),
            1 => proptest::sample::select(OTHER_KEYS),
        ];
        let value = prop_oneof![
            9 => proptest::sample::select(FLAT_VALUES),
            1 => proptest::sample::select(OTHER_VALUES),
        ];
        let member =
            (key, blank(), value, blank()).prop_map(|(k, b, v, c)| format!("{k}{b}:{c}{v}{b}"));
        let ends = prop_oneof![
            6 => proptest::sample::select(&["{|}", "{|}\n", " {|} "][..]),
            1 => proptest::sample::select(&["{|", "{|,}", "[|]", "{|}x"][..]),
        ];
        (proptest::collection::vec(member, 0..6), ends, blank()).prop_map(|(members, ends, b)| {
            let (open, close) = ends.split_once('|').unwrap_or(("{", "}"));
            format!("{open}{b}{}{close}", members.join(","))
        })
    }

    proptest! {
        /// The flat reading only ever takes what serde_json reads the same way.
        #[test]
        fn flat_fields_are_the_parsers(text in message()) {
            if let Some(flat) = flat_fields(&text) {
                prop_assert_eq!(Ok(flat), parsed_fields(&text));
            }
        }

        /// The one-pass reading of a short price gives the general reading's bits, and takes
        /// every short plain decimal.
        #[test]
        fn short_prices_read_as_the_general_path_does(
            text in prop_oneof!["[0-9]{0,12}(\\.[0-9]{0,12})?", "[0-9.]{0,21}", "0{0,6}[1-9]?\\.0{0,14}"],
        ) {
            let short = short_plain_decimal(text.as_bytes());
            let general = Some(text.as_str()).filter(|t| is_plain_decimal(t)).and_then(exact);
            match short {
                Some(d) => prop_assert_eq!(Some(d.serialize()), general.map(|g| g.serialize())),
                None => prop_assert!(general.is_none() || text.len() > 19, "{} not taken", text),
            }
        }
    }

    #[test]
    fn canonical_quotes_take_the_flat_reading() {
        for text in [
            r#"{"pair": "BTC-USD", "bid": "50000.10", "ask": "50000.60", "timestamp": "2026-11-21T10:00:00.123Z"}"#,
            r#"{"pair":"P1-USD","bid":"100.25","ask":"100.75","timestamp":1763700000000}"#,
        ] {
            let flat = flat_fields(text);
            assert!(flat.is_some(), "{text}");
            assert_eq!(flat.ok_or(()), parsed_fields(text).map_err(|_| ()));
        }
    }
}
