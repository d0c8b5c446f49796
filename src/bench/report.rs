//! What `tickflow bench` measured, the targets it checks, and the table it prints.

use std::fmt;
use std::time::Duration;

use super::child::Finished;
use super::copy::Copied;
use super::cores::Speed;
use super::cpu::CpuUse;
use super::live::Latency;
use super::server::Activity;

/// Everything one bench run measured.
#[derive(Debug, Default, serde::Serialize)]
pub struct Report {
    /// Where it ran.
    pub machine: Machine,
    /// Messages preloaded.
    pub messages: u64,
    /// Pairs in the feeds.
    pub pairs: u32,
    /// Partitions of the topics.
    pub partitions: u32,
    /// The `--until` every drain pass used.
    pub until: String,
    /// Producing the preload.
    pub preload: Option<Preload>,
    /// The consume-only drain.
    pub raw: Option<Pass>,
    /// The `replay` passes.
    pub pipeline: Vec<Pass>,
    /// The binary `COPY` of the tick rows.
    pub copy: Option<Copy>,
    /// The live pass.
    pub live: Option<Live>,
    /// The targets, checked against this run's figures.
    pub targets: Vec<Target>,
}

/// The machine.
#[derive(Debug, Default, serde::Serialize)]
pub struct Machine {
    /// CPU model.
    pub cpu: String,
    /// Cores available to this process.
    pub cores: usize,
    /// Total memory, bytes.
    pub memory_bytes: u64,
    /// PostgreSQL's `server_version`.
    pub postgres: String,
}

/// The preload.
#[derive(Debug, serde::Serialize)]
pub struct Preload {
    /// Messages acknowledged.
    pub messages: u64,
    /// From the first send to the last acknowledgement.
    pub seconds: f64,
    /// Their rate.
    pub messages_per_second: f64,
}

/// A drain pass.
#[derive(Debug, serde::Serialize)]
pub struct Pass {
    /// What ran.
    pub name: String,
    /// `--workers`, for pipeline passes.
    pub workers: Option<u16>,
    /// Whether per-tick rows were written, for pipeline passes.
    pub tick_rows: Option<bool>,
    /// Messages read.
    pub messages: u64,
    /// As the pass timed itself: from its start to its last message (raw) or last commit.
    pub seconds: f64,
    /// `messages / seconds`.
    pub messages_per_second: f64,
    /// Peak RSS of the process, bytes.
    pub peak_rss_bytes: u64,
    /// The highest RSS in each tenth of the process's run, bytes: flat memory shows as a last
    /// tenth no higher than the first ones.
    pub rss_by_tenth_bytes: Vec<u64>,
    /// PostgreSQL's checkpoints and WAL during the pass, for pipeline passes.
    pub postgres: Option<Activity>,
    /// The cores' speed just before the pass.
    pub cores: Speed,
    /// Where the cores went from the process's start to its exit.
    pub cpu: CpuUse,
}

/// The `COPY` ceiling.
#[derive(Debug, serde::Serialize)]
pub struct Copy {
    /// Rows copied.
    pub rows: u64,
    /// Time of the `COPY`.
    pub seconds: f64,
    /// Their rate.
    pub rows_per_second: f64,
    /// PostgreSQL's checkpoints and WAL during it.
    pub postgres: Option<Activity>,
    /// The cores' speed just before it.
    pub cores: Speed,
}

/// The live pass.
#[derive(Debug, serde::Serialize)]
pub struct Live {
    /// `--workers` of the pipeline.
    pub workers: u16,
    /// Whether it wrote per-tick rows.
    pub tick_rows: bool,
    /// Its `--lateness`.
    pub lateness_ms: u64,
    /// Its `--commit-interval`.
    pub commit_interval_ms: u64,
    /// Produce-to-commit latency.
    pub latency: Latency,
    /// Peak RSS of the pipeline, bytes.
    pub peak_rss_bytes: u64,
    /// PostgreSQL's checkpoints and WAL from the start of production to the last measured
    /// commit seen (or the settling time's end).
    pub postgres: Option<Activity>,
    /// The cores' speed just before the pipeline started.
    pub cores: Speed,
    /// Where the cores went from the pipeline's start to its exit.
    pub cpu: CpuUse,
}

/// A target from issue 4, checked against this run.
#[derive(Debug, serde::Serialize)]
pub struct Target {
    /// What is compared.
    pub name: String,
    /// The measured figure.
    pub measured: f64,
    /// The bound it must meet.
    pub bound: f64,
    /// Whether it met it.
    pub met: bool,
}

