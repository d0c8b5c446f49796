//! tickflow's pure computation: no Kafka, no Postgres, no async; everything here runs and is
//! tested in memory.
//!
//! | module | holds | invariant |
//! |---|---|---|
//! | [`decode`](mod@decode) | message bytes → [`Quote`] or [`Rejection`] | no floats on the price path |
//! | [`admit`](mod@admit) | a read message → tick or dead letter | late means below the source frontier |
//! | [`clock`] | per-partition watermarks → the source frontier | a partition not read to its end never stops holding it |
//! | [`cut`] | where results, positions and state can be stored together | a cut's updates are those of the ticks due before it |
//! | [`resume`] | the operator state a cut stored | a resumed run continues exactly as the original |
//! | [`route`] | which worker owns a pair; ticks batched by it | a batch of one owner crosses the exchange whole |
//! | [`operators`] | the timely operators | per-pair work at release time, in processing order |
//! | [`pair_name`](mod@pair_name) | a quote's pair name, kept once per process | a name is the same text however it is held |
//! | [`pair_state`] | the per-tick fold of one pair | metrics depend on processing order only |
//! | [`window`] | a tumbling window's aggregate | merge is associative in processing order |
//! | [`extreme`] | `max` and `min` of decimals for the extremes | the same bits as `Decimal`'s |
//! | [`tables`] | upsert semantics of the result tables | a later row of a key replaces, a delta merges |
//! | [`memory`] | the whole graph run on in-memory messages | same input, same tables, any worker count |
#![forbid(missing_docs)]

pub mod admit;
pub mod clock;
pub mod config;
pub mod cut;
pub mod decode;
pub mod extreme;
pub mod memory;
pub mod operators;
pub mod output;
pub mod pair_name;
pub mod pair_state;
pub mod quote;
pub mod resume;
pub mod route;
pub mod tables;
pub mod window;

pub use admit::{admit, Admission, LatePolicy};
pub use clock::{owner, Clocks, PartitionKey};
pub use config::MetricsConfig;
pub use cut::{cell, Ledger, PartitionCut, CUT_GRID};
pub use decode::{decode, Rejection};
pub use operators::QuoteMetrics;
pub use output::{HistoryRow, PairRow, TickRow, Update, WindowKey, WindowRow};
pub use pair_name::{pair_name, PairName};
pub use pair_state::{Extremes, PairState, TickMetrics};
pub use quote::{Micros, Origin, Quote, Tick};
pub use resume::Resume;
pub use route::ByOwner;
pub use tables::Tables;
pub use window::WindowAgg;
