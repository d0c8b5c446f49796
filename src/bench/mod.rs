//! `tickflow bench`: end to end against a real broker and PostgreSQL.
//!
//! It preloads a topic with the simulator, then runs each pass as a child process of this binary
//! (so each starts cold and has its own peak RSS): the broker's raw drain, `replay --until end`
//! for each worker count with and without per-tick rows, a binary `COPY` of the same tick rows
//! into the same table, and a live `run` fed at an offered rate while its `pair_metrics`
//! commits are watched for latency. Every figure is measured in the run that prints it, and the
//! targets are checked against figures of that same run.
//!
//! | file | holds |
//! |---|---|
//! | `child.rs` | spawning a pass and reaping it with its peak RSS |
//! | `cores.rs` | the cores' own speed, taken before each pass |
//! | `cpu.rs` | where the cores went during a pass: the pass, the bench, the rest |
//! | `drain.rs` | the consume-only pass (the hidden `tickflow drain`) |
//! | `copy.rs` | the binary `COPY` ceiling for tick rows |
//! | `live.rs` | the live pass: offered rate in, produce-to-commit latency out |
//! | `server.rs` | the checkpoints PostgreSQL started and the WAL it wrote during a pass |
//! | `report.rs` | the figures, the targets, the table |

mod child;
mod copy;
pub mod cores;
pub mod cpu;
pub mod drain;
mod live;
mod report;
mod server;

use std::collections::BTreeMap;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use rdkafka::admin::{AdminClient, AdminOptions};
use rdkafka::client::DefaultClientContext;
use rdkafka::mocking::MockCluster;
use rdkafka::producer::DefaultProducerContext;
use rdkafka::ClientConfig;

use crate::cli::{BenchArgs, BenchPass, FeedArgs};
use crate::config::ConfigError;
use crate::feed::FeedConfig;
use crate::{simulate, store};

pub use report::Report;
use report::{Live, Machine, Pass, Preload};

/// Event time of the first preloaded message: fixed, so every bench reads the same data.
const PRELOAD_START_MS: i64 = 1_798_761_600_000;
/// The feeds' seed.
const SEED: u64 = 42;

/// Runs the passes `args` asks for and reports what they measured.
pub fn bench(args: &BenchArgs, runtime: &tokio::runtime::Runtime) -> anyhow::Result<Report> {
    let wants = |pass| args.passes.contains(&pass);
    if wants(BenchPass::Copy) && !wants(BenchPass::Ticks) {
        return Err(ConfigError("--passes copy needs the ticks pass".into()).into());
    }
    let replays = [BenchPass::Raw, BenchPass::Ticks, BenchPass::NoTicks];
    if args.embedded_broker && replays.into_iter().any(wants) {
        return Err(ConfigError(
            "--embedded-broker serves only --passes live: librdkafka's mock cluster keeps at most \
             100,000 messages or 5 MiB per partition, less than a preload"
                .into(),
        )
        .into());
    }
    let embedded = match args.embedded_broker {
        true => Some(MockCluster::new(1).context("starting the embedded broker")?),
        false => None,
    };
    let args = &BenchArgs {
        brokers: embedded
            .as_ref()
            .map_or_else(|| args.brokers.clone(), MockCluster::bootstrap_servers),
        ..args.clone()
    };
    let stamp = chrono::Utc::now().format("%Y%m%d-%H%M%S");
    let topic = format!("{}-{stamp}", args.prefix.replace('_', "-"));
    let extra_pairs: Vec<String> = (3..args.pairs).map(|i| format!("SYM{i:05}-USD")).collect();
    let mut report = Report {
        machine: Machine::this(runtime, &args.postgres),
        messages: args.messages,
        pairs: args.pairs,
        partitions: args.partitions,
        ..Report::default()
    };

    let mut topics = Vec::new();
    let outcome = (|| {
        let mut ends = BTreeMap::new();
        if replays.into_iter().any(wants) {
            create_topic(runtime, args, embedded.as_ref(), &topic, &mut topics)?;
            let (preloaded, preloaded_ends) = preload(args, &topic, &extra_pairs)?;
            report.preload = Some(preloaded);
            report.until = until(&args.brokers, &topic, &preloaded_ends)?;
            ends = preloaded_ends;
        }
        if wants(BenchPass::Raw) {
            let ends = simulate::offsets(&ends);
            let speed = cores::probe();
            let drained = child::spawn(
                "raw drain",
                &strings(&[
                    "drain",
                    "--brokers",
                    &args.brokers,
                    "--topic",
                    &topic,
                    "--until",
                    &ends,
                ]),
            )?
            .wait()?;
            report.raw = Some(Pass::of("raw drain", None, None, &drained, None, speed)?);
        }
        for &workers in &args.workers {
            for tick_rows in [true, false] {
                let pass = if tick_rows {
                    BenchPass::Ticks
                } else {
                    BenchPass::NoTicks
                };
                if wants(pass) {
                    let copy = tick_rows && wants(BenchPass::Copy) && report.copy.is_none();
                    let (pass, copied) = replay(
                        args,
                        runtime,
                        &topic,
                        &report.until,
                        workers,
                        tick_rows,
                        copy,
                    )?;
                    report.pipeline.push(pass);
                    report.copy = report.copy.take().or(copied);
                }
            }
        }
        if wants(BenchPass::Live) {
            let live_topic = format!("{topic}-live");
            create_topic(runtime, args, embedded.as_ref(), &live_topic, &mut topics)?;
            report.live = Some(live(args, runtime, &live_topic, &extra_pairs)?);
        }
        Ok::<_, anyhow::Error>(())
    })();
    delete_topics(runtime, &args.brokers, &topics);
    outcome?;
    report.check_targets(args.lateness);
    Ok(report)
}

