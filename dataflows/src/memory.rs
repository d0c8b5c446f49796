//! The whole graph on in-memory messages, on `workers` threads.
//!
//! This is the Kafka source without Kafka: each worker owns the partitions [`owner`] gives it,
//! reads them round-robin `batch` messages at a time, admits each message, batches the ticks by
//! the worker that owns their pair ([`ByOwner`]), and advances its input to the frontier its
//! [`Clocks`] allow. Partitions are finite, so each is finished when read to its end, exactly
//! like a bounded run. Tests compare its tables across worker counts and against a naive
//! reference; benches measure it.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
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
    messages: Vec<(Origin, Vec<u8>)>,
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
    messages: Vec<(Origin, Vec<u8>)>,
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
    messages: Vec<(Origin, Vec<u8>)>,
    metrics: MetricsConfig,
    source: MemorySource,
    workers: usize,
    take: F,
) -> Vec<(T, Vec<(Origin, Rejection)>)>
where
    T: Default + Send + 'static,
    F: Fn(&mut Vec<Update>, &mut T) + Send + Sync + 'static,
{
    let messages = Arc::new(messages);
    let take = Arc::new(take);
    let guards = timely::execute(timely::Config::process(workers.max(1)), move |worker| {
        let (index, peers) = (worker.index(), worker.peers());
        let mut partitions: Vec<(PartitionKey, Vec<usize>)> = Vec::new();
        for (i, (origin, _)) in messages.iter().enumerate() {
            let key = (origin.topic, origin.partition);
            if owner(key, peers) != index {
                continue;
            }
            match partitions.iter_mut().find(|(k, _)| *k == key) {
                Some((_, list)) => list.push(i),
                None => partitions.push((key, vec![i])),
            }
        }

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
        let mut cursors = vec![0usize; partitions.len()];
        loop {
            for ((key, list), cursor) in partitions.iter().zip(cursors.iter_mut()) {
                let end = (*cursor + source.batch.max(1)).min(list.len());
                for &i in &list[*cursor..end] {
                    let (origin, value) = &messages[i];
                    let time = *input.time();
                    match admit(value, *origin, time, source.late, None, &mut clocks, now) {
                        Admission::Tick(tick) => {
                            if let Some(owner) = batches.push(tick) {
                                batches.send(owner, |batch| input.send_batch(batch));
                            }
                        }
                        Admission::Dead(rejection) => dead.push((*origin, rejection)),
                        Admission::Covered => {}
                    }
                }
                *cursor = end;
                if end == list.len() {
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
