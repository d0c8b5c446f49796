//! `quote_metrics`: ticks in, table upserts out.
//!
//! Ticks are exchanged by pair, so one worker owns each pair and its state. They are stashed
//! until the input frontier passes their processing time (`Tick::due`), then released in
//! SPEC's processing order — (due, event time, topic, partition, offset) within each pair — and
//! folded through [`PairState`] and the open windows. Arrival order never matters, which is what
//! makes the output independent of worker count and batching.
//!
//! A release is processed one grid cell ([`cell`]) at a time, and what each cell changes is
//! emitted at the cell's time: its `ticks` rows, one `pair_metrics` row and one history row per
//! pair it touched, and the window rows that changed. A window is final once the frontier reaches
//! its end; it is then emitted with `is_final`, at the cell just before its end, and dropped from
//! memory. A late tick for a window already final produces a `delta` row that the sink merges
//! into the stored one. So the updates before any cut are exactly the results of the ticks due
//! before it, which is what lets the sink store state with its positions (see [`crate::cut`]).
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
//! // At the tick's cell: its row, the pair row, a history row and the open window; at the cell
//! // before the window's end: the window again, final.
//! assert_eq!(updates.len(), 5);
//! ```

use std::collections::{BTreeMap, BTreeSet, HashMap};

use timely::dataflow::channels::pact::Exchange;
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::Stream;

use crate::config::MetricsConfig;
use crate::cut::{cell, CUT_GRID};
use crate::output::{HistoryRow, PairRow, TickRow, Update, WindowKey, WindowRow};
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
        let (index, peers) = (self.scope().index(), self.scope().peers());
        let by_pair = Exchange::new(move |tick: &Tick| pair_owner(&tick.quote.pair, peers) as u64);
        self.unary_frontier(by_pair, "QuoteMetrics", move |capability, _info| {
            let mut capability = Some(capability);
            let mut stash: Vec<Tick> = Vec::new();
            let mut fold = Fold::new(config, index, peers);
            let mut cells = Vec::new();
            move |(input, frontier), output| {
                input.for_each(|_time, data| stash.append(data));
                let Some(cap) = capability.as_mut() else {
                    return;
                };
                let frontier = frontier.frontier().first().copied();
                fold.release(&mut stash, frontier, &mut cells);
                for (time, mut updates) in cells.drain(..) {
                    output
                        .session(&cap.delayed(&time))
                        .give_container(&mut updates);
                }
                match frontier {
                    Some(time) if *cap.time() < cell(time) => cap.downgrade(&cell(time)),
                    Some(_) => {}
                    None => capability = None,
                }
            }
        })
    }
}

/// The worker that owns a pair: FNV-1a of its name, so a pair lands on the same worker in every
/// run and a resumed worker knows which stored pairs are its own.
fn pair_owner(pair: &str, peers: usize) -> usize {
    let hash = pair.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    (hash % peers.max(1) as u64) as usize
}

/// Open windows by (end, width, pair), so those the frontier closes come first.
type OpenWindows = BTreeMap<(Micros, Micros, String), WindowAgg>;

/// The state of the pairs one worker owns, and their open windows.
struct Fold {
    config: MetricsConfig,
    pairs: HashMap<String, PairState>,
    windows: OpenWindows,
}

impl Fold {
    /// The fold of worker `index`, starting from the stored state of the pairs it owns.
    fn new(config: MetricsConfig, index: usize, peers: usize) -> Self {
        let resume = config.resume.clone();
        let owned = |pair: &str| pair_owner(pair, peers) == index;
        let pairs = resume
            .pairs
            .iter()
            .filter(|(pair, _)| owned(pair))
            .map(|(pair, state)| (pair.clone(), state.clone()))
            .collect();
        let windows = resume
            .windows
            .iter()
            .filter(|(key, _)| owned(&key.pair) && config.windows.contains(&key.width))
            .map(|(key, agg)| {
                (
                    (key.start + key.width, key.width, key.pair.clone()),
                    agg.clone(),
                )
            })
            .collect();
        Fold {
            config,
            pairs,
            windows,
        }
    }

