//! Pre-encoded canonical quotes shared by the benches: `pairs` pairs in turn, a pair always on
//! the same partition, `spacing_us` of event time between consecutive quotes of the stream.

use tickflow_dataflows::Origin;

/// `messages` quotes, with their Kafka origins, pair `p` on partition `p % partitions`.
pub fn quotes(
    messages: usize,
    pairs: usize,
    partitions: i32,
    spacing_us: u64,
) -> Vec<(Origin, Vec<u8>)> {
    placed(messages, pairs, spacing_us, |pair, _| {
        pair as i32 % partitions
    })
}

/// The quotes of [`quotes`], pair `p` named `name` on partition `partition(p, name)`.
pub fn placed(
    messages: usize,
    pairs: usize,
    spacing_us: u64,
    mut partition: impl FnMut(usize, &str) -> i32,
) -> Vec<(Origin, Vec<u8>)> {
    let names: Vec<String> = (0..pairs).map(|pair| format!("P{pair}-USD")).collect();
    let homes: Vec<i32> = names
        .iter()
        .enumerate()
        .map(|(pair, name)| partition(pair, name))
        .collect();
    let mut offsets = vec![0i64; homes.iter().map(|&p| p as usize + 1).max().unwrap_or(0)];
    (0..messages)
        .map(|i| {
            let pair = i % pairs;
            let partition = homes[pair];
            let offset = offsets[partition as usize];
            offsets[partition as usize] += 1;
            let bid = 100 + (i * 7919) % 1000;
            let ms = 1_763_700_000_000u64 + i as u64 * spacing_us / 1000;
            let name = &names[pair];
            let value = format!(
                r#"{{"pair":"{name}","bid":"{bid}.25","ask":"{bid}.75","timestamp":{ms}}}"#
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
