//! The parameters of the metrics graph (the service maps its flags onto these).

use std::sync::Arc;

use crate::quote::Micros;
use crate::resume::Resume;

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
    /// The state a previous run stored: nothing starts fresh.
    pub resume: Arc<Resume>,
    /// Ticks one activation of the metrics operator releases at most (in whole cells, at least
    /// one). A replay's frontier jumps by seconds at a time; releasing a jump in steps moves the
    /// operator's frontier with each, so the sink can commit and free one step's results before
    /// the next is computed, instead of holding the whole jump's.
    pub release_fuel: usize,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig {
            windows: vec![60_000_000],
            sma_ticks: 5,
            rolling_window: 60_000_000,
            emit_ticks: true,
            resume: Arc::default(),
            release_fuel: 8_192,
        }
    }
}
