//! The result tables as the sink leaves them, in memory.
//!
//! This is the upsert semantics of SPEC in one place: a later row replaces an earlier one with
//! the same key, and a window delta merges into the row it follows. The Postgres sink folds each
//! batch through it before writing (so one key is written once per commit), and tests use it as
//! the table state to compare.

use std::collections::BTreeMap;

use crate::output::{HistoryRow, PairRow, TickRow, Update, WindowKey, WindowRow};
use crate::pair_name::PairName;
use crate::quote::Origin;

/// Rows by primary key. `ticks` is keyed by origin; the sink adds the topic name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tables {
    /// `ticks`.
    pub ticks: BTreeMap<Origin, TickRow>,
    /// `pair_metrics`, by the pair's name as its ticks carry it: a kept name is cloned for free.
    pub pairs: BTreeMap<PairName, PairRow>,
    /// `window_aggregates`.
    pub windows: BTreeMap<WindowKey, WindowRow>,
    /// Each pair's rolling history: the entries appended, and the latest `keep_after`.
    pub history: BTreeMap<String, HistoryRow>,
}

impl Tables {
    /// Applies one update. Updates of one key must come in the order the graph emitted them,
    /// which holds because one worker owns each pair.
    pub fn apply(&mut self, update: Update) {
        match update {
            Update::Tick(row) => {
                self.ticks.insert(row.tick.origin, row);
            }
            Update::Pair(row) => {
                self.pairs.insert(row.last.tick.quote.pair.clone(), row);
            }
            Update::Window(row) => match self.windows.get_mut(&row.key) {
                Some(stored) if row.delta => {
                    stored.agg.merge(&row.agg);
                    stored.is_final |= row.is_final;
                }
                _ => {
                    self.windows.insert(row.key.clone(), row);
                }
            },
            Update::History(mut row) => match self.history.get_mut(&row.pair) {
                Some(stored) => {
                    stored.entries.append(&mut row.entries);
                    stored.keep_after = row.keep_after;
                }
                None => {
                    self.history.insert(row.pair.clone(), row);
                }
            },
        }
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Rows held, all tables together (a pair's history counts as one).
    pub fn len(&self) -> usize {
        self.ticks.len() + self.pairs.len() + self.windows.len() + self.history.len()
    }
}

impl Extend<Update> for Tables {
    fn extend<I: IntoIterator<Item = Update>>(&mut self, updates: I) {
        updates.into_iter().for_each(|u| self.apply(u));
    }
}
