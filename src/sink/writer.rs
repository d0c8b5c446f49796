//! The writer: the one task that owns the Postgres connection.
//!
//! Workers send it updates, frontiers and source reports over a bounded channel; when the
//! channel is full the workers block, which stops the sources reading (backpressure). Every
//! `--commit-interval` it writes all it holds in one transaction: the rows, folded through
//! [`Tables`] so each key is written once, the dead letters, and the positions every worker's
//! sink frontier has passed.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tickflow_dataflows::{Micros, Tables};
use tokio::sync::mpsc::Receiver;
use tokio_postgres::types::ToSql;
use tokio_postgres::Client;

use super::tables::{
    DeadValues, PairValues, TickValues, WindowValues, DEAD_LETTERS, PAIRS, POSITIONS, TICKS,
    WINDOWS,
};
use super::{DeadLetter, Position, ToWriter};
use crate::store::{self, StoreError};

/// Counters the status line and the replay summary read.
#[derive(Debug, Default)]
pub struct Stats {
    /// `ticks` rows committed (none under `--no-ticks`).
    pub ticks: AtomicU64,
    /// Dead letters committed.
    pub dead_letters: AtomicU64,
    /// Transactions committed.
    pub commits: AtomicU64,
}

/// Which pipeline writes, and where.
pub struct WriterConfig {
    /// `--group`.
    pub pipeline: String,
    /// Topic names by index.
    pub topics: Vec<String>,
    /// Timely workers whose frontiers gate positions.
    pub workers: usize,
    /// `--commit-interval`.
    pub commit_interval: Duration,
    /// `--postgres`, to reconnect after an outage.
    pub postgres: String,
    /// `--schema`.
    pub schema: String,
    /// Set on Ctrl-C: stop retrying.
    pub shutdown: Arc<AtomicBool>,
}

/// First wait after a failed commit; it doubles up to [`RETRY_MAX`].
const RETRY_FIRST: Duration = Duration::from_millis(100);
/// Longest wait between attempts.
const RETRY_MAX: Duration = Duration::from_secs(5);

/// Rows and positions received and not yet committed.
#[derive(Default)]
struct Pending {
    tables: Tables,
    dead: Vec<DeadLetter>,
    /// Reported positions by (topic, partition), in report order.
    positions: BTreeMap<(u32, i32), Vec<Position>>,
}

/// Runs until every sender is gone, then commits what is left.
pub async fn run(
    mut client: Client,
    config: WriterConfig,
    mut rx: Receiver<ToWriter>,
    stats: Arc<Stats>,
) -> Result<(), StoreError> {
    create_stages(&client).await?;
    let mut frontiers: Vec<Option<Micros>> = vec![Some(0); config.workers];
    let mut pending = Pending::default();
    let mut ticker = tokio::time::interval(config.commit_interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            message = rx.recv() => match message {
                Some(message) => receive(message, &mut pending, &mut frontiers),
                None => break,
            },
            _ = ticker.tick() => commit_retrying(&mut client, &config, &mut pending, &frontiers, &stats).await?,
        }
    }
    commit_retrying(&mut client, &config, &mut pending, &frontiers, &stats).await
}

fn receive(message: ToWriter, pending: &mut Pending, frontiers: &mut [Option<Micros>]) {
    match message {
        ToWriter::Updates(updates) => pending.tables.extend(updates),
        ToWriter::Frontier { worker, frontier } => {
            if let Some(slot) = frontiers.get_mut(worker) {
                *slot = frontier;
            }
        }
        ToWriter::Source(report) => {
            pending.dead.extend(report.dead);
            for p in report.positions {
                pending
                    .positions
                    .entry((p.topic, p.partition))
                    .or_default()
                    .push(p);
            }
        }
    }
}

/// The positions every sink has passed: per partition, how many of its reports are fully
/// processed and the last of them (reports of a partition have non-decreasing `max_due`).
/// They are dropped only once the commit that writes them succeeded.
fn committable(
    pending: &Pending,
    frontiers: &[Option<Micros>],
) -> Vec<((u32, i32), usize, Position)> {
    let passed = |due: Micros| frontiers.iter().all(|f| f.is_none_or(|f| due < f));
    pending
        .positions
        .iter()
        .filter_map(|(&key, reports)| {
            let n = reports.partition_point(|p| passed(p.max_due));
            (n > 0).then(|| (key, n, reports[n - 1]))
        })
        .collect()
}