impl Machine {
    /// This machine, from `/proc` and the server.
    pub fn this(runtime: &tokio::runtime::Runtime, postgres: &str) -> Machine {
        let proc = |path| std::fs::read_to_string(path).unwrap_or_default();
        let field = |text: &str, name: &str| {
            text.lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_owned())
                .unwrap_or_default()
        };
        let memory_kib = field(&proc("/proc/meminfo"), "MemTotal")
            .trim_end_matches(" kB")
            .parse::<u64>()
            .unwrap_or(0);
        let server = runtime.block_on(async {
            let client = crate::store::connect(postgres, "public").await.ok()?;
            let row = client.query_one("SHOW server_version", &[]).await.ok()?;
            row.try_get::<_, String>(0).ok()
        });
        Machine {
            cpu: field(&proc("/proc/cpuinfo"), "model name"),
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            memory_bytes: memory_kib * 1024,
            postgres: server.unwrap_or_default(),
        }
    }
}

/// What every pass prints on its last line (among other figures).
#[derive(serde::Deserialize)]
struct Figures {
    messages: u64,
    seconds: f64,
}

impl Pass {
    /// A pass from the figures its process printed and its peak RSS.
    pub fn of(
        name: &str,
        workers: Option<u16>,
        tick_rows: Option<bool>,
        finished: &Finished,
        postgres: Option<Activity>,
        cores: Speed,
    ) -> anyhow::Result<Pass> {
        let Figures { messages, seconds } = finished.figures()?;
        Ok(Pass {
            name: name.to_owned(),
            workers,
            tick_rows,
            messages,
            seconds,
            messages_per_second: messages as f64 / seconds,
            peak_rss_bytes: finished.peak_rss,
            rss_by_tenth_bytes: finished.rss_by_tenth.clone(),
            postgres,
            cores,
            cpu: finished.cpu,
        })
    }
}

impl Copy {
    /// The rate of a `COPY`.
    pub fn of(copied: Copied, cores: Speed) -> Copy {
        Copy {
            rows: copied.rows,
            seconds: copied.seconds,
            rows_per_second: copied.rows as f64 / copied.seconds,
            postgres: copied.postgres,
            cores,
        }
    }
}

/// Issue 4's memory target: peak RSS at most this many megabytes (10^6 bytes) ...
const MEMORY_TARGET_MB: f64 = 200.0;
/// ... for this many pairs.
const MEMORY_TARGET_PAIRS: u32 = 1_000;

impl Report {
    /// Checks the end-to-end targets whose figures this run has.
    pub fn check_targets(&mut self, lateness: Duration) {
        let mut targets = Vec::new();
        let mut at_least = |name: String, measured: f64, bound: f64| {
            targets.push(Target {
                name,
                measured,
                bound,
                met: measured >= bound,
            })
        };
        for pass in &self.pipeline {
            match (pass.tick_rows, &self.raw, &self.copy) {
                (Some(false), Some(raw), _) => at_least(
                    format!("{} / raw drain", pass.name),
                    pass.messages_per_second / raw.messages_per_second,
                    0.5,
                ),
                (Some(true), _, Some(copy)) => at_least(
                    format!("{} / COPY", pass.name),
                    pass.messages_per_second / copy.rows_per_second,
                    0.7,
                ),
                _ => {}
            }
        }
        // The memory target is set for 1,000 pairs; fewer pairs hold less state.
        if self.pairs <= MEMORY_TARGET_PAIRS {
            for pass in &self.pipeline {
                let peak_mb = pass.peak_rss_bytes as f64 / 1e6;
                targets.push(Target {
                    name: format!("{} peak RSS MB (at most)", pass.name),
                    measured: peak_mb,
                    bound: MEMORY_TARGET_MB,
                    met: peak_mb <= MEMORY_TARGET_MB,
                });
            }
        }
        if let Some(live) = &self.live {
            let bound = lateness.as_secs_f64() * 1000.0 + 250.0;
            targets.push(Target {
                name: "live p99 ms (at most)".to_owned(),
                measured: live.latency.p99_ms,
                bound,
                met: live.latency.p99_ms <= bound && live.latency.unobserved == 0,
            });
        }
        self.targets = targets;
    }
}

fn mib(bytes: u64) -> String {
    format!("{} MiB", bytes / (1024 * 1024))
}

/// A table cell: checkpoints started, then WAL written; empty when the server gave no counters.
fn activity(postgres: Option<Activity>) -> String {
    postgres.map_or_else(String::new, |a| {
        format!("{}, {} MB", a.checkpoints, a.wal_bytes / 1_000_000)
    })
}

