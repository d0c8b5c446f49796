//! PostgreSQL unreachable during a live run: tickflow holds its input, retries with backoff,
//! goes on writing once the database is back, and a bounded restart from the committed
//! positions then completes every table with each message exactly once. The database is cut off through a
//! proxy (see `support::Proxy`), so the machine's shared server keeps serving other tests.

mod support;

use std::process::{Command, Stdio};
use std::time::Duration;

use support::{simulate, wait_for, Broker, Proxy, Schema};

#[test]
fn a_postgres_outage_is_retried_and_loses_nothing() {
    let broker = Broker::start();
    let schema = Schema::fresh("outage");
    let direct = support::postgres_url();
    let rest = direct.split_once("@").expect("user@host").1;
    let host_port = rest.split_once('/').expect("host/db").0;
    let proxy = Proxy::start(host_port);
    let via_proxy = direct.replace(host_port, &proxy.address);
    // `count` messages at `count` a second, one record per batch (the restart reads from inside
    // what was read, and tansu 0.6 skips the rest of a batch fetched from its middle).
    let feed = |count: &str, seed: &str| {
        let flags = ["--count", count, "--rate", count, "--partitions", "2"];
        let more = ["--invalid", "0.02", "--batch-size", "1", "--seed", seed];
        simulate(&broker, "outage", &[&flags[..], &more[..]].concat())
    };
    let (first, _) = feed("2000", "1");

    let pipeline = [
        "run",
        "--brokers",
        &broker.address,
        "--topic",
        "outage",
        "--group",
        "outage",
        "--schema",
        &schema.name,
    ];
    let mut run = Command::new(env!("CARGO_BIN_EXE_tickflow"))
        .args(pipeline)
        .args(["--postgres", &via_proxy, "--from", "earliest"])
        .args([
            "--idle-timeout",
            "300ms",
            "--lateness",
            "100ms",
            "--commit-interval",
            "50ms",
        ])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting tickflow run");

    let tables = || {
        !schema
            .query("SELECT 1 FROM pg_tables WHERE schemaname = 'outage' AND tablename = 'ticks'")
            .is_empty()
    };
    wait_for(Duration::from_secs(30), "the tables", tables);
    let stored = || {
        schema.count("SELECT (SELECT count(*) FROM ticks) + (SELECT count(*) FROM dead_letters)")
    };
    // Ticks within the lateness of the newest stay unreleased while the run is live.
    wait_for(Duration::from_secs(30), "the first part stored", || {
        stored() >= 1500
    });

    proxy.cut();
    let before = stored();
    let (second, _) = feed("3000", "2");
    assert_eq!(second["failed"], 0);
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        stored(),
        before,
        "nothing is written while the database is cut off"
    );
    proxy.restore();
    wait_for(
        Duration::from_secs(60),
        "the run writing again after the outage",
        || stored() >= 4500,
    );

    let status = support::signal_and_wait(&mut run, "-TERM", Duration::from_secs(15));
    let stderr =
        String::from_utf8_lossy(&run.wait_with_output().expect("output").stderr).into_owned();
    assert!(status.success(), "exit {status}: {stderr}");
    assert!(
        stderr.contains("retrying"),
        "each retry is logged: {stderr}"
    );

    let mut ends = support::end_offsets(&first);
    ends.extend(support::end_offsets(&second));
    let until = format!("offset:{}", support::offsets(&ends));
    support::tickflow_ok(
        &[
            &pipeline[..],
            &[
                "--postgres",
                &direct,
                "--from",
                "committed",
                "--until",
                &until,
            ],
        ]
        .concat(),
    );
    let offsets = schema.count(
        "SELECT count(DISTINCT (source_partition, source_offset)) FROM
         (SELECT source_partition, source_offset FROM ticks UNION ALL SELECT source_partition, source_offset FROM dead_letters) m",
    );
    assert_eq!(offsets, 5000, "every message once");
}
