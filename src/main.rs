//! The `tickflow` binary: parses the command line and dispatches to the library.
//!
//! Exit codes: 0 done, 1 runtime failure (one line), 2 bad arguments or configuration.

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use clap::Parser;

use tickflow::cli::{Cli, Command};
use tickflow::config::{ConfigError, StopSpec};
use tickflow::{bench, demo, pipeline, simulate, store};

fn main() -> ExitCode {
    let _ = dotenvy::dotenv();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => return usage_error(error),
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,rdkafka=warn,tokio_postgres=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("tickflow: starting the async runtime: {error}");
            return ExitCode::from(1);
        }
    };
    let shutdown = Arc::new(AtomicBool::new(false));
    runtime.spawn(stop_on_signal(shutdown.clone()));
    match dispatch(cli.command, &runtime, shutdown) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("tickflow: {error:#}");
            if error.downcast_ref::<ConfigError>().is_some() {
                ExitCode::from(2)
            } else {
                ExitCode::from(1)
            }
        }
    }
}

/// Help and version print as clap renders them; a bad argument becomes one line, exit code 2.
fn usage_error(error: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        error.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        let _ = error.print();
        return ExitCode::SUCCESS;
    }
    let rendered = error.render().to_string();
    let line = rendered
        .lines()
        .map(str::trim)
        .filter(|l| {
            !l.is_empty() && !l.starts_with("Usage:") && !l.starts_with("For more information")
        })
        .collect::<Vec<_>>()
        .join(" ");
    eprintln!("tickflow: {}", line.trim_start_matches("error: "));
    ExitCode::from(2)
}

fn dispatch(
    command: Command,
    runtime: &tokio::runtime::Runtime,
    shutdown: Arc<AtomicBool>,
) -> anyhow::Result<()> {
    match command {
        Command::Run(args) => {
            let bounded = args.until.as_ref().is_some_and(|u| *u != StopSpec::Never);
            let summary = pipeline::run(&args, runtime, shutdown, Default::default())?;
            if bounded {
                print_summary(&summary);
            }
            Ok(())
        }
        Command::Replay(mut args) => {
            if args.from.is_none() {
                return Err(ConfigError(
                    "replay needs --from (committed, earliest, offset:..., timestamp:...)".into(),
                )
                .into());
            }
            args.until.get_or_insert(StopSpec::End);
            let summary = pipeline::run(&args, runtime, shutdown, Default::default())?;
            print_summary(&summary);
            Ok(())
        }
        Command::Simulate(args) => {
            runtime.block_on(simulate::create_topic(
                &args.brokers,
                &args.topic,
                args.feed.partitions,
            ))?;
            let start = args
                .feed
                .start_time
                .map_or_else(simulate::now_ms, |t| t.timestamp_millis());
            let produced = simulate::produce(
                &args.brokers,
                &args.topic,
                &args.feed,
                args.batch_size,
                start,
                &shutdown,
            )?;
            println!(
                "produced {} messages ({} failed); --until offset:{}",
                produced.acknowledged,
                produced.failed,
                produced.until()
            );
            println!("{}", serde_json::to_string(&produced)?);
            if produced.failed > 0 {
                anyhow::bail!("{} messages were not delivered", produced.failed);
            }
            Ok(())
        }
        Command::Demo(args) => demo::demo(&args, runtime, shutdown),
        Command::Bench(args) => {
            let report = bench::bench(&args, runtime)?;
            if args.json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{report}");
            }
            Ok(())
        }
        Command::Drain(args) => {
            let drained = bench::drain::drain(&args.brokers, &args.topic, &args.until)?;
            println!("{}", serde_json::to_string(&drained)?);
            Ok(())
        }
        Command::Migrate(pg) => runtime.block_on(async {
            let mut client = store::connect(&pg.postgres, &pg.schema).await?;
            let applied = store::migrate(&mut client, &pg.schema).await?;
            println!(
                "schema `{}` at {}: applied migrations {applied:?}",
                pg.schema,
                store::describe(&pg.postgres)
            );
            Ok(())
        }),
    }
}

fn print_summary(summary: &pipeline::Summary) {
    let rate = summary.messages as f64 / summary.seconds.max(1e-9);
    println!(
        "read {} messages ({} dead letters) in {:.2}s: {:.0} messages/s",
        summary.messages, summary.dead_letters, summary.seconds, rate
    );
    println!(
        "{}",
        serde_json::json!({
            "messages": summary.messages,
            "ticks": summary.ticks,
            "dead_letters": summary.dead_letters,
            "seconds": summary.seconds,
            "messages_per_second": rate,
        })
    );
}

async fn stop_on_signal(shutdown: Arc<AtomicBool>) {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => return,
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
    tracing::info!("stopping: committing what is complete");
    shutdown.store(true, Ordering::Relaxed);
}
