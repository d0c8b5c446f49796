//! The command line's promises: bad input is one line and exit code 2; an unreachable service is
//! one line naming it and exit code 1; the demo runs with no setup and stops cleanly on Ctrl-C.

mod support;

use std::process::{Command, Stdio};
use std::time::Duration;

use support::{tickflow, Schema};

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

#[test]
fn demo_writes_into_postgres_and_stops_cleanly_on_ctrl_c() {
    let schema = Schema::fresh("cli_demo");
    let mut demo = Command::new(env!("CARGO_BIN_EXE_tickflow"))
        .args([
            "demo",
            "--postgres",
            &support::postgres_url(),
            "--schema",
            &schema.name,
            "--rate",
            "2000",
            "--count",
            "0",
        ])
        .args(["--idle-timeout", "500ms", "--lateness", "100ms"])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting the demo");
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
    let status = support::signal_and_wait(&mut demo, "-INT", Duration::from_secs(15));
    let out = demo.wait_with_output().expect("demo output");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        status.success(),
        "demo exit {status}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("embedded broker") && stdout.contains("status:"),
        "{stdout}"
    );
}
