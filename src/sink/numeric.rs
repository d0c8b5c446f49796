//! A `Decimal` as PostgreSQL's binary `NUMERIC`, written without allocating.
//!
//! A `ticks` row carries nine decimals, so the sink encodes nine a tick. rust_decimal's own `ToSql`
//! builds each value's base-10,000 digits in a `Vec` of its own, dividing the 96-bit mantissa by
//! 10,000 a word at a time, then reverses and trims it. This writes the same bytes from a fixed
//! array, dividing a `u64` where the scaled mantissa fits one (a mean at 12 places does below about
//! 18 million). The bytes are rust_decimal's to the last one (`the_bytes_are_rust_decimals` checks
//! any decimal), so what PostgreSQL stores does not change.

use bytes::{BufMut, BytesMut};
use rust_decimal::Decimal;
use tokio_postgres::types::{to_sql_checked, IsNull, ToSql, Type};

/// A decimal bound for a `NUMERIC` column.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Numeric(pub Decimal);

/// Base-10,000 digits of the largest mantissa times 1,000 (under 10^32): eight.
const MOST_DIGITS: usize = 8;

/// `NUMERIC`'s sign word for a negative value.
const NEGATIVE: u16 = 0x4000;

impl Numeric {
    /// Appends the value in `NUMERIC`'s binary form: digit count, weight, sign, display scale,
    /// then the base-10,000 digits from the most significant. Like rust_decimal, zero is
    /// written with no digits and scale 0, and zero digits past the point are left off only
    /// when the value is at least 1.
    fn encode(self, out: &mut BytesMut) {
        let value = self.0;
        if value.is_zero() {
            out.put_slice(&[0; 8]);
            return;
        }
        let scale = value.scale() as u16;
        // Scale the mantissa so the decimal point falls between two base-10,000 digits.
        let aligned = match scale % 4 {
            0 => 1,
            rest => 10_u128.pow(4 - u32::from(rest)),
        };
        let mut digits = [0_u16; MOST_DIGITS];
        let count = base_10000(value.mantissa().unsigned_abs() * aligned, &mut digits);
        let after_point = usize::from(scale.div_ceil(4));
        let weight = count as i16 - after_point as i16 - 1;
        // The digits past the point are the `after_point` least significant.
        let trailing_zeros = if weight >= 0 {
            digits[..after_point]
                .iter()
                .take_while(|&&d| d == 0)
                .count()
        } else {
            0
        };
        out.reserve(8 + 2 * count);
        out.put_u16((count - trailing_zeros) as u16);
        out.put_i16(weight);
        out.put_u16(if value.is_sign_negative() {
            NEGATIVE
        } else {
            0
        });
        out.put_u16(scale);
        for &digit in digits[trailing_zeros..count].iter().rev() {
            out.put_u16(digit);
        }
    }
}

/// Writes `n`'s base-10,000 digits into `digits`, least significant first; returns how many.
fn base_10000(mut n: u128, digits: &mut [u16; MOST_DIGITS]) -> usize {
    let mut count = 0;
    // Past 64 bits the division is a library call; below it, a multiply and a shift.
    while n > u128::from(u64::MAX) {
        digits[count] = (n % 10_000) as u16;
        n /= 10_000;
        count += 1;
    }
    let mut n = n as u64;
    while n != 0 {
        digits[count] = (n % 10_000) as u16;
        n /= 10_000;
        count += 1;
    }
    count
}

impl ToSql for Numeric {
    fn to_sql(
        &self,
        _: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        self.encode(out);
        Ok(IsNull::No)
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::NUMERIC
    }

    to_sql_checked!();
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn bytes(value: &(dyn ToSql + Sync)) -> BytesMut {
        let mut out = BytesMut::new();
        value
            .to_sql_checked(&Type::NUMERIC, &mut out)
            .expect("a NUMERIC encodes");
        out
    }

    #[test]
    fn the_bytes_are_rust_decimals_at_the_edges() {
        let edges = [
            Decimal::ZERO,
            Decimal::from_parts(0, 0, 0, true, 5),
            Decimal::ONE,
            Decimal::NEGATIVE_ONE,
            Decimal::MAX,
            Decimal::MIN,
            Decimal::new(1, 28),
            Decimal::new(-1, 28),
            Decimal::new(10_000, 0),
            Decimal::new(100_000_000, 4),
            Decimal::new(1_000_000, 2),
            Decimal::new(60_123_450_000_000_000, 12),
            Decimal::from_i128_with_scale(u64::MAX as i128 + 1, 3),
        ];
        for value in edges {
            assert_eq!(bytes(&Numeric(value)), bytes(&value), "{value}");
        }
    }

    proptest! {
        #[test]
        fn the_bytes_are_rust_decimals(
            lo in any::<u32>(),
            mid in any::<u32>(),
            hi in any::<u32>(),
            negative in any::<bool>(),
            scale in 0_u32..=28,
        ) {
            let value = Decimal::from_parts(lo, mid, hi, negative, scale);
            prop_assert_eq!(bytes(&Numeric(value)), bytes(&value), "{}", value);
        }

        #[test]
        fn prices_encode_as_rust_decimal_does(
            mantissa in 0_i64..10_000_000_000_000_000,
            scale in 0_u32..=12,
        ) {
            let value = Decimal::new(mantissa, scale);
            prop_assert_eq!(bytes(&Numeric(value)), bytes(&value), "{}", value);
        }
    }
}