    /// Processes the stashed ticks the frontier has passed and closes the windows it reached,
    /// cell by cell, pushing what each cell changed with the cell's time.
    fn release(
        &mut self,
        stash: &mut Vec<Tick>,
        frontier: Option<Micros>,
        out: &mut Vec<(Micros, Vec<Update>)>,
    ) {
        let close_to = frontier.unwrap_or(Micros::MAX);
        let mut ready: Vec<Tick> = Vec::new();
        if stash.iter().any(|t| t.due < close_to) {
            let (now, later): (Vec<Tick>, Vec<Tick>) =
                stash.drain(..).partition(|t| t.due < close_to);
            *stash = later;
            ready = now;
        }
        ready.sort_unstable_by(|a, b| {
            (cell(a.due), &a.quote.pair, a.order_key()).cmp(&(
                cell(b.due),
                &b.quote.pair,
                b.order_key(),
            ))
        });

        let mut rest = &ready[..];
        loop {
            let next_tick = rest.first().map(|t| cell(t.due));
            let next_close = self
                .windows
                .keys()
                .next()
                .filter(|(end, _, _)| *end <= close_to)
                .map(|(end, _, _)| end - CUT_GRID);
            let Some(at) = next_tick.into_iter().chain(next_close).min() else {
                break;
            };
            let (now, later) = rest.split_at(rest.partition_point(|t| cell(t.due) == at));
            rest = later;
            let mut updates = Vec::new();
            let closes_to = close_to.min(at + CUT_GRID);
            self.fold_cell(at, closes_to, now, &mut updates);
            self.close(closes_to, &mut updates);
            if !updates.is_empty() {
                out.push((at, updates));
            }
        }
    }

    /// Folds the ticks of the cell at `at` (sorted by pair, then processing order). Windows
    /// ending at or before the cell are final: ticks for them become deltas.
    fn fold_cell(&mut self, at: Micros, closes_to: Micros, ticks: &[Tick], out: &mut Vec<Update>) {
        let config = &self.config;
        let mut touched: BTreeSet<(Micros, Micros, String)> = BTreeSet::new();
        let mut deltas: OpenWindows = BTreeMap::new();
        for group in ticks.chunk_by(|a, b| a.quote.pair == b.quote.pair) {
            let pair = &group[0].quote.pair;
            if !self.pairs.contains_key(pair) {
                self.pairs.insert(pair.clone(), PairState::default());
            }
            let Some(state) = self.pairs.get_mut(pair) else {
                continue;
            };
            // The window key each width used last: a pair's ticks in one cell mostly share
            // their windows, so a key (and its `String`) is built once per window, not per tick.
            let mut keys: Vec<Option<(Micros, Micros, String)>> = vec![None; config.windows.len()];
            let mut last = None;
            let mut entries = Vec::with_capacity(group.len());
            for tick in group {
                let metrics = state.apply(tick, config.sma_ticks, config.rolling_window);
                entries.push((tick.quote.ts, tick.quote.mid));
                for (&width, key) in config.windows.iter().zip(keys.iter_mut()) {
                    let end = window_start(tick.quote.ts, width) + width;
                    let key = match key {
                        Some(k) if k.0 == end => k,
                        _ => {
                            let fresh = (end, width, pair.clone());
                            if end > closes_to {
                                touched.insert(fresh.clone());
                            }
                            key.insert(fresh)
                        }
                    };
                    let target = if end <= at {
                        &mut deltas
                    } else {
                        &mut self.windows
                    };
                    match target.get_mut(key) {
                        Some(agg) => agg.merge(&WindowAgg::of(tick)),
                        None => {
                            target.insert(key.clone(), WindowAgg::of(tick));
                        }
                    }
                }
                if config.emit_ticks {
                    out.push(Update::Tick(TickRow {
                        tick: tick.clone(),
                        metrics: metrics.clone(),
                    }));
                }
                last = Some(metrics);
            }
            if let (Some(metrics), Some(e)) = (last, state.extremes()) {
                out.push(Update::Pair(PairRow {
                    last: TickRow {
                        tick: group[group.len() - 1].clone(),
                        metrics,
                    },
                    tick_count: e.tick_count,
                    first_ts: e.first_ts,
                    last_ts: e.last_ts,
                    recent_mids: state.recent_mids(),
                }));
                out.push(Update::History(HistoryRow {
                    pair: pair.clone(),
                    entries,
                    keep_after: state.keeps_after(config.rolling_window),
                }));
            }
        }
        for key in touched {
            if let Some(agg) = self.windows.get(&key) {
                out.push(window_row(key, agg.clone(), false, false));
            }
        }
        out.extend(
            deltas
                .into_iter()
                .map(|(key, agg)| window_row(key, agg, true, true)),
        );
    }

    /// Emits as final, and forgets, the open windows ending at or before `to`.
    fn close(&mut self, to: Micros, out: &mut Vec<Update>) {
        while let Some(entry) = self.windows.first_entry() {
            if entry.key().0 > to {
                break;
            }
            let (key, agg) = entry.remove_entry();
            out.push(window_row(key, agg, true, false));
        }
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
