//! `kafka_source`: the partitions a worker owns, read into ticks at the frontier.
//!
//! Each partition has its own librdkafka queue (Materialize's design). An activation polls the
//! queues of the partitions that may be read, up to a budget, without blocking; admits each
//! message (decode, watermark, late check) and emits the batch at the source's capability, which
//! sits at the frontier its partitions allow ([`Clocks`]). Dead letters and read positions go
//! straight to the writer.
//!
//! Watermark alignment: a partition running too far ahead of the slowest is simply not polled
//! until the others catch up; nor is one read too far past what the graph has processed (the
//! `processed` probe, downstream of every worker's metrics), which is the flow control timely's
//! exchange lacks. librdkafka stops fetching it once its queue is full
//! (`queued.max.messages.kbytes` per partition), so skew costs bounded memory, and nothing is
//! ever dropped and fetched again. A bounded run finishes a partition at its stop offset; when
//! all are finished the capability is dropped and the graph drains.
//!
//! Resuming from a stored cut (`tickflow_dataflows::cut`): messages the cut covers are skipped,
//! the capability never goes below the cut's frontier, and it stays there until each partition
//! has been read again up to the cut's `read_to`, so every message not covered is processed at
//! the same time as before. Each time the capability passes grid times the source states what
//! a cut there covers of each of its partitions ([`Ledger`]), before it moves, so the writer has
//! the statement by the time the sinks' frontiers show the cut.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer, DefaultConsumerContext};
use rdkafka::error::{KafkaError, KafkaResult};
use rdkafka::message::BorrowedMessage;
use rdkafka::{Message, Offset, TopicPartitionList};
use tickflow_dataflows::{
    admit, cell, owner, Admission, ByOwner, Clocks, LatePolicy, Ledger, Micros, Origin,
    PartitionCut, PartitionKey, Tick, CUT_GRID,
};
use timely::dataflow::operators::generic::operator::source;
use timely::dataflow::{ProbeHandle, Scope, Stream};
use tokio::sync::mpsc::Sender;

use super::ends::EndLookups;
use super::plan::Range;
use super::{consumer, SourceError};
use crate::sink::{DeadLetter, Position, SourceReport, ToWriter};

/// Messages read per activation at most, so one busy source cannot starve the operators after it.
const POLL_BUDGET: usize = 8_192;

/// How far a partition's watermark may run ahead of the slowest one, or of what the graph has
/// processed, before it is not read. Ticks read beyond the slowest partition only wait for it,
/// so the bound buys nothing but slack, and every second of it is held in memory: stashed in
/// `QuoteMetrics`, and as a leading worker's updates waiting in the writer. One second keeps
/// replays as fast as five did (1,000 pairs, 2 workers: peak RSS 138-141 MiB instead of
/// 165-170, README "Benchmarks").
const ALIGNMENT: Micros = 1_000_000;

type PartitionQueue = rdkafka::consumer::base_consumer::PartitionQueue<DefaultConsumerContext>;

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
    /// What the stored cut covers, by partition.
    pub covered: BTreeMap<i32, PartitionCut>,
    /// The stored cut's frontier: nothing is processed before it.
    pub floor: Micros,
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

/// Whether a partition may be read in this activation: not finished, and neither held by flow
/// control (read too far past what the graph processed) nor too far ahead of the slowest
/// partition. A partition catching up on a stored cut is always read: the capability stays at
/// the cut's frontier until every partition has caught up, so holding one back waits on a
/// frontier that waits on it. A finishing run of `tests/postgres_restart.rs` was found stuck
/// in a state that fits this (inferred from its stored cut and its requests, not reproduced):
/// one partition caught up and held at that frontier, the other still catching up but more
/// than [`ALIGNMENT`] ahead of it, so neither was read again.
fn may_read(
    clocks: &Clocks,
    key: PartitionKey,
    catching_up: bool,
    processed_to: Option<Micros>,
    now: Instant,
) -> bool {
    if clocks.is_finished(key) {
        return false;
    }
    if catching_up {
        return true;
    }
    let held = processed_to.is_some_and(|at| clocks.outruns(key, at, ALIGNMENT));
    !held && !clocks.runs_ahead(key, now, ALIGNMENT)
}

