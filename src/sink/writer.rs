//! The writer: the one task that owns the Postgres connections.
//!
//! Workers send it updates (with the grid time they were emitted at), sink frontiers and source
//! reports over a bounded channel; when the channel is full the workers block, which stops the
//! sources reading (backpressure). Every `--commit-interval` it commits a cut
//! (`tickflow_dataflows::cut`) in one transaction: the cut is the least sink frontier, so it holds
//! every update emitted before it. It writes those updates (tick rows as they came, each read once;
//! the rest folded through [`Tables`] so each key is written once), with the rolling-history
//! segments and the pipeline's frontier that make them resumable, the positions the sources stated
//! for that cut, and the dead letters (idempotent, so they need no cut). Updates at or after the
//! cut wait for a later one. After the commit, the positions also go to the Kafka consumer group,
//! for lag tools only.
//!
//! Tick rows are copied into the next transaction as the frontier completes them ([`TickCopy`]),
//! so a commit is left with only the copy's end and the few rows per pair, which is what a live
//! row waits for. A commit runs as a task of its own on one of two connections, in turn, while
//! the writer goes on receiving and folding the next batch and copies its tick rows into a
//! transaction open on the other: PostgreSQL stores one batch while the graph computes the next,
//! and two backends store tick rows at once (a replay makes them faster than one backend stores
//! them: tick-row replays ran 15–20 % faster, README "Benchmarks", thirty-eighth sitting).
//! One commit is in flight at a time, so cuts are stored in order, and each is still one
//! transaction: the next one's rows stay invisible until it commits after it.
//!
//! A commit also comes early, once `COMMIT_EVERY_ROWS` tick rows and rolling-history entries
//! arrived since the last one: a replay computes far faster than PostgreSQL stores, and without
//! that bound the first interval alone would gather a large part of the stream in memory. Pair
//! and window rows do not count: each replaces its key's row, so they stay as many as the keys.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use futures::future::{Fuse, FusedFuture, FutureExt};
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::{Offset, TopicPartitionList};
use tickflow_dataflows::{cell, Micros, PartitionCut, Tables, TickRow, Update, CUT_GRID};
use tokio::sync::mpsc::Receiver;
use tokio::task::JoinHandle;
use tokio_postgres::types::ToSql;
use tokio_postgres::Client;

use super::expiry::{self, Expiry};
use super::history;
use super::session::{Session, BEGIN};
use super::tables::{
    self, DeadValues, PairValues, TickValues, WindowValues, DEAD_LETTERS, HISTORY, PAIRS,
    POSITIONS, TICKS, WINDOWS,
};
use super::tick_copy::TickCopy;
use super::{DeadLetter, Position, ToWriter};
use crate::kafka::Quiet;
use crate::store::{self, timestamp, StoreError};

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
    /// The stored cut's frontier the run resumed from.
    pub resumed_at: Micros,
    /// The consumer group's client, to mirror positions for lag tools.
    pub group: Option<BaseConsumer<Quiet>>,
    /// When the process started, for the time to its first commit.
    pub started: Instant,
}

/// Tick rows and rolling-history entries received since the last commit that bring the next one
/// forward. Large enough that the per-commit statements (a row per pair touched, a history
/// segment per pair, the state, the `COMMIT`) stay a small share.
const COMMIT_EVERY_ROWS: usize = 65_536;

/// First wait after a failed commit; it doubles up to [`RETRY_MAX`].
const RETRY_FIRST: Duration = Duration::from_millis(100);
/// Longest wait between attempts.
const RETRY_MAX: Duration = Duration::from_secs(5);

