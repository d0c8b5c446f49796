//! `kafka_source`: the partitions a worker owns, read into ticks at the frontier.
//!
//! Each activation polls up to a budget of messages without blocking, admits them (decode,
//! watermark, late check) and emits the batch at the source's capability, which sits at the
//! frontier its partitions allow ([`Clocks`]). Dead letters and read positions go straight to
//! the writer. A partition that runs too far ahead of the frontier is paused until the others
//! catch up, so skew never turns into buffered memory. A bounded run finishes a partition at its
//! stop offset; when all are finished the capability is dropped and the graph drains.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::{Message, Offset, TopicPartitionList};
use tickflow_dataflows::{admit, owner, Clocks, LatePolicy, Micros, Origin, Tick};
use timely::dataflow::operators::generic::operator::source;
use timely::dataflow::{Scope, Stream};
use tokio::sync::mpsc::Sender;

use super::plan::Range;
use super::{consumer, SourceError};
use crate::sink::{DeadLetter, Position, SourceReport, ToWriter};

/// Messages read per activation at most, so one busy source cannot starve the operators after it.
const POLL_BUDGET: usize = 8_192;

/// How far a partition's watermark may run ahead of the slowest one before it is paused.
const ALIGNMENT: Micros = 60_000_000;

/// What every worker's source shares.
pub struct SourceSettings {
    /// `--brokers`.
    pub brokers: String,
    /// `--group`.
    pub group: String,
    /// `--topic` (topic index 0).
    pub topic: String,
    /// Every partition's range; each worker takes those [`owner`] gives it.
    pub ranges: Vec<Range>,
    /// `--lateness`.
    pub lateness: Micros,
    /// `--idle-timeout`.
    pub idle_timeout: Duration,
    /// `--late`.
    pub late: LatePolicy,
    /// The highest watermark any worker of this process has seen.
    pub process_max: Arc<AtomicU64>,
    /// Messages read, for the summary.
    pub read: Arc<AtomicU64>,
    /// Set on Ctrl-C or a writer failure: stop reading.
    pub shutdown: Arc<AtomicBool>,
}

struct Cursor {
    next: i64,
    stop: Option<i64>,
    max_due: Micros,
}

