//! One tumbling window's aggregate.
//!
//! Windows are `[start, start + width)` aligned to the Unix epoch. The aggregate is a monoid in
//! processing order: [`WindowAgg::merge`] of a window's aggregate with the aggregate of ticks
//! processed after it equals the aggregate of all of them. That is what lets a late tick update
//! a window that was already final and written: the operator emits a delta that the sink merges
//! into the stored row.

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

use crate::extreme;
use crate::quote::{Micros, Tick};

/// Places kept by every average (SPEC: at least 12).
pub const AVERAGE_PLACES: u32 = 12;

/// The mean of `count` values summing to `sum`, rounded half away from zero like PostgreSQL's
/// `round(numeric, 12)`, so a merge done in SQL rounds as the engine does.
pub fn mean(sum: Decimal, count: u64) -> Decimal {
    (sum / Decimal::from(count.max(1)))
        .round_dp_with_strategy(AVERAGE_PLACES, RoundingStrategy::MidpointAwayFromZero)
}

/// The start of the window of `width` holding `ts`.
pub fn window_start(ts: Micros, width: Micros) -> Micros {
    ts - ts % width
}

/// Aggregate of a window's ticks in processing order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowAgg {
    /// Mid of the first tick processed.
    pub open_mid: Decimal,
    /// Highest mid.
    pub high_mid: Decimal,
    /// Lowest mid.
    pub low_mid: Decimal,
    /// Mid of the last tick processed.
    pub close_mid: Decimal,
    /// Sum of mids, kept exact so averages can be merged.
    pub sum_mid: Decimal,
    /// Highest bid.
    pub high_bid: Decimal,
    /// Lowest ask.
    pub low_ask: Decimal,
    /// Smallest spread.
    pub min_spread: Decimal,
    /// Largest spread.
    pub max_spread: Decimal,
    /// Sum of spreads.
    pub sum_spread: Decimal,
    /// Ticks aggregated.
    pub tick_count: u64,
    /// Earliest event time.
    pub first_ts: Micros,
    /// Latest event time.
    pub last_ts: Micros,
    /// Ticks that arrived late.
    pub late_ticks: u64,
}

impl WindowAgg {
    /// The aggregate of one tick.
    pub fn of(tick: &Tick) -> Self {
        let q = &tick.quote;
        WindowAgg {
            open_mid: q.mid,
            high_mid: q.mid,
            low_mid: q.mid,
            close_mid: q.mid,
            sum_mid: q.mid,
            high_bid: q.bid,
            low_ask: q.ask,
            min_spread: q.spread,
            max_spread: q.spread,
            sum_spread: q.spread,
            tick_count: 1,
            first_ts: q.ts,
            last_ts: q.ts,
            late_ticks: u64::from(tick.is_late()),
        }
    }

    /// Folds in the aggregate of ticks processed after these.
    pub fn merge(&mut self, later: &WindowAgg) {
        self.high_mid = extreme::max(self.high_mid, later.high_mid);
        self.low_mid = extreme::min(self.low_mid, later.low_mid);
        self.close_mid = later.close_mid;
        self.sum_mid += later.sum_mid;
        self.high_bid = extreme::max(self.high_bid, later.high_bid);
        self.low_ask = extreme::min(self.low_ask, later.low_ask);
        self.min_spread = extreme::min(self.min_spread, later.min_spread);
        self.max_spread = extreme::max(self.max_spread, later.max_spread);
        self.sum_spread += later.sum_spread;
        self.tick_count += later.tick_count;
        self.first_ts = self.first_ts.min(later.first_ts);
        self.last_ts = self.last_ts.max(later.last_ts);
        self.late_ticks += later.late_ticks;
    }

    /// Mean mid.
    pub fn avg_mid(&self) -> Decimal {
        mean(self.sum_mid, self.tick_count)
    }

    /// Mean spread.
    pub fn avg_spread(&self) -> Decimal {
        mean(self.sum_spread, self.tick_count)
    }
}
