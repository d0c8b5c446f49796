//! SPEC "Input: canonical quote", rule by rule, through [`tickflow_dataflows::decode`].
//!
//! Two tables: valid messages with the quote each must decode to (trimmed pair, exact bid and
//! ask, exact mid and spread, event time in microseconds), and invalid messages with the
//! [`Rejection`] each must become. Every field rule has both its accepted and its refused forms.
//! Expected decimals are written as the exact decimal text and read with `Decimal::from_str`;
//! expected times are computed from one hand-checked epoch value.

use std::str::FromStr;

use rust_decimal::Decimal;
use tickflow_dataflows::{decode, Quote, Rejection};

/// 2026-11-21T10:00:00Z in microseconds since the epoch (`date -u -d ... +%s` = 1795255200).
const T: u64 = 1_795_255_200_000_000;
/// 2026-11-21T10:00:00Z as epoch milliseconds.
const T_MS: u64 = T / 1_000;
/// One second, in microseconds.
const S: u64 = 1_000_000;

const PAIR: &str = r#""BTC-USD""#;
const BID: &str = r#""1""#;
const ASK: &str = r#""2""#;
const TS: &str = r#""2026-11-21T10:00:00Z""#;

/// A message from four JSON fragments, one per field.
fn msg(pair: &str, bid: &str, ask: &str, ts: &str) -> Vec<u8> {
    format!(r#"{{"pair":{pair},"bid":{bid},"ask":{ask},"timestamp":{ts}}}"#).into_bytes()
}

fn with_pair(pair: &str) -> Vec<u8> {
    msg(pair, BID, ASK, TS)
}

fn with_prices(bid: &str, ask: &str) -> Vec<u8> {
    msg(PAIR, bid, ask, TS)
}

fn with_ts(ts: &str) -> Vec<u8> {
    msg(PAIR, BID, ASK, ts)
}

fn d(exact: &str) -> Decimal {
    Decimal::from_str(exact).unwrap_or_else(|e| panic!("bad literal {exact}: {e}"))
}

/// A JSON string literal holding `s` (no characters that need escaping).
fn js(s: &str) -> String {
    format!("\"{s}\"")
}

struct Valid {
    case: &'static str,
    value: Vec<u8>,
    pair: &'static str,
    bid: &'static str,
    ask: &'static str,
    mid: &'static str,
    spread: &'static str,
    ts: u64,
}

/// A message that differs from the default only in its pair.
fn pair_ok(case: &'static str, pair_json: &str, pair: &'static str) -> Valid {
    Valid {
        case,
        value: with_pair(pair_json),
        pair,
        bid: "1",
        ask: "2",
        mid: "1.5",
        spread: "1",
        ts: T,
    }
}

/// A message that differs from the default only in its prices.
fn prices_ok(
    case: &'static str,
    (bid_json, ask_json): (&str, &str),
    [bid, ask, mid, spread]: [&'static str; 4],
) -> Valid {
    Valid {
        case,
        value: with_prices(bid_json, ask_json),
        pair: "BTC-USD",
        bid,
        ask,
        mid,
        spread,
        ts: T,
    }
}

/// A message that differs from the default only in its timestamp.
fn ts_ok(case: &'static str, ts_json: &str, ts: u64) -> Valid {
    Valid {
        case,
        value: with_ts(ts_json),
        pair: "BTC-USD",
        bid: "1",
        ask: "2",
        mid: "1.5",
        spread: "1",
        ts,
    }
}

fn valid_cases() -> Vec<Valid> {
    let a32 = "A".repeat(32);
    let e16 = "é".repeat(16);
    vec![
        // The SPEC example.
        Valid {
            case: "spec example",
            value: msg(
                PAIR,
                r#""50000.10""#,
                r#""50000.60""#,
                r#""2026-11-21T10:00:00.123Z""#,
            ),
            pair: "BTC-USD",
            bid: "50000.10",
            ask: "50000.60",
            mid: "50000.35",
            spread: "0.50",
            ts: T + 123_000,
        },
        // pair
        pair_ok("pair as is", PAIR, "BTC-USD"),
        pair_ok("pair trimmed", r#"" BTC-USD ""#, "BTC-USD"),
        pair_ok("pair trimmed of escaped tab and newline", r#""\tBTC-USD\n""#, "BTC-USD"),
        pair_ok("pair inner space kept", r#"" BTC USD ""#, "BTC USD"),
        pair_ok("pair with a JSON escape", r#""\u0042TC-USD""#, "BTC-USD"),
        pair_ok("pair of 1 byte", r#""X""#, "X"),
        pair_ok("pair of 32 bytes", &js(&a32), "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
        pair_ok(
            "pair of 32 bytes once trimmed",
            &js(&format!("  {a32}  ")),
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        ),
        pair_ok(
            "pair of 16 two-byte chars is 32 bytes",
            &js(&e16),
            "éééééééééééééééé",
        ),
        // bid, ask: strings
        prices_ok(
            "plain decimal strings",
            (r#""0.00012""#, r#""123""#),
            ["0.00012", "123", "61.50006", "122.99988"],
        ),
        prices_ok(
            "no binary float: 0.1 and 0.2",
            (r#""0.1""#, r#""0.2""#),
            ["0.1", "0.2", "0.15", "0.1"],
        ),
        prices_ok(
            "bid == ask: zero spread",
            (r#""42.42""#, r#""42.42""#),
            ["42.42", "42.42", "42.42", "0"],
        ),
        prices_ok(
            "string with leading zeros",
            (r#""007""#, r#""007.50""#),
            ["7", "7.5", "7.25", "0.5"],
        ),
        prices_ok(
            "string with 28 places",
            (r#""0.0000000000000000000000000002""#, r#""1""#),
            ["0.0000000000000000000000000002", "1", "0.5000000000000000000000000001", "0.9999999999999999999999999998"],
        ),
        prices_ok(
            "string with trailing zeros past 28 places is still exact",
            (r#""1.000000000000000000000000000000""#, r#""2""#),
            ["1", "2", "1.5", "1"],
        ),
        prices_ok(
            "string near the decimal maximum",
            (r#""39614081257132168796771975167""#, r#""39614081257132168796771975167""#),
            ["39614081257132168796771975167", "39614081257132168796771975167", "39614081257132168796771975167", "0"],
        ),
        // bid, ask: JSON numbers
        prices_ok(
            "integer numbers",
            ("1", "2"),
            ["1", "2", "1.5", "1"],
        ),
        prices_ok(
            "decimal numbers read from their text",
            ("50000.1", "50000.6"),
            ["50000.1", "50000.6", "50000.35", "0.5"],
        ),
        prices_ok(
            "exponents: 1.5E-3 and 1e2",
            ("1.5E-3", "1e2"),
            ["0.0015", "100", "50.00075", "99.9985"],
        ),
        prices_ok(
            "exponents: signed and with fractions",
            ("12.5e-1", "0.025E+2"),
            ["1.25", "2.5", "1.875", "1.25"],
        ),
        prices_ok(
            "exponent reaching exactly 28 places",
            ("10e-29", r#""1.0000000000000000000000000001""#),
            ["0.0000000000000000000000000001", "1.0000000000000000000000000001", "0.5000000000000000000000000001", "1"],
        ),
        prices_ok(
            "number with 29 significant digits after its exponent",
            ("0.12345678901234567890123456789e1", r#""2.0000000000000000000000000001""#),
            ["1.2345678901234567890123456789", "2.0000000000000000000000000001", "1.6172839450617283945061728395", "0.7654321098765432109876543212"],
        ),
        prices_ok(
            "strings with JSON escapes",
            (r#""\u0031.5""#, r#""2\u002e5""#),
            ["1.5", "2.5", "2", "1"],
        ),
        prices_ok(
            "one string, one number",
            (r#""0.5""#, "0.75"),
            ["0.5", "0.75", "0.625", "0.25"],
        ),
        // timestamp
        ts_ok("RFC 3339 with Z", TS, T),
        ts_ok("lower-case z", r#""2026-11-21T10:00:00z""#, T),
        ts_ok("lower-case t separator", r#""2026-11-21t10:00:00Z""#, T),
        ts_ok("+02:00 offset converted to UTC", r#""2026-11-21T12:00:00+02:00""#, T),
        ts_ok("-04:30 offset converted to UTC", r#""2026-11-21T05:30:00-04:30""#, T),
        ts_ok(
            "offset with an escaped + (System.Text.Json's default)",
            r#""2026-11-21T12:00:00\u002B02:00""#,
            T,
        ),
        ts_ok("-00:00 offset", r#""2026-11-21T10:00:00-00:00""#, T),
        ts_ok("milliseconds", r#""2026-11-21T10:00:00.123Z""#, T + 123_000),
        ts_ok("one decimal", r#""2026-11-21T10:00:00.5Z""#, T + 500_000),
        ts_ok(
            "nanoseconds truncated, not rounded",
            r#""2026-11-21T10:00:00.1234569Z""#,
            T + 123_456,
        ),
        ts_ok(
            "9 places truncated",
            r#""2026-11-21T10:00:00.999999999Z""#,
            T + 999_999,
        ),
        ts_ok(
            "fraction with an offset",
            r#""2026-11-21T11:00:00.000001+01:00""#,
            T + 1,
        ),
        ts_ok(
            "leap day",
            r#""2000-02-29T23:59:59Z""#,
            951_868_799 * S,
        ),
        ts_ok(
            "leap second rolls into the next second",
            r#""2016-12-31T23:59:60.5Z""#,
            1_483_228_800 * S + 500_000,
        ),
        ts_ok("the epoch as RFC 3339", r#""1970-01-01T00:00:00Z""#, 0),
        ts_ok(
            "the last microsecond of 9999",
            r#""9999-12-31T23:59:59.999999Z""#,
            253_402_300_799_999_999,
        ),
        ts_ok("epoch milliseconds", &(T_MS + 123).to_string(), T + 123_000),
        ts_ok("epoch milliseconds 0", "0", 0),
        // anything else
        Valid {
            case: "unknown fields ignored, nested known names too",
            value: format!(
                r#"{{"source":"x","n":1.5e999,"meta":{{"bid":"bad","pair":null}},"pair":{PAIR},"bid":{BID},"ask":{ASK},"timestamp":{TS},"z":[null]}}"#
            )
            .into_bytes(),
            pair: "BTC-USD",
            bid: "1",
            ask: "2",
            mid: "1.5",
            spread: "1",
            ts: T,
        },
        Valid {
            case: "fields in another order, whitespace around the object",
            value: format!(
                " \n{{ \"timestamp\" : {TS} , \"ask\" : {ASK} , \"bid\" : {BID} , \"pair\" : {PAIR} }}\n "
            )
            .into_bytes(),
            pair: "BTC-USD",
            bid: "1",
            ask: "2",
            mid: "1.5",
            spread: "1",
            ts: T,
        },
        Valid {
            case: "escaped key names",
            value: format!(
                r#"{{"p\u0061ir":{PAIR},"bid":{BID},"ask":{ASK},"timestamp":{TS}}}"#
            )
            .into_bytes(),
            pair: "BTC-USD",
            bid: "1",
            ask: "2",
            mid: "1.5",
            spread: "1",
            ts: T,
        },
    ]
}

fn invalid_cases() -> Vec<(&'static str, Vec<u8>, Rejection)> {
    use Rejection::*;
    let not_json = || NotJson(String::new());
    let a33 = "A".repeat(33);
    let e16a = format!("{}a", "é".repeat(16));
    let mut cases: Vec<(&'static str, Vec<u8>, Rejection)> = vec![
        // the value as a whole
        ("empty value (tombstone)", vec![], Empty),
        ("invalid UTF-8", vec![0xff, 0xfe, b'{', b'}'], NotUtf8),
        (
            "invalid UTF-8 inside a string",
            b"{\"pair\":\"\xc3\x28\",\"bid\":\"1\",\"ask\":\"2\",\"timestamp\":0}".to_vec(),
            NotUtf8,
        ),
        ("not JSON", b"pair=BTC-USD".to_vec(), not_json()),
        ("whitespace only", b"  \n".to_vec(), not_json()),
        (
            "truncated object",
            b"{\"pair\":\"BTC-USD\"".to_vec(),
            not_json(),
        ),
        ("JSON array", b"[]".to_vec(), not_json()),
        (
            "JSON array of the object",
            format!("[{}]", String::from_utf8(with_pair(PAIR)).unwrap()).into_bytes(),
            not_json(),
        ),
        ("JSON string", b"\"BTC-USD\"".to_vec(), not_json()),
        ("JSON number", b"42".to_vec(), not_json()),
        ("JSON null", b"null".to_vec(), not_json()),
        (
            "trailing garbage",
            [with_pair(PAIR), b" x".to_vec()].concat(),
            not_json(),
        ),
        (
            "two objects",
            [with_pair(PAIR), with_pair(PAIR)].concat(),
            not_json(),
        ),
        (
            "trailing comma",
            format!(r#"{{"pair":{PAIR},"bid":{BID},"ask":{ASK},"timestamp":{TS},}}"#).into_bytes(),
            not_json(),
        ),
        (
            "single-quoted strings",
            b"{'pair':'BTC-USD','bid':'1','ask':'2','timestamp':0}".to_vec(),
            not_json(),
        ),
        ("empty object", b"{}".to_vec(), Missing("pair")),
        // pair
        ("pair empty", with_pair(r#""""#), BadPair),
        ("pair whitespace only", with_pair(r#""  \t ""#), BadPair),
        ("pair of 33 bytes", with_pair(&js(&a33)), BadPair),
        ("pair of 33 bytes, 17 chars", with_pair(&js(&e16a)), BadPair),
        ("pair a number", with_pair("42"), BadPair),
        ("pair a boolean", with_pair("true"), BadPair),
        ("pair an array", with_pair(r#"["BTC-USD"]"#), BadPair),
        (
            "pair an object",
            with_pair(r#"{"pair":"BTC-USD"}"#),
            BadPair,
        ),
    ];

    // bid, ask: bad numbers, in either field
    let bad_numbers: &[&str] = &[
        r#""12a""#,
        r#""-1""#,
        r#""+1""#,
        r#""1e5""#,
        r#"" 1""#,
        r#""1 ""#,
        r#""""#,
        r#"".5""#,
        r#""5.""#,
        r#""1.2.3""#,
        r#""1,5""#,
        r#""0x10""#,
        r#""NaN""#,
        r#""Infinity""#,
        "true",
        "[1]",
        r#"{"value":1}"#,
        // more digits than a decimal holds: never rounded
        r#""0.12345678901234567890123456789""#,
        "0.12345678901234567890123456789",
        r#""1.00000000000000000000000000001""#,
        "1e-29",
        r#""79228162514264337593543950336""#,
        "79228162514264337593543950336",
        "1e29",
        "1e400",
        "1e-400",
    ];
    for &bad in bad_numbers {
        cases.push(("bad number in bid", with_prices(bad, ASK), BadNumber("bid")));
        cases.push((
            "bad number in ask",
            with_prices(r#""1""#, bad),
            BadNumber("ask"),
        ));
    }

    cases.extend([
        // mid and spread must be exact too
        (
            "sum of bid and ask overflows",
            with_prices(
                r#""79228162514264337593543950335""#,
                r#""79228162514264337593543950335""#,
            ),
            BadNumber("ask"),
        ),
        (
            "sum of bid and ask would be rounded",
            with_prices(
                r#""0.0000000000000000000000000001""#,
                r#""79228162514264337593543950335""#,
            ),
            BadNumber("ask"),
        ),
        (
            "mid would be rounded",
            with_prices(
                r#""9.000000000000000000000000001""#,
                r#""9.000000000000000000000000002""#,
            ),
            BadNumber("ask"),
        ),
        // 0 < bid <= ask
        (
            "bid 0 as a string",
            with_prices(r#""0""#, ASK),
            BidNotPositive,
        ),
        (
            "bid 0.000 as a string",
            with_prices(r#""0.000""#, ASK),
            BidNotPositive,
        ),
        ("bid 0 as a number", with_prices("0", ASK), BidNotPositive),
        (
            "bid 0e5 as a number",
            with_prices("0e5", ASK),
            BidNotPositive,
        ),
        ("bid -1 as a number", with_prices("-1", ASK), BidNotPositive),
        (
            "bid -0.5 as a number",
            with_prices("-0.5", ASK),
            BidNotPositive,
        ),
        (
            "bid -1e-3 as a number",
            with_prices("-1e-3", ASK),
            BidNotPositive,
        ),
        (
            "ask below bid",
            with_prices(r#""2""#, r#""1.99""#),
            AskBelowBid,
        ),
        (
            "ask below bid by 1e-28",
            with_prices(r#""1.0000000000000000000000000001""#, r#""1""#),
            AskBelowBid,
        ),
        ("ask 0", with_prices(r#""1""#, "0"), AskBelowBid),
        ("ask negative", with_prices(r#""1""#, "-2"), AskBelowBid),
        // timestamp
        (
            "space separator",
            with_ts(r#""2026-11-21 10:00:00Z""#),
            BadTimestamp,
        ),
        (
            "no offset",
            with_ts(r#""2026-11-21T10:00:00""#),
            BadTimestamp,
        ),
        ("date only", with_ts(r#""2026-11-21""#), BadTimestamp),
        (
            "no seconds",
            with_ts(r#""2026-11-21T10:00Z""#),
            BadTimestamp,
        ),
        (
            "month 13",
            with_ts(r#""2026-13-01T10:00:00Z""#),
            BadTimestamp,
        ),
        (
            "February 30",
            with_ts(r#""2026-02-30T10:00:00Z""#),
            BadTimestamp,
        ),
        (
            "February 29 of a common year",
            with_ts(r#""2026-02-29T10:00:00Z""#),
            BadTimestamp,
        ),
        (
            "hour 24",
            with_ts(r#""2026-11-21T24:00:00Z""#),
            BadTimestamp,
        ),
        (
            "minute 60",
            with_ts(r#""2026-11-21T10:60:00Z""#),
            BadTimestamp,
        ),
        (
            "offset hour 24",
            with_ts(r#""2026-11-21T10:00:00+24:00""#),
            BadTimestamp,
        ),
        (
            "empty fraction",
            with_ts(r#""2026-11-21T10:00:00.Z""#),
            BadTimestamp,
        ),
        (
            "leading space",
            with_ts(r#"" 2026-11-21T10:00:00Z""#),
            BadTimestamp,
        ),
        (
            "trailing space",
            with_ts(r#""2026-11-21T10:00:00Z ""#),
            BadTimestamp,
        ),
        (
            "year 10000",
            with_ts(r#""10000-01-01T00:00:00Z""#),
            BadTimestamp,
        ),
        (
            "before the epoch",
            with_ts(r#""1969-12-31T23:59:59.999999Z""#),
            BadTimestamp,
        ),
        ("empty string", with_ts(r#""""#), BadTimestamp),
        (
            "epoch millis as a string",
            with_ts(&js(&T_MS.to_string())),
            BadTimestamp,
        ),
        ("float epoch", with_ts("1.5"), BadTimestamp),
        (
            "float epoch with zero fraction",
            with_ts("1795255200000.0"),
            BadTimestamp,
        ),
        ("epoch with exponent", with_ts("1e3"), BadTimestamp),
        ("negative epoch", with_ts("-1"), BadTimestamp),
        ("epoch past 9999", with_ts("253402300800000"), BadTimestamp),
        (
            "epoch beyond i64",
            with_ts("99999999999999999999"),
            BadTimestamp,
        ),
        ("timestamp a boolean", with_ts("true"), BadTimestamp),
        ("timestamp an object", with_ts(r#"{"ms":0}"#), BadTimestamp),
    ]);

    // missing, null or duplicate: each required field in turn
    let fields = [
        ("pair", PAIR),
        ("bid", BID),
        ("ask", ASK),
        ("timestamp", TS),
    ];
    for (name, _) in fields {
        let present = |value_of: &dyn Fn(&str, &str) -> Option<String>| {
            let members: Vec<String> = fields
                .iter()
                .filter_map(|&(n, v)| value_of(n, v).map(|v| format!("{n:?}:{v}")))
                .collect();
            format!("{{{}}}", members.join(",")).into_bytes()
        };
        let missing = present(&|n, v| (n != name).then(|| v.to_owned()));
        let null = present(&|n, v| Some(if n == name { "null".into() } else { v.into() }));
        let null_spaced = present(&|n, v| Some(if n == name { " null ".into() } else { v.into() }));
        let twice = present(&|n, v| {
            Some(if n == name {
                format!("{v},{n:?}:{v}")
            } else {
                v.into()
            })
        });
        let then_null = present(&|n, v| {
            Some(if n == name {
                format!("{v},{n:?}:null")
            } else {
                v.into()
            })
        });
        cases.push(("missing field", missing, Missing(name)));
        cases.push(("null field", null, Null(name)));
        cases.push(("null field with spaces", null_spaced, Null(name)));
        cases.push(("duplicate key, same value", twice, Duplicate(name)));
        cases.push(("duplicate key, then null", then_null, Duplicate(name)));
    }
    cases.push((
        "duplicate key through an escape",
        format!(r#"{{"pair":{PAIR},"p\u0061ir":{PAIR},"bid":{BID},"ask":{ASK},"timestamp":{TS}}}"#)
            .into_bytes(),
        Duplicate("pair"),
    ));
    cases
}

/// The rejection with a `NotJson` parser message blanked: only the variant is part of SPEC.
fn kind(rejection: &Rejection) -> Rejection {
    match rejection {
        Rejection::NotJson(_) => Rejection::NotJson(String::new()),
        other => other.clone(),
    }
}

fn show(value: &[u8]) -> String {
    String::from_utf8_lossy(value).into_owned()
}

#[test]
fn valid_messages_decode_exactly() {
    let cases = valid_cases();
    let mut failures = Vec::new();
    for c in &cases {
        let expected = Quote {
            pair: c.pair.to_owned().into(),
            bid: d(c.bid),
            ask: d(c.ask),
            mid: d(c.mid),
            spread: d(c.spread),
            ts: c.ts,
        };
        match decode(&c.value) {
            Ok(quote) if quote == expected => {}
            other => failures.push(format!(
                "{}: {}\n  expected {expected:?}\n  got      {other:?}",
                c.case,
                show(&c.value)
            )),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} valid cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn invalid_messages_are_rejected_for_the_right_reason() {
    let cases = invalid_cases();
    let mut failures = Vec::new();
    for (case, value, expected) in &cases {
        match decode(value) {
            Err(rejection) if kind(&rejection) == kind(expected) => {}
            other => failures.push(format!(
                "{case}: {}\n  expected Err({expected:?})\n  got      {other:?}",
                show(value)
            )),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} invalid cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// A price written as a JSON string and as a JSON number is the same decimal, digit for digit:
/// neither passes through binary floating point.
#[test]
fn string_and_number_forms_decode_to_the_same_decimal() {
    let forms = [
        ("50000.1", "50000.1"),
        ("0.1", "0.1"),
        ("0.3", "0.3"),
        ("123.4500", "123.4500"),
        ("100", "1e2"),
        ("100", "1E+2"),
        ("0.0015", "1.5E-3"),
        ("0.0015", "15e-4"),
        ("9007199254740993", "9007199254740993"),
        ("9007199254740993.5", "9007199254740993.5"),
    ];
    for (string, number) in forms {
        let from_string = decode(&with_prices(&js(string), ASK_HIGH));
        let from_string = from_string.unwrap_or_else(|e| panic!("\"{string}\": {e}"));
        let from_number = decode(&with_prices(number, ASK_HIGH));
        let from_number = from_number.unwrap_or_else(|e| panic!("{number}: {e}"));
        assert_eq!(
            from_string.bid,
            d(string),
            "\"{string}\" is exactly {string}"
        );
        assert_eq!(from_number.bid, d(string), "{number} is exactly {string}");
        assert_eq!(from_string, from_number, "\"{string}\" and {number}");
    }
    // Without an exponent, the number keeps its written scale, like the string.
    let string = decode(&with_prices(r#""50000.1""#, ASK_HIGH)).unwrap();
    let number = decode(&with_prices("50000.1", ASK_HIGH)).unwrap();
    assert_eq!(string.bid.to_string(), "50000.1");
    assert_eq!(number.bid.to_string(), "50000.1");
}

/// An ask above every bid in [`string_and_number_forms_decode_to_the_same_decimal`].
const ASK_HIGH: &str = r#""100000000000000000""#;

/// The `Display` of each rejection is the `reason` stored in `dead_letters`.
#[test]
fn rejections_name_the_field() {
    let reason = |value: Vec<u8>| decode(&value).unwrap_err().to_string();
    assert_eq!(reason(with_prices(r#""12a""#, ASK)), "bad number in bid");
    assert_eq!(reason(with_prices(BID, r#""12a""#)), "bad number in ask");
    assert_eq!(reason(b"{}".to_vec()), "missing field pair");
    assert_eq!(reason(with_ts("null")), "null field timestamp");
    assert!(reason(b"[]".to_vec()).starts_with("not json"));
}