/// What was received and not yet committed.
#[derive(Default)]
struct Pending {
    /// Pair, window and history updates before the least sink frontier, folded as they become
    /// complete: a pair's rows of successive cells replace each other here, so only one per key
    /// waits for the commit.
    ready: Tables,
    /// Tick rows before it, in the order they became complete. The Kafka source admits each
    /// offset once in a run, so they are distinct and need no folding: the copy streams them
    /// from here, with no map to insert into and look up again.
    ticks: Vec<TickRow>,
    /// How many of [`Pending::ticks`] are copied into the open transaction.
    copied: usize,
    /// The tick buffer of the last commit, emptied, which the next batch's ticks fill. Grown
    /// from empty in every batch instead (to [`COMMIT_EVERY_ROWS`] rows and more), a buffer
    /// copied its rows again at each doubling, into freshly faulted pages.
    spare: Vec<TickRow>,
    /// Updates at or after it, by the grid time they were emitted at; within a time, in
    /// arrival order. Every frontier message folds what it completes, so nothing here is
    /// before the cut the frontiers give.
    updates: BTreeMap<Micros, Vec<Vec<Update>>>,
    /// Copying ahead failed for the ticks ready now: their commit writes them all.
    copy_failed: bool,
    /// Tick rows and history entries received since the last commit took its batch.
    received: usize,
    dead: Vec<DeadLetter>,
    /// The sources' statements of what cuts cover, by (topic, partition), in order of the grid
    /// times they reach.
    cuts: BTreeMap<(u32, i32), VecDeque<Position>>,
}

/// One transaction's content.
struct Batch {
    tables: Tables,
    ticks: Vec<TickRow>,
    dead: Vec<DeadLetter>,
    positions: Vec<Position>,
    /// The stored cut's frontier after this commit, when it moves.
    frontier: Option<Micros>,
    /// For each pair of `tables.history`, in its order, where its expiry starts
    /// ([`Expiry::since`]).
    expire_since: Vec<Micros>,
}

impl Pending {
    /// Keeps a committed batch's tick buffer, emptied, unless the one kept is larger: a batch
    /// prepared with nothing ready took no buffer, and its empty one must not replace it.
    fn keep_spare(&mut self, mut ticks: Vec<TickRow>) {
        ticks.clear();
        if ticks.capacity() > self.spare.capacity() {
            self.spare = ticks;
        }
    }
}

impl Batch {
    /// Nothing to write: no rows, no dead letters, no positions.
    fn is_empty(&self) -> bool {
        self.tables.is_empty()
            && self.ticks.is_empty()
            && self.dead.is_empty()
            && self.positions.is_empty()
    }
}

/// A commit's connection and batch, given back whatever its outcome.
type Committed = (Session, Batch, Result<(), StoreError>);

/// How far the stored state has come.
struct Progress {
    /// The stored cut's frontier.
    frontier: Micros,
    /// Past every window end and processing time committed: where the frontier goes when the
    /// input is exhausted and every window is final.
    reach: Micros,
    /// Whether a commit moved the stored cut yet.
    committed: bool,
    /// How far each pair's rolling history is expired.
    expiry: Expiry,
}

