//! The larger and the smaller of two decimals, for the extremes kept per tick.
//!
//! `Decimal`'s ordering unpacks both operands and checks zero, sign and scale before it
//! compares. A pair's extremes and its windows' take nine such comparisons a tick (callgrind of
//! `dataflow/graph/1`), usually of two prices of one scale, whose order is then that of their
//! mantissas. [`max`] and [`min`] take that case directly and leave every other to `Decimal`;
//! either way they return the same bits as `Decimal::max` and `Decimal::min` (a property test
//! checks it).

use std::cmp::Ordering;

use rust_decimal::Decimal;

/// `a.max(b)`: `b` only when it is greater.
pub fn max(a: Decimal, b: Decimal) -> Decimal {
    match order(a, b) {
        Ordering::Less => b,
        _ => a,
    }
}

/// `a.min(b)`: `b` only when it is less.
pub fn min(a: Decimal, b: Decimal) -> Decimal {
    match order(a, b) {
        Ordering::Greater => b,
        _ => a,
    }
}

fn order(a: Decimal, b: Decimal) -> Ordering {
    if a.scale() == b.scale() {
        a.mantissa().cmp(&b.mantissa())
    } else {
        a.cmp(&b)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn decimal() -> impl Strategy<Value = Decimal> {
        let mantissa = prop_oneof![
            -1_000i128..1_000,
            -(1i128 << 96) + 1..(1i128 << 96),
            Just(0i128),
        ];
        let scale = prop_oneof![0u32..4, 0u32..=28];
        (mantissa, scale)
            .prop_map(|(m, s)| Decimal::try_from_i128_with_scale(m, s).unwrap_or(Decimal::ZERO))
    }

    proptest! {
        #[test]
        fn same_bits_as_decimal(a in decimal(), b in decimal(), negative_zero: bool) {
            let mut a = a;
            if negative_zero && a.is_zero() {
                a.set_sign_negative(true);
            }
            prop_assert_eq!(max(a, b).serialize(), a.max(b).serialize());
            prop_assert_eq!(min(a, b).serialize(), a.min(b).serialize());
            prop_assert_eq!(max(b, a).serialize(), b.max(a).serialize());
            prop_assert_eq!(min(b, a).serialize(), b.min(a).serialize());
        }
    }
}
