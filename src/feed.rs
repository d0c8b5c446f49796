//! Simulated quote feed behind `tickflow simulate`.
//!
//! The engine promises that every output is a pure function of the topic's contents, so the data
//! used to demonstrate and test that promise must be reproducible as well: a [`FeedConfig`]
//! alone fixes the whole message sequence, byte for byte, on every run and platform. There is one
//! ChaCha8 stream seeded from `seed`, no wall clock and no randomized hasher, so two runs with the
//! same config fill two topics whose database outputs can be compared row for row.
//!
//! The feed deliberately walks the edges of the input contract (SPEC "Input: canonical quote"):
//! both price encodings, both timestamp encodings, zero spreads, bounded out-of-order event times
//! and every kind of dead letter, so a simulated run meets what a real venue can send.

use chrono::{DateTime, Datelike, SecondsFormat};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Everything that determines the feed; equal configs give equal feeds.
#[derive(Debug, Clone)]
pub struct FeedConfig {
    /// Pairs quoted besides BTC-USD, ETH-USD and LTC-USD, which are always present so that a run
    /// with no options still has realistic data. Trimmed; blank, over-long (> 32 bytes) and
    /// repeated names are skipped so that a message marked valid really is valid.
    pub pairs: Vec<String>,
    /// Partition count of the target topic (0 is treated as 1).
    pub partitions: u32,
    /// Upper bound on how far a message's event time lags its nominal time, to exercise the
    /// watermark and late-tick handling without ever exceeding a known lateness.
    pub disorder_ms: u64,
    /// Probability (0..=1) that a message is replaced by a dead letter.
    pub invalid: f64,
    pub seed: u64,
    /// Nominal event time of message 0, epoch milliseconds; fixed rather than "now" so the feed
    /// does not depend on when it runs.
    pub start_ms: i64,
    /// Nominal event-time spacing between consecutive messages, microseconds.
    pub step_us: u64,
}

/// One Kafka record to produce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedMessage {
    pub partition: i32,
    pub key: Vec<u8>,
    pub value: Vec<u8>,
    /// Whether the engine must accept the value; false for dead letters, so tests can predict
    /// the `dead_letters` count.
    pub valid: bool,
}

/// Infinite iterator of [`FeedMessage`]s; bound it with `take`.
pub struct Feed {
    rng: ChaCha8Rng,
    pairs: Vec<Pair>,
    partitions: u32,
    disorder_us: u64,
    invalid: f64,
    start_us: i64,
    step_us: u64,
    index: u64,
    invalid_count: u64,
}

struct Pair {
    name: String,
    partition: i32,
    decimals: u32,
    /// Mid price in ticks of `10^-decimals`, so the walk and the spread stay exact.
    mid: i64,
}

const MAJORS: [(&str, i64); 3] = [("BTC-USD", 50_000), ("ETH-USD", 3_000), ("LTC-USD", 80)];
/// Keeps `mid - spread / 2` (spread <= 20 ticks) well above zero.
const MIN_MID: i64 = 100;

/// Dead-letter kinds from the spec, in the order they are cycled through so that even a small
/// `invalid` rate covers them all.
#[derive(Clone, Copy)]
enum Invalid {
    NotJson,
    NotUtf8,
    Tombstone,
    Missing,
    Null,
    DuplicateKey,
    BadNumber,
    NonPositiveBid,
    AskBelowBid,
    BadDate,
    SpaceSeparator,
    BlankPair,
    LongPair,
}

const INVALID_KINDS: [Invalid; 13] = [
    Invalid::NotJson,
    Invalid::NotUtf8,
    Invalid::Tombstone,
    Invalid::Missing,
    Invalid::Null,
    Invalid::DuplicateKey,
    Invalid::BadNumber,
    Invalid::NonPositiveBid,
    Invalid::AskBelowBid,
    Invalid::BadDate,
    Invalid::SpaceSeparator,
    Invalid::BlankPair,
    Invalid::LongPair,
];

impl Feed {
    pub fn new(config: FeedConfig) -> Feed {
        let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
        let partitions = config.partitions.clamp(1, i32::MAX as u32);
        let mut names: Vec<String> = MAJORS.iter().map(|(name, _)| name.to_string()).collect();
        for extra in &config.pairs {
            let extra = extra.trim();
            if !extra.is_empty() && extra.len() <= 32 && !names.iter().any(|n| n == extra) {
                names.push(extra.to_string());
            }
        }
        let pairs = names
            .into_iter()
            .map(|name| {
                let (decimals, mid) = match MAJORS.iter().find(|(major, _)| *major == name) {
                    Some(&(_, level)) => (2, level * 100 * rng.random_range(980..=1020) / 1000),
                    None => (4, rng.random_range(10_000..=5_000_000)),
                };
                let partition = partition_of(&name, partitions);
                Pair {
                    name,
                    partition,
                    decimals,
                    mid,
                }
            })
            .collect();
        Feed {
            rng,
            pairs,
            partitions,
            disorder_us: config.disorder_ms.saturating_mul(1000),
            // NaN compares false below, i.e. never invalid.
            invalid: config.invalid,
            start_us: config.start_ms.saturating_mul(1000),
            step_us: config.step_us,
            index: 0,
            invalid_count: 0,
        }
    }