/// A table cell: the cores kept busy by the pass, by the bench, and by everything else.
fn busy(cpu: CpuUse) -> String {
    let [pass, bench, rest] = cpu.cores();
    format!("{pass:.2}, {bench:.2}, {rest:.2}")
}

/// A table cell: one thread's time for the cores' arithmetic, then two threads against one.
fn speed(cores: Speed) -> String {
    format!("{:.0} ms, {:.2} ×", cores.one_thread_ms, cores.two_threads)
}

fn rate(per_second: f64) -> String {
    let whole = per_second.round() as u64;
    let digits = whole.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = &self.machine;
        write!(
            f,
            "tickflow bench: {} messages, {} pairs, {} partitions",
            self.messages, self.pairs, self.partitions
        )?;
        if !self.until.is_empty() {
            write!(f, ", --until {}", self.until)?;
        }
        writeln!(f)?;
        writeln!(
            f,
            "machine: {} ({} cores, {} GiB), PostgreSQL {}",
            m.cpu,
            m.cores,
            m.memory_bytes / (1 << 30),
            m.postgres
        )?;
        writeln!(f)?;
        writeln!(
            f,
            "| pass | messages/s | peak RSS | highest RSS by tenth of the pass (MiB) | PostgreSQL: checkpoints, WAL | cores before: one thread, two × | cores busy: pass, bench, rest |"
        )?;
        writeln!(f, "|---|---:|---:|---|---:|---:|---:|")?;
        if let Some(p) = &self.preload {
            writeln!(
                f,
                "| preload (produce) | {} | | | | | |",
                rate(p.messages_per_second)
            )?;
        }
        for pass in self.raw.iter().chain(&self.pipeline) {
            let tenths: Vec<String> = pass
                .rss_by_tenth_bytes
                .iter()
                .map(|&b| (b >> 20).to_string())
                .collect();
            writeln!(
                f,
                "| {} | {} | {} | {} | {} | {} | {} |",
                pass.name,
                rate(pass.messages_per_second),
                mib(pass.peak_rss_bytes),
                tenths.join(" "),
                activity(pass.postgres),
                speed(pass.cores),
                busy(pass.cpu)
            )?;
        }
        if let Some(c) = &self.copy {
            writeln!(
                f,
                "| binary COPY of the tick rows (rows/s) | {} | | | {} | {} | |",
                rate(c.rows_per_second),
                activity(c.postgres),
                speed(c.cores)
            )?;
        }
        if let Some(live) = &self.live {
            let l = &live.latency;
            writeln!(f)?;
            writeln!(
                f,
                "live: --workers {}{}, --lateness {}ms, --commit-interval {}ms; offered {}/s, achieved {}/s over {} messages",
                live.workers,
                if live.tick_rows { "" } else { " --no-ticks" },
                live.lateness_ms,
                live.commit_interval_ms,
                rate(l.offered_rate as f64),
                rate(l.achieved_rate),
                l.measured
            )?;
            writeln!(
                f,
                "produce -> pair_metrics commit: p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms; {} unobserved; peak RSS {}",
                l.p50_ms,
                l.p99_ms,
                l.max_ms,
                l.unobserved,
                mib(live.peak_rss_bytes)
            )?;
            writeln!(
                f,
                "of which before the commit began: p50 {:.0} ms, p99 {:.0} ms; in the commit: p50 {:.0} ms, p99 {:.0} ms",
                l.before_commit.p50_ms,
                l.before_commit.p99_ms,
                l.in_commit.p50_ms,
                l.in_commit.p99_ms
            )?;
            if live.postgres.is_some() {
                writeln!(
                    f,
                    "PostgreSQL during the pass (checkpoints, WAL): {}",
                    activity(live.postgres)
                )?;
            }
            writeln!(
                f,
                "cores before the pass (one thread, two ×): {}",
                speed(live.cores)
            )?;
            writeln!(
                f,
                "cores busy during the pass (pipeline, bench's producer and observer, rest): {}",
                busy(live.cpu)
            )?;
        }
        if !self.targets.is_empty() {
            writeln!(f)?;
            writeln!(f, "| target | measured | bound | met |")?;
            writeln!(f, "|---|---:|---:|---|")?;
            for t in &self.targets {
                writeln!(
                    f,
                    "| {} | {:.2} | {:.2} | {} |",
                    t.name,
                    t.measured,
                    t.bound,
                    if t.met { "yes" } else { "no" }
                )?;
            }
        }
        Ok(())
    }
}
