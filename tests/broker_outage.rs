//! The broker gone for 10 s under a live run: tickflow reconnects and carries on.
//!
//! Every connection to the broker goes through a loopback proxy (tansu advertises it), and the
//! test cuts it: open connections are closed and new ones refused for 10 s, which is what a
//! client sees of a broker restart. Restarting tansu itself is not an option here: its memory
//! storage forgets the topic, and the topic created again gets a new topic id, which crashes
//! librdkafka 2.12 (metadata cache, `rd_kafka_metadata_cache_find`; librdkafka issue #4964).
//! Kafka keeps topic ids across restarts. After the cut the run must go on reading, through
//! messages produced after it, and the tables must equal an uninterrupted replay of the topic.

mod support;

use std::process::Command;
use std::time::Duration;

use support::{
    assert_finish_equals_replay, pipeline, simulate, spawn_logged, ticks_stored, wait_for, Broker,
    Schema,
};

const FIRST: &[&str] = &[
    "--count",
    "12000",
    "--partitions",
    "4",
    "--disorder",
    "50ms",
    "--invalid",
    "0.002",
    "--seed",
    "5",
    "--start-time",
    "2026-11-21T10:00:00Z",
    "--batch-size",
    "1",
];

#[test]
fn a_broker_outage_is_survived_and_nothing_is_lost() {
    let (broker, proxy) = Broker::behind_proxy();
    let address = broker.address.clone();
    let (first, _) = simulate(&broker, "outage", FIRST);
    let schema = Schema::fresh("broker_outage");
    let args = |verb: &str, schema: &Schema, rest: &[&str]| {
        let tuning = [
            "--lateness",
            "200ms",
            "--idle-timeout",
            "500ms",
            "--commit-interval",
            "50ms",
        ];
        pipeline(
            verb,
            &address,
            "outage",
            schema,
            &[&tuning[..], rest].concat(),
        )
    };
    let log = std::env::temp_dir().join("tickflow-broker-outage.log");
    let mut run = spawn_logged(&args("run", &schema, &["--from", "earliest"]), &log);
    wait_for(Duration::from_secs(60), "the run committing", || {
        if let Some(status) = run.try_wait().expect("status") {
            panic!(
                "the run exited with {status}: {}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        ticks_stored(&schema) > 1_000
    });

    proxy.cut();
    std::thread::sleep(Duration::from_secs(10));
    if let Some(status) = run.try_wait().expect("status") {
        panic!("the run exited during the outage with {status}");
    }
    proxy.restore();
    let (second, _) = simulate(
        &broker,
        "outage",
        &[
            "--count",
            "8000",
            "--partitions",
            "4",
            "--invalid",
            "0.002",
            "--seed",
            "6",
            "--start-time",
            "2026-11-21T10:00:02Z",
            "--batch-size",
            "1",
        ],
    );
    let total: i64 = 20_000;
    wait_for(
        Duration::from_secs(90),
        "the run reading past the restart",
        || {
            if let Some(status) = run.try_wait().expect("status") {
                panic!(
                    "the run exited with {status}: {}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                );
            }
            ticks_stored(&schema) > 12_000
        },
    );
    let _ = Command::new("kill")
        .args(["-TERM", &run.id().to_string()])
        .status();
    let status = run.wait().expect("run");
    let stderr = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(status.success(), "exit {status}: {stderr}");

    let mut ends = support::end_offsets(&first);
    for (p, n) in support::end_offsets(&second) {
        ends.insert(p, n);
    }
    let until = format!("offset:{}", support::offsets(&ends));
    let reference = assert_finish_equals_replay(&args, &schema, &until);
    assert_eq!(
        reference
            .count("SELECT (SELECT count(*) FROM ticks) + (SELECT count(*) FROM dead_letters)"),
        total
    );
}