/// Runs until every sender is gone, then commits what is left.
pub async fn run(
    client: Client,
    config: WriterConfig,
    mut rx: Receiver<ToWriter>,
    stats: Arc<Stats>,
) -> Result<(), StoreError> {
    create_stages(&client).await?;
    let other = store::connect(&config.postgres, &config.schema).await?;
    create_stages(&other).await?;
    let config = Arc::new(config);
    let mut frontiers: Vec<Option<Micros>> = vec![Some(0); config.workers];
    let mut pending = Pending::default();
    let mut progress = Progress {
        frontier: config.resumed_at,
        reach: config.resumed_at,
        committed: false,
        expiry: Expiry::default(),
    };
    let mut ticker = tokio::time::interval(config.commit_interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The connections no commit has, in the order they take the next ones: the first holds the
    // next transaction, open while tick rows are copied into it (`copy`). A commit hands its
    // connection back to the end of the line.
    let mut idle = VecDeque::from([Session::new(client), Session::new(other)]);
    let mut copy: Option<TickCopy> = None;
    // The commit in flight, if any: terminated once it has given its connection back.
    let mut committing = Fuse::<JoinHandle<Committed>>::terminated();
    let (mut due, mut input_done) = (false, false);
    loop {
        let in_flight = !committing.is_terminated();
        let receiving = !input_done && (!in_flight || pending.received < COMMIT_EVERY_ROWS);
        tokio::select! {
            message = rx.recv(), if receiving => match message {
                Some(message) => receive(message, &mut pending, &mut frontiers),
                None => input_done = true,
            },
            _ = ticker.tick(), if !in_flight => due = true,
            joined = &mut committing, if in_flight => {
                let (client, batch, outcome) =
                    joined.unwrap_or_else(|error| std::panic::resume_unwind(error.into_panic()));
                idle.push_back(client);
                outcome?;
                settle(&config, &batch, &mut progress, &stats);
                pending.keep_spare(batch.ticks);
            }
        }
        // Right before any commit takes the connection: so an open copy holds every ready tick.
        if let Some(client) = idle.front() {
            copy_ahead(client, &config, &mut pending, &mut copy).await;
        }
        let early = pending.received >= COMMIT_EVERY_ROWS;
        if !committing.is_terminated() || !(due || early || input_done) {
            continue;
        }
        let Some(client) = idle.pop_front() else {
            continue;
        };
        let batch = prepare(&mut pending, &frontiers, &mut progress);
        if batch.is_empty() {
            idle.push_front(client);
            if input_done {
                return Ok(());
            }
        } else {
            let commit = commit_retrying(client, config.clone(), batch, copy.take());
            committing = tokio::spawn(commit).fuse();
        }
        due = false;
        if early {
            ticker.reset();
        }
    }
}

fn receive(message: ToWriter, pending: &mut Pending, frontiers: &mut [Option<Micros>]) {
    match message {
        ToWriter::Updates { time, updates } => {
            pending.received += updates.iter().map(accumulates).sum::<usize>();
            pending.updates.entry(time).or_default().push(updates)
        }
        ToWriter::Frontier { worker, frontier } => {
            if let Some(slot) = frontiers.get_mut(worker) {
                *slot = frontier;
            }
            fold_ready(pending, cut(frontiers));
        }
        ToWriter::Source(report) => {
            pending.dead.extend(report.dead);
            for p in report.cuts {
                pending
                    .cuts
                    .entry((p.topic, p.partition))
                    .or_default()
                    .push_back(p);
            }
        }
    }
}

/// The rows `update` adds to what waits for the next commit, beyond a row per key.
fn accumulates(update: &Update) -> usize {
    match update {
        Update::Tick(_) => 1,
        Update::History(row) => row.entries.len(),
        Update::Pair(_) | Update::Window(_) => 0,
    }
}

/// The least sink frontier: every update before it has been received.
fn cut(frontiers: &[Option<Micros>]) -> Micros {
    frontiers
        .iter()
        .flatten()
        .min()
        .copied()
        .unwrap_or(Micros::MAX)
}

/// Folds the updates before `cut` into [`Pending::ready`], in the order they were emitted.
fn fold_ready(pending: &mut Pending, cut: Micros) {
    let later = match cut {
        Micros::MAX => BTreeMap::new(),
        cut => pending.updates.split_off(&cut),
    };
    for batches in std::mem::replace(&mut pending.updates, later).into_values() {
        for update in batches.into_iter().flatten() {
            match update {
                Update::Tick(row) => pending.ticks.push(row),
                update => pending.ready.apply(update),
            }
        }
    }
}

/// Copies the ready ticks not copied yet into the open transaction, beginning it if needed.
/// A failure only ends the copy: its transaction is rolled back and the commit writes every
/// row itself, with the retries a commit has.
async fn copy_ahead(
    client: &Session,
    config: &WriterConfig,
    pending: &mut Pending,
    copy: &mut Option<TickCopy>,
) {
    if pending.copied == pending.ticks.len() || pending.copy_failed {
        return;
    }
    let rows = &pending.ticks[pending.copied..];
    let copied = async {
        let open = match copy {
            Some(open) => open,
            None => copy.insert(TickCopy::begin(client).await?),
        };
        open.write(tick_values(config, rows)).await
    };
    let copied = copied.await;
    pending.copied = pending.ticks.len();
    if let Err(error) = copied {
        tracing::debug!(%error, "copying tick rows ahead of their commit; the commit writes them");
        *copy = None;
        pending.copy_failed = true;
        roll_back(client).await;
    }
}

/// The `ticks` columns of `rows`.
fn tick_values<'a>(
    config: &'a WriterConfig,
    rows: &'a [TickRow],
) -> impl Iterator<Item = TickValues<'a>> + Clone + 'a {
    rows.iter()
        .map(|row| TickValues::new(topic(config, row.tick.origin.topic), row))
}

