//! The in-memory graph as the benches run it: the same quotes, source and metrics whether
//! criterion times it (`dataflow`) or a fixed amount of it is counted (`fixed`).

use tickflow_dataflows::memory::{count, Logs, MemorySource};
use tickflow_dataflows::{LatePolicy, MetricsConfig};

use crate::quotes::quotes;

/// Quotes one run reads: 100 pairs on 8 partitions, 10 µs of event time apart.
pub const MESSAGES: usize = 200_000;

/// The quotes of one run, in their partitions' logs.
pub fn input() -> Logs {
    quotes(MESSAGES, 100, 8, 10).into()
}

/// One run of the graph over `input` on `workers` threads: the number of updates it emitted.
pub fn run(input: Logs, workers: usize) -> usize {
    let source = MemorySource {
        lateness: 1_000_000,
        late: LatePolicy::Update,
        batch: 1024,
    };
    count(input, MetricsConfig::default(), source, workers)
}