/// Creates `topic` with `--partitions` and adds it to `created`, which are deleted at the end.
/// The embedded broker takes no admin requests: its topics are made directly and go with it.
fn create_topic(
    runtime: &tokio::runtime::Runtime,
    args: &BenchArgs,
    embedded: Option<&MockCluster<'_, DefaultProducerContext>>,
    topic: &str,
    created: &mut Vec<String>,
) -> anyhow::Result<()> {
    match embedded {
        Some(cluster) => cluster
            .create_topic(topic, args.partitions as i32, 1)
            .with_context(|| format!("creating {topic} on the embedded broker"))?,
        None => {
            runtime.block_on(simulate::create_topic(
                &args.brokers,
                topic,
                args.partitions,
            ))?;
            created.push(topic.to_owned());
        }
    }
    Ok(())
}

/// Fills `topic` as fast as the broker takes it; returns each partition's end.
fn preload(
    args: &BenchArgs,
    topic: &str,
    extra_pairs: &[String],
) -> anyhow::Result<(Preload, BTreeMap<i32, i64>)> {
    let feed = FeedArgs {
        pairs: extra_pairs.to_vec(),
        rate: 0,
        count: args.messages,
        partitions: args.partitions,
        disorder: Duration::ZERO,
        invalid: 0.0,
        seed: SEED,
        start_time: None,
    };
    let started = Instant::now();
    let produced = simulate::produce(
        &args.brokers,
        topic,
        &feed,
        simulate::DEFAULT_BATCH_SIZE,
        PRELOAD_START_MS,
        &AtomicBool::new(false),
    )?;
    if produced.acknowledged != args.messages {
        bail!(
            "preloading {topic}: the broker acknowledged {} of {} messages",
            produced.acknowledged,
            args.messages
        );
    }
    let seconds = started.elapsed().as_secs_f64();
    Ok((
        Preload {
            messages: produced.acknowledged,
            seconds,
            messages_per_second: produced.acknowledged as f64 / seconds,
        },
        produced.end_offsets,
    ))
}