    /// Replaces a valid quote's fields by a dead letter of the given kind. Works on the rendered
    /// fields so that each dead letter breaks exactly one rule and otherwise looks like a quote.
    fn corrupt(
        &mut self,
        kind: Invalid,
        mut fields: Vec<(&'static str, String)>,
        q: &Quote,
    ) -> Vec<u8> {
        match kind {
            Invalid::NotJson => return format!("{{\"pair\":{}", json_str(&q.name)).into_bytes(),
            Invalid::NotUtf8 => {
                let mut bytes = render(&fields).into_bytes();
                // Inside the pair string: `render` always starts with `{"pair":"`.
                bytes.insert("{\"pair\":\"".len(), 0xFF);
                return bytes;
            }
            Invalid::Tombstone => return Vec::new(),
            Invalid::Missing => {
                fields.remove(self.rng.random_range(0..4));
            }
            Invalid::Null => fields[self.rng.random_range(0..4)].1 = "null".to_string(),
            Invalid::DuplicateKey => {
                let other = &self.pairs[(q.which + 1) % self.pairs.len()].name;
                fields.insert(1, ("pair", json_str(other)));
            }
            Invalid::BadNumber => fields[self.rng.random_range(1..3)].1 = "\"12a\"".to_string(),
            Invalid::NonPositiveBid => {
                let zero = ["\"0\"", "0", "-0.01", "\"0.00\""][self.rng.random_range(0..4)];
                fields[1].1 = zero.to_string();
            }
            Invalid::AskBelowBid => {
                fields[1].1 = price(q.ask + 1, q.decimals, false);
                fields[2].1 = price(q.bid, q.decimals, false);
            }
            Invalid::BadDate => fields[3].1 = "\"2026-13-45T00:00:00Z\"".to_string(),
            Invalid::SpaceSeparator => {
                let ts = rfc3339(q.event_us, 6).unwrap_or_else(|| "2026-11-21T10:00:00Z".into());
                fields[3].1 = json_str(&ts.replacen('T', " ", 1));
            }
            Invalid::BlankPair => {
                fields[0].1 =
                    ["\"\"", "\"   \"", "\"\\t \""][self.rng.random_range(0..3)].to_string();
            }
            Invalid::LongPair => fields[0].1 = json_str(&format!("{}-{}", q.name, "X".repeat(32))),
        }
        render(&fields).into_bytes()
    }
}

/// The parts of a generated quote a dead letter may need.
struct Quote {
    which: usize,
    name: String,
    decimals: u32,
    bid: i64,
    ask: i64,
    event_us: i64,
}

impl Iterator for Feed {
    type Item = FeedMessage;

