//! The quote pipeline end to end, against a real Kafka-protocol broker (tansu) and PostgreSQL.
//!
//! 100,000 simulated quotes with disorder and invalid messages go into a four-partition topic.
//! `tickflow replay` writes them with 1 worker, again with 2 workers and another commit
//! interval, and once more on a connection whose transactions default to serializable; the
//! schemas must be identical, and every row must equal what this file computes on its own from
//! the messages it reads back from the broker with a plain consumer.

mod support;

use std::collections::BTreeMap;
use std::str::FromStr;
use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};
use rust_decimal::Decimal;
use support::{mean, simulate, Broker, Schema};

const MESSAGES: &str = "100000";
const SMA: usize = 5;
const ROLLING_US: i64 = 1_000_000;
const WIDTHS_S: [i64; 2] = [1, 60];

/// One valid quote as this test reads it, independently of tickflow's decoder.
#[derive(Clone, Debug)]
struct Quote {
    partition: i32,
    offset: i64,
    pair: String,
    ts: i64,
    bid: Decimal,
    ask: Decimal,
}

impl Quote {
    fn mid(&self) -> Decimal {
        (self.bid + self.ask) / Decimal::TWO
    }
}

/// The simulator's valid messages: string or number prices, RFC 3339 or epoch-millisecond times.
fn parse(partition: i32, offset: i64, value: &[u8]) -> Option<Quote> {
    let v: serde_json::Value = serde_json::from_slice(value).ok()?;
    let price = |f: &str| match &v[f] {
        serde_json::Value::String(s) => Decimal::from_str(s).ok(),
        serde_json::Value::Number(n) => Decimal::from_str(&n.to_string()).ok(),
        _ => None,
    };
    let ts = match &v["timestamp"] {
        serde_json::Value::String(s) if s.as_bytes().get(10) == Some(&b'T') => {
            chrono::DateTime::parse_from_rfc3339(s)
                .ok()?
                .timestamp_micros()
        }
        serde_json::Value::Number(n) => n.as_i64()? * 1000,
        _ => return None,
    };
    let pair = v["pair"].as_str()?.trim().to_owned();
    let (bid, ask) = (price("bid")?, price("ask")?);
    let keys = std::str::from_utf8(value).ok()?.matches("\"pair\"").count();
    (keys == 1 && !pair.is_empty() && pair.len() <= 32 && bid > Decimal::ZERO && ask >= bid)
        .then_some(Quote {
            partition,
            offset,
            pair,
            ts,
            bid,
            ask,
        })
}

/// Reads every message of `topic` below `ends` with a plain consumer.
fn read_back(
    broker: &Broker,
    topic: &str,
    ends: &BTreeMap<i32, i64>,
) -> BTreeMap<(i32, i64), Vec<u8>> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &broker.address)
        .set("group.id", "pipeline-test-reader")
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    let mut tpl = TopicPartitionList::new();
    for &p in ends.keys() {
        tpl.add_partition_offset(topic, p, Offset::Beginning)
            .expect("partition");
    }
    consumer.assign(&tpl).expect("assign");
    let total: i64 = ends.values().sum();
    let mut messages = BTreeMap::new();
    support::wait_for(Duration::from_secs(60), "reading the topic back", || {
        while let Some(Ok(m)) = consumer.poll(Duration::from_millis(100)) {
            if m.offset() < ends[&m.partition()] {
                messages.insert(
                    (m.partition(), m.offset()),
                    m.payload().unwrap_or_default().to_vec(),
                );
            }
        }
        messages.len() as i64 == total
    });
    std::thread::spawn(move || drop(consumer));
    messages
}

