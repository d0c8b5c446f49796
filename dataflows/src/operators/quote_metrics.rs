//! `quote_metrics`: ticks in, table upserts out.
//!
//! Ticks are exchanged by pair, so one worker owns each pair and its state. They are stashed
//! until the input frontier passes their processing time (`Tick::due`), then released in
//! SPEC's processing order — (due, event time, topic, partition, offset) within each pair — and
//! folded through [`PairState`] and the open windows. Arrival order never matters, which is what
//! makes the output independent of worker count and batching.
//!
//! After each release the operator emits the new `ticks` rows, one `pair_metrics` row per pair
//! it touched, and the window rows that changed. A window is final once the frontier reaches its
//! end; it is then emitted with `is_final` and dropped from memory. A late tick for a window
//! already final produces a `delta` row that the sink merges into the stored one.
//!
//! ```
//! use timely::dataflow::InputHandle;
//! use timely::dataflow::operators::capture::{Capture, Event};
//! use tickflow_dataflows::{decode, MetricsConfig, Origin, QuoteMetrics, Tick, Update};
//!
//! let captured = timely::example(|scope| {
//!     let quote = decode(br#"{"pair":"BTC-USD","bid":"1","ask":"3","timestamp":0}"#).unwrap();
//!     let origin = Origin { topic: 0, partition: 0, offset: 0 };
//!     let tick = Tick { quote, origin, due: 0 };
//!     timely::dataflow::operators::ToStream::to_stream(vec![tick], scope)
//!         .quote_metrics(MetricsConfig::default())
//!         .capture()
//! });
//! let updates: Vec<Update> = captured
//!     .try_iter()
//!     .flat_map(|event| match event {
//!         Event::Messages(_, data) => data,
//!         Event::Progress(_) => Vec::new(),
//!     })
//!     .collect();
//! assert_eq!(updates.len(), 3, "a tick row, a pair row and a final window row");
//! ```

use std::collections::{BTreeMap, BTreeSet, HashMap};

use timely::dataflow::channels::pact::Exchange;
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::Stream;

use crate::config::MetricsConfig;
use crate::output::{PairRow, TickRow, Update, WindowKey, WindowRow};
use crate::pair_state::PairState;
use crate::quote::{Micros, Tick};
use crate::window::{window_start, WindowAgg};

/// Computes every metric of SPEC from a stream of ticks.
pub trait QuoteMetrics<'scope> {
    /// Per-tick metrics, pair rows and tumbling windows, as upserts.
    fn quote_metrics(self, config: MetricsConfig) -> Stream<'scope, Micros, Vec<Update>>;
}

impl<'scope> QuoteMetrics<'scope> for Stream<'scope, Micros, Vec<Tick>> {
    fn quote_metrics(self, config: MetricsConfig) -> Stream<'scope, Micros, Vec<Update>> {
        let by_pair = Exchange::new(|tick: &Tick| pair_hash(&tick.quote.pair));
        self.unary_frontier(by_pair, "QuoteMetrics", move |capability, _info| {
            let mut capability = Some(capability);
            let mut stash: Vec<Tick> = Vec::new();
            let mut fold = Fold::new(config);
            let mut updates = Vec::new();
            move |(input, frontier), output| {
                input.for_each(|_time, data| stash.append(data));
                let Some(cap) = capability.as_mut() else {
                    return;
                };
                let frontier = frontier.frontier().first().copied();
                let released = fold.release(&mut stash, frontier, &mut updates);
                if released {
                    output.session(&*cap).give_container(&mut updates);
                    updates.clear();
                }
                match frontier {
                    Some(time) if *cap.time() < time => cap.downgrade(&time),
                    Some(_) => {}
                    None => capability = None,
                }
            }
        })
    }
}

