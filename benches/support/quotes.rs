//! Pre-encoded canonical quotes shared by the benches: `pairs` pairs in turn, a pair always on
//! the same one of `partitions` partitions, `spacing_us` of event time between consecutive
//! quotes of the stream.

use tickflow_dataflows::Origin;

/// `messages` quotes, with their Kafka origins.
pub fn quotes(
    messages: usize,
    pairs: usize,
    partitions: i32,
    spacing_us: u64,
) -> Vec<(Origin, Vec<u8>)> {
    let mut offsets = vec![0i64; partitions as usize];
    (0..messages)
        .map(|i| {
            let pair = i % pairs;
            let partition = (pair as i32) % partitions;
            let offset = offsets[partition as usize];
            offsets[partition as usize] += 1;
            let bid = 100 + (i * 7919) % 1000;
            let ms = 1_763_700_000_000u64 + i as u64 * spacing_us / 1000;
            let value = format!(
                r#"{{"pair":"P{pair}-USD","bid":"{bid}.25","ask":"{bid}.75","timestamp":{ms}}}"#
            );
            let origin = Origin {
                topic: 0,
                partition,
                offset,
            };
            (origin, value.into_bytes())
        })
        .collect()
}
