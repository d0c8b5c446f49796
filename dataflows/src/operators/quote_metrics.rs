//! `quote_metrics`: ticks in, table upserts out.
//!
//! Ticks are exchanged by pair ([`crate::route`]), so one worker owns each pair and its state.
//! They are stashed until the input frontier passes their processing time (`Tick::due`), then
//! released in SPEC's processing order — (due, event time, topic, partition, offset) within
//! each pair — and folded through [`PairState`] and the open windows. Arrival order never
//! matters, which is what makes the output independent of worker count and batching.
//!
//! A release is processed one grid cell ([`cell`]) at a time, and what each cell changes is
//! emitted at the cell's time: its `ticks` rows, one `pair_metrics` row and one history row per
//! pair it touched, and the window rows that changed. A window is final once the frontier reaches
//! its end; it is then emitted with `is_final`, at the cell just before its end, and dropped from
//! memory. A late tick for a window already final produces a `delta` row that the sink merges
//! into the stored one. So the updates before any cut are exactly the results of the ticks due
//! before it, which is what lets the sink store state with its positions (see [`crate::cut`]).
//! An activation releases at most [`MetricsConfig::release_fuel`] ticks, then holds its
//! capability at the first cell it left and schedules itself again: the cells come out the
//! same, only spread over more activations.
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

use foldhash::fast::RandomState;
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::Stream;

use crate::config::MetricsConfig;
use crate::cut::{cell, CUT_GRID};
use crate::output::{HistoryRow, PairRow, TickRow, Update, WindowKey, WindowRow};
use crate::pair_name::{kept_address, PairName};
use crate::pair_state::PairState;
use crate::quote::{Micros, Tick};
use crate::route::{by_pair, pair_owner};
use crate::window::{window_start, WindowAgg};

/// Computes every metric of SPEC from a stream of ticks.
pub trait QuoteMetrics<'scope> {
    /// Per-tick metrics, pair rows and tumbling windows, as upserts.
    fn quote_metrics(self, config: MetricsConfig) -> Stream<'scope, Micros, Vec<Update>>;
}

impl<'scope> QuoteMetrics<'scope> for Stream<'scope, Micros, Vec<Tick>> {
    fn quote_metrics(self, config: MetricsConfig) -> Stream<'scope, Micros, Vec<Update>> {
        let (index, peers) = (self.scope().index(), self.scope().peers());
        let scope = self.scope();
        self.unary_frontier(by_pair(), "QuoteMetrics", move |capability, info| {
            let activator = scope.activator_for(info.address);
            let mut capability = Some(capability);
            let mut fold = Fold::new(config, index, peers);
            let mut cells = Vec::new();
            move |(input, frontier), output| {
                input.for_each(|_time, data| fold.stash(data));
                let Some(cap) = capability.as_mut() else {
                    return;
                };
                let frontier = frontier.frontier().first().copied().unwrap_or(Micros::MAX);
                let released = fold.release(frontier, &mut cells);
                for (time, mut updates) in cells.drain(..) {
                    output
                        .session(&cap.delayed(&time))
                        .give_container(&mut updates);
                }
                if released < frontier {
                    activator.activate();
                }
                match released {
                    Micros::MAX => capability = None,
                    time if *cap.time() < cell(time) => cap.downgrade(&cell(time)),
                    _ => {}
                }
            }
        })
    }
}

/// Open windows by (end, width, pair), so those the frontier closes come first.
type OpenWindows = BTreeMap<(Micros, Micros, String), WindowAgg>;

/// The ticks of one grid cell, in a group per pair: the fold takes a pair's ticks together, and
/// grouped as they arrive they need no sort by pair, which moved every 120-byte tick several
/// times (that sort and the growth of one vector per cell were 6 % of a tick's instructions).
/// A pair whose ticks alternate between cells may have several groups in one; the fold joins
/// them.
#[derive(Debug, Default)]
struct Cell {
    /// Ticks in all groups.
    len: usize,
    /// The pair's slot in [`Fold::pairs`], and its ticks in arrival order.
    groups: Vec<(usize, Vec<Tick>)>,
}

impl Cell {
    /// Adds a tick of the pair in `slot` to group `hint` if that is the pair's, else to a new
    /// group sized for `expect` ticks. Returns the group and how many ticks it holds now.
    fn push(
        &mut self,
        slot: usize,
        tick: Tick,
        hint: Option<usize>,
        expect: usize,
    ) -> (usize, usize) {
        let found = hint.filter(|&g| self.groups.get(g).is_some_and(|(s, _)| *s == slot));
        let group = match found {
            Some(group) => group,
            None => {
                self.groups.push((slot, Vec::with_capacity(expect)));
                self.groups.len() - 1
            }
        };
        self.len += 1;
        let ticks = &mut self.groups[group].1;
        ticks.push(tick);
        (group, ticks.len())
    }

