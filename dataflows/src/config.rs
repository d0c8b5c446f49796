//! The parameters of the metrics graph (the service maps its flags onto these).

use std::collections::HashMap;
use std::sync::Arc;

use crate::pair_state::PairState;
use crate::quote::Micros;

/// What the metrics operator computes.
#[derive(Clone, Debug)]
pub struct MetricsConfig {
    /// Tumbling window widths, in microseconds (whole seconds).
    pub windows: Vec<Micros>,
    /// Ticks in the simple moving average.
    pub sma_ticks: usize,
    /// Width of the rolling average, in microseconds.
    pub rolling_window: Micros,
    /// Emit a `ticks` row per tick (`--no-ticks` turns it off).
    pub emit_ticks: bool,
    /// State stored by a previous run, by pair: a pair never starts fresh.
    pub resume: Arc<HashMap<String, PairState>>,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig {
            windows: vec![60_000_000],
            sma_ticks: 5,
            rolling_window: 60_000_000,
            emit_ticks: true,
            resume: Arc::default(),
        }
    }
}
