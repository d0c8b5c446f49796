//! The per-tick metrics of one pair, and the state they need.
//!
//! Every metric is defined over the pair's ticks *in processing order* (SPEC), so the state is a
//! fold: [`PairState::apply`] takes the next tick and returns its metrics. Cumulative extremes
//! never start fresh: a state can be rebuilt from what a previous run stored
//! ([`PairState::restore`]).
//!
//! `rolling_avg` keeps the ticks with event time in `(newest - 2W, newest]`, with a running sum
//! over `(newest - W, newest]`. A tick processed in event-time order is the newest, and its
//! average is that running sum. A late tick up to `W` behind the newest finds its whole window
//! `(ts - W, ts]` among the kept ticks and is exact too; one later than that averages what is
//! kept, which is what bounds the state.
//!
//! Nothing ever starts fresh: [`PairState::restore`] rebuilds a state from what a cut stored
//! (the pair's extremes, its last N mids and its kept ticks), and the rebuilt state continues
//! exactly as the original would have.

use std::collections::VecDeque;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::extreme;
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

/// The rolling average keeps ticks with event time after `newest - 2W`.
fn keep_after(newest: Micros, rolling_window: Micros) -> Micros {
    newest.saturating_sub(rolling_window.saturating_mul(2))
}

/// Makes room for one more tick in a pair's history. A history levels off at the ticks of `2W`
/// and keeps its buffer from then on, so it grows by an eighth rather than doubling: doubling
/// would leave up to half of that buffer empty for good (at 1,000 pairs and 1,200 ticks each,
/// 49 MB held for 29 MB of ticks). While it spans less than `2W`, as a new pair's does (and
/// every pair's in a replay into empty tables), it grows to the size its ticks so far project
/// for `2W` at their rate, at most doubling: by eighths a history filling up to 2,000 ticks
/// would be allocated 32 times, copying 16,425 ticks on the way; by this 8 times, copying
/// 2,032.
fn reserve_one(rolling: &mut VecDeque<(Micros, Decimal)>, rolling_window: Micros) {
    let len = rolling.len();
    if len < rolling.capacity() {
        return;
    }
    let least = (len / 8).max(16);
    let span = match (rolling.front(), rolling.back()) {
        (Some(&(oldest, _)), Some(&(newest, _))) => newest.saturating_sub(oldest),
        _ => 0,
    };
    let projected = match span {
        0 => usize::MAX,
        span => {
            let ticks = len as u128 * u128::from(rolling_window) * 2 / u128::from(span);
            usize::try_from(ticks).unwrap_or(usize::MAX)
        }
    };
    let extra = projected.saturating_sub(len).clamp(least, least.max(len));
    rolling.reserve_exact(extra);
}

/// The fold state of one pair.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PairState {
    extremes: Option<Extremes>,
    last_mids: VecDeque<Decimal>,
    last_mids_sum: Decimal,
    /// Ticks with event time in `(newest - 2W, newest]`, by event time.
    rolling: VecDeque<(Micros, Decimal)>,
    /// Index in `rolling` of the first tick in `(newest - W, newest]`.
    window_from: usize,
    /// Sum of mids from `window_from` on.
    window_sum: Decimal,
}

impl PairState {
    /// The state a cut stored: the extremes, the last mids in processing order, and the ticks
    /// kept for the rolling average (any order; those older than it keeps are left out).
    pub fn restore(
        extremes: Extremes,
        recent_mids: Vec<Decimal>,
        mut history: Vec<(Micros, Decimal)>,
        rolling_window: Micros,
    ) -> Self {
        let newest = extremes.last_ts;
        history.retain(|&(t, _)| t > keep_after(newest, rolling_window));
        history.sort_by_key(|&(t, _)| t);
        let window_from = history.partition_point(|&(t, _)| t + rolling_window <= newest);
        PairState {
            extremes: Some(extremes),
            last_mids_sum: recent_mids.iter().sum(),
            last_mids: recent_mids.into(),
            window_sum: history[window_from..].iter().map(|&(_, m)| m).sum(),
            rolling: history.into(),
            window_from,
        }
    }

    /// The mids of the last N ticks, oldest first: what `sma` continues from.
    pub fn recent_mids(&self) -> Vec<Decimal> {
        self.last_mids.iter().copied().collect()
    }

    /// Kept ticks have event time after this (`newest - 2W`).
    pub fn keeps_after(&self, rolling_window: Micros) -> Micros {
        self.extremes
            .as_ref()
            .map_or(0, |e| keep_after(e.last_ts, rolling_window))
    }

    /// The cumulative figures so far, `None` before the first tick.
    pub fn extremes(&self) -> Option<&Extremes> {
        self.extremes.as_ref()
    }

