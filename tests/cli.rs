//! The command line's promises: bad input is one line and exit code 2; an unreachable service is
//! one line naming it and exit code 1; the demo runs with no setup and stops cleanly on Ctrl-C.

mod support;

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::Duration;

use support::{tickflow, Running, Schema};

fn fails_with(args: &[&str], code: i32, needle: &str) {
    let out = tickflow(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "tickflow {args:?}: {stderr}");
    assert!(
        stderr.contains(needle),
        "tickflow {args:?} should name `{needle}`: {stderr}"
    );
    let lines = stderr
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with("Usage") && !l.starts_with("For more"))
        .count();
    assert_eq!(lines, 1, "one line, not a trace: {stderr}");
}

#[test]
fn bad_flags_exit_2_naming_the_flag() {
    fails_with(&["run", "--workers", "0"], 2, "--workers");
    fails_with(&["run", "--windows", "1500ms"], 2, "--windows");
    fails_with(&["run", "--from", "yesterday"], 2, "--from");
    fails_with(&["bench", "--embedded-broker"], 2, "--embedded-broker");
    fails_with(&["run", "--until", "offset:1=2,1=3"], 2, "--until");
    fails_with(&["run", "--late", "sometimes"], 2, "--late");
    fails_with(&["run", "--schema", "Robert'); DROP TABLE"], 2, "--schema");
    fails_with(&["simulate", "--invalid", "2"], 2, "--invalid");
    fails_with(&["replay"], 2, "--from");
    fails_with(&["frobnicate"], 2, "frobnicate");
}

#[test]
fn unreachable_services_exit_1_saying_what_and_where() {
    let url = support::postgres_url();
    fails_with(
        &[
            "migrate",
            "--postgres",
            "postgres://postgres@127.0.0.1:1/nowhere",
        ],
        1,
        "postgres at 127.0.0.1:1",
    );
    fails_with(
        &[
            "replay",
            "--from",
            "earliest",
            "--brokers",
            "127.0.0.1:1",
            "--postgres",
            &url,
            "--schema",
            "cli_unreachable",
        ],
        1,
        "kafka at 127.0.0.1:1",
    );
}

/// Starts `tickflow demo` into `schema` at `rate` messages per second, with the demo's defaults
/// but for `extra`.
fn start_demo(schema: &Schema, rate: u32, extra: &[&str]) -> Running {
    Running(
        Command::new(env!("CARGO_BIN_EXE_tickflow"))
            .args(["demo", "--postgres", &support::postgres_url()])
            .args(["--schema", &schema.name, "--count", "0"])
            .args(["--rate", &rate.to_string()])
            .args(extra)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting the demo"),
    )
}

/// Stops the demo with Ctrl-C; its exit status and what it printed.
fn stop_demo(mut demo: Running) -> (std::process::ExitStatus, String, String) {
    let status = support::signal_and_wait(&mut demo, "-INT", Duration::from_secs(15));
    let (stdout, stderr) = (drain(demo.stdout.as_mut()), drain(demo.stderr.as_mut()));
    (status, stdout, stderr)
}

/// What is left in a child's pipe.
fn drain(pipe: Option<&mut impl Read>) -> String {
    let mut text = String::new();
    if let Some(pipe) = pipe {
        pipe.read_to_string(&mut text).expect("demo output");
    }
    text
}

#[test]
fn demo_writes_into_postgres_and_stops_cleanly_on_ctrl_c() {
    let schema = Schema::fresh("cli_demo");
    let demo = start_demo(&schema, 2000, &["--lateness", "100ms"]);
    let tables_exist = || {
        !schema.query("SELECT 1 FROM pg_tables WHERE schemaname = 'cli_demo' AND tablename = 'pair_metrics'").is_empty()
    };
    support::wait_for(Duration::from_secs(60), "demo tables", tables_exist);
    support::wait_for(Duration::from_secs(60), "demo pair metrics", || {
        schema.count("SELECT count(*) FROM pair_metrics") >= 3
    });
    support::wait_for(Duration::from_secs(60), "demo tick rows", || {
        schema.count("SELECT count(*) FROM ticks") > 1000
    });
    let (status, stdout, stderr) = stop_demo(demo);
    assert!(status.success(), "demo exit {status}: {stderr}");
    assert!(
        stdout.contains("embedded broker") && stdout.contains("status:"),
        "{stdout}"
    );
}

/// The demo's feed leaves partitions without a pair, which hold the frontier until they are
/// idle; with `run`'s 5 s the embedded broker dropped a busy partition's unread messages at
/// 20,000 messages/s, and the demo read a few thousand of them and then nothing.
#[test]
fn demo_reads_what_it_produces_at_a_high_rate() {
    let schema = Schema::fresh("cli_demo_rate");
    let demo = start_demo(&schema, 20_000, &[]);
    std::thread::sleep(Duration::from_secs(12));
    let (status, stdout, stderr) = stop_demo(demo);
    assert!(status.success(), "demo exit {status}: {stderr}");
    let summary = stdout
        .lines()
        .find_map(|l| l.strip_prefix("demo stopped: produced "))
        .unwrap_or_else(|| panic!("no summary: {stdout}"));
    let number = |s: &str| -> u64 { s.trim().parse().expect("a count") };
    let (produced, rest) = summary.split_once(", read ").expect("produced, read");
    let read = rest.split_once(',').map_or(rest, |(r, _)| r);
    let (produced, read) = (number(produced), number(read));
    assert!(
        produced > 100_000 && read * 2 > produced,
        "read {read} of {produced}: {stdout}"
    );
}