/// `tickflow replay` of the feed into `schema`.
fn replay(
    broker: &Broker,
    topic: &str,
    until: &str,
    schema: &Schema,
    workers: &str,
    commit: &str,
) -> serde_json::Value {
    let extra = [
        "--workers",
        workers,
        "--commit-interval",
        commit,
        "--windows",
        "1s,1m",
        "--rolling-window",
        "1s",
    ];
    support::replay(
        broker,
        topic,
        schema,
        "earliest",
        &format!("offset:{until}"),
        &extra,
    )
}

/// Every table as text rows, wall-clock columns left out, in key order.
fn dump(schema: &Schema) -> Vec<Vec<String>> {
    [
        "SELECT t::text FROM (SELECT * FROM ticks ORDER BY source_topic, source_partition, source_offset) t",
        "SELECT (pair, ts, bid, ask, mid_price, spread, highest_bid, lowest_ask, max_spread, sma, rolling_avg,
                 tick_count, first_ts, last_ts)::text FROM pair_metrics ORDER BY pair",
        "SELECT (pair, window_seconds, window_start, window_end, open_mid, high_mid, low_mid, close_mid, avg_mid,
                 high_bid, low_ask, min_spread, max_spread, avg_spread, tick_count, first_ts, last_ts, late_ticks,
                 is_final)::text FROM window_aggregates ORDER BY pair, window_seconds, window_start",
        "SELECT (source_topic, source_partition, source_offset, payload, reason)::text FROM dead_letters
         ORDER BY source_topic, source_partition, source_offset",
        "SELECT (topic, partition, next_offset)::text FROM source_positions ORDER BY topic, partition",
    ]
    .iter()
    .map(|sql| schema.query(sql).iter().map(|r| r.get::<_, String>(0)).collect())
    .collect()
}

/// The rolling history keeps what a restart needs, the segments after 2 × `--rolling-window`
/// (1 s here) before each pair's newest tick, and its expiry removed every older one. The feed
/// spans 100 s of event time over several commits, so without expiry most segments would stay.
fn assert_history_expired(schema: &Schema) {
    let stale = schema.count(
        "SELECT count(*) FROM rolling_history h JOIN pair_metrics p USING (pair)
         WHERE h.max_ts <= p.last_ts - interval '2 seconds'",
    );
    assert_eq!(stale, 0, "segments past every pair's keep-after remain");
    let newest_kept = schema.count(
        "SELECT count(DISTINCT pair) FROM rolling_history h JOIN pair_metrics p USING (pair)
         WHERE h.max_ts = p.last_ts",
    );
    let pairs = schema.count("SELECT count(*) FROM pair_metrics");
    assert_eq!(newest_kept, pairs, "every pair keeps its newest segment");
}

