//! The byte layout of a `rolling_history` segment: 24 bytes a tick, the event time in
//! microseconds (big-endian) then the mid as `rust_decimal`'s 16-byte serialization. Fixed-size
//! records keep a segment one `BYTEA` value however many ticks it holds, written and read
//! without parsing decimals.

use rust_decimal::Decimal;
use tickflow_dataflows::Micros;

const RECORD: usize = 24;

/// A segment holding `entries`.
pub fn encode(entries: &[(Micros, Decimal)]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(entries.len() * RECORD);
    for (ts, mid) in entries {
        bytes.extend_from_slice(&ts.to_be_bytes());
        bytes.extend_from_slice(&mid.serialize());
    }
    bytes
}

/// The entries of a segment; `None` when its length is not a whole number of records.
pub fn decode(bytes: &[u8]) -> Option<Vec<(Micros, Decimal)>> {
    if !bytes.len().is_multiple_of(RECORD) {
        return None;
    }
    bytes
        .chunks_exact(RECORD)
        .map(|record| {
            let (ts, mid) = record.split_at(8);
            Some((
                Micros::from_be_bytes(ts.try_into().ok()?),
                Decimal::deserialize(mid.try_into().ok()?),
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_round_trip_exactly() {
        let entries = vec![
            (1_700_000_000_123_456, Decimal::new(5_000_005, 2)),
            (
                0,
                Decimal::from_i128_with_scale(79_228_162_514_264_337_593_543_950_335, 28),
            ),
        ];
        assert_eq!(decode(&encode(&entries)), Some(entries));
        assert_eq!(decode(&[0; 23]), None);
    }
}
