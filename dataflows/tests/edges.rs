//! Edge cases of the metrics graph (SPEC "Time, order and determinism" and "Metrics"), each
//! on a few hand-written messages with every expected figure computed by hand.
//!
//! The graph runs whole through [`memory::run`] with the strictest source — lateness 0, one
//! message per read — so that a quote whose event time goes backwards is really late. The file
//! proves: a lone tick is its own metrics and its own final windows; a zero spread; ties in
//! event time ordered by partition then offset on any worker count; window boundaries for two
//! widths at once; the rolling average's half-open interval `(ts - W, ts]`; the SMA over the
//! last N ticks only; a late tick under `--late update` and `--late drop`; a late tick for a
//! window already final, merged by the sink; cumulative extremes resumed from a previous run.

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};
use std::rc::Rc;
use std::str::FromStr;
use std::sync::Arc;

use chrono::{DateTime, SecondsFormat};
use rust_decimal::Decimal;
use tickflow_dataflows::memory::{run, MemorySource, Outcome};
use tickflow_dataflows::{
    decode, Extremes, LatePolicy, MetricsConfig, Micros, Origin, PairState, QuoteMetrics,
    Rejection, Resume, Tables, Tick, TickMetrics, TickRow, Update, WindowAgg, WindowKey, WindowRow,
};
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::operators::Probe;
use timely::dataflow::{InputHandleVec, ProbeHandle};

/// 2026-11-21T10:00:00Z in microseconds: a multiple of both 1m and 5m, so a window start.
const T: Micros = 1_795_255_200_000_000;
const S: Micros = 1_000_000;
const MIN: Micros = 60 * S;

fn d(exact: &str) -> Decimal {
    Decimal::from_str(exact).unwrap_or_else(|e| panic!("bad literal {exact}: {e}"))
}

/// A canonical quote with its timestamp in RFC 3339 to the microsecond.
fn quote(pair: &str, bid: &str, ask: &str, ts: Micros) -> Vec<u8> {
    let ts = DateTime::from_timestamp_micros(ts as i64)
        .expect("a representable time")
        .to_rfc3339_opts(SecondsFormat::Micros, true);
    format!(r#"{{"pair":"{pair}","bid":"{bid}","ask":"{ask}","timestamp":"{ts}"}}"#).into_bytes()
}

fn origin(partition: i32, offset: i64) -> Origin {
    Origin {
        topic: 0,
        partition,
        offset,
    }
}

/// Quotes `(bid, ask, ts)` of one pair in partition 0, at offsets 0, 1, 2, ...
fn partition0(pair: &str, quotes: &[(&str, &str, Micros)]) -> Vec<(Origin, Vec<u8>)> {
    (0..)
        .zip(quotes)
        .map(|(offset, &(bid, ask, ts))| (origin(0, offset), quote(pair, bid, ask, ts)))
        .collect()
}

/// Zero-spread quotes of one pair in partition 0: `(price, ts)` with bid = ask = mid = price.
fn flat(pair: &str, quotes: &[(&str, Micros)]) -> Vec<(Origin, Vec<u8>)> {
    let quotes: Vec<_> = quotes.iter().map(|&(p, ts)| (p, p, ts)).collect();
    partition0(pair, &quotes)
}

fn config(windows: &[Micros], sma_ticks: usize, rolling_window: Micros) -> MetricsConfig {
    MetricsConfig {
        windows: windows.to_vec(),
        sma_ticks,
        rolling_window,
        ..MetricsConfig::default()
    }
}

/// Lateness 0 and one message per read: a quote below the newest event time read is late.
fn strict(late: LatePolicy) -> MemorySource {
    MemorySource {
        lateness: 0,
        late,
        batch: 1,
    }
}

/// One worker, strict source, `--late update`.
fn run1(messages: Vec<(Origin, Vec<u8>)>, config: MetricsConfig) -> Outcome {
    run(messages, config, strict(LatePolicy::Update), 1)
}

fn tick(out: &Outcome, partition: i32, offset: i64) -> &TickRow {
    let at = origin(partition, offset);
    out.tables
        .ticks
        .get(&at)
        .unwrap_or_else(|| panic!("no ticks row for {at:?}"))
}

fn window<'a>(out: &'a Outcome, pair: &str, width: Micros, start: Micros) -> &'a WindowRow {
    let key = WindowKey {
        pair: pair.to_owned(),
        width,
        start,
    };
    out.tables
        .windows
        .get(&key)
        .unwrap_or_else(|| panic!("no window row for {key:?}"))
}

