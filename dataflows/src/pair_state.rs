//! The per-tick metrics of one pair, and the state they need.
//!
//! Every metric is defined over the pair's ticks *in processing order* (SPEC), so the state is a
//! fold: [`PairState::apply`] takes the next tick and returns its metrics. Cumulative extremes
//! never start fresh: a state can be rebuilt from what a previous run stored
//! ([`PairState::resume`]).
//!
//! `rolling_avg` keeps the ticks with event time in `(newest - W, newest]`. A tick processed
//! in event-time order always sees its whole window there; a late tick sees the part of its
//! window that is still kept, which is exact unless it is later than `W` behind the newest.

use std::collections::VecDeque;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::quote::{Micros, Tick};
use crate::window::mean;

/// The metrics of one tick.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TickMetrics {
    /// Highest bid of the pair so far, this tick included.
    pub highest_bid: Decimal,
    /// Lowest ask so far.
    pub lowest_ask: Decimal,
    /// Largest spread so far.
    pub max_spread: Decimal,
    /// Mean mid of the last N ticks.
    pub sma: Decimal,
    /// Mean mid of the ticks processed so far with event time in `(ts - W, ts]`.
    pub rolling_avg: Decimal,
}

/// Cumulative figures a previous run stored, from which a pair resumes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Extremes {
    /// Highest bid so far.
    pub highest_bid: Decimal,
    /// Lowest ask so far.
    pub lowest_ask: Decimal,
    /// Largest spread so far.
    pub max_spread: Decimal,
    /// Ticks so far.
    pub tick_count: u64,
    /// Earliest event time so far.
    pub first_ts: Micros,
    /// Latest event time so far.
    pub last_ts: Micros,
}

/// The fold state of one pair.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PairState {
    extremes: Option<Extremes>,
    last_mids: VecDeque<Decimal>,
    last_mids_sum: Decimal,
    rolling: VecDeque<(Micros, Decimal)>,
    rolling_sum: Decimal,
}

impl PairState {
    /// A pair that continues from stored extremes.
    pub fn resume(extremes: Extremes) -> Self {
        PairState {
            extremes: Some(extremes),
            ..PairState::default()
        }
    }

    /// The cumulative figures so far, `None` before the first tick.
    pub fn extremes(&self) -> Option<&Extremes> {
        self.extremes.as_ref()
    }

    /// Folds in the next tick in processing order and returns its metrics.
    pub fn apply(&mut self, tick: &Tick, sma_ticks: usize, rolling_window: Micros) -> TickMetrics {
        let q = &tick.quote;
        let e = self.extremes.get_or_insert(Extremes {
            highest_bid: q.bid,
            lowest_ask: q.ask,
            max_spread: q.spread,
            tick_count: 0,
            first_ts: q.ts,
            last_ts: q.ts,
        });
        e.highest_bid = e.highest_bid.max(q.bid);
        e.lowest_ask = e.lowest_ask.min(q.ask);
        e.max_spread = e.max_spread.max(q.spread);
        e.tick_count += 1;
        e.first_ts = e.first_ts.min(q.ts);
        e.last_ts = e.last_ts.max(q.ts);

        self.last_mids.push_back(q.mid);
        self.last_mids_sum += q.mid;
        while self.last_mids.len() > sma_ticks.max(1) {
            if let Some(old) = self.last_mids.pop_front() {
                self.last_mids_sum -= old;
            }
        }

        let at = self.rolling.partition_point(|&(ts, _)| ts <= q.ts);
        self.rolling.insert(at, (q.ts, q.mid));
        self.rolling_sum += q.mid;
        let newest = self.rolling.back().map_or(q.ts, |&(ts, _)| ts);
        while let Some(&(ts, mid)) = self.rolling.front() {
            if ts + rolling_window > newest {
                break;
            }
            self.rolling.pop_front();
            self.rolling_sum -= mid;
        }
        let rolling_avg = if q.ts == newest {
            mean(self.rolling_sum, self.rolling.len() as u64)
        } else {
            let inside = self
                .rolling
                .iter()
                .filter(|&&(ts, _)| ts + rolling_window > q.ts && ts <= q.ts);
            let (sum, count) =
                inside.fold((Decimal::ZERO, 0u64), |(s, c), &(_, mid)| (s + mid, c + 1));
            mean(sum, count)
        };

        TickMetrics {
            highest_bid: e.highest_bid,
            lowest_ask: e.lowest_ask,
            max_spread: e.max_spread,
            sma: mean(self.last_mids_sum, self.last_mids.len() as u64),
            rolling_avg,
        }
    }
}
