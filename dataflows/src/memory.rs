//! The whole graph on in-memory messages, on `workers` threads.
//!
//! This is the Kafka source without Kafka: each worker takes the [`Logs`] of the partitions
//! [`owner`] gives it, reads them round-robin `batch` messages at a time, admits each message,
//! batches the ticks by the worker that owns their pair ([`ByOwner`]), and advances its input to
//! the frontier its [`Clocks`] allow. Partitions are finite, so each is finished when read to its
//! end, exactly like a bounded run. Tests compare its tables across worker counts and against a
//! naive reference; benches measure it.

use std::cell::RefCell;
use std::ops::Range;
use std::rc::Rc;
use std::sync::{mpsc, Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use timely::communication::WorkerGuards;
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::operators::Probe;
use timely::dataflow::{InputHandleVec, ProbeHandle};
use timely::worker::Worker;

use crate::admit::{admit, Admission, LatePolicy};
use crate::clock::{owner, Clocks, PartitionKey};
use crate::config::MetricsConfig;
use crate::decode::Rejection;
use crate::operators::QuoteMetrics;
use crate::output::Update;
use crate::quote::{Micros, Origin, Tick};
use crate::route::ByOwner;
use crate::tables::Tables;

/// How the in-memory source reads.
#[derive(Clone, Debug)]
pub struct MemorySource {
    /// Subtracted from the watermark to give the frontier.
    pub lateness: Micros,
    /// What late quotes become.
    pub late: LatePolicy,
    /// Messages read from a partition before moving to the next one.
    pub batch: usize,
}

/// A partition's messages, in offset order: their values end to end in one buffer, as a Kafka
/// fetch response holds them, and where each lies in it. Runs share the buffer and read slices
/// of it, as the Kafka source reads librdkafka's: the graph starts at a message's bytes and
/// neither makes nor frees them. When each message was its own allocation, made by the bench's
/// thread and freed by the worker that read it, those frees were most of what two workers lost
/// against one in a slow stretch (README, "Benchmarks").
#[derive(Clone, Debug)]
struct Log {
    key: PartitionKey,
    values: Arc<[u8]>,
    messages: Arc<[(Origin, Range<usize>)]>,
}

impl Log {
    fn value(&self, at: &Range<usize>) -> &[u8] {
        &self.values[at.clone()]
    }
}

/// Messages as a Kafka topic holds them: a log per partition. A worker reads the logs of the
/// partitions it owns. Cloning shares the buffers, so every run of a bench reads the same input
/// without copying it.
#[derive(Clone, Debug, Default)]
pub struct Logs(Vec<Log>);

impl Logs {
    /// Every message, partition by partition.
    pub fn messages(&self) -> impl Iterator<Item = (Origin, &[u8])> {
        self.0.iter().flat_map(|log| {
            log.messages
                .iter()
                .map(move |(origin, at)| (*origin, log.value(at)))
        })
    }

    /// The logs each of `peers` workers owns.
    fn by_owner(self, peers: usize) -> Vec<Vec<Log>> {
        let mut shares: Vec<Vec<Log>> = (0..peers).map(|_| Vec::new()).collect();
        for log in self.0 {
            shares[owner(log.key, peers)].push(log);
        }
        shares
    }
}

impl From<Vec<(Origin, Vec<u8>)>> for Logs {
    /// Each partition's messages in the order given.
    fn from(messages: Vec<(Origin, Vec<u8>)>) -> Self {
        type Building = (PartitionKey, Vec<u8>, Vec<(Origin, Range<usize>)>);
        let mut logs: Vec<Building> = Vec::new();
        for (origin, value) in messages {
            let key = (origin.topic, origin.partition);
            let at = match logs.iter().position(|(k, ..)| *k == key) {
                Some(at) => at,
                None => {
                    logs.push((key, Vec::new(), Vec::new()));
                    logs.len() - 1
                }
            };
            let (_, values, ranges) = &mut logs[at];
            let start = values.len();
            values.extend_from_slice(&value);
            ranges.push((origin, start..values.len()));
        }
        let logs = logs.into_iter().map(|(key, values, messages)| Log {
            key,
            values: values.into(),
            messages: messages.into(),
        });
        Logs(logs.collect())
    }
}

/// What a run produced.
#[derive(Debug, Default)]
pub struct Outcome {
    /// The result tables.
    pub tables: Tables,
    /// Dead letters, by origin.
    pub dead: Vec<(Origin, Rejection)>,
}

/// Runs the graph over `messages` (each partition's messages in offset order) to completion.
pub fn run(
    messages: impl Into<Logs>,
    metrics: MetricsConfig,
    source: MemorySource,
    workers: usize,
) -> Outcome {
    let mut outcome = Outcome::default();
    for (updates, dead) in execute(messages, metrics, source, workers, collect) {
        outcome.tables.extend(updates);
        outcome.dead.extend(dead);
    }
    outcome.dead.sort_by_key(|(origin, _)| *origin);
    outcome
}

/// Runs the graph like [`run`] and only counts the updates it emits: what a benchmark of the
/// graph itself measures.
pub fn count(
    messages: impl Into<Logs>,
    metrics: MetricsConfig,
    source: MemorySource,
    workers: usize,
) -> usize {
    execute(messages, metrics, source, workers, tally)
        .into_iter()
        .map(|(n, _)| n)
        .sum()
}

/// Keeps every update.
fn collect(batch: &mut Vec<Update>, all: &mut Vec<Update>) {
    all.append(batch);
}

/// Counts a batch of updates and drops them.
fn tally(batch: &mut Vec<Update>, n: &mut usize) {
    *n += batch.len();
    batch.clear();
}

/// Workers kept across runs, as a service keeps its own for its whole life: each
/// [`KeptWorkers::run`] runs a new graph over the same messages on the same threads. [`count`]
/// starts new threads each run, which also faults in memory that kept threads would have had
/// again: in `fixed` (`benches/fixed.rs`) one worker took 10,100 page faults per million ticks on
/// new threads and 4,300 on kept ones at the 100 ms purge delay of the thirty-third sitting
/// (medians of 24 batches, benches/HISTORY.md), and 1,291 and 661 at the thirty-ninth's 1,000 ms
/// (20 batches, README "Benchmarks").
/// mimalloc starts a thread's search of its arena for free memory at a place given by the
/// thread's sequence number (`mi_bfield_cycle_iterate` in its `bitmap.c`), a likely reason.
pub struct KeptWorkers<T> {
    /// A run order to each worker.
    go: Vec<mpsc::Sender<()>>,
    /// What each worker kept of a run's updates.
    done: mpsc::Receiver<T>,
    guards: Option<WorkerGuards<()>>,
}

/// A kept worker's run orders and the logs it reads.
type KeptShare = (mpsc::Receiver<()>, Vec<Log>);

impl<T: Default + Send + 'static> KeptWorkers<T> {
    /// `workers` threads waiting to run the graph over `messages`; each worker hands every
    /// output batch of a run to `take`, which keeps what it needs in the run's `T`.
    pub fn start<F>(
        messages: impl Into<Logs>,
        metrics: MetricsConfig,
        source: MemorySource,
        workers: usize,
        take: F,
    ) -> KeptWorkers<T>
    where
        F: Fn(&mut Vec<Update>, &mut T) + Send + Sync + 'static,
    {
        let workers = workers.max(1);
        let (go, orders): (Vec<_>, Vec<_>) = (0..workers).map(|_| mpsc::channel()).unzip();
        // Each worker's run orders and the logs it reads, split once for every run.
        let shares: Vec<Option<KeptShare>> = orders
            .into_iter()
            .zip(messages.into().by_owner(workers))
            .map(Some)
            .collect();
        let shares = Mutex::new(shares);
        let (report, done) = mpsc::channel();
        let take = Arc::new(take);
        let guards = timely::execute(timely::Config::process(workers), move |worker| {
            let Some((orders, mine)) = take_share(&shares, worker.index()) else {
                return;
            };
            while orders.recv().is_ok() {
                let (kept, _dead) = run_worker(worker, mine.clone(), &metrics, &source, &take);
                if report.send(kept).is_err() {
                    return;
                }
            }
        });
        KeptWorkers {
            go,
            done,
            guards: guards.ok(),
        }
    }

    /// One run of the graph on the kept workers: what each worker kept of it. A worker that
    /// panics leaves this waiting, as it leaves its peers: these serve tests and benches.
    pub fn run(&self) -> Vec<T> {
        for go in &self.go {
            let _ = go.send(());
        }
        self.go
            .iter()
            .filter_map(|_| self.done.recv().ok())
            .collect()
    }
}

