//! Cuts: the points at which a run's results, its read positions and its state can be stored
//! together and resumed from exactly.
//!
//! A cut is an event time `T` on the grid of [`CUT_GRID`]. The results of a cut are those of
//! every tick due before `T` and of none due at or after it. The graph emits each update at the
//! grid cell of the tick that caused it ([`cell`]), so the updates before a cut are exactly the
//! cut's results, whichever worker computed them and however the frontier jumped.
//!
//! Which messages a cut covers follows from one fact: a message read while the source's frontier
//! was below `T` is due before `T` exactly when its event time is. So per partition a cut needs
//! two offsets ([`PartitionCut`]): everything below `next_offset` is covered, and between
//! `next_offset` and `read_to` (the read position when the source's frontier reached `T`)
//! exactly the messages with event time below `T`. A restart reads from `next_offset`, skips
//! what is covered, and holds its frontier at `T` or above, so every other message gets the same
//! processing time as before. The source tracks the two offsets with a [`Ledger`].

use std::collections::VecDeque;

use crate::quote::Micros;

/// Spacing of the times a cut can fall on: 10 ms, which divides every window width (whole
/// seconds), so a window's end is always on the grid.
pub const CUT_GRID: Micros = 10_000;

/// The grid cell holding `time`: the timely time at which the graph emits what a tick due at
/// `time` causes.
pub fn cell(time: Micros) -> Micros {
    time - time % CUT_GRID
}

/// What a cut covers of one partition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PartitionCut {
    /// The cut's time.
    pub frontier: Micros,
    /// Every message below this offset is covered.
    pub next_offset: i64,
    /// Messages from `next_offset` up to this offset are covered when their event time is
    /// below `frontier`.
    pub read_to: i64,
}

impl PartitionCut {
    /// Whether the valid message at `offset` with event time `ts` was already processed.
    pub fn covers(&self, offset: i64, ts: Micros) -> bool {
        offset < self.next_offset || (offset < self.read_to && ts < self.frontier)
    }
}

/// The source's record of one partition, from which it states its [`PartitionCut`]s.
///
/// It keeps the offsets and processing times of the ticks that may still be due at or after a
/// coming cut. They leave as the frontier passes them, so it holds about `--lateness` of input.
#[derive(Debug)]
pub struct Ledger {
    /// Ticks read, in offset order, whose processing time was not below the first grid time of
    /// the last statement.
    pending: VecDeque<(i64, Micros)>,
    read_to: i64,
}

impl Ledger {
    /// A ledger for a partition read from `offset`.
    pub fn new(offset: i64) -> Self {
        Ledger {
            pending: VecDeque::new(),
            read_to: offset,
        }
    }

    /// A message at `offset` was read; `due` is its tick's processing time, `None` when it is
    /// not processed (a dead letter, or covered by the previous cut).
    pub fn read(&mut self, offset: i64, due: Option<Micros>) {
        if let Some(due) = due {
            self.pending.push_back((offset, due));
        }
        self.read_to = offset + 1;
    }

    /// What the cuts at grid times `first..=last` cover, stated when the source's frontier
    /// passes them (so everything so far was read below each of them): the cut at `last`, and
    /// the offset from which every one of them may be read again (the `next_offset` of the cut
    /// at `first`, which is the lowest).
    pub fn cut(&mut self, first: Micros, last: Micros) -> (PartitionCut, i64) {
        while self.pending.front().is_some_and(|&(_, due)| due < first) {
            self.pending.pop_front();
        }
        let next_from = |frontier: Micros| {
            self.pending
                .iter()
                .find(|&&(_, due)| due >= frontier)
                .map_or(self.read_to, |&(offset, _)| offset)
        };
        let lowest = next_from(first);
        let cut = PartitionCut {
            frontier: last,
            next_offset: next_from(last),
            read_to: self.read_to,
        };
        (cut, lowest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cut_starts_at_the_first_tick_not_yet_due() {
        let mut ledger = Ledger::new(10);
        ledger.read(10, Some(5));
        ledger.read(11, Some(30));
        ledger.read(12, None);
        ledger.read(13, Some(7));
        let (cut, lowest) = ledger.cut(20, 20);
        assert_eq!((cut.next_offset, cut.read_to, lowest), (11, 14, 11));
        assert!(cut.covers(10, 5) && cut.covers(13, 7), "due before the cut");
        assert!(!cut.covers(11, 30), "due after the cut: read again");
        assert!(!cut.covers(14, 1), "read after the cut: processed after it");
        let (wide, lowest) = ledger.cut(20, 40);
        assert_eq!(
            (wide.next_offset, lowest),
            (14, 11),
            "the cut at 20 needs 11"
        );
        let (done, _) = ledger.cut(Micros::MAX, Micros::MAX);
        assert_eq!((done.next_offset, done.read_to), (14, 14));
    }

    #[test]
    fn grid_divides_window_widths() {
        assert_eq!(1_000_000 % CUT_GRID, 0);
        assert_eq!(cell(1_234_567), 1_230_000);
    }
}
