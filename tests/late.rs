//! A late tick updates a window that a finished run already wrote as final: the stored row is
//! merged in SQL with the late ticks' delta and must read exactly as the row of one run that saw
//! every tick, averages included, at prices where PostgreSQL's own division keeps too few places.

mod support;

use rust_decimal::Decimal;
use support::{mean, replay, runtime, tickflow_args_ok, Broker, Schema};
use tickflow::feed::FeedMessage;
use tickflow::simulate::{create_topic, finish, producer, send, LINGER};

const TOPIC: &str = "late";

/// A quote of the one pair at `time` (seconds after 10:00 as text, `05.5`), bid `big + cents`.
fn quote(time: &str, cents: i64) -> Vec<u8> {
    let bid = Decimal::new(12_345_678_901_200 + cents, 2);
    let ask = bid + Decimal::new(cents % 7 + 1, 1);
    format!(
        r#"{{"pair": "IDX-JPY", "bid": "{bid}", "ask": "{ask}", "timestamp": "2026-11-21T10:{time}Z"}}"#
    )
    .into_bytes()
}

/// Produces `values` into the one partition, one record per batch (see `tests/ranges.rs`).
fn produce(broker: &Broker, values: Vec<Vec<u8>>) {
    let producer = producer(&broker.address, 1, LINGER).expect("producer");
    for value in values {
        let message = FeedMessage {
            partition: 0,
            key: b"IDX-JPY".to_vec(),
            value,
            valid: true,
        };
        send(&producer, TOPIC, &message).expect("send");
        assert_eq!(finish(&producer).expect("delivered").failed, 0);
    }
}

#[test]
fn a_late_tick_merged_in_sql_reads_as_one_run_of_every_tick() {
    let broker = Broker::start();
    runtime()
        .block_on(create_topic(&broker.address, TOPIC, 1))
        .expect("topic");

    let mut first: Vec<Vec<u8>> = (0..10)
        .map(|i| quote(&format!("00:{:02}", i * 5), i * 37))
        .collect();
    first.push(b"not a quote".to_vec());
    first.push(quote("02:00", 5));
    produce(&broker, first);
    let merged = Schema::fresh("late_merged");
    replay(&broker, TOPIC, &merged, "earliest", "end", &[]);
    let window = "SELECT tick_count, late_ticks, is_final, avg_mid::text, avg_spread::text
                  FROM window_aggregates WHERE window_start = '2026-11-21T10:00:00Z'";
    let row = &merged.query(window)[0];
    assert_eq!(
        (row.get::<_, i64>(0), row.get::<_, i64>(1), row.get(2)),
        (10, 0, true)
    );

    produce(&broker, vec![quote("00:07.5", 11), quote("00:59.999", 3)]);
    tickflow_args_ok(&support::pipeline(
        "run",
        &broker.address,
        TOPIC,
        &merged,
        &["--from", "committed", "--until", "end"],
    ));
    let one_run = Schema::fresh("late_one_run");
    replay(&broker, TOPIC, &one_run, "earliest", "end", &[]);

    // Read in one go, the last two may come in the same fetch as the 10:02 tick and so before the
    // frontier moves past their window: whether a tick is late depends on timing, its row not.
    assert_eq!(merged.query(window)[0].get::<_, i64>(1), 2, "merged in SQL");
    let rows = |schema: &Schema| -> Vec<String> {
        schema
            .query(
                "SELECT (pair, window_seconds, window_start, window_end, open_mid, high_mid, low_mid,
                         close_mid, avg_mid, high_bid, low_ask, min_spread, max_spread, avg_spread,
                         sum_mid, sum_spread, tick_count, first_ts, last_ts, is_final)::text
                 FROM window_aggregates ORDER BY window_start",
            )
            .iter()
            .map(|r| r.get(0))
            .collect()
    };
    assert_eq!(rows(&merged), rows(&one_run));

    let ticks = merged.query(
        "SELECT mid_price, spread FROM ticks
         WHERE ts < '2026-11-21T10:01:00Z' ORDER BY source_offset",
    );
    let mids: Vec<Decimal> = ticks.iter().map(|r| r.get(0)).collect();
    let spreads: Vec<Decimal> = ticks.iter().map(|r| r.get(1)).collect();
    let row = &merged.query(window)[0];
    assert_eq!((row.get::<_, i64>(0), row.get(2)), (12, true));
    assert_eq!(
        (row.get::<_, String>(3), row.get::<_, String>(4)),
        (
            format!("{:.12}", mean(&mids)),
            format!("{:.12}", mean(&spreads))
        )
    );
}
