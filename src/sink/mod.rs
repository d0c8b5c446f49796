//! The Postgres sink.
//!
//! | file | holds |
//! |---|---|
//! | `operator.rs` | the timely operator that hands each worker's updates and frontier to the writer |
//! | `writer.rs` | the one task that owns the connections and commits a transaction per interval |
//! | `tables.rs` | how each table is written: binary `COPY` into a staging table, then one upsert |
//! | `tick_copy.rs` | `ticks` rows copied straight into the table, ahead of their commit |
//! | `numeric.rs` | a `Decimal` as binary `NUMERIC`, written without allocating |
//! | `session.rs` | a writer's connection, with the statements it has prepared on it |
//! | `history.rs` | the byte layout of a rolling-history segment |
//! | `expiry.rs` | which rolling-history segments a commit deletes |
//!
//! Invariant: each transaction commits a cut (`tickflow_dataflows::cut`): the rows of exactly
//! the ticks due before it, the state they leave, and the positions that say which messages
//! they cover, so a restart neither skips nor repeats a message.

pub mod expiry;
pub mod history;
pub mod numeric;
pub mod operator;
pub mod session;
pub mod tables;
pub mod tick_copy;
pub mod writer;

use tickflow_dataflows::{Micros, Origin, PartitionCut, Update};

/// A message for the writer.
#[derive(Debug)]
pub enum ToWriter {
    /// Results of one worker's `QuoteMetrics`, emitted at `time`.
    Updates {
        /// The grid cell they were emitted at.
        time: Micros,
        /// The updates.
        updates: Vec<Update>,
    },
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

/// Dead letters and cuts of one source activation.
#[derive(Debug, Default)]
pub struct SourceReport {
    /// Messages that became dead letters.
    pub dead: Vec<DeadLetter>,
    /// What a cut covers of each partition the worker reads, stated as its frontier passed
    /// grid times.
    pub cuts: Vec<Position>,
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

/// What cuts cover of one partition, stated by its source when its frontier passed the grid
/// times after its previous statement, up to `cut.frontier`. Every cut in that range reads
/// up to `cut.read_to`; the cut at `cut.frontier` needs the partition again from
/// `cut.next_offset`, any earlier one from `lowest`.
#[derive(Debug, Clone, Copy)]
pub struct Position {
    /// Topic index.
    pub topic: u32,
    /// Partition.
    pub partition: i32,
    /// The cut at the last grid time passed.
    pub cut: PartitionCut,
    /// The `next_offset` good for every cut of the range.
    pub lowest: i64,
}

impl Position {
    /// What the cut at `frontier` (within this statement's range) covers.
    pub fn at(&self, frontier: Micros) -> PartitionCut {
        let next_offset = if frontier == self.cut.frontier {
            self.cut.next_offset
        } else {
            self.lowest
        };
        PartitionCut {
            frontier,
            next_offset,
            ..self.cut
        }
    }
}