/// The name of topic `index`.
fn topic(config: &WriterConfig, index: u32) -> &str {
    config.topics.get(index as usize).map_or("", String::as_str)
}

/// Ends whatever transaction the connection has open; a connection that is gone has none.
async fn roll_back(client: &Client) {
    if let Err(error) = client.batch_execute("ROLLBACK").await {
        tracing::debug!(%error, "rolling back");
    }
}

/// Takes what the next transaction commits: the cut at the least sink frontier (everything,
/// once every sink is done), its updates, the sources' statements for it, and the dead letters.
/// A finished input is stored at the grid time past every window end and processing time
/// committed, so every window is final and a later run's ticks for them are late.
fn prepare(pending: &mut Pending, frontiers: &[Option<Micros>], progress: &mut Progress) -> Batch {
    pending.received = 0;
    pending.copy_failed = false;
    let dead = std::mem::take(&mut pending.dead);
    let cut = cut(frontiers);
    // Nothing is ready here: every update before the stored frontier went with the commit that
    // stored it, so no tick of a later cut has been copied into the open transaction.
    if cut <= progress.frontier {
        return Batch {
            tables: Tables::default(),
            ticks: Vec::new(),
            dead,
            positions: Vec::new(),
            frontier: None,
            expire_since: Vec::new(),
        };
    }
    let tables = std::mem::take(&mut pending.ready);
    // Copied already, or (after a failed copy) to be written by the commit with the rest.
    let ticks = std::mem::replace(&mut pending.ticks, std::mem::take(&mut pending.spare));
    pending.copied = 0;
    progress.reach = progress.reach.max(reach(&tables));
    let stored = match cut {
        Micros::MAX => cell(progress.reach.saturating_add(CUT_GRID - 1)),
        cut => cut,
    }
    .max(progress.frontier);
    // Statements ending before the cut are spent; one ending at it serves no later cut either.
    let positions = pending
        .cuts
        .values_mut()
        .filter_map(|stated| {
            while stated.front().is_some_and(|p| p.cut.frontier < cut) {
                stated.pop_front();
            }
            let p = match stated.front() {
                Some(p) if p.cut.frontier == cut => stated.pop_front(),
                front => front.copied(),
            }?;
            Some(Position {
                cut: PartitionCut {
                    frontier: stored,
                    ..p.at(cut)
                },
                ..p
            })
        })
        .collect();
    let expire_since = tables
        .history
        .iter()
        .map(|(pair, h)| progress.expiry.since(pair, expiry::newest(&h.entries)))
        .collect();
    Batch {
        tables,
        ticks,
        dead,
        positions,
        frontier: Some(stored),
        expire_since,
    }
}

