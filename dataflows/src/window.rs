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

/// Places of every average (SPEC: at least 12). Every average has exactly this scale, as
/// PostgreSQL's `round(numeric, 12)` gives, so a row reads the same whether the engine or a merge
/// in SQL (`tickflow_mean`, migration 0004) computed it.
pub const AVERAGE_PLACES: u32 = 12;

/// The mean of `count` values summing to `sum`: the exact quotient rounded half away from zero
/// to [`AVERAGE_PLACES`].
///
/// Integer arithmetic on the mantissa rather than `Decimal` division: the division rounds at 28
/// significant digits before the 12-place rounding (two roundings), and cost twice as much (the
/// two means of a tick took 432 of the in-memory graph's 7,394 instructions a tick; now 216).
pub fn mean(sum: Decimal, count: u64) -> Decimal {
    let count = count.max(1);
    rounded_quotient(sum, count).unwrap_or_else(|| {
        let mut m = (sum / Decimal::from(count))
            .round_dp_with_strategy(AVERAGE_PLACES, RoundingStrategy::MidpointAwayFromZero);
        m.rescale(AVERAGE_PLACES);
        m
    })
}

/// `sum / count` rounded to [`AVERAGE_PLACES`], or `None` when the quotient does not fit a
/// `Decimal` at that scale (beyond about 7.9e16) or the scaled dividend overflows 128 bits.
fn rounded_quotient(sum: Decimal, count: u64) -> Option<Decimal> {
    let places = AVERAGE_PLACES as usize;
    let magnitude = sum.mantissa().unsigned_abs();
    let (dividend, divisor) = match sum.scale() as usize {
        s if s <= places => (
            magnitude.checked_mul(POWERS_OF_TEN[places - s])?,
            u128::from(count),
        ),
        s => (
            magnitude,
            u128::from(count).checked_mul(POWERS_OF_TEN[s - places])?,
        ),
    };
    // Most sums of a few prices fit 64 bits, whose division is one instruction, not a call.
    let (quotient, remainder) = match (u64::try_from(dividend), u64::try_from(divisor)) {
        (Ok(a), Ok(b)) => (u128::from(a / b), u128::from(a % b)),
        _ => (dividend / divisor, dividend % divisor),
    };
    let rounded = i128::try_from(quotient + u128::from(2 * remainder >= divisor)).ok()?;
    let signed = if sum.is_sign_negative() {
        -rounded
    } else {
        rounded
    };
    Decimal::try_from_i128_with_scale(signed, AVERAGE_PLACES).ok()
}

/// `10^i` for every scale a `Decimal` can have.
const POWERS_OF_TEN: [u128; 29] = {
    let mut powers = [1u128; 29];
    let mut i = 1;
    while i < powers.len() {
        powers[i] = powers[i - 1] * 10;
        i += 1;
    }
    powers
};

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

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn dec(s: &str) -> Decimal {
        s.parse().expect("a decimal literal")
    }

    #[test]
    fn means_have_twelve_places_rounded_half_away_from_zero() {
        let cases = [
            ("5", 2, "2.500000000000"),
            ("1", 3, "0.333333333333"),
            ("2", 3, "0.666666666667"),
            ("-2", 3, "-0.666666666667"),
            ("0.0000000000005", 1, "0.000000000001"),
            ("-0.0000000000005", 1, "-0.000000000001"),
            ("0.00000000000049999", 1, "0.000000000000"),
            ("60000.25", 2, "30000.125000000000"),
            ("0", 0, "0.000000000000"),
        ];
        for (sum, count, expected) in cases {
            assert_eq!(
                mean(dec(sum), count).to_string(),
                expected,
                "{sum} / {count}"
            );
        }
    }

    /// Past the integer path, deterministically (the properties below reach it only by
    /// chance): a quotient too large for twelve places keeps its exact value at the largest
    /// scale that holds it; a sum too large to scale is divided by `Decimal`, whose 28
    /// significant digits here end at the twelfth place, so it rounds once, half away from zero.
    #[test]
    fn beyond_the_integer_path() {
        let huge = dec("100000000000000000000");
        assert_eq!(rounded_quotient(huge, 1), None);
        assert_eq!(mean(huge, 1), huge);

        let count = 10u64.pow(13);
        let cases = [
            // Exactly 7922816251426433.7593543950335 and -2640938750475477.9197847983445.
            (Decimal::MAX, count, "7922816251426433.759354395034"),
            (Decimal::MIN, 3 * count, "-2640938750475477.919784798345"),
        ];
        for (sum, count, expected) in cases {
            assert_eq!(rounded_quotient(sum, count), None, "{sum} / {count}");
            assert_eq!(mean(sum, count).to_string(), expected, "{sum} / {count}");
        }
    }

    /// `Decimal` division followed by rounding: the result the integer path must give wherever
    /// that division is exact to beyond the rounding digit.
    fn divided(sum: Decimal, count: u64) -> Decimal {
        (sum / Decimal::from(count))
            .round_dp_with_strategy(AVERAGE_PLACES, RoundingStrategy::MidpointAwayFromZero)
    }

    fn sum() -> impl Strategy<Value = Decimal> {
        let mantissa = prop_oneof![
            -1_000_000i128..1_000_000,
            -10i128.pow(20)..10i128.pow(20),
            -(1i128 << 96) + 1..(1i128 << 96),
        ];
        (mantissa, 0u32..=28)
            .prop_map(|(m, s)| Decimal::try_from_i128_with_scale(m, s).unwrap_or(Decimal::ZERO))
    }

    proptest! {
        /// Below 1e8 and with at most a million values, `Decimal`'s 28 significant digits hold
        /// the quotient to its 20th place, and a quotient of a count below 1e6 has no run of six
        /// nines or zeros there, so that division rounds once, exactly like the integer path.
        #[test]
        fn the_exact_quotient_rounded(sum in sum(), count in 1u64..=1_000_000) {
            prop_assume!(sum.abs() < Decimal::from(count) * Decimal::from(100_000_000));
            let m = mean(sum, count);
            prop_assert_eq!(m.scale(), AVERAGE_PLACES);
            prop_assert_eq!(m, divided(sum, count));
        }

        /// Anywhere else the two differ by at most the last place, and the scale is 12 while the
        /// quotient fits it.
        #[test]
        fn within_a_unit_of_the_twelfth_place(sum in sum(), count in 1u64..=u64::MAX) {
            let m = mean(sum, count);
            let unit = Decimal::new(1, AVERAGE_PLACES);
            prop_assert!((m - divided(sum, count)).abs() <= unit, "{} vs {}", m, divided(sum, count));
            if (sum / Decimal::from(count)).abs() < Decimal::from(10u64.pow(16)) {
                prop_assert_eq!(m.scale(), AVERAGE_PLACES);
            }
        }
    }
}
