//! The real PostgreSQL stopped for 30 s under a live run: nothing lost, memory bounded.
//!
//! While the simulator produces 2,000 messages/s, the test stops the PostgreSQL cluster itself
//! (`pg_ctlcluster … stop`) for 30 s and starts it again. The run must log its retries (once
//! per attempt, with backoff), stop consuming while it cannot write, so its resident memory
//! stays flat however much piles up in the broker, and then carry on. After a bounded finish the
//! tables must equal an uninterrupted replay of the same topic. The test prints the peak memory
//! during the outage.
//!
//! It stops the server every other test uses, so it is the only test of its binary (cargo runs
//! test binaries one after another), and a guard starts the server again whatever happens.

mod support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::{
    assert_finish_equals_replay, pipeline, spawn_logged, ticks_stored, wait_for, Broker, Schema,
};

/// The local cluster, started again when dropped.
struct Cluster {
    version: String,
}

impl Cluster {
    fn local() -> Cluster {
        let listed =
            std::fs::read_dir("/etc/postgresql").expect("/etc/postgresql: a Debian cluster");
        let version = listed
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .max_by_key(|v| v.parse::<u32>().unwrap_or(0))
            .expect("a PostgreSQL version");
        Cluster { version }
    }

    fn ctl(&self, action: &str) {
        let status = Command::new("pg_ctlcluster")
            .args(["--skip-systemctl-redirect", &self.version, "main", action])
            .args(if action == "stop" {
                &["-m", "fast"][..]
            } else {
                &[]
            })
            .status()
            .expect("pg_ctlcluster");
        assert!(status.success(), "pg_ctlcluster {action}: {status}");
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new("pg_ctlcluster")
            .args(["--skip-systemctl-redirect", &self.version, "main", "start"])
            .status();
    }
}

/// Resident memory of a process, in MiB.
fn rss_mib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        .map_or(0, |kib| kib / 1024)
}

#[test]
fn postgres_stopped_for_30_seconds_loses_nothing_and_holds_the_input() {
    let broker = Broker::start();
    let schema = Schema::fresh("db_restart");
    let producer = Command::new(env!("CARGO_BIN_EXE_tickflow"))
        .args(["simulate", "--brokers", &broker.address, "--topic", "pgr"])
        // Half the rate it once had: at 4,000 one-record batches a second tansu fell behind
        // when anything else loaded the two cores, and the simulator gave up on its deliveries.
        .args(["--count", "90000", "--rate", "2000", "--partitions", "4"])
        .args(["--disorder", "50ms", "--invalid", "0.002", "--seed", "3"])
        // The finish reads from inside what was read: one record per batch for tansu 0.6.
        .args(["--batch-size", "1"])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .expect("starting the simulator");
    let args = |verb: &str, schema: &Schema, rest: &[&str]| {
        let tuning = [
            "--lateness",
            "200ms",
            "--idle-timeout",
            "500ms",
            "--workers",
            "2",
        ];
        pipeline(
            verb,
            &broker.address,
            "pgr",
            schema,
            &[&tuning[..], rest].concat(),
        )
    };
    let log = std::env::temp_dir().join("tickflow-postgres-restart.log");
    let mut run = spawn_logged(&args("run", &schema, &["--from", "earliest"]), &log);

    wait_for(Duration::from_secs(60), "the run committing", || {
        assert!(run.try_wait().expect("status").is_none(), "the run exited");
        ticks_stored(&schema) > 10_000
    });
    let cluster = Cluster::local();
    let before = rss_mib(run.id());
    // Counted before the stop: nothing commits while the server is down, and once it is up the
    // run stores its backlog within seconds, faster than a count after the start could be sure
    // to come first.
    let stored = ticks_stored(&schema);
    cluster.ctl("stop");
    let (stopped, mut peak) = (Instant::now(), before);
    while stopped.elapsed() < Duration::from_secs(30) {
        assert!(
            run.try_wait().expect("status").is_none(),
            "the run died during the outage"
        );
        peak = peak.max(rss_mib(run.id()));
        std::thread::sleep(Duration::from_millis(200));
    }
    cluster.ctl("start");
    eprintln!("resident memory: {before} MiB before the outage, peak {peak} MiB during 30 s of it at 2,000 messages/s");
    assert!(
        peak <= before + 64,
        "memory grew from {before} to {peak} MiB: the input was not held"
    );

    let produced = producer.wait_with_output().expect("simulator");
    let produced = support::last_json(&String::from_utf8_lossy(&produced.stdout));
    assert_eq!(produced["acknowledged"], 90000, "{produced}");
    wait_for(Duration::from_secs(120), "the run catching up", || {
        ticks_stored(&schema) > stored + 50_000
    });
    let status = support::signal_and_wait(&mut run, "-TERM", Duration::from_secs(60));
    let stderr = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(status.success(), "exit {status}: {stderr}");
    let retries = stderr
        .lines()
        .filter(|l| l.contains("input held, retrying"))
        .count();
    assert!(
        (5..=30).contains(&retries),
        "one line per attempt, backing off to 5 s: {retries} in 30 s"
    );
    assert!(stderr.contains("postgres is back"), "{stderr}");

    let until = format!(
        "offset:{}",
        support::offsets(&support::end_offsets(&produced))
    );
    assert_finish_equals_replay(&args, &schema, &until);
}