/// Builds this worker's source.
pub fn kafka_source<'scope>(
    scope: Scope<'scope, Micros>,
    settings: &SourceSettings,
    writer: Sender<ToWriter>,
) -> Result<Stream<'scope, Micros, Vec<Tick>>, SourceError> {
    let (index, peers) = (scope.index(), scope.peers());
    let mine: Vec<Range> = settings
        .ranges
        .iter()
        .filter(|r| owner((0, r.partition), peers) == index)
        .copied()
        .collect();
    let live: Vec<Range> = mine
        .iter()
        .filter(|r| r.stop.is_none_or(|s| r.start < s))
        .copied()
        .collect();
    let consumer = if live.is_empty() {
        None
    } else {
        let consumer = consumer(&settings.brokers, &settings.group)?;
        let mut tpl = TopicPartitionList::new();
        for r in &live {
            tpl.add_partition_offset(&settings.topic, r.partition, Offset::Offset(r.start))
                .map_err(|source| SourceError::Broker {
                    brokers: settings.brokers.clone(),
                    source,
                })?;
        }
        consumer
            .assign(&tpl)
            .map_err(|source| SourceError::Broker {
                brokers: settings.brokers.clone(),
                source,
            })?;
        Some(consumer)
    };
    let now = Instant::now();
    let mut clocks = Clocks::new(
        mine.iter().map(|r| (0, r.partition)),
        settings.lateness,
        settings.idle_timeout,
        now,
    );
    for r in mine.iter().filter(|r| !live.contains(r)) {
        clocks.finish((0, r.partition));
    }
    let mut cursors: BTreeMap<i32, Cursor> = live
        .iter()
        .map(|r| {
            (
                r.partition,
                Cursor {
                    next: r.start,
                    stop: r.stop,
                    max_due: 0,
                },
            )
        })
        .collect();
    let topic = settings.topic.clone();
    let late = settings.late;
    let (process_max, read, shutdown) = (
        settings.process_max.clone(),
        settings.read.clone(),
        settings.shutdown.clone(),
    );

    Ok(source(scope, "KafkaSource", move |capability, info| {
        let activator = scope.activator_for(info.address);
        let mut capability = Some(capability);
        let mut consumer = consumer;
        let mut paused: BTreeSet<i32> = BTreeSet::new();
        let mut batch: Vec<Tick> = Vec::new();
        move |output| {
            let Some(cap) = capability.as_mut() else {
                return;
            };
            if shutdown.load(Ordering::Relaxed) {
                capability = None;
                retire(consumer.take());
                return;
            }
            let now = Instant::now();
            let frontier = *cap.time();
            let mut report = SourceReport::default();
            let mut touched = BTreeSet::new();
            let (mut polled, mut accepted) = (0, 0u64);
            if let Some(consumer) = consumer.as_ref() {
                while polled < POLL_BUDGET {
                    let message = match consumer.poll(Duration::ZERO) {
                        None => break,
                        Some(Err(KafkaError::PartitionEOF(p))) => {
                            clocks.reached_end((0, p), now);
                            continue;
                        }
                        Some(Err(error)) => {
                            tracing::warn!(%error, "kafka poll");
                            break;
                        }
                        Some(Ok(message)) => message,
                    };
                    polled += 1;
                    let (partition, offset) = (message.partition(), message.offset());
                    let Some(cursor) = cursors.get_mut(&partition) else {
                        continue;
                    };
                    if cursor.stop.is_some_and(|s| offset >= s) || offset < cursor.next {
                        continue;
                    }
                    let origin = Origin {
                        topic: 0,
                        partition,
                        offset,
                    };
                    let value = message.payload().unwrap_or_default();
                    match admit(value, origin, frontier, late, &mut clocks, now) {
                        Ok(tick) => {
                            cursor.max_due = cursor.max_due.max(tick.due);
                            batch.push(tick);
                        }
                        Err(rejection) => report.dead.push(DeadLetter {
                            origin,
                            payload: value.to_vec(),
                            reason: rejection.to_string(),
                        }),
                    }
                    cursor.next = offset + 1;
                    accepted += 1;
                    touched.insert(partition);
                }
            }
            read.fetch_add(accepted, Ordering::Relaxed);

            let mut finished = TopicPartitionList::new();
            for &p in &touched {
                let cursor = &cursors[&p];
                report.positions.push(Position {
                    topic: 0,
                    partition: p,
                    next_offset: cursor.next,
                    max_due: cursor.max_due,
                });
                if cursor.stop.is_some_and(|s| cursor.next >= s) && !clocks.is_finished((0, p)) {
                    clocks.finish((0, p));
                    let _ = finished.add_partition(&topic, p);
                }
            }
            if finished.count() > 0 {
                if let Some(c) = consumer.as_ref() {
                    let _ = c.pause(&finished);
                }
            }
            if !batch.is_empty() {
                output.session(&*cap).give_container(&mut batch);
                batch.clear();
            }
            if !report.dead.is_empty() || !report.positions.is_empty() {
                let _ = writer.blocking_send(ToWriter::Source(report));
            }

            if let Some(w) = clocks.max_watermark() {
                process_max.fetch_max(w, Ordering::Relaxed);
            }
            let seen = match process_max.load(Ordering::Relaxed) {
                0 => None,
                w => Some(w),
            };
            match clocks.frontier(now, seen) {
                None => {
                    capability = None;
                    retire(consumer.take());
                    return;
                }
                Some(next) if next > frontier => cap.downgrade(&next),
                Some(_) => {}
            }
            if let Some(c) = consumer.as_ref() {
                align(c, &topic, &clocks, now, &mut paused, &cursors);
            }
            if polled > 0 {
                activator.activate();
            } else {
                activator.activate_after(Duration::from_millis(5));
            }
        }
    }))
}

/// Closes a consumer off the worker thread. Closing waits for the client's broker threads,
/// which can wait on an in-flight fetch for as long as the socket timeout; a timely worker must
/// not stall on that, or the whole graph's progress stalls with it.
fn retire(consumer: Option<BaseConsumer>) {
    if let Some(consumer) = consumer {
        let _ = consumer.unassign();
        let spawned = std::thread::Builder::new()
            .name("kafka-close".into())
            .spawn(move || drop(consumer));
        if let Err(error) = spawned {
            tracing::warn!(%error, "could not close a consumer in the background");
        }
    }
}

/// Pauses partitions running more than [`ALIGNMENT`] ahead of the slowest, resumes the rest.
/// A resumed partition is sought back to its cursor: librdkafka drops what it had prefetched
/// when pausing, and would otherwise go on from where its fetcher was, not from what was read.
fn align(
    consumer: &BaseConsumer,
    topic: &str,
    clocks: &Clocks,
    now: Instant,
    paused: &mut BTreeSet<i32>,
    cursors: &BTreeMap<i32, Cursor>,
) {
    let (mut pause, mut resume) = (TopicPartitionList::new(), TopicPartitionList::new());
    for (&p, cursor) in cursors {
        if clocks.is_finished((0, p)) {
            continue;
        }
        let ahead = clocks.runs_ahead((0, p), now, ALIGNMENT);
        if ahead && paused.insert(p) {
            let _ = pause.add_partition(topic, p);
        } else if !ahead && paused.remove(&p) {
            let _ = resume.add_partition_offset(topic, p, Offset::Offset(cursor.next));
        }
    }
    if pause.count() > 0 {
        tracing::debug!(
            partitions = pause.count(),
            "pausing partitions ahead of the others"
        );
        let _ = consumer.pause(&pause);
    }
    if resume.count() > 0 {
        let _ = consumer.resume(&resume);
        for e in resume.elements() {
            if let Err(error) = consumer.seek(topic, e.partition(), e.offset(), Duration::ZERO) {
                tracing::warn!(%error, partition = e.partition(), "seeking a resumed partition");
            }
        }
    }
}