/// Commits, and while PostgreSQL is unreachable keeps trying with capped exponential backoff.
/// Meanwhile nothing is received, so the workers block on the full channel and the sources
/// stop reading: an outage holds the input instead of buffering it. A stop requested during
/// an outage ends the run with the error, and what was not committed is read again next time.
async fn commit_retrying(
    client: &mut Client,
    config: &WriterConfig,
    pending: &mut Pending,
    frontiers: &[Option<Micros>],
    stats: &Stats,
) -> Result<(), StoreError> {
    let mut delay = RETRY_FIRST;
    let mut attempt = 0u32;
    loop {
        let error = match commit(client, config, pending, frontiers, stats).await {
            Ok(()) => {
                if attempt > 0 {
                    tracing::info!(attempts = attempt, "postgres is back; committed");
                }
                return Ok(());
            }
            Err(error) if error.is_transient() && !config.shutdown.load(Ordering::Relaxed) => error,
            Err(error) => return Err(error),
        };
        attempt += 1;
        tracing::warn!(%error, attempt, retry_in = ?delay, "postgres unavailable; input held, retrying");
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(RETRY_MAX);
        let reconnected = async {
            let fresh = store::connect(&config.postgres, &config.schema).await?;
            create_stages(&fresh).await?;
            Ok::<_, StoreError>(fresh)
        };
        match reconnected.await {
            Ok(fresh) => *client = fresh,
            Err(error) if error.is_transient() => {}
            Err(error) => return Err(error),
        }
    }
}

/// The staging tables of a connection (temporary: each new connection needs its own).
async fn create_stages(client: &Client) -> Result<(), StoreError> {
    for table in [&TICKS, &PAIRS, &WINDOWS, &DEAD_LETTERS, &POSITIONS] {
        table.create_stage(client).await?;
    }
    Ok(())
}

async fn commit(
    client: &mut Client,
    config: &WriterConfig,
    pending: &mut Pending,
    frontiers: &[Option<Micros>],
    stats: &Stats,
) -> Result<(), StoreError> {
    let covered = committable(pending, frontiers);
    let positions: Vec<Position> = covered.iter().map(|&(_, _, p)| p).collect();
    if pending.tables.is_empty() && pending.dead.is_empty() && positions.is_empty() {
        return Ok(());
    }
    let now = Utc::now();
    let topic = |i: u32| config.topics.get(i as usize).map_or("", String::as_str);
    let tx = client.transaction().await?;
    let tables = &pending.tables;
    let ticks: Vec<TickValues> = tables
        .ticks
        .values()
        .map(|r| TickValues::new(topic(r.tick.origin.topic), r))
        .collect();
    TICKS
        .write(
            &tx,
            &ticks
                .iter()
                .map(TickValues::tick_columns)
                .collect::<Vec<_>>(),
        )
        .await?;
    let pairs: Vec<PairValues> = tables
        .pairs
        .values()
        .map(|r| PairValues::new(r, &now))
        .collect();
    PAIRS
        .write(
            &tx,
            &pairs.iter().map(PairValues::columns).collect::<Vec<_>>(),
        )
        .await?;
    let windows: Vec<WindowValues> = tables
        .windows
        .values()
        .map(|r| WindowValues::new(r, &now))
        .collect();
    WINDOWS
        .write(
            &tx,
            &windows
                .iter()
                .map(WindowValues::columns)
                .collect::<Vec<_>>(),
        )
        .await?;
    let dead: Vec<DeadValues> = pending
        .dead
        .iter()
        .map(|d| DeadValues::new(topic(d.origin.topic), d, &now))
        .collect();
    DEAD_LETTERS
        .write(
            &tx,
            &dead.iter().map(DeadValues::columns).collect::<Vec<_>>(),
        )
        .await?;
    let places: Vec<(&str, i32, i64)> = positions
        .iter()
        .map(|p| (topic(p.topic), p.partition, p.next_offset))
        .collect();
    let rows: Vec<Vec<&(dyn ToSql + Sync)>> = places
        .iter()
        .map(|(t, p, n)| vec![&config.pipeline as &(dyn ToSql + Sync), t, p, n, &now])
        .collect();
    POSITIONS.write(&tx, &rows).await?;
    tx.commit().await?;
    for (key, n, _) in covered {
        if let Some(reports) = pending.positions.get_mut(&key) {
            reports.drain(..n);
        }
    }

    stats
        .ticks
        .fetch_add(pending.tables.ticks.len() as u64, Ordering::Relaxed);
    stats
        .dead_letters
        .fetch_add(pending.dead.len() as u64, Ordering::Relaxed);
    stats.commits.fetch_add(1, Ordering::Relaxed);
    tracing::debug!(
        rows = pending.tables.len(),
        dead = pending.dead.len(),
        positions = positions.len(),
        "committed"
    );
    pending.tables = Tables::default();
    pending.dead.clear();
    Ok(())
}
