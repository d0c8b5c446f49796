//! Decoding a Kafka message value into a [`Quote`], or a [`Rejection`] saying why not.
//!
//! The rules are SPEC's "canonical quote". Prices never pass through binary floating point: a
//! JSON number is read from its text, so `50000.1` and `"50000.1"` decode to the same decimal.
//! Duplicate keys are rejected (a silent last-wins would hide a broken producer), unknown keys
//! are ignored.

use std::borrow::Cow;
use std::fmt;

use chrono::{DateTime, Timelike};
use rust_decimal::Decimal;
use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::quote::{Micros, Quote};

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
    let mut de = serde_json::Deserializer::from_str(text);
    let fields = RawFields::deserialize(&mut de)
        .and_then(|fields| de.end().map(|()| fields))
        .map_err(|e| Rejection::NotJson(e.to_string()))?;
    let fields = fields.0?;

    let pair = string_contents(required(fields.pair, "pair")?.get()).ok_or(Rejection::BadPair)?;
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
        pair: pair.to_owned(),
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

/// The four fields as raw JSON text, or the first structural rejection met while reading them.
struct RawFields<'a>(Result<Fields<'a>, Rejection>);

#[derive(Default)]
struct Fields<'a> {
    pair: Option<&'a RawValue>,
    bid: Option<&'a RawValue>,
    ask: Option<&'a RawValue>,
    timestamp: Option<&'a RawValue>,
}

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
        while let Some(key) = map.next_key::<Key>()? {
            let (slot, name) = match key {
                Key::Pair => (&mut fields.pair, "pair"),
                Key::Bid => (&mut fields.bid, "bid"),
                Key::Ask => (&mut fields.ask, "ask"),
                Key::Timestamp => (&mut fields.timestamp, "timestamp"),
                Key::Other => {
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
            };
            let value: &'de RawValue = map.next_value()?;
            if slot.replace(value).is_some() && duplicate.is_none() {
                duplicate = Some(name);
            }
        }
        Ok(RawFields(match duplicate {
            Some(name) => Err(Rejection::Duplicate(name)),
            None => Ok(fields),
        }))
    }
}

/// A key of the quote object, read without copying it (escaped keys included).
enum Key {
    Pair,
    Bid,
    Ask,
    Timestamp,
    Other,
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(KeyVisitor)
    }
}

struct KeyVisitor;

impl Visitor<'_> for KeyVisitor {
    type Value = Key;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a field name")
    }

    fn visit_str<E: serde::de::Error>(self, key: &str) -> Result<Key, E> {
        Ok(match key {
            "pair" => Key::Pair,
            "bid" => Key::Bid,
            "ask" => Key::Ask,
            "timestamp" => Key::Timestamp,
            _ => Key::Other,
        })
    }
}

fn required<'a>(raw: Option<&'a RawValue>, name: &'static str) -> Result<&'a RawValue, Rejection> {
    match raw {
        None => Err(Rejection::Missing(name)),
        Some(raw) if raw.get() == "null" => Err(Rejection::Null(name)),
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
fn price(raw: &RawValue, name: &'static str) -> Result<Decimal, Rejection> {
    let text = raw.get();
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

/// An RFC 3339 string (no space separator) or integer epoch milliseconds, truncated to micros.
fn timestamp(raw: &RawValue) -> Result<Micros, Rejection> {
    let text = raw.get();
    let micros = if let Some(inner) = string_contents(text) {
        if !matches!(inner.as_bytes().get(10), Some(b'T' | b't')) {
            return Err(Rejection::BadTimestamp);
        }
        let parsed = DateTime::parse_from_rfc3339(&inner).map_err(|_| Rejection::BadTimestamp)?;
        let seconds = parsed.timestamp();
        seconds
            .checked_mul(1_000_000)
            .and_then(|s| s.checked_add(i64::from(parsed.nanosecond() / 1_000)))
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

/// 9999-12-31T23:59:59.999999Z: the last instant PostgreSQL and RFC 3339 agree on.
const MAX_MICROS: i64 = 253_402_300_799_999_999;
