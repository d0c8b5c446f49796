//! `tickflow demo`: the whole job with no setup. An embedded Kafka-protocol broker (librdkafka's
//! mock cluster) in this process, the simulator feeding it, the pipeline writing into Postgres,
//! and a status line every few seconds until Ctrl-C.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use rdkafka::mocking::MockCluster;

use crate::cli::{DemoArgs, RunArgs};
use crate::config::{StartSpec, StopSpec};
use crate::pipeline::{self, Progress};
use crate::simulate;
use crate::store;

const TOPIC: &str = "quotes";
const GROUP: &str = "tickflow-demo";

/// Runs the demo until `shutdown`.
pub fn demo(
    args: &DemoArgs,
    runtime: &tokio::runtime::Runtime,
    shutdown: Arc<AtomicBool>,
) -> anyhow::Result<()> {
    let cluster = MockCluster::new(1).context("starting the embedded broker")?;
    cluster
        .create_topic(TOPIC, args.feed.partitions as i32, 1)
        .context("creating the demo topic")?;
    let brokers = cluster.bootstrap_servers();
    let pg = &args.postgres;
    println!(
        "tickflow demo: embedded broker at {brokers}, topic `{TOPIC}` ({} partitions)",
        args.feed.partitions
    );
    println!(
        "writing into postgres {} schema `{}`; try: psql '{}' -c 'SELECT * FROM {}.pair_metrics'",
        store::describe(&pg.postgres),
        pg.schema,
        pg.postgres,
        pg.schema
    );
    println!("Ctrl-C stops it.");

    let feed = args.feed.clone();
    let (producer_brokers, producer_stop) = (brokers.clone(), shutdown.clone());
    let producer = std::thread::spawn(move || {
        simulate::produce(
            &producer_brokers,
            TOPIC,
            &feed,
            simulate::DEFAULT_BATCH_SIZE,
            simulate::now_ms(),
            &producer_stop,
        )
    });

    let progress = Progress::default();
    let status = {
        let (progress, shutdown) = (progress.clone(), shutdown.clone());
        std::thread::spawn(move || {
            let mut last = 0;
            while !shutdown.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_secs(2));
                let read = progress.read.load(Ordering::Relaxed);
                println!(
                    "status: read {read} messages ({:.0}/s), {} tick rows, {} dead letters, {} commits",
                    (read - last) as f64 / 2.0,
                    progress.stats.ticks.load(Ordering::Relaxed),
                    progress.stats.dead_letters.load(Ordering::Relaxed),
                    progress.stats.commits.load(Ordering::Relaxed),
                );
                last = read;
            }
        })
    };

    let run = RunArgs {
        force: false,
        brokers,
        topic: TOPIC.to_owned(),
        group: GROUP.to_owned(),
        from: Some(StartSpec::Earliest),
        until: Some(StopSpec::Never),
        postgres: args.postgres.clone(),
        metrics: args.metrics.clone(),
    };
    let result = pipeline::run(&run, runtime, shutdown.clone(), progress);
    shutdown.store(true, Ordering::Relaxed);
    let produced = producer
        .join()
        .map_err(|_| anyhow::anyhow!("simulator thread panicked"))??;
    let _ = status.join();
    let summary = result?;
    println!(
        "demo stopped: produced {}, read {}, {} dead letters, {:.1}s",
        produced.acknowledged, summary.messages, summary.dead_letters, summary.seconds
    );
    Ok(())
}
