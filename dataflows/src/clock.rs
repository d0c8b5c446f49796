//! Source-side event time: per-partition watermarks and the frontier they allow.
//!
//! SPEC: a partition's watermark is the highest event time of its valid messages; the frontier
//! is the minimum over the partitions that still hold it back, minus the lateness. A partition
//! stops holding it back when it is idle (read to its end and quiet for the idle timeout) or
//! finished (a bounded run read it up to its stop offset). A partition not read to its end is
//! never idle, so a replay never makes its own messages late.
//!
//! Each source worker keeps a [`Clocks`] for the partitions it owns; timely takes the minimum
//! over workers. A worker whose partitions are all idle must not hold the others back, so it
//! follows the highest watermark seen in the process, which the caller passes in.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::quote::{Micros, Origin};

/// A partition of one topic.
pub type PartitionKey = (u32, i32);

/// The worker that owns a partition: a pure function of the partition and the worker count, so
/// every worker agrees without talking and a restart with the same count reads the same way.
pub fn owner(key: PartitionKey, peers: usize) -> usize {
    let (topic, partition) = key;
    (topic as usize).wrapping_add(partition.unsigned_abs() as usize) % peers.max(1)
}

#[derive(Debug)]
struct Partition {
    watermark: Option<Micros>,
    at_end: bool,
    quiet_since: Instant,
    finished: bool,
}

/// Watermarks of the partitions one worker reads.
#[derive(Debug)]
pub struct Clocks {
    partitions: BTreeMap<PartitionKey, Partition>,
    lateness: Micros,
    idle_timeout: Duration,
}

impl Clocks {
    /// Clocks for `keys`, none of them read yet.
    pub fn new(
        keys: impl IntoIterator<Item = PartitionKey>,
        lateness: Micros,
        idle_timeout: Duration,
        now: Instant,
    ) -> Self {
        let partitions = keys
            .into_iter()
            .map(|key| {
                (
                    key,
                    Partition {
                        watermark: None,
                        at_end: false,
                        quiet_since: now,
                        finished: false,
                    },
                )
            })
            .collect();
        Clocks {
            partitions,
            lateness,
            idle_timeout,
        }
    }

    /// A message was read from `origin`'s partition; `ts` is its event time when it was valid.
    pub fn read(&mut self, origin: Origin, ts: Option<Micros>, now: Instant) {
        if let Some(p) = self.partitions.get_mut(&(origin.topic, origin.partition)) {
            p.at_end = false;
            p.quiet_since = now;
            if let Some(ts) = ts {
                p.watermark = Some(p.watermark.map_or(ts, |w| w.max(ts)));
            }
        }
    }

    /// The partition was read up to its current end. It is idle once nothing has been read
    /// from it for the idle timeout, counted from its last message.
    pub fn reached_end(&mut self, key: PartitionKey) {
        if let Some(p) = self.partitions.get_mut(&key) {
            p.at_end = true;
        }
    }

    /// A lookup found messages past what was read: the partition holds the frontier back again
    /// until it is read to its end. Being at its end is known only as of the lookup that said
    /// so, and a partition not read to its end is never idle; without this, a partition whose
    /// fetches resumed after another's, as after a broker outage, stayed idle until its first
    /// new message arrived, and the other's could carry the frontier past it meanwhile.
    pub fn behind_end(&mut self, key: PartitionKey) {
        if let Some(p) = self.partitions.get_mut(&key) {
            p.at_end = false;
        }
    }

    /// Whether nothing was read from the partition for the idle timeout (it may be at its end).
    pub fn is_quiet(&self, key: PartitionKey, now: Instant) -> bool {
        self.partitions
            .get(&key)
            .is_some_and(|p| now.duration_since(p.quiet_since) >= self.idle_timeout)
    }

    /// A bounded run read the partition up to its stop offset: it will never send again.
    pub fn finish(&mut self, key: PartitionKey) {
        if let Some(p) = self.partitions.get_mut(&key) {
            p.finished = true;
        }
    }

    /// Whether every partition is finished: the source can drop its capability.
    pub fn all_finished(&self) -> bool {
        self.partitions.values().all(|p| p.finished)
    }

    /// Whether the partition is finished.
    pub fn is_finished(&self, key: PartitionKey) -> bool {
        self.partitions.get(&key).is_none_or(|p| p.finished)
    }

    /// The highest watermark of this worker's partitions.
    pub fn max_watermark(&self) -> Option<Micros> {
        self.partitions.values().filter_map(|p| p.watermark).max()
    }

    /// The frontier this worker allows, `None` once every partition is finished. `process_max`
    /// is the highest watermark seen by any worker of the process, followed when none of this
    /// worker's partitions holds the frontier back.
    pub fn frontier(&self, now: Instant, process_max: Option<Micros>) -> Option<Micros> {
        if self.all_finished() {
            return None;
        }
        let holding = self
            .partitions
            .values()
            .filter(|p| !p.finished && !self.is_idle(p, now))
            .map(|p| p.watermark.unwrap_or(0))
            .min();
        let watermark = holding.or(process_max).unwrap_or(0);
        Some(watermark.saturating_sub(self.lateness))
    }

    /// Watermark alignment: whether `key` runs more than `bound` ahead of the slowest partition
    /// that still holds the frontier back, so reading it further would only fill memory with
    /// ticks that cannot be released yet. Partitions with no watermark yet do not count: an empty
    /// or unread partition says nothing about how far behind it is.
    pub fn runs_ahead(&self, key: PartitionKey, now: Instant, bound: Micros) -> bool {
        let slowest = self
            .partitions
            .values()
            .filter(|p| !p.finished && !self.is_idle(p, now))
            .filter_map(|p| p.watermark)
            .min();
        let mine = self.partitions.get(&key).and_then(|p| p.watermark);
        matches!((mine, slowest), (Some(w), Some(s)) if w > s.saturating_add(bound))
    }

