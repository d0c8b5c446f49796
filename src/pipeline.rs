//! `run` and `replay`: set up, run the graph on the workers, drain, report.
//!
//! ```text
//! Kafka partitions ─ owner(p) ─▶ KafkaSource (per worker) ─ exchange by pair ─▶ QuoteMetrics
//!        │ dead letters, positions                                                   │ updates
//!        └───────────────────────────────▶ writer (two connections, a tx per interval) ◀┘
//! ```

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context};
use tickflow_dataflows::{LatePolicy, MetricsConfig, QuoteMetrics};
use timely::dataflow::operators::Probe;
use timely::dataflow::ProbeHandle;

use crate::cli::{Late, RunArgs};
use crate::config::{ConfigError, StartSpec, StopSpec};
use crate::kafka::plan::{resolve, Range};
use crate::kafka::source::{kafka_source, SourceSettings};
use crate::sink::operator::PostgresSink;
use crate::sink::writer::{self, Stats, WriterConfig};
use crate::store;

/// Channel capacity to the writer, in messages (each a batch): the bound on buffered results.
const WRITER_QUEUE: usize = 16;

/// What a finished run did.
#[derive(Debug)]
pub struct Summary {
    /// Messages read from Kafka.
    pub messages: u64,
    /// Valid ticks processed.
    pub ticks: u64,
    /// Dead letters written.
    pub dead_letters: u64,
    /// Wall time from start (loading the stored cut included) to the last commit.
    pub seconds: f64,
}

/// Live counters of a running pipeline, for status lines.
#[derive(Clone, Default)]
pub struct Progress {
    /// Messages read.
    pub read: Arc<AtomicU64>,
    /// Writer counters.
    pub stats: Arc<Stats>,
}

/// Runs the pipeline until its `--until` is reached (forever without) or `shutdown` is set.
pub fn run(
    args: &RunArgs,
    runtime: &tokio::runtime::Runtime,
    shutdown: Arc<AtomicBool>,
    progress: Progress,
) -> anyhow::Result<Summary> {
    let pg = &args.postgres;
    let m = &args.metrics;
    let from = args.from.clone().unwrap_or(StartSpec::Committed);
    let until = args.until.clone().unwrap_or(StopSpec::Never);

    let started = Instant::now();
    let rolling_window = m.rolling_window.as_micros() as u64;
    let (client, stored) = runtime.block_on(async {
        let mut client = store::connect(&pg.postgres, &pg.schema).await?;
        store::migrate(&mut client, &pg.schema).await?;
        let stored = store::load(&client, &args.group, &args.topic, rolling_window).await?;
        Ok::<_, store::StoreError>((client, stored))
    })?;
    if let Some(owner) = stored.owner.as_ref().filter(|o| **o != args.group) {
        if !args.force {
            return Err(ConfigError(format!(
                "schema {} holds the state of pipeline {owner}; use a --schema of its own, or --force to continue from that state",
                pg.schema
            ))
            .into());
        }
        tracing::warn!(%owner, schema = %pg.schema, "continuing from another pipeline's state (--force)");
    }
    let positions = stored
        .positions
        .iter()
        .map(|(&p, cut)| (p, cut.next_offset))
        .collect();
    tracing::info!(
        pairs = stored.resume.pairs.len(),
        open_windows = stored.resume.windows.len(),
        frontier = stored.resume.frontier,
        "loaded the stored cut"
    );

    let probe_consumer = crate::kafka::quiet_consumer(&args.brokers, &args.group)?;
    let ranges: Vec<Range> = resolve(
        &probe_consumer,
        &args.brokers,
        &args.topic,
        &from,
        &until,
        &positions,
    )?;
    drop(probe_consumer);
    tracing::info!(topic = %args.topic, partitions = ranges.len(), ?from, ?until, "resolved source ranges");
    tracing::debug!(?ranges, "source ranges");

    let workers = m
        .workers
        .map(usize::from)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let metrics = MetricsConfig {
        windows: m.windows.iter().map(|w| w.as_micros() as u64).collect(),
        sma_ticks: m.sma_ticks as usize,
        rolling_window,
        emit_ticks: !m.no_ticks,
        resume: Arc::new(stored.resume),
        ..MetricsConfig::default()
    };
    let settings = Arc::new(SourceSettings {
        brokers: args.brokers.clone(),
        group: args.group.clone(),
        topic: args.topic.clone(),
        ranges,
        covered: stored.positions,
        floor: metrics.resume.frontier,
        lateness: m.lateness.as_micros() as u64,
        idle_timeout: m.idle_timeout,
        late: match m.late {
            Late::Update => LatePolicy::Update,
            Late::Drop => LatePolicy::Drop,
        },
        process_max: Arc::default(),
        read: progress.read.clone(),
        shutdown: shutdown.clone(),
    });

    let (tx, rx) = tokio::sync::mpsc::channel(WRITER_QUEUE);
    let writer_config = WriterConfig {
        pipeline: args.group.clone(),
        topics: vec![args.topic.clone()],
        workers,
        commit_interval: m.commit_interval,
        postgres: pg.postgres.clone(),
        schema: pg.schema.clone(),
        shutdown: shutdown.clone(),
        resumed_at: metrics.resume.frontier,
        group: crate::kafka::quiet_consumer(&args.brokers, &args.group).ok(),
        started,
    };
    let stats = progress.stats.clone();
    let writer_shutdown = shutdown.clone();
    let writer = runtime.spawn(async move {
        let result = writer::run(client, writer_config, rx, stats).await;
        if result.is_err() {
            writer_shutdown.store(true, Ordering::Relaxed);
        }
        result
    });

    let guards = timely::execute(timely::Config::process(workers), move |worker| {
        let probe = ProbeHandle::new();
        let tx = tx.clone();
        let dataflow = worker.next_dataflow_index();
        let built = worker.dataflow(|scope| {
            let ticks = kafka_source(scope, &settings, tx.clone(), probe.clone())?;
            ticks
                .quote_metrics(metrics.clone())
                .probe_with(&probe)
                .postgres_sink(scope.index(), tx.clone());
            Ok::<_, crate::kafka::SourceError>(())
        });
        if let Err(error) = built {
            settings.shutdown.store(true, Ordering::Relaxed);
            worker.drop_dataflow(dataflow);
            return Err(error);
        }
        drop(tx);
        while !probe.done() {
            if settings.shutdown.load(Ordering::Relaxed) {
                // A stop abandons what is in flight instead of draining it: draining would
                // empty the frontier and finalize windows that are still open. The writer
                // commits what is complete; the rest is read again on restart.
                worker.drop_dataflow(dataflow);
                break;
            }
            worker.step_or_park(Some(Duration::from_millis(10)));
        }
        Ok(())
    })
    .map_err(|e| anyhow!("starting workers: {e}"))?;
    for result in guards.join() {
        result.map_err(|e| anyhow!("worker failed: {e}"))??;
    }
    runtime.block_on(writer).context("writer task")??;

    Ok(Summary {
        messages: progress.read.load(Ordering::Relaxed),
        ticks: progress.stats.ticks.load(Ordering::Relaxed),
        dead_letters: progress.stats.dead_letters.load(Ordering::Relaxed),
        seconds: started.elapsed().as_secs_f64(),
    })
}
