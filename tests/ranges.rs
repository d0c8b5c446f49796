//! `--from` and `--until` read exactly the messages they name, against a real broker.
//!
//! The topic is produced one record per batch: tansu 0.6 answers a fetch from inside a batch
//! with the batches after it, and "latest" with the start of the newest batch + 1. Kafka does
//! neither; with one record per batch every offset is a batch boundary and tansu agrees.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use support::{simulate, Broker, Schema};

/// (partition, offset) of every message a schema holds, as ticks or dead letters.
fn offsets(schema: &Schema) -> Vec<(i32, i64)> {
    schema
        .query(
            "SELECT source_partition, source_offset FROM ticks UNION ALL
             SELECT source_partition, source_offset FROM dead_letters ORDER BY 1, 2",
        )
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

/// Per partition: first offset, last offset, count; equal lists of consecutive offsets have
/// equal summaries, and a failure prints something readable.
fn spans(offsets: &[(i32, i64)]) -> BTreeMap<i32, (i64, i64, usize)> {
    let mut s: BTreeMap<i32, (i64, i64, usize)> = BTreeMap::new();
    for &(p, o) in offsets {
        let e = s.entry(p).or_insert((o, o, 0));
        e.0 = e.0.min(o);
        e.1 = e.1.max(o);
        e.2 += 1;
    }
    s
}

fn replay(broker: &Broker, schema: &Schema, from: &str, until: &str) -> serde_json::Value {
    support::replay(broker, "ranges", schema, from, until, &["--workers", "2"])
}

#[test]
fn from_offset_and_from_timestamp_read_exactly_their_range() {
    let broker = Broker::start();
    let feed = [
        "--batch-size",
        "1",
        "--partitions",
        "3",
        "--invalid",
        "0.05",
        "--start-time",
        "2026-11-21T10:00:00Z",
    ];
    let (first, _) = simulate(
        &broker,
        "ranges",
        &[&feed[..], &["--count", "3000", "--seed", "1"]].concat(),
    );
    let first_ends = support::end_offsets(&first);

    // The broker stamps batches with its own clock: make sure the second batch is stored later.
    let boundary = chrono::Utc::now() + chrono::Duration::milliseconds(20);
    support::wait_for(
        Duration::from_secs(1),
        "the clock to pass the boundary",
        || chrono::Utc::now() > boundary,
    );
    let (second, _) = simulate(
        &broker,
        "ranges",
        &[&feed[..], &["--count", "2000", "--seed", "2"]].concat(),
    );
    let mut all_ends = first_ends.clone();
    all_ends.extend(support::end_offsets(&second));
    let until = format!("offset:{}", support::offsets(&all_ends));

    let by_offset = Schema::fresh("ranges_offset");
    let summary = replay(&broker, &by_offset, "offset:100", &until);
    let expected: Vec<(i32, i64)> = all_ends
        .iter()
        .flat_map(|(&p, &end)| (100.min(end)..end).map(move |o| (p, o)))
        .collect();
    assert_eq!(
        spans(&offsets(&by_offset)),
        spans(&expected),
        "--from offset:100 reads offsets 100.. of every partition"
    );
    assert!(
        offsets(&by_offset) == expected,
        "--from offset:100 reads offsets 100.. of every partition"
    );
    assert_eq!(summary["messages"].as_u64(), Some(expected.len() as u64));

    let one_partition = Schema::fresh("ranges_partition");
    let (&p, &end) = all_ends.iter().next().expect("a partition");
    replay(
        &broker,
        &one_partition,
        &format!("offset:{p}=7"),
        &format!("offset:{p}={}", end - 3),
    );
    let expected: Vec<(i32, i64)> = (7..end - 3).map(|o| (p, o)).collect();
    assert_eq!(
        spans(&offsets(&one_partition)),
        spans(&expected),
        "offset:P=N bounds one partition, the others read nothing"
    );
    assert!(
        offsets(&one_partition) == expected,
        "offset:P=N bounds one partition, the others read nothing"
    );

    let by_time = Schema::fresh("ranges_time");
    replay(
        &broker,
        &by_time,
        &format!("timestamp:{}", boundary.to_rfc3339()),
        "end",
    );
    let expected: Vec<(i32, i64)> = all_ends
        .iter()
        .flat_map(|(&p, &end)| (first_ends.get(&p).copied().unwrap_or(0)..end).map(move |o| (p, o)))
        .collect();
    assert_eq!(
        spans(&offsets(&by_time)),
        spans(&expected),
        "--from timestamp: reads what was stored after it"
    );
    assert!(
        offsets(&by_time) == expected,
        "--from timestamp: reads what was stored after it"
    );
}

/// The offsets Kafka holds for `group` on `topic`'s `partitions`.
fn group_offsets<'a>(
    broker: &Broker,
    group: &str,
    topic: &str,
    partitions: impl Iterator<Item = &'a i32>,
) -> BTreeMap<i32, i64> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &broker.address)
        .set("group.id", group)
        .create()
        .expect("a consumer");
    let mut wanted = TopicPartitionList::new();
    for &p in partitions {
        wanted.add_partition(topic, p);
    }
    let committed = consumer
        .committed_offsets(wanted, Duration::from_secs(10))
        .expect("committed offsets");
    committed
        .elements()
        .iter()
        .filter_map(|e| match e.offset() {
            Offset::Offset(n) => Some((e.partition(), n)),
            _ => None,
        })
        .collect()
}

