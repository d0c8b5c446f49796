//! The command line (SPEC "Command line"). Every flag also reads `TICKFLOW_<FLAG>`; `main` loads
//! a `.env` file first. Values are parsed here, so a bad one fails before anything starts, with
//! clap's one-line error and exit code 2.

use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use chrono::{DateTime, Utc};

use crate::config::{parse_duration, parse_timestamp, parse_widths, StartSpec, StopSpec};

/// tickflow: Kafka market data → timely dataflow → PostgreSQL.
#[derive(Debug, Parser)]
#[command(version, about, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the pipeline (bounded when `--until` is given).
    Run(RunArgs),
    /// Backfill a fixed range (`--until end` by default), print a summary, exit.
    Replay(RunArgs),
    /// Produce simulated quotes into a topic.
    Simulate(SimulateArgs),
    /// Everything in one process: embedded broker, simulator, pipeline into Postgres.
    // A partition without a pair holds the frontier for the idle timeout, and flow control stops
    // reading meanwhile. The embedded broker keeps only a few seconds of a busy partition, so at
    // 30,000 messages/s the 5 s of `run` let it drop what was not yet read (README "Decisions where SPEC is silent").
    #[command(mut_arg("idle_timeout", |arg| arg.default_value("500ms")))]
    Demo(DemoArgs),
    /// End-to-end throughput and latency against a real broker and PostgreSQL.
    Bench(BenchArgs),
    /// Create or upgrade the tables.
    Migrate(PostgresArgs),
    /// Read a topic to given offsets and do nothing else: `bench`'s raw drain pass.
    #[command(hide = true)]
    Drain(DrainArgs),
}

/// Where the results go.
#[derive(Debug, Clone, Args)]
pub struct PostgresArgs {
    /// PostgreSQL connection string.
    #[arg(
        long,
        env = "TICKFLOW_POSTGRES",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    pub postgres: String,
    /// Postgres schema holding the tables (one per pipeline).
    #[arg(long, env = "TICKFLOW_SCHEMA", default_value = "public", value_parser = parse_schema)]
    pub schema: String,
}

/// The metric parameters shared by `run`, `replay` and `demo`.
#[derive(Debug, Clone, Args)]
pub struct MetricArgs {
    /// Timely worker threads (default: the number of cores).
    #[arg(long, env = "TICKFLOW_WORKERS", value_parser = clap::value_parser!(u16).range(1..=256))]
    pub workers: Option<u16>,
    /// Tumbling window widths, whole seconds each (`1m,5m,1h`).
    #[arg(long, env = "TICKFLOW_WINDOWS", default_value = "1m", value_delimiter = ',', value_parser = parse_widths)]
    pub windows: Vec<Duration>,
    /// Ticks in the simple moving average.
    #[arg(long, env = "TICKFLOW_SMA_TICKS", default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub sma_ticks: u32,
    /// Width of the rolling average.
    #[arg(long, env = "TICKFLOW_ROLLING_WINDOW", default_value = "60s", value_parser = parse_positive_duration)]
    pub rolling_window: Duration,
    /// How far behind the watermark the frontier trails.
    #[arg(long, env = "TICKFLOW_LATENESS", default_value = "1s", value_parser = parse_duration)]
    pub lateness: Duration,
    /// Quiet time after which a partition read to its end stops holding the frontier.
    #[arg(long, env = "TICKFLOW_IDLE_TIMEOUT", default_value = "5s", value_parser = parse_duration)]
    pub idle_timeout: Duration,
    /// What a late quote does.
    #[arg(long, env = "TICKFLOW_LATE", default_value = "update")]
    pub late: Late,
    /// How often the sink commits to Postgres.
    #[arg(long, env = "TICKFLOW_COMMIT_INTERVAL", default_value = "100ms", value_parser = parse_positive_duration)]
    pub commit_interval: Duration,
    /// Do not write per-tick rows (pair metrics and windows only).
    #[arg(long, env = "TICKFLOW_NO_TICKS")]
    pub no_ticks: bool,
}

/// `--late`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Late {
    /// Update the windows it belongs to and count it in `late_ticks`.
    Update,
    /// Make it a dead letter with reason `late`.
    Drop,
}

