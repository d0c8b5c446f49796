//! What the graph emits: upserts for the three result tables.
//!
//! Every [`Update`] is an upsert of one row by its primary key, except a window row flagged
//! `delta`, which carries only ticks processed after the row was final and is merged into it.

use serde::{Deserialize, Serialize};

use crate::pair_state::TickMetrics;
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
}