/// Commits `batch`, and while PostgreSQL is unreachable keeps trying with capped exponential
/// backoff. Meanwhile the writer receives only until [`COMMIT_EVERY_ROWS`] more rows
/// arrived, then the workers block on the full channel and the sources stop reading: an outage
/// holds the input instead of buffering it. A stop requested during an outage ends the run with
/// the error, and what was not committed is read again next time. Gives the connection back,
/// with the batch, whatever the outcome. `copy` is the batch's transaction with all its ticks
/// copied; a retry begins anew and copies them itself.
async fn commit_retrying(
    mut client: Session,
    config: Arc<WriterConfig>,
    batch: Batch,
    mut copy: Option<TickCopy>,
) -> Committed {
    let started = Instant::now();
    let mut delay = RETRY_FIRST;
    let mut attempt = 0u32;
    loop {
        let written = write(&client, &config, &batch, copy.take()).await;
        if written.is_err() {
            roll_back(&client).await;
        }
        let error = match written {
            Ok(()) => {
                if attempt > 0 {
                    tracing::info!(attempts = attempt, "postgres is back; committed");
                }
                break;
            }
            Err(error) if error.is_transient() && !config.shutdown.load(Ordering::Relaxed) => error,
            Err(error) => return (client, batch, Err(error)),
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
            Ok(fresh) => client = Session::new(fresh),
            Err(error) if error.is_transient() => {}
            Err(error) => return (client, batch, Err(error)),
        }
    }
    tracing::debug!(
        rows = batch.tables.len() + batch.ticks.len(),
        dead = batch.dead.len(),
        positions = batch.positions.len(),
        frontier = batch.frontier,
        took_ms = started.elapsed().as_millis() as u64,
        "committed"
    );
    (client, batch, Ok(()))
}

/// What follows a commit: the stored cut moves, the consumer group and the counters learn of it.
fn settle(config: &WriterConfig, batch: &Batch, progress: &mut Progress, stats: &Stats) {
    if let Some(frontier) = batch.frontier {
        progress.frontier = frontier;
        for (pair, h) in &batch.tables.history {
            let newest = expiry::newest(&h.entries);
            progress.expiry.committed(pair, h.keep_after, newest);
        }
        if !progress.committed {
            progress.committed = true;
            let ms = config.started.elapsed().as_millis() as u64;
            tracing::info!(since_start_ms = ms, frontier, "first commit of results");
        }
    }
    mirror_to_group(config, &batch.positions);
    stats
        .ticks
        .fetch_add(batch.ticks.len() as u64, Ordering::Relaxed);
    stats
        .dead_letters
        .fetch_add(batch.dead.len() as u64, Ordering::Relaxed);
    stats.commits.fetch_add(1, Ordering::Relaxed);
}

/// Past every window end and processing time in `tables`.
fn reach(tables: &Tables) -> Micros {
    let windows = tables.windows.keys().map(|k| k.start + k.width);
    let pairs = tables.pairs.values().map(|p| p.last.tick.due + 1);
    windows.chain(pairs).max().unwrap_or(0)
}

/// Commits the positions to the Kafka consumer group, so lag tools see the pipeline. They are
/// never read back: the stored cut is the truth.
fn mirror_to_group(config: &WriterConfig, positions: &[Position]) {
    let Some(group) = config.group.as_ref().filter(|_| !positions.is_empty()) else {
        return;
    };
    let mut tpl = TopicPartitionList::new();
    for p in positions {
        if tpl
            .add_partition_offset(
                topic(config, p.topic),
                p.partition,
                Offset::Offset(p.cut.next_offset),
            )
            .is_err()
        {
            return;
        }
    }
    if let Err(error) = group.commit(&tpl, CommitMode::Async) {
        tracing::debug!(%error, "mirroring positions to the consumer group");
    }
}

/// The staging tables of a connection (temporary: each new connection needs its own).
async fn create_stages(client: &Client) -> Result<(), StoreError> {
    tables::create_stages(
        client,
        &[
            &TICKS,
            &PAIRS,
            &WINDOWS,
            &DEAD_LETTERS,
            &POSITIONS,
            &HISTORY,
        ],
    )
    .await
}