/// `run` and `replay`.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// Kafka bootstrap servers.
    #[arg(long, env = "TICKFLOW_BROKERS", default_value = "localhost:9092")]
    pub brokers: String,
    /// Topic to read.
    #[arg(long, env = "TICKFLOW_TOPIC", default_value = "quotes")]
    pub topic: String,
    /// Pipeline name: its positions in `source_positions` and its Kafka consumer group.
    #[arg(long, env = "TICKFLOW_GROUP", default_value = "tickflow")]
    pub group: String,
    /// Where to start: committed, earliest, latest, offset:N, offset:P=N,..., timestamp:RFC3339.
    #[arg(long, env = "TICKFLOW_FROM", value_parser = StartSpec::parse)]
    pub from: Option<StartSpec>,
    /// Where to stop: never, end, offset:N, offset:P=N,..., timestamp:RFC3339.
    #[arg(long, env = "TICKFLOW_UNTIL", value_parser = StopSpec::parse)]
    pub until: Option<StopSpec>,
    /// Continue from the state of another pipeline that `--schema` holds, instead of refusing.
    #[arg(long, env = "TICKFLOW_FORCE")]
    pub force: bool,
    /// Postgres.
    #[command(flatten)]
    pub postgres: PostgresArgs,
    /// Metrics.
    #[command(flatten)]
    pub metrics: MetricArgs,
}

/// `simulate`.
#[derive(Debug, Clone, Args)]
pub struct SimulateArgs {
    /// Kafka bootstrap servers.
    #[arg(long, env = "TICKFLOW_BROKERS", default_value = "localhost:9092")]
    pub brokers: String,
    /// Topic to produce into (created with `--partitions` when missing).
    #[arg(long, env = "TICKFLOW_TOPIC", default_value = "quotes")]
    pub topic: String,
    /// Most messages per produce batch (librdkafka's `batch.num.messages`).
    #[arg(long, env = "TICKFLOW_BATCH_SIZE", default_value_t = crate::simulate::DEFAULT_BATCH_SIZE, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub batch_size: u32,
    /// The feed.
    #[command(flatten)]
    pub feed: FeedArgs,
}

/// The simulated feed, shared by `simulate` and `demo`.
#[derive(Debug, Clone, Args)]
pub struct FeedArgs {
    /// Pairs beyond BTC-USD, ETH-USD and LTC-USD (comma separated).
    #[arg(long, env = "TICKFLOW_PAIRS", value_delimiter = ',')]
    pub pairs: Vec<String>,
    /// Messages per second (0: as fast as possible).
    #[arg(long, env = "TICKFLOW_RATE", default_value_t = 1000)]
    pub rate: u64,
    /// Messages to produce (0: forever).
    #[arg(long, env = "TICKFLOW_COUNT", default_value_t = 10_000)]
    pub count: u64,
    /// Partitions of the topic.
    #[arg(long, env = "TICKFLOW_PARTITIONS", default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub partitions: u32,
    /// Shift event times back by up to this much (out of order within the bound).
    #[arg(long, env = "TICKFLOW_DISORDER", default_value = "0s", value_parser = parse_duration)]
    pub disorder: Duration,
    /// Fraction of invalid messages, 0 to 1.
    #[arg(long, env = "TICKFLOW_INVALID", default_value_t = 0.0, value_parser = parse_fraction)]
    pub invalid: f64,
    /// Seed: the same seed gives the same messages.
    #[arg(long, env = "TICKFLOW_SEED", default_value_t = 42)]
    pub seed: u64,
    /// Event time of the first message (RFC 3339; default: now). Fix it for identical topics.
    #[arg(long, env = "TICKFLOW_START_TIME", value_parser = parse_timestamp)]
    pub start_time: Option<DateTime<Utc>>,
}

/// `demo`.
#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// Postgres.
    #[command(flatten)]
    pub postgres: PostgresArgs,
    /// Metrics.
    #[command(flatten)]
    pub metrics: MetricArgs,
    /// The feed.
    #[command(flatten)]
    pub feed: FeedArgs,
}