/// FNV-1a of the pair: a fixed function, so a pair lands on the same worker in every run.
fn pair_hash(pair: &str) -> u64 {
    pair.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The state of the pairs one worker owns, and their open windows.
struct Fold {
    config: MetricsConfig,
    pairs: HashMap<String, PairState>,
    /// Open windows by (end, width, pair), so those the frontier closes come first.
    windows: BTreeMap<(Micros, Micros, String), WindowAgg>,
    /// Windows ending at or before this were emitted final and dropped.
    closed_below: Micros,
}

impl Fold {
    fn new(config: MetricsConfig) -> Self {
        Fold {
            config,
            pairs: HashMap::new(),
            windows: BTreeMap::new(),
            closed_below: 0,
        }
    }

    /// Processes the stashed ticks the frontier has passed and closes the windows it reached.
    /// Returns whether anything was emitted.
    fn release(
        &mut self,
        stash: &mut Vec<Tick>,
        frontier: Option<Micros>,
        out: &mut Vec<Update>,
    ) -> bool {
        let passed = |time: Micros| frontier.is_none_or(|f| time < f);
        let mut ready: Vec<Tick> = Vec::new();
        if stash.iter().any(|t| passed(t.due)) {
            let (now, later): (Vec<Tick>, Vec<Tick>) = stash.drain(..).partition(|t| passed(t.due));
            *stash = later;
            ready = now;
        }
        ready.sort_unstable_by(|a, b| {
            (&a.quote.pair, a.order_key()).cmp(&(&b.quote.pair, b.order_key()))
        });

        let mut touched: BTreeSet<(Micros, Micros, String)> = BTreeSet::new();
        let mut deltas: BTreeMap<(Micros, Micros, String), WindowAgg> = BTreeMap::new();
        for group in ready.chunk_by(|a, b| a.quote.pair == b.quote.pair) {
            let pair = &group[0].quote.pair;
            let state = self
                .pairs
                .entry(pair.clone())
                .or_insert_with(|| self.config.resume.get(pair).cloned().unwrap_or_default());
            let mut last = None;
            for tick in group {
                let metrics = state.apply(tick, self.config.sma_ticks, self.config.rolling_window);
                for &width in &self.config.windows {
                    let end = window_start(tick.quote.ts, width) + width;
                    let key = (end, width, pair.clone());
                    let target = if end <= self.closed_below {
                        &mut deltas
                    } else {
                        &mut self.windows
                    };
                    match target.get_mut(&key) {
                        Some(agg) => agg.merge(&WindowAgg::of(tick)),
                        None => {
                            target.insert(key.clone(), WindowAgg::of(tick));
                        }
                    }
                    if end > self.closed_below {
                        touched.insert(key);
                    }
                }
                let row = TickRow {
                    tick: tick.clone(),
                    metrics,
                };
                if self.config.emit_ticks {
                    out.push(Update::Tick(row.clone()));
                }
                last = Some(row);
            }
            if let (Some(last), Some(e)) = (last, state.extremes()) {
                out.push(Update::Pair(PairRow {
                    last,
                    tick_count: e.tick_count,
                    first_ts: e.first_ts,
                    last_ts: e.last_ts,
                }));
            }
        }

        let close_to = frontier.unwrap_or(Micros::MAX);
        let closing: Vec<_> = self
            .windows
            .keys()
            .take_while(|(end, _, _)| *end <= close_to)
            .cloned()
            .collect();
        touched.extend(closing);
        for key in touched {
            let is_final = key.0 <= close_to;
            let agg = if is_final {
                self.windows.remove(&key)
            } else {
                self.windows.get(&key).cloned()
            };
            if let Some(agg) = agg {
                out.push(window_row(key, agg, is_final, false));
            }
        }
        out.extend(
            deltas
                .into_iter()
                .map(|(key, agg)| window_row(key, agg, true, true)),
        );
        self.closed_below = self.closed_below.max(close_to);
        !out.is_empty()
    }
}

fn window_row(
    (end, width, pair): (Micros, Micros, String),
    agg: WindowAgg,
    is_final: bool,
    delta: bool,
) -> Update {
    Update::Window(WindowRow {
        key: WindowKey {
            pair,
            width,
            start: end - width,
        },
        agg,
        is_final,
        delta,
    })
}
