//! `tickflow bench` end to end, small: every pass runs against tansu and PostgreSQL, reads
//! exactly what was preloaded, and reports figures that can be true. The figures themselves
//! are not judged here: speed is for benchmarks, not for timed tests.

mod support;

use support::{postgres_url, tickflow_ok, Broker};

/// `tickflow bench --json` with `broker` (its flags) and the small sizes both tests share,
/// writing into schemas named after `prefix`.
fn bench_json(prefix: &str, broker: &[&str]) -> serde_json::Value {
    let postgres = postgres_url();
    let mut args = vec!["bench"];
    args.extend_from_slice(broker);
    args.extend_from_slice(&[
        "--postgres",
        &postgres,
        "--prefix",
        prefix,
        "--messages",
        "20000",
        "--pairs",
        "20",
        "--partitions",
        "4",
        "--workers",
        "1,2",
        "--rate",
        "2000",
        "--warmup",
        "1s",
        "--duration",
        "2s",
        "--lateness",
        "500ms",
        "--json",
    ]);
    let out = tickflow_ok(&args);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

#[test]
fn bench_runs_every_pass_and_reports_what_it_measured() {
    let broker = Broker::start();
    let report = bench_json("bench_test", &["--brokers", &broker.address]);

    let number = |v: &serde_json::Value| serde_json::from_value::<f64>(v.clone()).ok();
    let raw = &report["raw"];
    assert_eq!(raw["messages"], 20_000, "{report:#}");
    let passes = report["pipeline"].as_array().expect("pipeline passes");
    assert_eq!(
        passes.len(),
        4,
        "1 and 2 workers, with and without tick rows"
    );
    for pass in passes.iter().chain([raw]) {
        assert_eq!(pass["messages"], 20_000, "{pass:#}");
        assert!(number(&pass["messages_per_second"]) > Some(0.0), "{pass:#}");
        // A tickflow process holds at least its binary's code resident.
        assert!(pass["peak_rss_bytes"].as_u64() > Some(4 << 20), "{pass:#}");
        let tenths: Vec<u64> = serde_json::from_value(pass["rss_by_tenth_bytes"].clone())
            .unwrap_or_else(|e| panic!("{e}: {pass:#}"));
        // Each tenth's highest RSS was read beside a high-water mark no higher than the peak.
        assert_eq!(tenths.len(), 10, "{pass:#}");
        assert!(tenths.iter().max() > Some(&(4 << 20)), "{pass:#}");
        assert!(
            tenths
                .iter()
                .all(|&t| Some(t) <= pass["peak_rss_bytes"].as_u64()),
            "{pass:#}"
        );
    }
    assert_eq!(report["copy"]["rows"], 20_000, "{report:#}");
    // Every pass that writes says what PostgreSQL did meanwhile: each commits rows, so each
    // wrote WAL; the raw drain writes nothing and says nothing.
    assert!(raw["postgres"].is_null(), "{raw:#}");
    for writer in passes.iter().chain([&report["copy"], &report["live"]]) {
        let postgres = &writer["postgres"];
        assert!(postgres["wal_bytes"].as_i64() > Some(0), "{writer:#}");
        assert!(postgres["checkpoints"].as_i64() >= Some(0), "{writer:#}");
    }
    // Every pass says how fast the cores ran just before it.
    for pass in passes.iter().chain([raw, &report["copy"], &report["live"]]) {
        let cores = &pass["cores"];
        assert!(number(&cores["one_thread_ms"]) > Some(0.0), "{pass:#}");
        assert!(number(&cores["two_threads"]) > Some(0.0), "{pass:#}");
    }
    // Every pass with a process of its own says where the cores went while it ran: the pass
    // ran, its time is part of the machine's (counted in coarser ticks, hence the slack), and
    // the live pass's producer kept the bench busy too.
    for pass in passes.iter().chain([raw, &report["live"]]) {
        let cpu = &pass["cpu"];
        let own = number(&cpu["pass_seconds"]).expect("pass_seconds");
        assert!(own > 0.0, "{pass:#}");
        assert!(number(&cpu["wall_seconds"]) > Some(0.0), "{pass:#}");
        assert!(
            number(&cpu["machine_seconds"]) >= Some(own * 0.5),
            "{pass:#}"
        );
        assert!(number(&cpu["bench_seconds"]) >= Some(0.0), "{pass:#}");
    }
    assert!(number(&report["live"]["cpu"]["bench_seconds"]) > Some(0.0));

    let live = &report["live"];
    let latency = &live["latency"];
    assert_eq!(latency["unobserved"], 0, "{live:#}");
    assert!(latency["measured"].as_u64() > Some(2_000), "{live:#}");
    // Nothing can be committed before the frontier passes it, and the frontier trails the
    // newest event time by the lateness: a p50 below it would be a broken measurement.
    let p50 = number(&latency["p50_ms"]).expect("p50");
    assert!(
        p50 >= 450.0,
        "p50 {p50} ms under a 500 ms lateness: {live:#}"
    );
    assert!(number(&latency["p99_ms"]) >= Some(p50));
    assert!(number(&latency["max_ms"]) >= number(&latency["p99_ms"]));
    // Each message's two parts add up to its latency, so each part's quantiles are at most the
    // whole's (true by construction); what can fail is where the split falls: the lateness is
    // spent before the commit begins, and a row becomes visible only after its commit took
    // some time.
    let (before, in_commit) = (&latency["before_commit"], &latency["in_commit"]);
    let before_p50 = number(&before["p50_ms"]).expect("before_commit p50");
    assert!(
        (450.0..=p50).contains(&before_p50),
        "waited {before_p50} ms of {p50} before the commit: {live:#}"
    );
    for q in ["p50_ms", "p99_ms"] {
        let part = number(&in_commit[q]).expect("in_commit");
        assert!(part > 0.0 && Some(part) <= number(&latency[q]), "{live:#}");
    }
    assert!(live["peak_rss_bytes"].as_u64() > Some(4 << 20), "{live:#}");

    let targets = report["targets"].as_array().expect("targets");
    assert_eq!(
        targets.len(),
        9,
        "per pipeline pass its rate against raw or COPY and its memory, and the live one: \
         {targets:#?}"
    );
}

#[test]
fn bench_measures_the_live_pass_on_an_embedded_broker() {
    let report = bench_json("bench_embedded", &["--embedded-broker", "--passes", "live"]);
    let latency = &report["live"]["latency"];
    assert_eq!(latency["unobserved"], 0, "{report:#}");
    assert!(latency["measured"].as_u64() > Some(2_000), "{report:#}");
    assert!(
        report["raw"].is_null() && report["copy"].is_null(),
        "{report:#}"
    );
}