/// Writes one batch in one transaction: the one `copy` began, which holds the batch's ticks,
/// or a new one.
async fn write(
    client: &Session,
    config: &WriterConfig,
    batch: &Batch,
    copy: Option<TickCopy>,
) -> Result<(), StoreError> {
    let now = Utc::now();
    let tables = &batch.tables;
    let every_tick = tick_values(config, &batch.ticks);
    match copy {
        Some(open) => open.close(client, every_tick).await?,
        None if batch.ticks.is_empty() => client.batch_execute(BEGIN).await?,
        None => {
            let mut open = TickCopy::begin(client).await?;
            open.write(every_tick.clone()).await?;
            open.close(client, every_tick).await?;
        }
    }
    PAIRS
        .write(
            client,
            tables.pairs.values().map(|r| PairValues::new(r, &now)),
        )
        .await?;
    WINDOWS
        .write(
            client,
            tables.windows.values().map(|r| WindowValues::new(r, &now)),
        )
        .await?;
    DEAD_LETTERS
        .write(
            client,
            batch
                .dead
                .iter()
                .map(|d| DeadValues::new(topic(config, d.origin.topic), d, &now)),
        )
        .await?;
    if let Some(frontier) = batch.frontier {
        write_state(client, config, batch, frontier, &now).await?;
    }
    client.batch_execute("COMMIT").await?;
    Ok(())
}

/// The pipeline's frontier, in the one row of `pipeline_state`.
const STORE_FRONTIER: &str = "
    INSERT INTO pipeline_state (pipeline, frontier, updated_at) VALUES ($1, $2, $3)
    ON CONFLICT (singleton) DO UPDATE
    SET pipeline = EXCLUDED.pipeline, frontier = EXCLUDED.frontier, updated_at = EXCLUDED.updated_at";

/// The resumable part of a cut: positions, rolling-history segments (and the expiry of those
/// no longer kept) and the pipeline's frontier.
async fn write_state(
    client: &Session,
    config: &WriterConfig,
    batch: &Batch,
    frontier: Micros,
    now: &chrono::DateTime<Utc>,
) -> Result<(), StoreError> {
    let stored_at = timestamp(frontier);
    let places: Vec<(&str, &Position)> = batch
        .positions
        .iter()
        .map(|p| (topic(config, p.topic), p))
        .collect();
    let rows: Vec<Vec<&(dyn ToSql + Sync)>> = places
        .iter()
        .map(|(t, p)| {
            vec![
                &config.pipeline as &(dyn ToSql + Sync),
                t,
                &p.partition,
                &p.cut.next_offset,
                &p.cut.read_to,
                &stored_at,
                now,
            ]
        })
        .collect();
    POSITIONS.write(client, rows.iter()).await?;

    let segment = frontier as i64;
    let segments: Vec<(&String, chrono::DateTime<Utc>, Vec<u8>)> = batch
        .tables
        .history
        .iter()
        .filter_map(|(pair, h)| {
            let newest = expiry::newest(&h.entries)?;
            Some((pair, timestamp(newest), history::encode(&h.entries)))
        })
        .collect();
    let rows: Vec<Vec<&(dyn ToSql + Sync)>> = segments
        .iter()
        .map(|(pair, newest, bytes)| vec![*pair as &(dyn ToSql + Sync), &segment, newest, bytes])
        .collect();
    HISTORY.write(client, rows.iter()).await?;
    let expiring = &batch.tables.history;
    if !expiring.is_empty() {
        let pairs: Vec<&str> = expiring.keys().map(String::as_str).collect();
        let since: Vec<_> = batch.expire_since.iter().map(|&t| timestamp(t)).collect();
        let keep_after: Vec<_> = expiring.values().map(|h| timestamp(h.keep_after)).collect();
        let expire = client.prepared(expiry::EXPIRE).await?;
        client
            .execute(&expire, &[&pairs, &since, &keep_after])
            .await?;
    }
    let store_frontier = client.prepared(STORE_FRONTIER).await?;
    client
        .execute(&store_frontier, &[&config.pipeline, &stored_at, now])
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kept_tick_buffer_is_replaced_only_by_a_larger_one() {
        let mut pending = Pending::default();
        pending.keep_spare(Vec::with_capacity(64));
        pending.keep_spare(Vec::new());
        assert!(pending.spare.capacity() >= 64);
        pending.keep_spare(Vec::with_capacity(1024));
        assert!(pending.spare.capacity() >= 1024);
        assert!(pending.spare.is_empty());
    }
}