    /// Adds a mid to the rolling window and returns the mean over `(ts - W, ts]`.
    fn roll(&mut self, ts: Micros, mid: Decimal, w: Micros) -> Decimal {
        let at = match self.rolling.back() {
            Some(&(newest, _)) if newest > ts => self.rolling.partition_point(|&(t, _)| t <= ts),
            _ => self.rolling.len(),
        };
        reserve_one(&mut self.rolling, w);
        self.rolling.insert(at, (ts, mid));
        let newest = self.rolling.back().map_or(ts, |&(t, _)| t);
        if at < self.window_from {
            self.window_from += 1;
        } else {
            self.window_sum += mid;
        }
        while let Some(&(t, m)) = self.rolling.get(self.window_from) {
            if t + w > newest {
                break;
            }
            self.window_sum -= m;
            self.window_from += 1;
        }
        while let Some(&(t, _)) = self.rolling.front() {
            if t + w + w > newest || self.window_from == 0 {
                break;
            }
            self.rolling.pop_front();
            self.window_from -= 1;
        }
        if ts == newest {
            return mean(
                self.window_sum,
                (self.rolling.len() - self.window_from) as u64,
            );
        }
        let inside = self.rolling.iter().filter(|&&(t, _)| t + w > ts && t <= ts);
        let (sum, count) = inside.fold((Decimal::ZERO, 0u64), |(s, c), &(_, m)| (s + m, c + 1));
        mean(sum, count)
    }

    /// Folds in the next tick in processing order and returns its metrics.
    pub fn apply(&mut self, tick: &Tick, sma_ticks: usize, rolling_window: Micros) -> TickMetrics {
        let q = &tick.quote;
        let rolling_avg = self.roll(q.ts, q.mid, rolling_window);
        let e = self.extremes.get_or_insert(Extremes {
            highest_bid: q.bid,
            lowest_ask: q.ask,
            max_spread: q.spread,
            tick_count: 0,
            first_ts: q.ts,
            last_ts: q.ts,
        });
        e.highest_bid = extreme::max(e.highest_bid, q.bid);
        e.lowest_ask = extreme::min(e.lowest_ask, q.ask);
        e.max_spread = extreme::max(e.max_spread, q.spread);
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

        TickMetrics {
            highest_bid: e.highest_bid,
            lowest_ask: e.lowest_ask,
            max_spread: e.max_spread,
            sma: mean(self.last_mids_sum, self.last_mids.len() as u64),
            rolling_avg,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::decode;
    use crate::quote::Origin;

    /// A quote of pair `P` at `ms` milliseconds, due then.
    fn tick(ms: u64) -> Tick {
        let value = format!(r#"{{"pair":"P","bid":"100","ask":"101","timestamp":{ms}}}"#);
        let quote = decode(value.as_bytes()).expect("a valid quote");
        let origin = Origin {
            topic: 0,
            partition: 0,
            offset: ms as i64,
        };
        Tick {
            due: quote.ts,
            quote,
            origin,
        }
    }

    /// Filling, a history grows toward the ticks of `2W` and not past them by more than an
    /// eighth; once it spans `2W` it holds within an eighth of its ticks; and it reaches its
    /// size in a few copies.
    #[test]
    fn history_holds_little_more_than_its_ticks() {
        let w = 60_000_000;
        let level = 1_200;
        let mut state = PairState::default();
        let mut copies = 0;
        for i in 0..3_000 {
            let before = state.rolling.capacity();
            state.apply(&tick(i * 100), 5, w);
            let (len, capacity) = (state.rolling.len(), state.rolling.capacity());
            copies += usize::from(capacity != before);
            assert!(capacity <= level + level / 8, "{capacity} for {len}");
            assert!(capacity <= 2 * len + 16, "{capacity} for {len}");
            if i >= level as u64 {
                assert!(capacity <= len + len / 8 + 16, "{capacity} for {len}");
            }
        }
        assert_eq!(state.rolling.len(), level, "2W of ticks, 10 a second");
        assert!(copies <= 8, "{copies} copies");
    }

    /// A pair whose ticks come faster than their history's buffer can grow by eighths doubles
    /// it while the history spans less than `2W`, and no more.
    #[test]
    fn a_filling_history_at_most_doubles() {
        let w = 60_000_000;
        let mut state = PairState::default();
        let mut copies = 0;
        for i in 0..5_000 {
            let before = state.rolling.capacity();
            state.apply(&tick(i), 5, w);
            let (len, capacity) = (state.rolling.len(), state.rolling.capacity());
            copies += usize::from(capacity != before);
            assert!(capacity <= 2 * len + 16, "{capacity} for {len}");
        }
        assert!(copies <= 10, "{copies} copies: 16 doubled to 8,192 is 10");
    }
}