/// How far one partition has been read.
struct Cursor {
    /// When the partition's end was last looked up.
    end_checked: Option<Instant>,
    /// While a lookup of the end is outstanding: how far the partition had been read when it
    /// was asked.
    asked_at: Option<i64>,
    next: i64,
    stop: Option<i64>,
    /// What the stored cut covers.
    covered: Option<PartitionCut>,
    /// The stored cut's `read_to` while this run has not read that far.
    catching_up: Option<i64>,
    ledger: Ledger,
}

impl Cursor {
    fn new(range: &Range, covered: Option<PartitionCut>) -> Self {
        Cursor {
            end_checked: None,
            asked_at: None,
            next: range.start,
            stop: range.stop,
            covered,
            catching_up: covered
                .map(|c| c.read_to.min(range.stop.unwrap_or(i64::MAX)))
                .filter(|&to| to > range.start),
            ledger: Ledger::new(range.start),
        }
    }
}

/// The consumer of one worker and its partition queues.
struct Reader {
    consumer: Arc<BaseConsumer>,
    ends: EndLookups,
    queues: BTreeMap<i32, PartitionQueue>,
    cursors: BTreeMap<i32, Cursor>,
}

impl Reader {
    /// Assigns `ranges` and splits off a queue for each.
    fn open(settings: &SourceSettings, ranges: &[Range]) -> Result<Reader, SourceError> {
        let broker = |source| SourceError::Broker {
            brokers: settings.brokers.clone(),
            source,
        };
        let consumer = Arc::new(consumer(&settings.brokers, &settings.group)?);
        let mut tpl = TopicPartitionList::new();
        for r in ranges {
            tpl.add_partition_offset(&settings.topic, r.partition, Offset::Offset(r.start))
                .map_err(broker)?;
        }
        consumer.assign(&tpl).map_err(broker)?;
        let (mut queues, mut cursors) = (BTreeMap::new(), BTreeMap::new());
        for r in ranges {
            let queue = consumer
                .split_partition_queue(&settings.topic, r.partition)
                .ok_or_else(|| {
                    broker(KafkaError::Subscription(format!(
                        "no queue for partition {}",
                        r.partition
                    )))
                })?;
            queues.insert(r.partition, queue);
            let covered = settings.covered.get(&r.partition).copied();
            cursors.insert(r.partition, Cursor::new(r, covered));
        }
        Ok(Reader {
            ends: EndLookups::start(consumer.clone(), settings.topic.clone())
                .map_err(SourceError::Thread)?,
            consumer,
            queues,
            cursors,
        })
    }

    /// Marks partitions quiet for the idle timeout as at their end when they are, and as behind
    /// it when the broker holds messages not read yet: one high-watermark lookup per partition
    /// per idle timeout, and only for quiet partitions. The lookups run on [`EndLookups`]'
    /// thread; an end counts only if nothing was read from the partition since it was asked,
    /// as what came meanwhile may lie past it.
    fn check_ends(&mut self, clocks: &mut Clocks, now: Instant, idle_timeout: Duration) {
        for (p, end) in self.ends.answered() {
            let Some(cursor) = self.cursors.get_mut(&p) else {
                continue;
            };
            let asked_at = cursor.asked_at.take();
            match end {
                Ok(high) if asked_at == Some(cursor.next) && cursor.next >= high => {
                    clocks.reached_end((0, p));
                    // The log no longer holds what the cut read (retention): nothing to wait for.
                    cursor.catching_up = None;
                }
                Ok(high) if cursor.next < high => clocks.behind_end((0, p)),
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, partition = p, "looking up a partition's end"),
            }
        }
        for (&p, cursor) in self.cursors.iter_mut() {
            let due = cursor.asked_at.is_none()
                && cursor
                    .end_checked
                    .is_none_or(|t| now.duration_since(t) >= idle_timeout);
            if !due || clocks.is_finished((0, p)) || !clocks.is_quiet((0, p), now) {
                continue;
            }
            cursor.end_checked = Some(now);
            cursor.asked_at = Some(cursor.next);
            self.ends.ask(p);
        }
    }

    /// Closes the consumer off the worker thread: closing waits for librdkafka's broker threads,
    /// which can wait on an in-flight fetch for as long as the socket timeout, and a timely
    /// worker must not stall on that or the whole graph's progress stalls with it.
    fn close(self) {
        let _ = self.consumer.unassign();
        let spawned = std::thread::Builder::new()
            .name("kafka-close".into())
            .spawn(move || drop(self));
        if let Err(error) = spawned {
            tracing::warn!(%error, "could not close a consumer in the background");
        }
    }
}

