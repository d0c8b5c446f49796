//! The Postgres sink.
//!
//! | file | holds |
//! |---|---|
//! | `operator.rs` | the timely operator that hands each worker's updates and frontier to the writer |
//! | `writer.rs` | the one task that owns the connection and commits a transaction per interval |
//! | `tables.rs` | how each table is written: binary `COPY` into a staging table, then one upsert |
//!
//! Invariant: a position is committed only in a transaction that also holds (or follows) every
//! row computed from the messages before it, so `--from committed` never skips a message.

pub mod operator;
pub mod tables;
pub mod writer;

use tickflow_dataflows::{Micros, Origin, Update};

/// A message for the writer.
#[derive(Debug)]
pub enum ToWriter {
    /// Results of one worker's `QuoteMetrics`.
    Updates(Vec<Update>),
    /// A worker's sink frontier moved: every update before it was sent. `None`: it is done.
    Frontier {
        /// The worker.
        worker: usize,
        /// Its new frontier.
        frontier: Option<Micros>,
    },
    /// What a source worker read in one activation.
    Source(SourceReport),
}

/// Dead letters and read positions of one source activation.
#[derive(Debug, Default)]
pub struct SourceReport {
    /// Messages that became dead letters.
    pub dead: Vec<DeadLetter>,
    /// New read positions.
    pub positions: Vec<Position>,
}

/// A rejected message.
#[derive(Debug, Clone)]
pub struct DeadLetter {
    /// Where it was read.
    pub origin: Origin,
    /// The value as received.
    pub payload: Vec<u8>,
    /// Why it was rejected.
    pub reason: String,
}

/// How far a partition was read, and the latest processing time of what was read.
#[derive(Debug, Clone, Copy)]
pub struct Position {
    /// Topic index.
    pub topic: u32,
    /// Partition.
    pub partition: i32,
    /// The next offset to read.
    pub next_offset: i64,
    /// The highest `Tick::due` of the messages before `next_offset`: the position may be
    /// committed once every worker's sink frontier has passed it.
    pub max_due: Micros,
}