/// `--until end` when the broker's high watermarks are the ends the preload was acknowledged
/// at, as Kafka's are; otherwise those ends, explicitly, so every pass reads the same messages.
fn until(brokers: &str, topic: &str, ends: &BTreeMap<i32, i64>) -> anyhow::Result<String> {
    let consumer = crate::kafka::quiet_consumer(brokers, "tickflow-bench")?;
    let mut watermarks = BTreeMap::new();
    for &partition in ends.keys() {
        let (_, high) = rdkafka::consumer::Consumer::fetch_watermarks(
            &consumer,
            topic,
            partition,
            crate::kafka::LOOKUP_TIMEOUT,
        )
        .with_context(|| format!("kafka at {brokers}: watermarks of {topic}/{partition}"))?;
        watermarks.insert(partition, high);
    }
    if watermarks == *ends {
        return Ok("end".to_owned());
    }
    tracing::warn!(
        ?watermarks,
        acknowledged = ?ends,
        "the broker's high watermarks are not the log ends; the passes read to the acknowledged ends"
    );
    Ok(format!("offset:{}", simulate::offsets(ends)))
}

/// One `replay` of the preloaded topic into a schema of its own, dropped afterwards; with
/// `copy`, the `COPY` ceiling is measured on the tick rows it wrote.
fn replay(
    args: &BenchArgs,
    runtime: &tokio::runtime::Runtime,
    topic: &str,
    until: &str,
    workers: u16,
    tick_rows: bool,
    copy: bool,
) -> anyhow::Result<(Pass, Option<report::Copy>)> {
    let schema = format!(
        "{}_w{workers}_{}",
        schema_of(topic),
        if tick_rows { "ticks" } else { "noticks" }
    );
    let client = runtime.block_on(fresh_schema(&args.postgres, &schema))?;
    let flags = pipeline_flags(
        args,
        topic,
        &schema,
        workers,
        tick_rows,
        &["replay", "--until", until],
    );
    let name = format!(
        "tickflow --workers {workers}{}",
        if tick_rows { "" } else { " --no-ticks" }
    );
    let before = runtime.block_on(checkpoint(&client));
    let speed = cores::probe();
    let finished = child::spawn(&name, &flags)?.wait()?;
    let activity = server::between(before, runtime.block_on(server::read(&client)));
    let pass = Pass::of(
        &name,
        Some(workers),
        Some(tick_rows),
        &finished,
        activity,
        speed,
    )?;
    if pass.messages != args.messages {
        bail!(
            "{name} read {} of the {} preloaded messages",
            pass.messages,
            args.messages
        );
    }
    let copied = if copy {
        let speed = cores::probe();
        let copied = runtime.block_on(copy::copy_ticks(&client))?;
        if copied.rows != args.messages {
            bail!(
                "the COPY pass found {} tick rows where {} messages were replayed",
                copied.rows,
                args.messages
            );
        }
        Some(report::Copy::of(copied, speed))
    } else {
        None
    };
    runtime.block_on(drop_schema(&client, &schema))?;
    Ok((pass, copied))
}

/// The live pass: a `run` on the last `--workers` reads `topic` while it is fed at `--rate`.
fn live(
    args: &BenchArgs,
    runtime: &tokio::runtime::Runtime,
    topic: &str,
    extra_pairs: &[String],
) -> anyhow::Result<Live> {
    let workers = args.workers.last().copied().unwrap_or(1);
    let schema = schema_of(topic);
    let client = runtime.block_on(fresh_schema(&args.postgres, &schema))?;
    let (lateness, commit) = (
        format!("{}ms", args.lateness.as_millis()),
        format!("{}ms", args.commit_interval.as_millis()),
    );
    let flags = pipeline_flags(
        args,
        topic,
        &schema,
        workers,
        !args.live_no_ticks,
        &["run", "--lateness", &lateness, "--commit-interval", &commit],
    );
    let speed = cores::probe();
    let pipeline = child::spawn("live", &flags)?;
    let observer = runtime.block_on(store::connect(&args.postgres, &schema))?;
    let offer = live::Offer {
        brokers: &args.brokers,
        topic,
        feed: FeedConfig {
            pairs: extra_pairs.to_vec(),
            partitions: args.partitions,
            disorder_ms: 0,
            invalid: 0.0,
            seed: SEED,
            start_ms: 0,
            step_us: 1,
        },
        rate: args.rate,
        warmup: args.warmup,
        duration: args.duration,
        tail: args.lateness + args.commit_interval + Duration::from_secs(1),
    };
    let before = runtime.block_on(server::read(&client));
    let latency = live::measure(runtime, observer, offer);
    let postgres = server::between(before, runtime.block_on(server::read(&client)));
    pipeline.terminate();
    let finished = pipeline.wait()?;
    runtime.block_on(drop_schema(&client, &schema))?;
    Ok(Live {
        workers,
        tick_rows: !args.live_no_ticks,
        lateness_ms: args.lateness.as_millis() as u64,
        commit_interval_ms: args.commit_interval.as_millis() as u64,
        latency: latency?,
        peak_rss_bytes: finished.peak_rss,
        postgres,
        cores: speed,
        cpu: finished.cpu,
    })
}