impl KeptWorkers<usize> {
    /// Kept workers that only count the updates, as [`count`] does.
    pub fn counting(
        messages: impl Into<Logs>,
        metrics: MetricsConfig,
        source: MemorySource,
        workers: usize,
    ) -> KeptWorkers<usize> {
        KeptWorkers::start(messages, metrics, source, workers, tally)
    }

    /// One run: the number of updates it emitted.
    pub fn count(&self) -> usize {
        self.run().into_iter().sum()
    }
}

impl<T> Drop for KeptWorkers<T> {
    /// Ends the workers' loops, then waits for them.
    fn drop(&mut self) {
        self.go.clear();
        if let Some(guards) = self.guards.take() {
            guards.join();
        }
    }
}

/// The graph on `workers` threads; each worker hands every output batch to `take`, which keeps
/// what it needs in the worker's `T`. Returns each worker's `T` and dead letters.
fn execute<T, F>(
    messages: impl Into<Logs>,
    metrics: MetricsConfig,
    source: MemorySource,
    workers: usize,
    take: F,
) -> Vec<(T, Vec<(Origin, Rejection)>)>
where
    T: Default + Send + 'static,
    F: Fn(&mut Vec<Update>, &mut T) + Send + Sync + 'static,
{
    let workers = workers.max(1);
    let shares = Mutex::new(messages.into().by_owner(workers));
    let take = Arc::new(take);
    let guards = timely::execute(timely::Config::process(workers), move |worker| {
        let mine = take_share(&shares, worker.index());
        run_worker(worker, mine, &metrics, &source, &take)
    });
    match guards {
        Ok(guards) => guards.join().into_iter().flatten().collect(),
        Err(_) => Vec::new(),
    }
}