    /// The ticks due before `time`, and the others.
    fn split_due(self, time: Micros) -> (Cell, Cell) {
        let (mut before, mut rest) = (Cell::default(), Cell::default());
        for (slot, ticks) in self.groups {
            let (now, later): (Vec<Tick>, Vec<Tick>) =
                ticks.into_iter().partition(|t| t.due < time);
            for (part, ticks) in [(&mut before, now), (&mut rest, later)] {
                if !ticks.is_empty() {
                    part.len += ticks.len();
                    part.groups.push((slot, ticks));
                }
            }
        }
        (before, rest)
    }
}

/// Where a pair's ticks went last: its group in the cell it was last stashed in, and how many
/// that group holds, which the pair's group in a new cell is sized for.
#[derive(Clone, Copy, Debug, Default)]
struct LastGroup {
    cell: Micros,
    group: usize,
    ticks: usize,
}

/// The state of the pairs one worker owns, their open windows, and the ticks not yet due.
struct Fold {
    config: MetricsConfig,
    /// Each pair's state, in a slot found once per tick through `slots`: the fold then groups
    /// and looks pairs up by slot number instead of by name.
    pairs: Vec<(String, PairState)>,
    /// By slot: a cell's groups are sized once rather than grown, and found without a search.
    last: Vec<LastGroup>,
    /// Hashed with foldhash: stashing a tick took 625 instructions with SipHash, 448 with it
    /// (callgrind of `dataflow/graph/1`); pair names come from outside, so the seed is random.
    slots: HashMap<String, usize, RandomState>,
    /// The same slots by a kept name's place ([`kept_address`]), looked up first: two words
    /// hashed rather than the name. A name owned by its tick, or seen first here, is looked up
    /// in `slots`.
    kept_slots: HashMap<(usize, usize), usize, RandomState>,
    windows: OpenWindows,
    /// Ticks not yet released, by the cell of their processing time: a release takes whole
    /// cells off the front instead of sifting every stashed tick.
    stash: BTreeMap<Micros, Cell>,
}

