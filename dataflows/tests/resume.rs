//! Cut and resume equals never stopping.
//!
//! A run's updates are cut at a random grid time `T`, as the sink commits them: the tables of
//! the updates before `T` are what PostgreSQL holds. The state is rebuilt from those rows alone
//! ([`Resume::from_tables`]), and a second graph is fed the ticks due at or after `T`, with its
//! frontier held at `T`. The stored rows with the second run's updates applied must equal the
//! uninterrupted run's tables, row for row, on 1 and 2 workers, with late ticks, deltas into
//! final windows and a rolling window short enough that its kept history matters.

use std::sync::{Arc, Mutex};

use proptest::prelude::*;
use rust_decimal::Decimal;
use tickflow_dataflows::{
    cell, MetricsConfig, Micros, Origin, Quote, QuoteMetrics, Resume, Tables, Tick, Update,
    CUT_GRID,
};
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::InputHandleVec;

const MS: Micros = 1_000;

fn tick(
    offset: i64,
    pair: usize,
    bid_cents: i64,
    spread_cents: i64,
    ts: Micros,
    due: Micros,
) -> Tick {
    let bid = Decimal::new(bid_cents, 2);
    let ask = bid + Decimal::new(spread_cents, 2);
    Tick {
        quote: Quote {
            pair: format!("P{pair}").into(),
            bid,
            ask,
            mid: (bid + ask) / Decimal::TWO,
            spread: ask - bid,
            ts,
        },
        origin: Origin {
            topic: 0,
            partition: 0,
            offset,
        },
        due,
    }
}

/// Runs the graph over `ticks`, its input starting at `floor` and advancing through `steps`
/// the way a source's frontier does: each tick is sent at the frontier in force when it is
/// due. Returns every update with the time it was emitted at.
fn run_timed(
    ticks: &[Tick],
    config: &MetricsConfig,
    floor: Micros,
    steps: &[Micros],
    workers: usize,
) -> Vec<(Micros, Update)> {
    let (ticks, config, steps) = (ticks.to_vec(), config.clone(), steps.to_vec());
    let collected: Arc<Mutex<Vec<(Micros, Update)>>> = Arc::default();
    let sink = Arc::clone(&collected);
    timely::execute(timely::Config::process(workers), move |worker| {
        let mut input = InputHandleVec::<Micros, Tick>::new();
        let sink = Arc::clone(&sink);
        worker.dataflow(|scope| {
            input.to_stream(scope).quote_metrics(config.clone()).sink(
                Pipeline,
                "Collect",
                move |(input, _)| {
                    input.for_each(|time, data| {
                        let mut out = sink.lock().expect("collector");
                        let at = time.least().copied().unwrap_or_default();
                        out.extend(data.drain(..).map(|u| (at, u)));
                    });
                },
            );
        });
        input.advance_to(floor);
        let mut pending: Vec<&Tick> = if worker.index() == 0 {
            ticks.iter().collect()
        } else {
            Vec::new()
        };
        pending.sort_by_key(|t| t.due);
        let mut next = 0;
        for &step in steps.iter().filter(|&&s| s > floor) {
            while next < pending.len() && pending[next].due < step {
                input.send(pending[next].clone());
                next += 1;
            }
            input.advance_to(step);
            worker.step();
        }
        for t in &pending[next..] {
            input.send((*t).clone());
        }
    })
    .expect("timely");
    Arc::try_unwrap(collected)
        .ok()
        .and_then(|m| m.into_inner().ok())
        .unwrap_or_default()
}

/// Tables as the sink leaves them after applying `updates` in emission order.
fn tables(updates: impl IntoIterator<Item = Update>) -> Tables {
    let mut t = Tables::default();
    t.extend(updates);
    t
}

/// What the tables show: merged deltas look like full rows, history is state only.
fn shown(mut t: Tables) -> Tables {
    t.windows.values_mut().for_each(|w| w.delta = false);
    t.history.clear();
    t
}

fn ticks() -> impl Strategy<Value = Vec<Tick>> {
    let one = (
        0..3usize,
        1..400i64,
        0..4i64,
        0..40u64,
        prop::bool::weighted(0.15),
        0..900u64,
    );
    prop::collection::vec(one, 1..250).prop_map(|raw| {
        let mut now = 1_700_000_000_000 * MS;
        raw.into_iter()
            .enumerate()
            .map(|(i, (pair, bid, spread, step_ms, late, by_ms))| {
                now += step_ms * MS;
                let due = if late { now + by_ms * MS } else { now };
                tick(i as i64, pair, bid, spread, now, due)
            })
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, .. ProptestConfig::default() })]

    #[test]
    fn resuming_from_a_cut_equals_an_uninterrupted_run(
        ticks in ticks(),
        cut_at in 0.0..1.0f64,
        step_ms in 1..500u64,
        rolling_ms in 50..2_000u64,
        sma_ticks in 1..6usize,
        workers in 1..3usize,
        release_fuel in 1..64usize,
    ) {
        let config = MetricsConfig {
            windows: vec![1_000 * MS, 2_000 * MS],
            sma_ticks,
            rolling_window: rolling_ms * MS,
            release_fuel,
            ..MetricsConfig::default()
        };
        let first = ticks.iter().map(|t| t.due).min().unwrap_or(0);
        let last = ticks.iter().map(|t| t.due).max().unwrap_or(0);
        let floor = cell(first);
        let steps: Vec<Micros> = (1..).map(|i| floor + i * step_ms * MS).take_while(|&s| s <= last + step_ms * MS).collect();
        let full = run_timed(&ticks, &config, floor, &steps, workers);

        let cut = cell(floor + ((last - floor) as f64 * cut_at) as Micros) + CUT_GRID;
        let (before, _): (Vec<_>, Vec<_>) = full.iter().cloned().partition(|(time, _)| *time < cut);
        let stored = tables(before.into_iter().map(|(_, u)| u));
        let resume = Resume::from_tables(cut, stored.clone(), config.rolling_window);
        let resumed_config = MetricsConfig { resume: Arc::new(resume), ..config.clone() };
        let rest: Vec<Tick> = ticks.iter().filter(|t| t.due >= cut).cloned().collect();
        let again = run_timed(&rest, &resumed_config, cut, &steps, workers);
        prop_assert!(again.iter().all(|(time, _)| *time >= cut), "nothing before the cut is emitted again");

        let mut combined = stored;
        combined.extend(again.into_iter().map(|(_, u)| u));
        let expected = shown(tables(full.into_iter().map(|(_, u)| u)));
        prop_assert_eq!(shown(combined), expected);
    }
}
