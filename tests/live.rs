//! A live `tickflow run` (no `--until`) against a real broker and PostgreSQL: once the producer
//! stops, idle partitions (5 of the 8 never get a message) release the frontier and windows become final; SIGTERM stops the run
//! with exit 0 without finalizing open windows; `--from committed` then continues without a gap.

mod support;

use std::process::{Command, Stdio};
use std::time::Duration;

use support::{simulate, tickflow_ok, wait_for, Broker, Schema};

#[test]
fn idle_partitions_finalize_windows_and_a_stop_resumes_without_a_gap() {
    let broker = Broker::start();
    let schema = Schema::fresh("live_run");
    let (produced, until) = simulate(
        &broker,
        "live",
        &[
            "--count",
            "3000",
            "--rate",
            "1000",
            "--partitions",
            "8",
            // A restart reads again from inside what was read; tansu 0.6 skips the rest of a
            // record batch fetched from its middle, so one record per batch.
            "--batch-size",
            "1",
            "--start-time",
            "2026-11-21T10:00:00.250Z",
        ],
    );
    let total = produced["acknowledged"].as_i64().expect("count");
    let url = support::postgres_url();
    let args = [
        "run",
        "--brokers",
        &broker.address,
        "--topic",
        "live",
        "--group",
        "live",
        "--postgres",
        &url,
        "--schema",
        &schema.name,
        "--windows",
        "1s",
        "--lateness",
        "100ms",
        "--idle-timeout",
        "500ms",
        "--commit-interval",
        "50ms",
        "--workers",
        "2",
    ];
    let mut run = Command::new(env!("CARGO_BIN_EXE_tickflow"))
        .args(args)
        .args(["--from", "earliest"])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting tickflow run");

    // Every partition idle: the frontier is the newest event time minus the lateness, so every
    // window ending by then is final, and the one holding the newest tick is not.
    let final_by_now =
        "SELECT count(*) FROM window_aggregates w WHERE w.is_final = (w.window_end <=
                        (SELECT max(last_ts) FROM pair_metrics) - interval '100 milliseconds')";
    let tables = || {
        !schema
            .query("SELECT 1 FROM pg_tables WHERE schemaname = 'live_run' AND tablename = 'ticks'")
            .is_empty()
    };
    wait_for(Duration::from_secs(30), "the tables", tables);
    wait_for(
        Duration::from_secs(30),
        "every window final up to the frontier",
        || {
            let windows = schema.count("SELECT count(*) FROM window_aggregates");
            windows > 3 && schema.count(final_by_now) == windows
        },
    );
    let open = schema.count("SELECT count(*) FROM window_aggregates WHERE NOT is_final");
    assert!(
        open > 0,
        "the newest windows stay open while the run is live"
    );

    let status = support::signal_and_wait(&mut run, "-TERM", Duration::from_secs(15));
    let stderr = run.wait_with_output().expect("output").stderr;
    assert!(
        status.success(),
        "exit {status}: {}",
        String::from_utf8_lossy(&stderr)
    );
    assert_eq!(
        schema.count("SELECT count(*) FROM window_aggregates WHERE NOT is_final"),
        open,
        "a stop does not finalize open windows"
    );

    tickflow_ok(
        &[
            &args[..],
            &["--from", "committed", "--until", &format!("offset:{until}")],
        ]
        .concat(),
    );
    let ticks = schema.count("SELECT count(*) FROM ticks")
        + schema.count("SELECT count(*) FROM dead_letters");
    assert_eq!(
        ticks, total,
        "after the restart every message is in the tables once"
    );
    assert_eq!(
        schema.count("SELECT count(*) FROM window_aggregates WHERE NOT is_final"),
        0
    );
}
