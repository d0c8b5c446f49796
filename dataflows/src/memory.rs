//! The whole graph on in-memory messages, on `workers` threads.
//!
//! This is the Kafka source without Kafka: each worker takes the [`Logs`] of the partitions
//! [`owner`] gives it, reads them round-robin `batch` messages at a time, admits each message,
//! batches the ticks by the worker that owns their pair ([`ByOwner`]), and advances its input to
//! the frontier its [`Clocks`] allow. Partitions are finite, so each is finished when read to its
//! end, exactly like a bounded run. Tests compare its tables across worker counts and against a
//! naive reference; benches measure it.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::operators::Probe;
use timely::dataflow::{InputHandleVec, ProbeHandle};

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

/// A partition's messages, in offset order.
type Log = (PartitionKey, Vec<(Origin, Vec<u8>)>);

/// Messages as a Kafka topic holds them: a log per partition. A worker takes the logs of the
/// partitions it owns and frees each message once admitted, as the Kafka source frees what it
/// has read. From one flat list, every worker had to pick its own out, and the list was freed
/// at the end by the worker that finished last: 4 ms of one thread for the benches' 200,000
/// quotes, while the other waited.
#[derive(Clone, Debug, Default)]
pub struct Logs(Vec<Log>);

impl Logs {
    /// Every message, partition by partition.
    pub fn messages(&self) -> impl Iterator<Item = &(Origin, Vec<u8>)> {
        self.0.iter().flat_map(|(_, log)| log)
    }

    /// The logs each of `peers` workers owns.
    fn by_owner(self, peers: usize) -> Vec<Vec<Log>> {
        let mut shares: Vec<Vec<Log>> = (0..peers).map(|_| Vec::new()).collect();
        for log in self.0 {
            shares[owner(log.0, peers)].push(log);
        }
        shares
    }
}

impl From<Vec<(Origin, Vec<u8>)>> for Logs {
    /// Each partition's messages in the order given.
    fn from(messages: Vec<(Origin, Vec<u8>)>) -> Self {
        let mut logs: Vec<Log> = Vec::new();
        for (origin, value) in messages {
            let key = (origin.topic, origin.partition);
            match logs.iter_mut().find(|(k, _)| *k == key) {
                Some((_, log)) => log.push((origin, value)),
                None => logs.push((key, vec![(origin, value)])),
            }
        }
        Logs(logs)
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
    let collect = |batch: &mut Vec<Update>, all: &mut Vec<Update>| all.append(batch);
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
    let tally = |batch: &mut Vec<Update>, n: &mut usize| {
        *n += batch.len();
        batch.clear();
    };
    execute(messages, metrics, source, workers, tally)
        .into_iter()
        .map(|(n, _)| n)
        .sum()
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
    let shares = Arc::new(Mutex::new(messages.into().by_owner(workers)));
    let take = Arc::new(take);
    let guards = timely::execute(timely::Config::process(workers), move |worker| {
        let (index, peers) = (worker.index(), worker.peers());
        let mine = shares
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get_mut(index)
            .map(std::mem::take)
            .unwrap_or_default();
        let mut partitions: Vec<_> = mine
            .into_iter()
            .map(|(key, log)| (key, log.into_iter()))
            .collect();

        let mut input = InputHandleVec::<Micros, Tick>::new();
        let probe = ProbeHandle::new();
        let kept: Rc<RefCell<T>> = Rc::default();
        let (sink, take) = (Rc::clone(&kept), Arc::clone(&take));
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
            partitions.iter().map(|(k, _)| *k),
            source.lateness,
            Duration::MAX,
            now,
        );
        let mut dead = Vec::new();
        let mut batches = ByOwner::new(peers);
        loop {
            for (key, log) in partitions.iter_mut() {
                for (origin, value) in log.by_ref().take(source.batch.max(1)) {
                    let time = *input.time();
                    match admit(&value, origin, time, source.late, None, &mut clocks, now) {
                        Admission::Tick(tick) => {
                            if let Some(owner) = batches.push(tick) {
                                batches.send(owner, |batch| input.send_batch(batch));
                            }
                        }
                        Admission::Dead(rejection) => dead.push((origin, rejection)),
                        Admission::Covered => {}
                    }
                }
                if log.as_slice().is_empty() {
                    clocks.finish(*key);
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
    });
    match guards {
        Ok(guards) => guards.join().into_iter().flatten().collect(),
        Err(_) => Vec::new(),
    }
}
