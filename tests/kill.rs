//! Killed and restarted, the tables come out as if nothing had happened.
//!
//! One topic, two pipelines. While the simulator produces into the topic, a live `run` is killed
//! with SIGKILL at random moments (seeded), three to [`MAX_KILLS`] times, each after it has
//! committed something of its own, and restarted `--from committed`, alternating `--workers 1`
//! and `2`; it commits every 20 ms, so kills land inside commits too. A last run finishes the topic. The reference is one
//! uninterrupted `replay` of the whole topic. Every table must equal the reference row for row
//! (except wall-clock columns): no tick missing or doubled, the same extremes, `sma`,
//! `rolling_avg`, windows and dead letters. Then the same pipeline run again `--from earliest`
//! must change nothing: the stored cut covers it. The restarts' time to their first commit of
//! results is printed.

mod support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use support::{
    assert_finish_equals_replay, assert_same_tables, pipeline, spawn_logged, tickflow_args_ok,
    ticks_stored, Broker, Schema,
};

/// The metrics flags of both pipelines: a short rolling window, so its stored history matters.
const METRICS: &[&str] = &[
    "--windows",
    "1s,2s",
    "--rolling-window",
    "300ms",
    "--sma-ticks",
    "7",
    "--lateness",
    "200ms",
    "--idle-timeout",
    "300ms",
    "--commit-interval",
    "20ms",
];

/// The most kills while the simulator produces. Each takes about a second, so a broker that
/// takes the messages slowly makes the production longer, not the restarts more.
const MAX_KILLS: usize = 12;

/// The writer's `first commit … since_start_ms=N` log line, colours stripped.
fn first_commit_ms(log: &str) -> Option<u64> {
    let line = log
        .lines()
        .find(|l| l.contains("first commit of results"))?;
    let plain: String = line
        .split('\u{1b}')
        .map(|part| part.find('m').map_or(part, |i| &part[i + 1..]))
        .collect();
    let rest = plain.split("since_start_ms=").nth(1)?;
    rest.split_whitespace().next()?.parse().ok()
}

#[test]
fn sigkill_and_restart_equals_an_uninterrupted_run() {
    let broker = Broker::start();
    let producer = Command::new(env!("CARGO_BIN_EXE_tickflow"))
        .args(["simulate", "--brokers", &broker.address, "--topic", "kill"])
        .args(["--count", "20000", "--rate", "2000", "--partitions", "8"])
        .args(["--pairs", "SOL-USD,ADA-USD,XRP-USD,DOT-USD,AVAX-USD"])
        .args(["--disorder", "50ms", "--invalid", "0.005", "--seed", "7"])
        // Restarts read from inside what was read; tansu 0.6 skips the rest of a record batch
        // fetched from its middle, so one record per batch.
        .args(["--batch-size", "1"])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .expect("starting the simulator");

    let args = |verb: &str, schema: &Schema, rest: &[&str]| {
        pipeline(
            verb,
            &broker.address,
            "kill",
            schema,
            &[METRICS, rest].concat(),
        )
    };

    let killed = Schema::fresh("kill_restarted");
    let mut producer = Some(producer);
    let mut produced = None;
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let (mut kills, mut first_commits) = (0, Vec::new());
    for attempt in 0.. {
        if let Some(mut p) = producer.take() {
            match p.try_wait().expect("simulator status") {
                Some(_) => produced = Some(p.wait_with_output().expect("simulator output")),
                None => producer = Some(p),
            }
        }
        if (producer.is_none() && kills >= 3) || kills >= MAX_KILLS {
            break;
        }
        let stored = ticks_stored(&killed);
        let workers = if attempt % 2 == 0 { "1" } else { "2" };
        let run = args(
            "run",
            &killed,
            &["--from", "committed", "--workers", workers],
        );
        let log = std::env::temp_dir().join(format!("tickflow-kill-{attempt}.log"));
        let mut child = spawn_logged(&run, &log);
        // Kill only once this run has committed something of its own, at a random moment
        // after that, so every run moves the stored cut and the kill interrupts real work.
        let started = Instant::now();
        while ticks_stored(&killed) <= stored {
            assert!(
                child.try_wait().expect("status").is_none(),
                "run {attempt} exited"
            );
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "run {attempt} made no progress in 60 s from {stored} ticks stored; the simulator \
                 {}",
                match producer.as_mut().map(|p| p.try_wait()) {
                    Some(Ok(None)) => "was still producing",
                    Some(_) => "had exited",
                    None => "had finished before the run started",
                }
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        std::thread::sleep(Duration::from_millis(rng.random_range(0..400)));
        child.kill().expect("SIGKILL");
        child.wait().expect("wait");
        kills += 1;
        let stderr = std::fs::read_to_string(&log).unwrap_or_default();
        first_commits.extend(first_commit_ms(&stderr));
    }
    eprintln!("killed {kills} times; start to first commit of results (ms): {first_commits:?}");
    let produced = match (produced, producer) {
        (Some(produced), _) => produced,
        (None, Some(p)) => p.wait_with_output().expect("simulator output"),
        (None, None) => unreachable!("the simulator is either running or finished"),
    };
    let produced = support::last_json(&String::from_utf8_lossy(&produced.stdout));
    assert_eq!(produced["acknowledged"], 20000, "{produced}");
    let until = format!(
        "offset:{}",
        support::offsets(&support::end_offsets(&produced))
    );

    let reference = assert_finish_equals_replay(&args, &killed, &until);
    assert_eq!(
        reference
            .count("SELECT (SELECT count(*) FROM ticks) + (SELECT count(*) FROM dead_letters)"),
        20000
    );

    let again = args(
        "run",
        &killed,
        &["--from", "earliest", "--until", &until, "--workers", "1"],
    );
    tickflow_args_ok(&again);
    assert_same_tables(&reference, &killed);
}