/// `command` (its name first, then flags of its own) reading `topic` from the start into
/// `schema`, as a pipeline of the same name.
fn pipeline_flags(
    args: &BenchArgs,
    topic: &str,
    schema: &str,
    workers: u16,
    tick_rows: bool,
    command: &[&str],
) -> Vec<String> {
    let workers = workers.to_string();
    let mut flags = strings(command);
    flags.extend(strings(&[
        "--brokers",
        &args.brokers,
        "--topic",
        topic,
        "--group",
        schema,
        "--postgres",
        &args.postgres,
        "--schema",
        schema,
        "--from",
        "earliest",
        "--workers",
        &workers,
    ]));
    if !tick_rows {
        flags.push("--no-ticks".to_owned());
    }
    flags
}

/// The schema a pass over `topic` writes to: named after the topic, which is stamped with the
/// bench's start, so two benches on one database never drop each other's tables.
fn schema_of(topic: &str) -> String {
    topic.replace('-', "_")
}

/// A connection to `schema`, emptied first.
async fn fresh_schema(url: &str, schema: &str) -> anyhow::Result<tokio_postgres::Client> {
    let client = store::connect(url, schema).await?;
    drop_schema(&client, schema).await?;
    client
        .batch_execute(&format!("CREATE SCHEMA \"{schema}\""))
        .await
        .with_context(|| format!("creating schema {schema}"))?;
    Ok(client)
}

/// Flushes PostgreSQL's dirty buffers and starts a new WAL cycle before a pass whose rate is
/// compared with another's: otherwise a pass pays for the writes of the one before it, and the
/// tick rows and their `COPY`, writing the same rows, can meet a checkpoint in one and not the
/// other. The live pass gets none: a running pipeline meets checkpoints as they come.
/// `CHECKPOINT` needs superuser or `pg_checkpoint`; without, the pass runs as it finds the server.
/// Returns the server's counters after it, from which the pass's activity is counted.
async fn checkpoint(client: &tokio_postgres::Client) -> Option<server::Activity> {
    if let Err(error) = client.batch_execute("CHECKPOINT").await {
        tracing::warn!(%error, "no CHECKPOINT before the pass");
    }
    server::read(client).await
}

async fn drop_schema(client: &tokio_postgres::Client, schema: &str) -> anyhow::Result<()> {
    client
        .batch_execute(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
        .await
        .with_context(|| format!("dropping schema {schema}"))
}

/// The bench's topics go when it is done; failing to delete one is only worth a warning.
fn delete_topics(runtime: &tokio::runtime::Runtime, brokers: &str, topics: &[String]) {
    if topics.is_empty() {
        return;
    }
    let admin: Result<AdminClient<DefaultClientContext>, _> = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .create();
    let names: Vec<&str> = topics.iter().map(String::as_str).collect();
    let deleted = match admin {
        Ok(admin) => runtime
            .block_on(admin.delete_topics(&names, &AdminOptions::new()))
            .map(|_| ()),
        Err(error) => Err(error),
    };
    if let Err(error) = deleted {
        tracing::warn!(%error, ?topics, "could not delete the bench topics");
    }
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|&a| a.to_owned()).collect()
}
