//! The records that flow through the graph.
//!
//! A [`Quote`] is a validated message; a [`Tick`] is a quote placed in the stream: where it came
//! from (so every output row can name its source message) and the event time at which the graph
//! processes it.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::pair_name::PairName;

/// Event time in microseconds since the Unix epoch: the timely timestamp of the whole graph.
pub type Micros = u64;

/// A validated canonical quote, with its exact derived prices.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quote {
    /// The trimmed pair, 1 to 32 bytes: shared, not allocated per quote ([`crate::pair_name`]).
    pub pair: PairName,
    /// Best bid, strictly positive.
    pub bid: Decimal,
    /// Best ask, at least `bid`.
    pub ask: Decimal,
    /// `(bid + ask) / 2`, exact.
    pub mid: Decimal,
    /// `ask - bid`, exact.
    pub spread: Decimal,
    /// Event time, truncated to microseconds.
    pub ts: Micros,
}

/// Where a message was read: the ordering tie-breaker and the primary key of its `ticks` row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Origin {
    /// Index of the topic in the pipeline's topic list.
    pub topic: u32,
    /// Kafka partition.
    pub partition: i32,
    /// Kafka offset.
    pub offset: i64,
}

/// A quote on its way through the graph.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tick {
    /// The validated quote.
    pub quote: Quote,
    /// The source message.
    pub origin: Origin,
    /// When the graph processes it: the event time, or the source frontier when the quote
    /// arrived late (`due > quote.ts` exactly when the tick is late).
    pub due: Micros,
}

impl Tick {
    /// Whether the quote arrived below the frontier and is processed after its event time.
    pub fn is_late(&self) -> bool {
        self.due > self.quote.ts
    }

    /// The processing order of SPEC: (processing time, event time, partition, offset).
    pub fn order_key(&self) -> (Micros, Micros, Origin) {
        (self.due, self.quote.ts, self.origin)
    }
}