/// Worker `index`'s share, taken out of `shares`: each worker's closure sees them all.
fn take_share<T: Default>(shares: &Mutex<Vec<T>>, index: usize) -> T {
    shares
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get_mut(index)
        .map(std::mem::take)
        .unwrap_or_default()
}

/// One worker's part of one graph over `mine`, the logs it reads, to completion.
fn run_worker<T, F>(
    worker: &mut Worker,
    mine: Vec<Log>,
    metrics: &MetricsConfig,
    source: &MemorySource,
    take: &Arc<F>,
) -> (T, Vec<(Origin, Rejection)>)
where
    T: Default + 'static,
    F: Fn(&mut Vec<Update>, &mut T) + 'static,
{
    let peers = worker.peers();
    let mut partitions: Vec<(Log, usize)> = mine.into_iter().map(|log| (log, 0)).collect();

    let mut input = InputHandleVec::<Micros, Tick>::new();
    let probe = ProbeHandle::new();
    let kept: Rc<RefCell<T>> = Rc::default();
    let (sink, take) = (Rc::clone(&kept), Arc::clone(take));
    worker.dataflow(|scope| {
        input
            .to_stream(scope)
            .quote_metrics(metrics.clone())
            .probe_with(&probe)
            .sink(Pipeline, "Collect", move |(input, _frontier)| {
                input.for_each(|_time, data| take(data, &mut sink.borrow_mut()));
            });
    });

    let now = Instant::now();
    let mut clocks = Clocks::new(
        partitions.iter().map(|(log, _)| log.key),
        source.lateness,
        Duration::MAX,
        now,
    );
    let mut dead = Vec::new();
    let mut batches = ByOwner::new(peers);
    loop {
        for (log, read) in partitions.iter_mut() {
            let end = (*read + source.batch.max(1)).min(log.messages.len());
            for &(origin, ref at) in &log.messages[*read..end] {
                let time = *input.time();
                let value = log.value(at);
                match admit(value, origin, time, source.late, None, &mut clocks, now) {
                    Admission::Tick(tick) => {
                        if let Some(owner) = batches.push(tick) {
                            batches.send(owner, |batch| input.send_batch(batch));
                        }
                    }
                    Admission::Dead(rejection) => dead.push((origin, rejection)),
                    Admission::Covered => {}
                }
            }
            *read = end;
            if end == log.messages.len() {
                clocks.finish(log.key);
            }
        }
        batches.send_all(|batch| input.send_batch(batch));
        match clocks.frontier(now, None) {
            Some(frontier) if frontier > *input.time() => input.advance_to(frontier),
            Some(_) => {}
            None => break,
        }
        worker.step();
    }
    drop(input);
    // Parked, not spinning: a worker done early has nothing to do until the others'
    // progress reaches it, and polling its channels meanwhile takes a core from them.
    while !probe.done() {
        worker.step_or_park(None);
    }
    (kept.take(), dead)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(partition: i32, offset: i64, value: &str) -> (Origin, Vec<u8>) {
        let origin = Origin {
            topic: 0,
            partition,
            offset,
        };
        (origin, value.as_bytes().to_vec())
    }

    #[test]
    fn logs_give_back_each_message_in_its_partition_in_order() {
        let given = vec![
            message(1, 0, "a"),
            message(0, 0, ""),
            message(1, 1, "bcd"),
            message(0, 1, "ef"),
        ];
        let logs = Logs::from(given.clone());
        let read: Vec<(Origin, Vec<u8>)> = logs
            .messages()
            .map(|(origin, value)| (origin, value.to_vec()))
            .collect();
        let by_partition = vec![
            given[0].clone(),
            given[2].clone(),
            given[1].clone(),
            given[3].clone(),
        ];
        assert_eq!(read, by_partition);
    }

    /// A graph run again on kept workers makes the tables one run on new workers makes, each
    /// time: the workers carry nothing from one run into the next.
    #[test]
    fn kept_workers_run_the_graph_afresh_each_time() {
        let messages: Vec<(Origin, Vec<u8>)> = (0..400)
            .map(|i: i64| {
                let value = format!(
                    r#"{{"pair":"P{}-USD","bid":"1.5","ask":"2","timestamp":{}}}"#,
                    i % 7,
                    1_763_700_000_000 + i
                );
                message((i % 4) as i32, i / 4, &value)
            })
            .collect();
        let source = MemorySource {
            lateness: 1_000,
            late: LatePolicy::Update,
            batch: 16,
        };
        let once = run(
            messages.clone(),
            MetricsConfig::default(),
            source.clone(),
            2,
        )
        .tables;
        assert_eq!(once.ticks.len(), 400);
        let kept = KeptWorkers::start(messages, MetricsConfig::default(), source, 2, collect);
        for _ in 0..3 {
            let mut tables = Tables::default();
            kept.run()
                .into_iter()
                .for_each(|updates| tables.extend(updates));
            assert_eq!(tables, once);
        }
    }
}