/// `bench`.
#[derive(Debug, Clone, Args)]
pub struct BenchArgs {
    /// Kafka bootstrap servers.
    #[arg(long, env = "TICKFLOW_BROKERS", default_value = "localhost:9092")]
    pub brokers: String,
    /// Run the live pass against an embedded broker (librdkafka's mock cluster, as `tickflow
    /// demo`) in this process instead of `--brokers`: the pipeline still reaches it over TCP,
    /// so a broker's own delivery can be told apart from tickflow's.
    #[arg(long)]
    pub embedded_broker: bool,
    /// PostgreSQL connection string.
    #[arg(
        long,
        env = "TICKFLOW_POSTGRES",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    pub postgres: String,
    /// Prefix of the topics and schemas (stamped with the start time; one schema per pass,
    /// dropped when done).
    #[arg(long, default_value = "tickflow_bench", value_parser = parse_schema)]
    pub prefix: String,
    /// Messages to preload.
    #[arg(long, default_value_t = 2_000_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub messages: u64,
    /// Pairs in the preloaded and live feeds.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(3..=100_000))]
    pub pairs: u32,
    /// Partitions of the bench topics.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub partitions: u32,
    /// Worker counts of the drain passes; the live pass uses the last.
    #[arg(long, default_value = "1,2", value_delimiter = ',', value_parser = clap::value_parser!(u16).range(1..=256))]
    pub workers: Vec<u16>,
    /// Passes to run.
    #[arg(
        long,
        default_value = "raw,ticks,no-ticks,copy,live",
        value_delimiter = ','
    )]
    pub passes: Vec<BenchPass>,
    /// Offered rate of the live pass, messages per second.
    #[arg(long, default_value_t = 50_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub rate: u64,
    /// How long the live pass measures, after its warm-up.
    #[arg(long, default_value = "10s", value_parser = parse_positive_duration)]
    pub duration: Duration,
    /// Messages produced in the live pass before the measured ones.
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    pub warmup: Duration,
    /// `--lateness` of the live pass.
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    pub lateness: Duration,
    /// `--commit-interval` of the live pass.
    #[arg(long, default_value = "100ms", value_parser = parse_positive_duration)]
    pub commit_interval: Duration,
    /// The live pass writes no per-tick rows.
    #[arg(long)]
    pub live_no_ticks: bool,
    /// Print one JSON document instead of the table.
    #[arg(long)]
    pub json: bool,
}

/// A pass of `bench`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BenchPass {
    /// The broker's consume-only drain rate.
    Raw,
    /// tickflow with per-tick rows, for each `--workers`.
    Ticks,
    /// tickflow with `--no-ticks`, for each `--workers`.
    NoTicks,
    /// The same tick rows by binary `COPY` into `ticks` (needs `ticks`).
    Copy,
    /// Latency at `--rate`, from produce to `pair_metrics` commit.
    Live,
}

/// The hidden `drain`.
#[derive(Debug, Clone, Args)]
pub struct DrainArgs {
    /// Kafka bootstrap servers.
    #[arg(long)]
    pub brokers: String,
    /// Topic to read.
    #[arg(long)]
    pub topic: String,
    /// Where to stop, `P=N,...`: every partition is read from its start to its N.
    #[arg(long, value_parser = parse_ends)]
    pub until: std::collections::BTreeMap<i32, i64>,
}

fn parse_ends(s: &str) -> Result<std::collections::BTreeMap<i32, i64>, String> {
    s.split(',')
        .map(|e| {
            let (p, n) = e.split_once('=').ok_or("P=N,...")?;
            Ok((
                p.trim().parse().map_err(|_| "a partition number")?,
                n.trim().parse().map_err(|_| "an offset")?,
            ))
        })
        .collect::<Result<_, &str>>()
        .map_err(str::to_owned)
}

fn parse_schema(s: &str) -> Result<String, String> {
    let ok = !s.is_empty()
        && s.len() <= 63
        && s.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    ok.then(|| s.to_owned())
        .ok_or_else(|| "a schema is a lowercase identifier: [a-z_][a-z0-9_]*".to_owned())
}

fn parse_positive_duration(s: &str) -> Result<Duration, String> {
    match parse_duration(s)? {
        d if d.is_zero() => Err("must be more than zero".to_owned()),
        d => Ok(d),
    }
}

fn parse_fraction(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(f) if (0.0..=1.0).contains(&f) => Ok(f),
        _ => Err("a fraction from 0 to 1".to_owned()),
    }
}