    /// Flow control: whether `key` has been read more than `bound` past `processed`, the
    /// frontier the graph's output has reached, beyond the lateness that holds every tick back
    /// anyway. Timely's exchange has no backpressure: a source that reads on while the worker
    /// owning its pairs falls behind only queues ticks in that worker's channel.
    pub fn outruns(&self, key: PartitionKey, processed: Micros, bound: Micros) -> bool {
        let limit = processed
            .saturating_add(self.lateness)
            .saturating_add(bound);
        self.partitions
            .get(&key)
            .and_then(|p| p.watermark)
            .is_some_and(|w| w > limit)
    }

    fn is_idle(&self, p: &Partition, now: Instant) -> bool {
        p.at_end && now.duration_since(p.quiet_since) >= self.idle_timeout
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin(partition: i32) -> Origin {
        Origin {
            topic: 0,
            partition,
            offset: 0,
        }
    }

    #[test]
    fn frontier_is_min_over_partitions_minus_lateness() {
        let now = Instant::now();
        let mut clocks = Clocks::new([(0, 0), (0, 1)], 1_000, Duration::from_secs(5), now);
        assert_eq!(clocks.frontier(now, None), Some(0));
        clocks.read(origin(0), Some(10_000), now);
        assert_eq!(
            clocks.frontier(now, None),
            Some(0),
            "partition 1 has no watermark yet"
        );
        clocks.read(origin(1), Some(4_000), now);
        assert_eq!(clocks.frontier(now, None), Some(3_000));
        clocks.read(origin(1), None, now);
        assert_eq!(
            clocks.frontier(now, None),
            Some(3_000),
            "dead letters do not move time"
        );
    }

    #[test]
    fn idle_partition_stops_holding_back_only_at_its_end() {
        let start = Instant::now();
        let mut clocks = Clocks::new([(0, 0), (0, 1)], 0, Duration::from_secs(5), start);
        clocks.read(origin(0), Some(10), start);
        clocks.read(origin(1), Some(5), start);
        let later = start + Duration::from_secs(6);
        assert_eq!(
            clocks.frontier(later, None),
            Some(5),
            "not at end: never idle"
        );
        clocks.reached_end((0, 1));
        assert_eq!(clocks.frontier(later, None), Some(10));
        assert_eq!(
            clocks.frontier(start, None),
            Some(5),
            "quiet for less than the timeout"
        );
        clocks.reached_end((0, 0));
        assert_eq!(
            clocks.frontier(later, Some(42)),
            Some(42),
            "all idle: follow the process"
        );
    }

    #[test]
    fn a_partition_found_behind_its_end_holds_back_again() {
        let start = Instant::now();
        let mut clocks = Clocks::new([(0, 0), (0, 1)], 0, Duration::from_secs(5), start);
        clocks.read(origin(0), Some(10), start);
        clocks.read(origin(1), Some(5), start);
        clocks.reached_end((0, 1));
        let later = start + Duration::from_secs(6);
        assert_eq!(clocks.frontier(later, None), Some(10), "idle");
        clocks.behind_end((0, 1));
        assert_eq!(
            clocks.frontier(later, None),
            Some(5),
            "messages wait to be read: not idle, though nothing new was read yet"
        );
        clocks.reached_end((0, 1));
        assert_eq!(clocks.frontier(later, None), Some(10), "idle again");
    }

    #[test]
    fn finished_partitions_release_the_frontier() {
        let now = Instant::now();
        let mut clocks = Clocks::new([(0, 0), (0, 1)], 0, Duration::from_secs(5), now);
        clocks.read(origin(0), Some(7), now);
        clocks.finish((0, 1));
        assert_eq!(clocks.frontier(now, None), Some(7));
        clocks.finish((0, 0));
        assert_eq!(clocks.frontier(now, None), None);
    }

    #[test]
    fn alignment_ignores_partitions_without_a_watermark() {
        let now = Instant::now();
        let mut clocks = Clocks::new([(0, 0), (0, 1)], 0, Duration::from_secs(5), now);
        clocks.read(origin(0), Some(100_000_000), now);
        assert!(
            !clocks.runs_ahead((0, 0), now, 1_000),
            "partition 1 is unread, not slow"
        );
        clocks.read(origin(1), Some(1_000), now);
        assert!(clocks.runs_ahead((0, 0), now, 1_000));
        assert!(!clocks.runs_ahead((0, 1), now, 1_000));
    }

    #[test]
    fn flow_control_counts_the_lateness_before_the_bound() {
        let now = Instant::now();
        let mut clocks = Clocks::new([(0, 0), (0, 1)], 1_000, Duration::from_secs(5), now);
        assert!(
            !clocks.outruns((0, 0), 0, 500),
            "no watermark: nothing read to hold back"
        );
        clocks.read(origin(0), Some(1_500), now);
        assert!(
            !clocks.outruns((0, 0), 0, 500),
            "exactly lateness + bound ahead"
        );
        clocks.read(origin(0), Some(1_501), now);
        assert!(clocks.outruns((0, 0), 0, 500));
        assert!(!clocks.outruns((0, 0), 1, 500), "the graph caught up");
    }

    #[test]
    fn owner_spreads_partitions_over_workers() {
        let owners: Vec<usize> = (0..8).map(|p| owner((0, p), 3)).collect();
        assert_eq!(owners, vec![0, 1, 2, 0, 1, 2, 0, 1]);
    }
}
