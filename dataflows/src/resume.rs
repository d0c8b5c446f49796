//! What a run resumes from: the operator state a cut stored.
//!
//! The state of a cut is what its committed rows show: each pair's extremes and last mids (its
//! `pair_metrics` row), the ticks its rolling average keeps (its history rows) and the windows
//! still open (`window_aggregates` rows not final). [`Resume::from_tables`] rebuilds it from rows
//! held in memory; the service rebuilds it from the same rows read back from PostgreSQL.

use std::collections::{BTreeMap, HashMap};

use crate::output::WindowKey;
use crate::pair_state::PairState;
use crate::quote::Micros;
use crate::tables::Tables;
use crate::window::WindowAgg;

/// The state at a cut.
#[derive(Clone, Debug, Default)]
pub struct Resume {
    /// The cut: the state holds every tick due before it and none due at or after it. The
    /// resumed graph processes nothing before it.
    pub frontier: Micros,
    /// Each pair's fold state.
    pub pairs: HashMap<String, PairState>,
    /// The windows open at the cut, with the ticks they hold so far.
    pub windows: BTreeMap<WindowKey, WindowAgg>,
}

impl Resume {
    /// The state the rows of `tables` hold, at `frontier`.
    pub fn from_tables(frontier: Micros, tables: Tables, rolling_window: Micros) -> Self {
        let Tables {
            pairs,
            windows,
            mut history,
            ..
        } = tables;
        let pairs = pairs
            .into_iter()
            .map(|(pair, row)| {
                let kept = history
                    .remove(&*pair)
                    .map(|h| h.entries)
                    .unwrap_or_default();
                let state =
                    PairState::restore(row.extremes(), row.recent_mids, kept, rolling_window);
                (pair.into_owned(), state)
            })
            .collect();
        let windows = windows
            .into_iter()
            .filter(|(_, row)| !row.is_final)
            .map(|(key, row)| (key, row.agg))
            .collect();
        Resume {
            frontier,
            pairs,
            windows,
        }
    }
}
