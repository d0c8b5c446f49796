//! The graph's operators, one per file, each an extension trait on the stream it consumes.

pub mod quote_metrics;

pub use quote_metrics::QuoteMetrics;
