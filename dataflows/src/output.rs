//! What the graph emits: upserts for the three result tables.
//!
//! Every [`Update`] is an upsert of one row by its primary key, except a window row flagged
//! `delta`, which carries only ticks processed after the row was final and is merged into it,
//! and a [`HistoryRow`], which appends to the state the rolling average resumes from.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::pair_state::{Extremes, TickMetrics};
use crate::quote::{Micros, Tick};
use crate::window::WindowAgg;

/// A `ticks` row.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TickRow {
    /// The tick, with its quote and origin.
    pub tick: Tick,
    /// Its metrics.
    pub metrics: TickMetrics,
}

/// A `pair_metrics` row: the pair's last processed tick and its counts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PairRow {
    /// The last processed tick.
    pub last: TickRow,
    /// Ticks so far.
    pub tick_count: u64,
    /// Earliest event time.
    pub first_ts: Micros,
    /// Latest event time.
    pub last_ts: Micros,
    /// Mids of the last N ticks, oldest first, from which `sma` resumes.
    pub recent_mids: Vec<Decimal>,
}

impl PairRow {
    /// The cumulative figures the row shows.
    pub fn extremes(&self) -> Extremes {
        let m = &self.last.metrics;
        Extremes {
            highest_bid: m.highest_bid,
            lowest_ask: m.lowest_ask,
            max_spread: m.max_spread,
            tick_count: self.tick_count,
            first_ts: self.first_ts,
            last_ts: self.last_ts,
        }
    }
}

/// Ticks a pair's rolling average keeps, as (event time, mid): stored with each cut so that the
/// average resumes exactly.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryRow {
    /// The pair.
    pub pair: String,
    /// Ticks processed since the pair's previous history row.
    pub entries: Vec<(Micros, Decimal)>,
    /// Kept ticks have event time after this; older ones may be forgotten.
    pub keep_after: Micros,
}

/// The primary key of a `window_aggregates` row.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct WindowKey {
    /// The pair.
    pub pair: String,
    /// Width in microseconds.
    pub width: Micros,
    /// Start in microseconds since the epoch.
    pub start: Micros,
}

/// A `window_aggregates` row.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowRow {
    /// Which window.
    pub key: WindowKey,
    /// Its aggregate (or, for a delta, the aggregate of the late ticks only).
    pub agg: WindowAgg,
    /// The frontier has reached the window's end.
    pub is_final: bool,
    /// Merge into the stored row instead of replacing it.
    pub delta: bool,
}

/// One output of the graph.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Update {
    /// Upsert a `ticks` row.
    Tick(TickRow),
    /// Upsert a `pair_metrics` row.
    Pair(PairRow),
    /// Upsert (or merge) a `window_aggregates` row.
    Window(WindowRow),
    /// Append to a pair's rolling history.
    History(HistoryRow),
}
