//! The in-memory graph as the benches run it: the same quotes, source and metrics whether
//! criterion times it (`dataflow`) or a fixed amount of it is counted (`fixed`).

use tickflow_dataflows::memory::{count, Logs, MemorySource};
use tickflow_dataflows::{LatePolicy, MetricsConfig};

use crate::quotes::quotes;

/// Quotes one run reads.
pub const MESSAGES: usize = 200_000;
/// Pairs they quote, in turn.
pub const PAIRS: usize = 100;
/// Partitions they are on, a pair always on the same one.
pub const PARTITIONS: i32 = 8;
/// Event time between consecutive quotes.
pub const SPACING_US: u64 = 10;

/// The quotes of one run, in their partitions' logs.
pub fn input() -> Logs {
    quotes(MESSAGES, PAIRS, PARTITIONS, SPACING_US).into()
}

/// How every run reads its quotes.
pub fn source() -> MemorySource {
    MemorySource {
        lateness: 1_000_000,
        late: LatePolicy::Update,
        batch: 1024,
    }
}

/// One run of the graph over `input` on `workers` new threads: the number of updates it
/// emitted.
pub fn run(input: Logs, workers: usize) -> usize {
    count(input, MetricsConfig::default(), source(), workers)
}