/// What one activation read.
struct Activation<'a> {
    clocks: &'a mut Clocks,
    frontier: Micros,
    late: LatePolicy,
    now: Instant,
    /// Sent once the activation has read: a batch is not sent full mid-way.
    batches: &'a mut ByOwner,
    report: SourceReport,
    accepted: u64,
}

impl Activation<'_> {
    /// Takes one polled result of `partition`'s queue; `false` when the queue is drained.
    fn take(
        &mut self,
        partition: i32,
        cursor: &mut Cursor,
        polled: Option<KafkaResult<BorrowedMessage<'_>>>,
    ) -> bool {
        let message = match polled {
            None => return false,
            Some(Err(error)) => {
                tracing::warn!(%error, partition, "kafka fetch");
                return false;
            }
            Some(Ok(message)) => message,
        };
        let offset = message.offset();
        if cursor.stop.is_some_and(|s| offset >= s) || offset < cursor.next {
            return true;
        }
        let origin = Origin {
            topic: 0,
            partition,
            offset,
        };
        let value = message.payload().unwrap_or_default();
        let covered = cursor.covered.as_ref();
        match admit(
            value,
            origin,
            self.frontier,
            self.late,
            covered,
            self.clocks,
            self.now,
        ) {
            Admission::Tick(tick) => {
                cursor.ledger.read(offset, Some(tick.due));
                self.batches.push(tick);
            }
            Admission::Dead(rejection) => {
                cursor.ledger.read(offset, None);
                self.report.dead.push(DeadLetter {
                    origin,
                    payload: value.to_vec(),
                    reason: rejection.to_string(),
                });
            }
            Admission::Covered => cursor.ledger.read(offset, None),
        }
        cursor.next = offset + 1;
        if cursor.catching_up.is_some_and(|to| cursor.next >= to) {
            cursor.catching_up = None;
        }
        self.accepted += 1;
        true
    }
}