/// A schema holds one pipeline's state. A replay under another `--group` is refused (exit 2,
/// one line naming the owner); with `--force` it continues from that state, so the cumulative
/// figures go on from the stored ones. The same pipeline replaying a range it already holds
/// changes nothing: the stored cut covers it.
#[test]
fn a_schema_holding_another_pipelines_state_is_refused_without_force() {
    let broker = Broker::start();
    let (_, until) = simulate(
        &broker,
        "owned",
        &[
            "--batch-size",
            "1",
            "--count",
            "500",
            "--start-time",
            "2026-11-21T10:00:00Z",
        ],
    );
    let until = format!("offset:{until}");
    let schema = Schema::fresh("owned");
    let url = support::postgres_url();
    let replay_as = |group: &str, extra: &[&str]| {
        let mut args = vec![
            "replay",
            "--brokers",
            &broker.address,
            "--topic",
            "owned",
            "--group",
            group,
            "--postgres",
            &url,
            "--schema",
            "owned",
            "--from",
            "earliest",
            "--until",
            &until,
        ];
        args.extend_from_slice(extra);
        support::tickflow(&args)
    };
    let counts = || schema.count("SELECT sum(tick_count)::bigint FROM pair_metrics");

    assert!(replay_as("first", &[]).status.success());
    let once = counts();
    assert!(once > 0);
    let stored: BTreeMap<i32, i64> = schema
        .query("SELECT partition, next_offset FROM source_positions WHERE pipeline = 'first'")
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(
        group_offsets(&broker, "first", "owned", stored.keys()),
        stored,
        "the positions are mirrored to the consumer group, for lag tools"
    );
    assert!(replay_as("first", &[]).status.success());
    assert_eq!(
        counts(),
        once,
        "the same pipeline's range again changes nothing"
    );

    let refused = replay_as("second", &[]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("holds the state of pipeline first") && stderr.contains("--force"),
        "{stderr}"
    );
    assert_eq!(counts(), once, "a refused replay writes nothing");

    let forced = replay_as("second", &["--force"]);
    assert!(
        forced.status.success(),
        "{}",
        String::from_utf8_lossy(&forced.stderr)
    );
    assert_eq!(
        counts(),
        2 * once,
        "--force continues the counts from the stored state"
    );
    assert_eq!(
        schema.count("SELECT count(*) FROM pipeline_state WHERE pipeline = 'second'"),
        1,
        "the schema now holds the second pipeline's state"
    );
}