/// The origins of a pair's ticks in the order the graph processed them.
fn processing_order(out: &Outcome, pair: &str) -> Vec<Origin> {
    let mut rows: Vec<&TickRow> = out
        .tables
        .ticks
        .values()
        .filter(|r| r.tick.quote.pair == pair)
        .collect();
    rows.sort_by_key(|r| r.tick.order_key());
    rows.iter().map(|r| r.tick.origin).collect()
}

/// `[highest_bid, lowest_ask, max_spread, sma, rolling_avg]`.
fn metrics([highest_bid, lowest_ask, max_spread, sma, rolling_avg]: [&str; 5]) -> TickMetrics {
    TickMetrics {
        highest_bid: d(highest_bid),
        lowest_ask: d(lowest_ask),
        max_spread: d(max_spread),
        sma: d(sma),
        rolling_avg: d(rolling_avg),
    }
}

/// A window aggregate from hand-computed figures.
struct Agg {
    /// `[open, high, low, close, sum]` of mids.
    mids: [&'static str; 5],
    /// `[high_bid, low_ask]`.
    prices: [&'static str; 2],
    /// `[min, max, sum]` of spreads.
    spreads: [&'static str; 3],
    /// `[tick_count, late_ticks]`.
    counts: [u64; 2],
    /// `[first_ts, last_ts]`.
    ts: [Micros; 2],
}

impl Agg {
    fn build(self) -> WindowAgg {
        let [open, high, low, close, sum] = self.mids;
        let [high_bid, low_ask] = self.prices;
        let [min_spread, max_spread, sum_spread] = self.spreads;
        WindowAgg {
            open_mid: d(open),
            high_mid: d(high),
            low_mid: d(low),
            close_mid: d(close),
            sum_mid: d(sum),
            high_bid: d(high_bid),
            low_ask: d(low_ask),
            min_spread: d(min_spread),
            max_spread: d(max_spread),
            sum_spread: d(sum_spread),
            tick_count: self.counts[0],
            first_ts: self.ts[0],
            last_ts: self.ts[1],
            late_ticks: self.counts[1],
        }
    }
}

#[test]
fn one_tick_is_its_own_metrics_and_its_own_final_windows() {
    let ts = T + 30 * S + 123_456;
    let messages = partition0("BTC-USD", &[("50000.10", "50000.60", ts)]);
    let out = run1(messages, config(&[MIN, 5 * MIN], 5, MIN));

    assert!(out.dead.is_empty());
    assert_eq!(out.tables.ticks.len(), 1);
    let row = tick(&out, 0, 0);
    assert_eq!(row.tick.due, ts);
    assert!(!row.tick.is_late());
    assert_eq!(row.tick.quote.mid, d("50000.35"));
    assert_eq!(row.tick.quote.spread, d("0.50"));
    assert_eq!(
        row.metrics,
        metrics(["50000.10", "50000.60", "0.50", "50000.35", "50000.35"])
    );

    let pair = &out.tables.pairs["BTC-USD"];
    assert_eq!(&pair.last, row);
    assert_eq!((pair.tick_count, pair.first_ts, pair.last_ts), (1, ts, ts));

    let expected = Agg {
        mids: ["50000.35", "50000.35", "50000.35", "50000.35", "50000.35"],
        prices: ["50000.10", "50000.60"],
        spreads: ["0.50", "0.50", "0.50"],
        counts: [1, 0],
        ts: [ts, ts],
    }
    .build();
    assert_eq!(out.tables.windows.len(), 2, "one window per width");
    for width in [MIN, 5 * MIN] {
        let w = window(&out, "BTC-USD", width, T);
        assert!(w.is_final, "a bounded run ends with every window final");
        assert_eq!(w.agg, expected);
        assert_eq!(w.agg.avg_mid(), d("50000.35"));
        assert_eq!(w.agg.avg_spread(), d("0.5"));
    }
}

#[test]
fn zero_spread() {
    let messages = flat("BTC-USD", &[("100", T + S), ("100.5", T + 2 * S)]);
    let out = run1(messages, config(&[MIN], 5, MIN));

    assert!(out.dead.is_empty());
    assert_eq!(tick(&out, 0, 0).tick.quote.spread, Decimal::ZERO);
    assert_eq!(
        tick(&out, 0, 0).metrics,
        metrics(["100", "100", "0", "100", "100"])
    );
    assert_eq!(
        tick(&out, 0, 1).metrics,
        metrics(["100.5", "100", "0", "100.25", "100.25"])
    );
    let w = window(&out, "BTC-USD", MIN, T);
    let expected = Agg {
        mids: ["100", "100.5", "100", "100.5", "200.5"],
        prices: ["100.5", "100"],
        spreads: ["0", "0", "0"],
        counts: [2, 0],
        ts: [T + S, T + 2 * S],
    };
    assert_eq!(w.agg, expected.build());
    assert_eq!(w.agg.avg_spread(), Decimal::ZERO);
    assert_eq!(w.agg.avg_mid(), d("100.25"));
}

#[test]
fn equal_event_times_are_ordered_by_partition_then_offset_on_any_worker_count() {
    let ts = T + 5 * S;
    // Listed partition 1 first: arrival order must not matter.
    let messages = vec![
        (origin(1, 0), quote("BTC-USD", "39.5", "40.5", ts)), // mid 40
        (origin(0, 0), quote("BTC-USD", "19.5", "20.5", ts)), // mid 20
        (origin(0, 1), quote("BTC-USD", "29.5", "30.5", ts)), // mid 30
    ];
    let cfg = config(&[MIN], 2, MIN);

    let mut tables = Vec::new();
    for workers in [1, 2, 3] {
        let out = run(
            messages.clone(),
            cfg.clone(),
            strict(LatePolicy::Update),
            workers,
        );
        assert!(out.dead.is_empty());
        assert!(out.tables.ticks.values().all(|r| !r.tick.is_late()));
        assert_eq!(
            processing_order(&out, "BTC-USD"),
            [origin(0, 0), origin(0, 1), origin(1, 0)],
            "workers {workers}"
        );
        // SMA of the last 2 and rolling average of all three, in that order.
        assert_eq!(
            tick(&out, 0, 0).metrics,
            metrics(["19.5", "20.5", "1", "20", "20"])
        );
        assert_eq!(
            tick(&out, 0, 1).metrics,
            metrics(["29.5", "20.5", "1", "25", "25"])
        );
        assert_eq!(
            tick(&out, 1, 0).metrics,
            metrics(["39.5", "20.5", "1", "35", "30"])
        );
        let expected = Agg {
            mids: ["20", "40", "20", "40", "90"],
            prices: ["39.5", "20.5"],
            spreads: ["1", "1", "3"],
            counts: [3, 0],
            ts: [ts, ts],
        };
        assert_eq!(window(&out, "BTC-USD", MIN, T).agg, expected.build());
        assert_eq!(
            out.tables.pairs["BTC-USD"].last.tick.origin,
            origin(1, 0),
            "the pair row holds the last tick processed"
        );
        tables.push(out.tables);
    }
    assert_eq!(tables[0], tables[1]);
    assert_eq!(tables[0], tables[2]);
}

#[test]
fn a_window_starts_at_its_first_microsecond_for_every_width() {
    let messages = flat(
        "BTC-USD",
        &[
            ("1", T + MIN - 1),
            ("2", T + MIN),
            ("3", T + 5 * MIN - 1),
            ("4", T + 5 * MIN),
        ],
    );
    let out = run1(messages, config(&[MIN, 5 * MIN], 5, MIN));
    assert!(out.dead.is_empty());

    // (width, start, tick_count, first_ts, last_ts, open_mid, close_mid, sum_mid)
    let expected = [
        (MIN, T, 1, T + MIN - 1, T + MIN - 1, "1", "1", "1"),
        (MIN, T + MIN, 1, T + MIN, T + MIN, "2", "2", "2"),
        (
            MIN,
            T + 4 * MIN,
            1,
            T + 5 * MIN - 1,
            T + 5 * MIN - 1,
            "3",
            "3",
            "3",
        ),
        (MIN, T + 5 * MIN, 1, T + 5 * MIN, T + 5 * MIN, "4", "4", "4"),
        (5 * MIN, T, 3, T + MIN - 1, T + 5 * MIN - 1, "1", "3", "6"),
        (
            5 * MIN,
            T + 5 * MIN,
            1,
            T + 5 * MIN,
            T + 5 * MIN,
            "4",
            "4",
            "4",
        ),
    ];
    let keys: BTreeSet<(Micros, Micros)> = out
        .tables
        .windows
        .keys()
        .map(|k| (k.width, k.start))
        .collect();
    let expected_keys: BTreeSet<(Micros, Micros)> = expected.iter().map(|e| (e.0, e.1)).collect();
    assert_eq!(keys, expected_keys);
    for (width, start, count, first, last, open, close, sum) in expected {
        let w = window(&out, "BTC-USD", width, start);
        assert!(w.is_final);
        let got = &w.agg;
        assert_eq!(
            (got.tick_count, got.first_ts, got.last_ts),
            (count, first, last),
            "window {width}µs at {start}"
        );
        assert_eq!(
            (got.open_mid, got.close_mid, got.sum_mid),
            (d(open), d(close), d(sum)),
            "window {width}µs at {start}"
        );
    }
}

#[test]
fn rolling_average_excludes_a_tick_exactly_w_old() {
    let w = 10 * S;
    let messages = flat(
        "BTC-USD",
        &[
            ("10", T),
            ("20", T + w - 1), // the tick at T is still inside (T - 1µs, T + W - 1µs]
            ("60", T + w),     // the tick at T is exactly W old: out
            ("100", T + 2 * w), // T + W is exactly W old too: out
        ],
    );
    let out = run1(messages, config(&[MIN], 5, w));
    assert!(out.dead.is_empty());

    let rolling: Vec<Decimal> = (0..4)
        .map(|o| tick(&out, 0, o).metrics.rolling_avg)
        .collect();
    assert_eq!(rolling, [d("10"), d("15"), d("40"), d("100")]);
    // The SMA (N = 5) keeps them all.
    let sma: Vec<Decimal> = (0..4).map(|o| tick(&out, 0, o).metrics.sma).collect();
    assert_eq!(sma, [d("10"), d("15"), d("30"), d("47.5")]);
}

#[test]
fn sma_is_over_the_last_n_ticks_only() {
    let messages = flat(
        "BTC-USD",
        &[
            ("1", T + S),
            ("2", T + 2 * S),
            ("4", T + 3 * S),
            ("8", T + 4 * S),
        ],
    );
    let out = run1(messages, config(&[MIN], 3, MIN));
    assert!(out.dead.is_empty());

    // Fewer than N while fewer exist, then the last 3; averages rounded to 12 places.
    let sma: Vec<Decimal> = (0..4).map(|o| tick(&out, 0, o).metrics.sma).collect();
    assert_eq!(
        sma,
        [d("1"), d("1.5"), d("2.333333333333"), d("4.666666666667")]
    );
    // The rolling average (60s) still sees all four: 15 / 4.
    let rolling: Vec<Decimal> = (0..4)
        .map(|o| tick(&out, 0, o).metrics.rolling_avg)
        .collect();
    assert_eq!(rolling, [d("1"), d("1.5"), d("2.333333333333"), d("3.75")]);
    assert_eq!(
        out.tables.pairs["BTC-USD"].last.metrics.sma,
        d("4.666666666667")
    );
}

/// Partition 0 reads T+10s, then T+11s (which moves the frontier to T+11s and releases the
/// first), then T+2s: below the frontier, so late.
fn late_messages() -> Vec<(Origin, Vec<u8>)> {
    partition0(
        "BTC-USD",
        &[
            ("9", "11", T + 10 * S),        // mid 10, spread 2
            ("29.75", "30.25", T + 11 * S), // mid 30, spread 0.5
            ("19.5", "20.5", T + 2 * S),    // mid 20, spread 1: late
        ],
    )
}

#[test]
fn late_tick_under_update_is_processed_at_the_frontier_and_counted() {
    let out = run(
        late_messages(),
        config(&[MIN], 5, MIN),
        strict(LatePolicy::Update),
        1,
    );
    assert!(out.dead.is_empty());

    let late = tick(&out, 0, 2);
    assert!(late.tick.is_late());
    assert_eq!(late.tick.quote.ts, T + 2 * S);
    assert_eq!(late.tick.due, T + 11 * S, "processed at the frontier");
    assert!(!tick(&out, 0, 0).tick.is_late());
    assert!(!tick(&out, 0, 1).tick.is_late());
    // After the tick already processed (T+10s). The tick at T+11s was at the frontier, not yet
    // processed, when the late one arrived; at equal processing time event time decides.
    assert_eq!(
        processing_order(&out, "BTC-USD"),
        [origin(0, 0), origin(0, 2), origin(0, 1)]
    );
    assert_eq!(
        tick(&out, 0, 0).metrics,
        metrics(["9", "11", "2", "10", "10"])
    );
    // SMA over 10, 20; the rolling average over (T-58s, T+2s] holds only the late tick itself.
    assert_eq!(late.metrics, metrics(["19.5", "11", "2", "15", "20"]));
    assert_eq!(
        tick(&out, 0, 1).metrics,
        metrics(["29.75", "11", "2", "20", "20"])
    );

    let expected = Agg {
        mids: ["10", "30", "10", "30", "60"],
        prices: ["29.75", "11"],
        spreads: ["0.5", "2", "3.5"],
        counts: [3, 1],
        ts: [T + 2 * S, T + 11 * S],
    };
    let w = window(&out, "BTC-USD", MIN, T);
    assert!(w.is_final);
    assert_eq!(w.agg, expected.build());
    assert_eq!(w.agg.avg_spread(), d("1.166666666667"));

    let pair = &out.tables.pairs["BTC-USD"];
    assert_eq!(pair.last.tick.origin, origin(0, 1));
    assert_eq!(
        (pair.tick_count, pair.first_ts, pair.last_ts),
        (3, T + 2 * S, T + 11 * S)
    );
}

#[test]
fn late_tick_under_drop_is_a_dead_letter() {
    let out = run(
        late_messages(),
        config(&[MIN], 5, MIN),
        strict(LatePolicy::Drop),
        1,
    );
    assert_eq!(out.dead, [(origin(0, 2), Rejection::Late)]);
    assert_eq!(out.tables.ticks.len(), 2);
    assert!(out.tables.ticks.values().all(|r| !r.tick.is_late()));
    assert_eq!(
        tick(&out, 0, 1).metrics,
        metrics(["29.75", "11", "2", "20", "20"])
    );

    let expected = Agg {
        mids: ["10", "30", "10", "30", "40"],
        prices: ["29.75", "11"],
        spreads: ["0.5", "2", "2.5"],
        counts: [2, 0],
        ts: [T + 10 * S, T + 11 * S],
    };
    assert_eq!(window(&out, "BTC-USD", MIN, T).agg, expected.build());
    let pair = &out.tables.pairs["BTC-USD"];
    assert_eq!(
        (pair.tick_count, pair.first_ts, pair.last_ts),
        (2, T + 10 * S, T + 11 * S)
    );
}

/// The ticks of the window `[T, T+1m)` in processing order: T+10s on time, T+20s late.
fn window_t_with_late_tick() -> WindowAgg {
    Agg {
        mids: ["10", "40", "10", "40", "50"],
        prices: ["38.5", "11"],
        spreads: ["2", "3", "5"],
        counts: [2, 1],
        ts: [T + 10 * S, T + 20 * S],
    }
    .build()
}

#[test]
fn late_tick_for_a_final_window_merges_into_its_row() {
    // T+70s closes [T, T+1m); T+80s moves the frontier on; T+20s then arrives late.
    let messages = partition0(
        "BTC-USD",
        &[
            ("9", "11", T + 10 * S),        // mid 10, spread 2
            ("19.5", "20.5", T + 70 * S),   // mid 20, spread 1
            ("29.75", "30.25", T + 80 * S), // mid 30, spread 0.5
            ("38.5", "41.5", T + 20 * S),   // mid 40, spread 3: late
        ],
    );
    let out = run1(messages, config(&[MIN], 5, MIN));
    assert!(out.dead.is_empty());
    let late = tick(&out, 0, 3);
    assert_eq!(late.tick.due, T + 80 * S);

    let w = window(&out, "BTC-USD", MIN, T);
    assert!(w.is_final);
    assert_eq!(w.agg, window_t_with_late_tick());
    let next = Agg {
        mids: ["20", "30", "20", "30", "50"],
        prices: ["29.75", "20.5"],
        spreads: ["0.5", "1", "1.5"],
        counts: [2, 0],
        ts: [T + 70 * S, T + 80 * S],
    };
    assert_eq!(window(&out, "BTC-USD", MIN, T + MIN).agg, next.build());
}

/// The same, driving the operator by hand so the window is certainly final (and emitted)
/// before the late tick arrives: the late tick is emitted as a delta, and [`Tables`] merges it
/// into the stored row.
#[test]
fn late_tick_for_a_final_window_is_a_delta_the_sink_merges() {
    let updates = timely::execute_directly(|worker| {
        let mut input = InputHandleVec::<Micros, Tick>::new();
        let probe = ProbeHandle::new();
        let collected: Rc<RefCell<Vec<Update>>> = Rc::default();
        let sink = Rc::clone(&collected);
        worker.dataflow(|scope| {
            input
                .to_stream(scope)
                .quote_metrics(config(&[MIN], 5, MIN))
                .probe_with(&probe)
                .sink(Pipeline, "Collect", move |(input, _frontier)| {
                    input.for_each(|_time, data| sink.borrow_mut().append(data));
                });
        });
        let tick = |offset, bid, ask, ts, due| Tick {
            quote: decode(&quote("BTC-USD", bid, ask, ts)).expect("valid"),
            origin: origin(0, offset),
            due,
        };

        input.send(tick(0, "9", "11", T + 10 * S, T + 10 * S));
        input.advance_to(T + 70 * S);
        while probe.less_than(&(T + 70 * S)) {
            worker.step();
        }
        let before = collected.borrow().clone();
        let closed = |u: &Update| matches!(u, Update::Window(w) if w.key.start == T && w.is_final);
        assert!(
            before.iter().any(closed),
            "[T, T+1m) is final before the late tick"
        );

        input.send(tick(1, "38.5", "41.5", T + 20 * S, T + 70 * S));
        drop(input);
        while !probe.done() {
            worker.step();
        }
        collected.take()
    });

    let deltas: Vec<&WindowRow> = updates
        .iter()
        .filter_map(|u| match u {
            Update::Window(w) if w.delta => Some(w),
            _ => None,
        })
        .collect();
    assert_eq!(deltas.len(), 1);
    assert_eq!(deltas[0].key.start, T);
    let late_alone = Agg {
        mids: ["40", "40", "40", "40", "40"],
        prices: ["38.5", "41.5"],
        spreads: ["3", "3", "3"],
        counts: [1, 1],
        ts: [T + 20 * S, T + 20 * S],
    };
    assert_eq!(deltas[0].agg, late_alone.build());

    let mut tables = Tables::default();
    tables.extend(updates);
    let key = WindowKey {
        pair: "BTC-USD".into(),
        width: MIN,
        start: T,
    };
    assert!(tables.windows[&key].is_final);
    assert_eq!(tables.windows[&key].agg, window_t_with_late_tick());
}

#[test]
fn cumulative_extremes_resume_from_the_previous_run() {
    let stored = Extremes {
        highest_bid: d("70000"),
        lowest_ask: d("100"),
        max_spread: d("5"),
        tick_count: 10,
        first_ts: T - 3_600 * S,
        last_ts: T - S,
    };
    let mids = vec![d("60000"), d("60001")];
    let state = PairState::restore(stored, mids, Vec::new(), MIN);
    let resume = Resume {
        pairs: HashMap::from([("BTC-USD".to_owned(), state)]),
        ..Resume::default()
    };
    let cfg = MetricsConfig {
        resume: Arc::new(resume),
        ..config(&[MIN], 5, MIN)
    };
    let messages = vec![
        (origin(0, 0), quote("BTC-USD", "50000", "50001", T + S)),
        (origin(0, 1), quote("ETH-USD", "3000", "3001", T + S)),
        (origin(0, 2), quote("BTC-USD", "80000", "80002", T + 2 * S)),
    ];
    let out = run1(messages, cfg);
    assert!(out.dead.is_empty());

    // The stored extremes hold until beaten and the SMA continues over the stored mids; with
    // no stored history the rolling average starts from this run.
    assert_eq!(
        tick(&out, 0, 0).metrics,
        metrics(["70000", "100", "5", "56667.166666666667", "50000.5"])
    );
    assert_eq!(
        tick(&out, 0, 2).metrics,
        metrics(["80000", "100", "5", "62500.625", "65000.75"])
    );
    let btc = &out.tables.pairs["BTC-USD"];
    assert_eq!(
        (btc.tick_count, btc.first_ts, btc.last_ts),
        (12, T - 3_600 * S, T + 2 * S)
    );

    // A pair with nothing stored starts from its own first tick.
    assert_eq!(
        tick(&out, 0, 1).metrics,
        metrics(["3000", "3001", "1", "3000.5", "3000.5"])
    );
    let eth = &out.tables.pairs["ETH-USD"];
    assert_eq!(
        (eth.tick_count, eth.first_ts, eth.last_ts),
        (1, T + S, T + S)
    );

    // Windows hold this run's ticks only.
    let w = window(&out, "BTC-USD", MIN, T);
    assert_eq!(
        (w.agg.high_bid, w.agg.low_ask, w.agg.tick_count),
        (d("80000"), d("50001"), 2)
    );
}