    fn next(&mut self) -> Option<FeedMessage> {
        let i = self.index;
        self.index += 1;
        // Drawn as u32 so the stream does not depend on the platform's usize width.
        let which = self.rng.random_range(0..self.pairs.len() as u32) as usize;
        let step = self.rng.random_range(-3..=3);
        let pair = &mut self.pairs[which];
        pair.mid = (pair.mid + step).max(MIN_MID);
        let spread = if self.rng.random_ratio(1, 50) {
            0
        } else {
            self.rng.random_range(1..=20)
        };
        let bid = pair.mid - spread / 2;
        let (name, decimals, partition) = (pair.name.clone(), pair.decimals, pair.partition);

        let shift = if self.disorder_us > 0 {
            self.rng.random_range(0..=self.disorder_us)
        } else {
            0
        };
        let offset = i64::try_from(i.saturating_mul(self.step_us)).unwrap_or(i64::MAX);
        let event_us = self
            .start_us
            .saturating_add(offset)
            .saturating_sub(i64::try_from(shift).unwrap_or(i64::MAX));
        let as_numbers = self.rng.random_ratio(1, 10);
        let timestamp = match self.rng.random_range(0..10u32) {
            0 => None,
            1..=4 => rfc3339(event_us, 3),
            _ => rfc3339(event_us, 6),
        }
        .map(|ts| json_str(&ts))
        // Epoch milliseconds also stand in for times RFC 3339 cannot spell (years past 9999).
        .unwrap_or_else(|| event_us.div_euclid(1000).to_string());

        let quote = Quote {
            which,
            name,
            decimals,
            bid,
            ask: bid + spread,
            event_us,
        };
        let mut fields = vec![
            ("pair", json_str(&quote.name)),
            ("bid", price(quote.bid, decimals, as_numbers)),
            ("ask", price(quote.ask, decimals, as_numbers)),
            ("timestamp", timestamp),
        ];
        if self.rng.random_ratio(1, 20) {
            // The spec says unknown fields are ignored; make sure they are.
            fields.push(("source", "\"sim\"".to_string()));
        }

        if self.rng.random::<f64>() < self.invalid {
            let kind = INVALID_KINDS[(self.invalid_count % INVALID_KINDS.len() as u64) as usize];
            self.invalid_count += 1;
            let value = self.corrupt(kind, fields, &quote);
            let partition =
                i32::try_from(i % u64::from(self.partitions)).expect("partitions <= i32::MAX");
            return Some(FeedMessage {
                partition,
                key: quote.name.into_bytes(),
                value,
                valid: false,
            });
        }
        Some(FeedMessage {
            partition,
            key: quote.name.into_bytes(),
            value: render(&fields).into_bytes(),
            valid: true,
        })
    }
}

/// A fixed hash, so a pair lands in the same partition in every run and build.
fn partition_of(pair: &str, partitions: u32) -> i32 {
    i32::try_from(fnv1a(pair.bytes()) % u64::from(partitions)).expect("partitions <= i32::MAX")
}

/// FNV-1a, which depends on nothing but the bytes.
fn fnv1a(bytes: impl IntoIterator<Item = u8>) -> u64 {
    bytes.into_iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn json_str(s: &str) -> String {
    serde_json::to_string(s).expect("serializing a str cannot fail")
}

/// Fields are rendered by hand, in a fixed order, because byte-for-byte reproducibility and
/// deliberately malformed output (duplicate keys) are both outside what a serializer offers.
///
/// Into one buffer, with no `String` per field: `tickflow bench`'s live pass renders 50,000
/// messages a second on the two cores whose latency it measures.
fn render(fields: &[(&str, String)]) -> String {
    let size = fields
        .iter()
        .map(|(k, v)| k.len() + v.len() + 4)
        .sum::<usize>()
        + 2;
    let mut text = String::with_capacity(size);
    text.push('{');
    for (i, (k, v)) in fields.iter().enumerate() {
        if i > 0 {
            text.push(',');
        }
        text.push('"');
        text.push_str(k);
        text.push_str("\":");
        text.push_str(v);
    }
    text.push('}');
    text
}

/// Integer ticks to text, so prices are exact in both encodings.
fn price(ticks: i64, decimals: u32, as_number: bool) -> String {
    let scale = 10_i64.pow(decimals);
    let (whole, part, w) = (ticks / scale, ticks % scale, decimals as usize);
    let quote = if as_number { "" } else { "\"" };
    let mut text = format!("{quote}{whole}.{part:0w$}{quote}");
    if as_number {
        text.truncate(text.trim_end_matches('0').trim_end_matches('.').len());
    }
    text
}

/// `digits` is 3 or 6; fewer digits truncate, matching how the engine truncates.
fn rfc3339(us: i64, digits: usize) -> Option<String> {
    let dt = DateTime::from_timestamp_micros(us)?;
    if !(0..=9999).contains(&dt.year()) {
        return None;
    }
    // Not `format` with a pattern, which parses the pattern again for every message.
    let digits = if digits == 3 {
        SecondsFormat::Millis
    } else {
        SecondsFormat::Micros
    };
    Some(dt.to_rfc3339_opts(digits, true))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::Decimal;
    use serde_json::Value;
    use std::collections::HashMap;
    use std::str::FromStr;

    fn config(seed: u64, disorder_ms: u64, invalid: f64) -> FeedConfig {
        FeedConfig {
            pairs: vec![
                "SOL-USD".into(),
                "ETH-USD".into(),
                " SOL-USD ".into(),
                " ".into(),
            ],
            partitions: 3,
            disorder_ms,
            invalid,
            seed,
            start_ms: 1_795_255_200_000, // 2026-11-21T10:00:00Z
            step_us: 1_500,
        }
    }

    fn take(config: FeedConfig, n: usize) -> Vec<FeedMessage> {
        Feed::new(config).take(n).collect()
    }

    fn decimal(v: &Value) -> Result<Decimal, String> {
        match v {
            Value::String(s)
                if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit() || b == b'.') =>
            {
                Decimal::from_str(s).map_err(|e| e.to_string())
            }
            Value::Number(n) => Decimal::from_str(&n.to_string()).map_err(|e| e.to_string()),
            other => Err(format!("bad number {other}")),
        }
    }

    /// A test-side reading of the spec's rules; returns the event time in microseconds.
    fn check(value: &[u8]) -> Result<i64, String> {
        let text = std::str::from_utf8(value).map_err(|e| e.to_string())?;
        let json: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
        for key in ["pair", "bid", "ask", "timestamp"] {
            if text.matches(&format!("\"{key}\":")).count() != 1 {
                return Err(format!("{key} missing or duplicated"));
            }
        }
        let pair = json["pair"].as_str().ok_or("pair")?.trim();
        if pair.is_empty() || pair.len() > 32 {
            return Err("bad pair".into());
        }
        let (bid, ask) = (decimal(&json["bid"])?, decimal(&json["ask"])?);
        if bid <= Decimal::ZERO || ask < bid {
            return Err("bid/ask".into());
        }
        match &json["timestamp"] {
            Value::Number(n) => n.as_i64().map(|ms| ms * 1000).ok_or_else(|| "ts".into()),
            Value::String(s) if !s.contains(' ') => DateTime::parse_from_rfc3339(s)
                .map(|t| t.timestamp_micros())
                .map_err(|e| e.to_string()),
            _ => Err("bad timestamp".into()),
        }
    }

    #[test]
    fn same_seed_same_bytes() {
        assert_eq!(
            take(config(7, 250, 0.1), 1000),
            take(config(7, 250, 0.1), 1000)
        );
    }

    /// The feed's bytes are part of its promise: a topic simulated by one build must be
    /// reproducible by the next, so any change to how a message is rendered shows up here.
    #[test]
    fn bytes_are_pinned() {
        let bytes = take(config(7, 250, 0.1), 20_000).into_iter().flat_map(|m| {
            let mut record = m.partition.to_le_bytes().to_vec();
            record.push(u8::from(m.valid));
            record.extend(m.key);
            record.extend(m.value);
            record
        });
        assert_eq!(fnv1a(bytes), 11_814_006_657_607_103_039);
    }

    #[test]
    fn different_seed_different_bytes() {
        assert_ne!(
            take(config(7, 250, 0.1), 1000),
            take(config(8, 250, 0.1), 1000)
        );
    }

    #[test]
    fn extra_pairs_are_deduplicated_after_the_majors() {
        let names: Vec<String> = Feed::new(config(1, 0, 0.0))
            .pairs
            .into_iter()
            .map(|p| p.name)
            .collect();
        assert_eq!(names, ["BTC-USD", "ETH-USD", "LTC-USD", "SOL-USD"]);
    }

    #[test]
    fn disorder_stays_within_bound_and_only_moves_back() {
        for disorder_ms in [0, 40, 500] {
            let cfg = config(3, disorder_ms, 0.0);
            let (start_us, step_us) = (cfg.start_ms * 1000, cfg.step_us as i64);
            let mut went_back = false;
            let mut previous = i64::MIN;
            for (i, msg) in take(cfg, 5000).iter().enumerate() {
                let t = check(&msg.value).expect("valid");
                let nominal = start_us + i as i64 * step_us;
                assert!(t <= nominal, "moved forward at {i}");
                // The encoding may truncate to milliseconds on top of the shift.
                let earliest = (nominal - disorder_ms as i64 * 1000).div_euclid(1000) * 1000;
                assert!(t >= earliest, "shifted beyond bound at {i}");
                went_back |= t < previous;
                previous = previous.max(t);
            }
            assert_eq!(went_back, disorder_ms > 0);
        }
    }

    #[test]
    fn invalid_fraction_and_validity() {
        let msgs = take(config(11, 100, 0.1), 10_000);
        let invalid = msgs.iter().filter(|m| !m.valid).count();
        assert!((800..=1200).contains(&invalid), "{invalid} invalid");
        assert!(msgs.iter().any(|m| m.value.is_empty()));
        let mut partition_of_pair = HashMap::new();
        for m in &msgs {
            assert!((0..3).contains(&m.partition));
            match check(&m.value) {
                Ok(_) => {
                    assert!(m.valid, "{}", String::from_utf8_lossy(&m.value));
                    let json: Value = serde_json::from_slice(&m.value).expect("checked");
                    assert_eq!(json["pair"].as_str().expect("checked").as_bytes(), m.key);
                    assert_eq!(
                        *partition_of_pair
                            .entry(m.key.clone())
                            .or_insert(m.partition),
                        m.partition
                    );
                }
                Err(e) => assert!(!m.valid, "{e}: {}", String::from_utf8_lossy(&m.value)),
            }
        }
        assert_eq!(partition_of_pair.len(), 4);
        assert!(take(config(11, 100, 0.0), 2000).iter().all(|m| m.valid));
    }
}