/// Builds this worker's source; `processed` probes the output of the graph it feeds.
pub fn kafka_source<'scope>(
    scope: Scope<'scope, Micros>,
    settings: &SourceSettings,
    writer: Sender<ToWriter>,
    processed: ProbeHandle<Micros>,
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
    let mut reader = if live.is_empty() {
        None
    } else {
        Some(Reader::open(settings, &live)?)
    };
    let mut clocks = Clocks::new(
        mine.iter().map(|r| (0, r.partition)),
        settings.lateness,
        settings.idle_timeout,
        Instant::now(),
    );
    for r in mine.iter().filter(|r| !live.contains(r)) {
        clocks.finish((0, r.partition));
    }
    let (late, floor) = (settings.late, settings.floor);
    let idle_timeout = settings.idle_timeout;
    let (process_max, read, shutdown) = (
        settings.process_max.clone(),
        settings.read.clone(),
        settings.shutdown.clone(),
    );

    Ok(source(scope, "KafkaSource", move |capability, info| {
        let activator = scope.activator_for(info.address);
        let mut capability = Some(capability);
        let mut batches = ByOwner::new(peers);
        move |output| {
            let Some(cap) = capability.as_mut() else {
                return;
            };
            if shutdown.load(Ordering::Relaxed) {
                // Stop reading but keep the capability: the frontier stays where the input
                // put it, so no open window is finalized by a stop; the worker drops the
                // dataflow (see `pipeline::run`).
                if let Some(r) = reader.take() {
                    r.close();
                }
                return;
            }
            let now = Instant::now();
            let frontier = *cap.time();
            let mut act = Activation {
                clocks: &mut clocks,
                frontier,
                late,
                now,
                batches: &mut batches,
                report: SourceReport::default(),
                accepted: 0,
            };
            if let Some(r) = reader.as_mut() {
                // The main queue only serves events: every assigned partition has its own queue,
                // split before the first poll, so no message arrives here.
                while let Some(Err(error)) = r.consumer.poll(Duration::ZERO) {
                    tracing::warn!(%error, "kafka");
                }
                let processed_to = processed.with_frontier(|f| f.first().copied());
                let readable: Vec<i32> = r
                    .cursors
                    .iter()
                    .filter(|&(&p, cursor)| {
                        let catching_up = cursor.catching_up.is_some();
                        may_read(act.clocks, (0, p), catching_up, processed_to, now)
                    })
                    .map(|(&p, _)| p)
                    .collect();
                let share = (POLL_BUDGET / readable.len().max(1)).max(256);
                for p in readable {
                    let (Some(queue), Some(cursor)) = (r.queues.get(&p), r.cursors.get_mut(&p))
                    else {
                        continue;
                    };
                    for _ in 0..share {
                        let polled = queue.poll(Duration::ZERO);
                        if !act.take(p, cursor, polled) {
                            break;
                        }
                    }
                    if cursor.stop.is_some_and(|s| cursor.next >= s) {
                        act.clocks.finish((0, p));
                    }
                }
            }
            let (mut report, accepted) = (act.report, act.accepted);
            if let Some(r) = reader.as_mut() {
                r.check_ends(&mut clocks, now, idle_timeout);
            }
            read.fetch_add(accepted, Ordering::Relaxed);
            batches.send_all(|batch| output.session(&*cap).give_container(batch));

            if let Some(w) = clocks.max_watermark() {
                process_max.fetch_max(w, Ordering::Relaxed);
            }
            let seen = match process_max.load(Ordering::Relaxed) {
                0 => None,
                w => Some(w),
            };
            let caught_up = reader
                .as_ref()
                .is_none_or(|r| r.cursors.values().all(|c| c.catching_up.is_none()));
            let next = clocks
                .frontier(now, seen)
                .map(|f| if caught_up { f.max(floor) } else { floor });
            let (first_passed, last_passed) =
                (cell(frontier) + CUT_GRID, next.map_or(Micros::MAX, cell));
            if let Some(r) = reader
                .as_mut()
                .filter(|_| last_passed >= first_passed && last_passed > floor)
            {
                for (&partition, cursor) in r.cursors.iter_mut() {
                    let (cut, lowest) = cursor.ledger.cut(first_passed, last_passed);
                    report.cuts.push(Position {
                        topic: 0,
                        partition,
                        cut,
                        lowest,
                    });
                }
            }
            if !report.dead.is_empty() || !report.cuts.is_empty() {
                let _ = writer.blocking_send(ToWriter::Source(report));
            }
            match next {
                None => {
                    capability = None;
                    if let Some(r) = reader.take() {
                        r.close();
                    }
                    return;
                }
                Some(next) if next > frontier => cap.downgrade(&next),
                Some(_) => {}
            }
            if accepted > 0 {
                activator.activate();
            } else {
                activator.activate_after(Duration::from_millis(5));
            }
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The state the finishing run of `tests/postgres_restart.rs` hung in: the stored cut sits at
    /// `floor`; partition 3 has caught up and read past what flow control allows, partition 1 is
    /// still catching up and more than [`ALIGNMENT`] ahead of partition 3.
    #[test]
    fn a_partition_catching_up_is_read_even_ahead_of_a_held_one() {
        let (now, floor, lateness) = (Instant::now(), 1_000_000_000, 200_000);
        let mut clocks = Clocks::new([(0, 1), (0, 3)], lateness, Duration::from_millis(500), now);
        let at = |partition, offset| Origin {
            topic: 0,
            partition,
            offset,
        };
        clocks.read(at(3, 0), Some(floor + lateness + ALIGNMENT + 1), now);
        clocks.read(at(1, 0), Some(floor + lateness + 3 * ALIGNMENT), now);

        assert!(!may_read(&clocks, (0, 3), false, Some(floor), now), "held");
        assert!(clocks.runs_ahead((0, 1), now, ALIGNMENT));
        assert!(may_read(&clocks, (0, 1), true, Some(floor), now));
        assert!(!may_read(&clocks, (0, 1), false, Some(floor), now));
    }
}