#[test]
fn replay_writes_exactly_the_reference_tables_on_any_worker_count() {
    let broker = Broker::start();
    let topic = "quotes";
    let (produced, until) = simulate(
        &broker,
        topic,
        &[
            "--count",
            MESSAGES,
            "--partitions",
            "4",
            "--disorder",
            "300ms",
            "--invalid",
            "0.01",
            "--pairs",
            "SOL-USD,ADA-USD,XRP-USD,DOT-USD",
            "--start-time",
            "2026-11-21T10:00:00Z",
            "--seed",
            "7",
        ],
    );
    let ends = support::end_offsets(&produced);
    assert!(
        ends.len() > 1,
        "the feed must spread over partitions: {ends:?}"
    );

    let one = Schema::fresh("pipeline_w1");
    let two = Schema::fresh("pipeline_w2");
    let summary = replay(&broker, topic, &until, &one, "1", "100ms");
    replay(&broker, topic, &until, &two, "2", "10ms");
    // The writer's next transaction begins on its other connection before the last one's commit
    // ends, and then rewrites the rows that commit wrote: a database whose transactions default
    // to serializable must not fail it.
    let url = support::postgres_url();
    let join = if url.contains('?') { '&' } else { '?' };
    let strict = Schema {
        postgres: format!("{url}{join}options=-c%20default_transaction_isolation%3Dserializable"),
        ..Schema::fresh("pipeline_serializable")
    };
    replay(&broker, topic, &until, &strict, "2", "10ms");
    assert_eq!(
        summary["messages"].as_i64(),
        Some(MESSAGES.parse().expect("count"))
    );
    let (dump_one, dump_two) = (dump(&one), dump(&two));
    assert!(
        dump_one == dump_two,
        "1 and 2 workers must write identical tables"
    );
    assert!(
        dump(&strict) == dump_one,
        "a database whose transactions default to serializable gets the same tables"
    );
    for schema in [&one, &two] {
        assert_history_expired(schema);
    }

    // The reference, from the messages themselves.
    let messages = read_back(&broker, topic, &ends);
    let mut by_pair: BTreeMap<String, Vec<Quote>> = BTreeMap::new();
    let mut invalid = BTreeMap::new();
    for ((p, o), value) in &messages {
        match parse(*p, *o, value) {
            Some(q) => by_pair.entry(q.pair.clone()).or_default().push(q),
            None => {
                invalid.insert((*p, *o), value.clone());
            }
        }
    }
    assert!(!invalid.is_empty() && by_pair.len() >= 7);

    let ticks: BTreeMap<(i32, i64), tokio_postgres::Row> = one
        .query("SELECT * FROM ticks")
        .into_iter()
        .map(|r| ((r.get("source_partition"), r.get("source_offset")), r))
        .collect();
    let valid: usize = by_pair.values().map(Vec::len).sum();
    assert_eq!(ticks.len(), valid, "one ticks row per valid message");
    let pairs: BTreeMap<String, tokio_postgres::Row> = one
        .query("SELECT * FROM pair_metrics")
        .into_iter()
        .map(|r| (r.get("pair"), r))
        .collect();
    let windows: BTreeMap<(String, i32, i64), tokio_postgres::Row> = one
        .query("SELECT *, (extract(epoch FROM window_start) * 1000000)::bigint AS start_us FROM window_aggregates")
        .into_iter()
        .map(|r| ((r.get("pair"), r.get("window_seconds"), r.get("start_us")), r))
        .collect();
    let mut expected_windows = 0;

    for (pair, mut quotes) in by_pair {
        // Disorder (300ms) stays within the lateness (1s): processing order is event-time order.
        quotes.sort_by_key(|q| (q.ts, q.partition, q.offset));
        let mids: Vec<Decimal> = quotes.iter().map(Quote::mid).collect();
        let (mut high_bid, mut low_ask, mut max_spread) =
            (quotes[0].bid, quotes[0].ask, Decimal::ZERO);
        let mut window_from = 0;
        for (i, q) in quotes.iter().enumerate() {
            high_bid = high_bid.max(q.bid);
            low_ask = low_ask.min(q.ask);
            max_spread = max_spread.max(q.ask - q.bid);
            while quotes[window_from].ts <= q.ts - ROLLING_US {
                window_from += 1;
            }
            let row = &ticks[&(q.partition, q.offset)];
            let got = |c: &str| row.get::<_, Decimal>(c);
            let at = format!("{pair} tick at {}:{}", q.partition, q.offset);
            assert_eq!(row.get::<_, String>("pair"), pair, "{at}");
            assert_eq!(
                row.get::<_, chrono::DateTime<chrono::Utc>>("ts")
                    .timestamp_micros(),
                q.ts,
                "{at}"
            );
            assert_eq!((got("bid"), got("ask")), (q.bid, q.ask), "{at}");
            assert_eq!(
                (got("mid_price"), got("spread")),
                (mids[i], q.ask - q.bid),
                "{at}"
            );
            assert_eq!(
                (got("highest_bid"), got("lowest_ask"), got("max_spread")),
                (high_bid, low_ask, max_spread),
                "{at}"
            );
            assert_eq!(
                got("sma"),
                mean(&mids[(i + 1).saturating_sub(SMA)..=i]),
                "{at} sma"
            );
            assert_eq!(
                got("rolling_avg"),
                mean(&mids[window_from..=i]),
                "{at} rolling_avg"
            );
            assert!(!row.get::<_, bool>("is_late"), "{at}");
        }
        let last = quotes.last().expect("a quote");
        let p = &pairs[&pair];
        assert_eq!(p.get::<_, i64>("tick_count"), quotes.len() as i64);
        assert_eq!(p.get::<_, Decimal>("mid_price"), last.mid());
        assert_eq!(p.get::<_, Decimal>("highest_bid"), high_bid);
        assert_eq!(
            p.get::<_, Decimal>("sma"),
            mean(&mids[mids.len().saturating_sub(SMA)..])
        );

        for seconds in WIDTHS_S {
            let width = seconds * 1_000_000;
            let mut groups: BTreeMap<i64, Vec<&Quote>> = BTreeMap::new();
            for q in &quotes {
                groups
                    .entry(q.ts - q.ts.rem_euclid(width))
                    .or_default()
                    .push(q);
            }
            for (start, group) in groups {
                expected_windows += 1;
                let w = &windows[&(pair.clone(), seconds as i32, start)];
                let got = |c: &str| w.get::<_, Decimal>(c);
                let mids: Vec<Decimal> = group.iter().map(|q| q.mid()).collect();
                let spreads: Vec<Decimal> = group.iter().map(|q| q.ask - q.bid).collect();
                let at = format!("{pair} {seconds}s window at {start}");
                assert_eq!(w.get::<_, i64>("tick_count"), group.len() as i64, "{at}");
                assert_eq!(got("open_mid"), mids[0], "{at}");
                assert_eq!(got("close_mid"), *mids.last().expect("mid"), "{at}");
                assert_eq!(got("high_mid"), *mids.iter().max().expect("mid"), "{at}");
                assert_eq!(got("low_mid"), *mids.iter().min().expect("mid"), "{at}");
                assert_eq!(got("avg_mid"), mean(&mids), "{at}");
                assert_eq!(
                    got("high_bid"),
                    group.iter().map(|q| q.bid).max().expect("bid"),
                    "{at}"
                );
                assert_eq!(
                    got("low_ask"),
                    group.iter().map(|q| q.ask).min().expect("ask"),
                    "{at}"
                );
                assert_eq!(
                    got("min_spread"),
                    *spreads.iter().min().expect("spread"),
                    "{at}"
                );
                assert_eq!(
                    got("max_spread"),
                    *spreads.iter().max().expect("spread"),
                    "{at}"
                );
                assert_eq!(got("avg_spread"), mean(&spreads), "{at}");
                assert_eq!(w.get::<_, i64>("late_ticks"), 0, "{at}");
                assert!(
                    w.get::<_, bool>("is_final"),
                    "{at}: a finished replay leaves every window final"
                );
            }
        }
    }
    assert_eq!(
        windows.len(),
        expected_windows,
        "no window rows beyond the reference"
    );

    let dead =
        one.query("SELECT source_partition, source_offset, payload, reason FROM dead_letters");
    assert_eq!(
        dead.len(),
        invalid.len(),
        "one dead letter per invalid message"
    );
    for row in &dead {
        let key = (row.get::<_, i32>(0), row.get::<_, i64>(1));
        assert_eq!(
            row.get::<_, Vec<u8>>(2),
            invalid[&key],
            "payload kept as received"
        );
        assert!(
            !row.get::<_, String>(3).is_empty(),
            "every dead letter says why"
        );
    }
    let reasons = one.count("SELECT count(DISTINCT reason) FROM dead_letters");
    assert!(
        reasons >= 8,
        "the feed's kinds of bad input each get their reason ({reasons})"
    );

    let positions: BTreeMap<i32, i64> = one
        .query("SELECT partition, next_offset FROM source_positions")
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(positions, ends, "positions end where the replay stopped");
}