impl Fold {
    /// The fold of worker `index`, starting from the stored state of the pairs it owns.
    fn new(config: MetricsConfig, index: usize, peers: usize) -> Self {
        let resume = config.resume.clone();
        let owned = |pair: &str| pair_owner(pair, peers) == index;
        let pairs: Vec<(String, PairState)> = resume
            .pairs
            .iter()
            .filter(|(pair, _)| owned(pair))
            .map(|(pair, state)| (pair.clone(), state.clone()))
            .collect();
        let slots = pairs
            .iter()
            .enumerate()
            .map(|(slot, (pair, _))| (pair.clone(), slot))
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
            last: vec![LastGroup::default(); pairs.len()],
            pairs,
            slots,
            kept_slots: HashMap::default(),
            windows,
            stash: BTreeMap::new(),
        }
    }

    /// Keeps arrived ticks until the frontier passes them.
    fn stash(&mut self, ticks: &mut Vec<Tick>) {
        for tick in ticks.drain(..) {
            let slot = self.slot(&tick.quote.pair);
            let at = cell(tick.due);
            let last = &mut self.last[slot];
            let hint = (last.cell == at).then_some(last.group);
            let target = self.stash.entry(at).or_default();
            (last.group, last.ticks) = target.push(slot, tick, hint, last.ticks);
            last.cell = at;
        }
    }

    /// The slot of `pair`, made for it if the pair is new.
    fn slot(&mut self, pair: &PairName) -> usize {
        let address = kept_address(pair);
        if let Some(&slot) = address.and_then(|a| self.kept_slots.get(&a)) {
            return slot;
        }
        let slot = match self.slots.get(&**pair) {
            Some(&slot) => slot,
            None => {
                let slot = self.pairs.len();
                self.pairs.push((pair.to_string(), PairState::default()));
                self.slots.insert(pair.to_string(), slot);
                self.last.push(LastGroup::default());
                slot
            }
        };
        if let Some(address) = address {
            self.kept_slots.insert(address, slot);
        }
        slot
    }

    /// Processes the stashed ticks the frontier has passed and closes the windows it reached,
    /// cell by cell, pushing what each cell changed with the cell's time, as far as the fuel
    /// goes. Returns how far it went: the frontier, or the start of the first cell left.
    fn release(&mut self, frontier: Micros, out: &mut Vec<(Micros, Vec<Update>)>) -> Micros {
        let close_to = self.fuelled(frontier);
        let mut ready = match close_to {
            Micros::MAX => std::mem::take(&mut self.stash),
            _ => {
                let later = self.stash.split_off(&cell(close_to));
                std::mem::replace(&mut self.stash, later)
            }
        };
        // A frontier inside a cell releases that cell's ticks up to it.
        let boundary = (close_to > cell(close_to))
            .then(|| self.stash.remove(&cell(close_to)))
            .flatten();
        if let Some(boundary) = boundary {
            let (now, later) = boundary.split_due(close_to);
            if later.len > 0 {
                self.stash.insert(cell(close_to), later);
            }
            if now.len > 0 {
                ready.insert(cell(close_to), now);
            }
        }

        let mut ready = ready.into_iter().peekable();
        loop {
            let next_tick = ready.peek().map(|&(at, _)| at);
            let next_close = self
                .windows
                .keys()
                .next()
                .filter(|(end, _, _)| *end <= close_to)
                .map(|(end, _, _)| end - CUT_GRID);
            let Some(at) = next_tick.into_iter().chain(next_close).min() else {
                break;
            };
            let ticks = ready
                .next_if(|&(t, _)| t == at)
                .map(|(_, ticks)| ticks)
                .unwrap_or_default();
            // A row per tick, and per pair a pair row, a history row and a row per window
            // width: sized once instead of grown, since the cell may wait in the writer.
            let rows = if self.config.emit_ticks { ticks.len } else { 0 };
            let pairs = ticks.groups.len();
            let mut updates = Vec::with_capacity(rows + pairs * (2 + self.config.windows.len()));
            let closes_to = close_to.min(at + CUT_GRID);
            self.fold_cell(at, closes_to, ticks, &mut updates);
            self.close(closes_to, &mut updates);
            if !updates.is_empty() {
                out.push((at, updates));
            }
        }
        close_to
    }

    /// Where a release within the fuel stops: `frontier`, or the start of the first stashed cell
    /// before it that the fuel does not cover (never the first: every release makes progress).
    fn fuelled(&self, frontier: Micros) -> Micros {
        let mut fuel = self.config.release_fuel;
        let mut cells = self.stash.range(..frontier);
        if let Some((_, first)) = cells.next() {
            fuel = fuel.saturating_sub(first.len);
        }
        for (&at, ticks) in cells {
            if ticks.len > fuel {
                return at;
            }
            fuel -= ticks.len;
        }
        frontier
    }

    /// Folds the ticks of the cell at `at`, pair by pair in slot order and each pair's in
    /// processing order, moving each into its `ticks` row. Windows ending at or before the cell
    /// are final: ticks for them become deltas.
    fn fold_cell(&mut self, at: Micros, closes_to: Micros, cell: Cell, out: &mut Vec<Update>) {
        let config = &self.config;
        let mut windows = CellWindows {
            at,
            closes_to,
            widths: &config.windows,
            open: &mut self.windows,
            current: vec![None; config.windows.len()],
            touched: BTreeSet::new(),
            deltas: BTreeMap::new(),
        };
        let mut groups = cell.groups;
        groups.sort_by_key(|&(slot, _)| slot);
        let mut groups = groups.into_iter().peekable();
        while let Some((slot, mut ticks)) = groups.next() {
            while let Some((_, more)) = groups.next_if(|&(s, _)| s == slot) {
                ticks.extend(more);
            }
            // Each partition's ticks arrive in order, so a pair read from one is sorted already.
            if !ticks.is_sorted_by_key(Tick::order_key) {
                ticks.sort_unstable_by_key(Tick::order_key);
            }
            let Some((pair, state)) = self.pairs.get_mut(slot) else {
                continue;
            };
            let mut last: Option<TickRow> = None;
            let mut entries = Vec::with_capacity(ticks.len());
            for tick in ticks {
                let metrics = state.apply(&tick, config.sma_ticks, config.rolling_window);
                entries.push((tick.quote.ts, tick.quote.mid));
                windows.tick(pair, &tick);
                let previous = last.replace(TickRow { tick, metrics });
                if let Some(row) = previous.filter(|_| config.emit_ticks) {
                    out.push(Update::Tick(row));
                }
            }
            windows.flush(pair);
            if let (Some(last), Some(e)) = (last, state.extremes()) {
                if config.emit_ticks {
                    out.push(Update::Tick(last.clone()));
                }
                out.push(Update::Pair(PairRow {
                    last,
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
        windows.finish(out);
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

/// The windows one cell's ticks went into.
struct CellWindows<'a> {
    at: Micros,
    closes_to: Micros,
    widths: &'a [Micros],
    open: &'a mut OpenWindows,
    /// For each width, the window the current pair's ticks go into and their aggregate so far:
    /// a pair's ticks in one cell mostly share their windows, so a window is looked up once per
    /// pair and cell, not once per tick.
    current: Vec<Option<(Micros, WindowAgg)>>,
    /// Open windows that changed and stay open past the cell.
    touched: BTreeSet<(Micros, Micros, String)>,
    /// What ticks added to windows already final.
    deltas: OpenWindows,
}

impl CellWindows<'_> {
    /// Adds the next tick of `pair` in processing order.
    fn tick(&mut self, pair: &str, tick: &Tick) {
        for (i, &width) in self.widths.iter().enumerate() {
            let end = window_start(tick.quote.ts, width) + width;
            let done = match &mut self.current[i] {
                Some((open, agg)) if *open == end => {
                    agg.merge(&WindowAgg::of(tick));
                    None
                }
                current => current.replace((end, WindowAgg::of(tick))),
            };
            if let Some((end, agg)) = done {
                self.add((end, width, pair.to_owned()), agg);
            }
        }
    }

    /// Merges what `pair`'s ticks added into their windows: its last ones in this cell.
    fn flush(&mut self, pair: &str) {
        for i in 0..self.widths.len() {
            if let Some((end, agg)) = self.current[i].take() {
                self.add((end, self.widths[i], pair.to_owned()), agg);
            }
        }
    }

    /// Merges the aggregate of ticks processed next into their window: a window ending at or
    /// before the cell is final, and they make a delta of it.
    fn add(&mut self, key: (Micros, Micros, String), agg: WindowAgg) {
        let end = key.0;
        if end > self.closes_to {
            self.touched.insert(key.clone());
        }
        let target = if end <= self.at {
            &mut self.deltas
        } else {
            &mut *self.open
        };
        match target.get_mut(&key) {
            Some(window) => window.merge(&agg),
            None => {
                target.insert(key, agg);
            }
        }
    }

    /// Emits the cell's window rows: the open ones it changed, and the deltas.
    fn finish(self, out: &mut Vec<Update>) {
        for key in self.touched {
            if let Some(agg) = self.open.get(&key) {
                out.push(window_row(key, agg.clone(), false, false));
            }
        }
        out.extend(
            self.deltas
                .into_iter()
                .map(|(key, agg)| window_row(key, agg, true, true)),
        );
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::decode;
    use crate::quote::Origin;

    /// A tick of one pair from `partition`, due (and timed) at `due`.
    fn tick(partition: i32, offset: i64, due: Micros) -> Tick {
        let value = br#"{"pair":"BTC-USD","bid":"1","ask":"2","timestamp":0}"#;
        let mut quote = decode(value).expect("a valid quote");
        quote.ts = due;
        let origin = Origin {
            topic: 0,
            partition,
            offset,
        };
        Tick { quote, origin, due }
    }

    /// Ticks of one pair that alternate between two cells, so that a cell holds several of its
    /// groups, and that reach a cell out of processing order (from two partitions): each comes
    /// out once, in processing order.
    #[test]
    fn a_pairs_groups_in_a_cell_are_joined_in_processing_order() {
        let later = CUT_GRID;
        let mut ticks = vec![
            tick(1, 0, 5),
            tick(0, 0, later + 1),
            tick(0, 1, 5),
            tick(1, 1, later + 2),
            tick(0, 2, 1),
        ];
        let mut fold = Fold::new(MetricsConfig::default(), 0, 1);
        fold.stash(&mut ticks);
        let mut cells = Vec::new();
        fold.release(Micros::MAX, &mut cells);
        let rows: Vec<(Micros, i32, i64)> = cells
            .iter()
            .flat_map(|(_, updates)| updates)
            .filter_map(|update| match update {
                Update::Tick(row) => Some((
                    row.tick.due,
                    row.tick.origin.partition,
                    row.tick.origin.offset,
                )),
                _ => None,
            })
            .collect();
        let expected = vec![
            (1, 0, 2),
            (5, 0, 1),
            (5, 1, 0),
            (later + 1, 0, 0),
            (later + 2, 1, 1),
        ];
        assert_eq!(rows, expected);
    }

    /// A pair's name may come kept or owned ([`crate::pair_name`]): once the process keeps no
    /// more names, a thread that had not seen a kept one gets it owned. Either way the pair has
    /// one slot, one state: its tick count runs on across both.
    #[test]
    fn a_pair_named_kept_and_owned_has_one_state() {
        let mut ticks = vec![tick(0, 0, 1), tick(0, 1, 2), tick(0, 2, 3)];
        assert!(
            kept_address(&ticks[0].quote.pair).is_some(),
            "decoded names are kept"
        );
        ticks[0].quote.pair = PairName::Owned(ticks[0].quote.pair.to_string());
        let mut fold = Fold::new(MetricsConfig::default(), 0, 1);
        fold.stash(&mut ticks);
        let mut cells = Vec::new();
        fold.release(Micros::MAX, &mut cells);
        let counts: Vec<u64> = cells
            .iter()
            .flat_map(|(_, updates)| updates)
            .filter_map(|update| match update {
                Update::Pair(row) => Some(row.tick_count),
                _ => None,
            })
            .collect();
        assert_eq!(fold.pairs.len(), 1);
        assert_eq!(counts.last(), Some(&3));
    }
}
