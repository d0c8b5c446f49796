//! The per-tick pieces of the graph, one at a time, in ticks per second: parsing one canonical
//! quote, folding a tick through its pair's state, and folding it into its tumbling window.
//! `dataflow` measures them together with timely's scheduling and exchange; this tells which
//! piece a change in that figure comes from.
//!
//! `cargo bench --bench operators`

use std::collections::BTreeMap;
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use tickflow_dataflows::window::window_start;
use tickflow_dataflows::{decode, Micros, Origin, PairState, Tick, WindowAgg};

/// For its global allocator, the binary's (`tickflow::allocator`).
extern crate tickflow as _;

const CANONICAL: &[u8] = br#"{"pair": "BTC-USD", "bid": "50000.10", "ask": "50000.60", "timestamp": "2026-11-21T10:00:00.123Z"}"#;
const TICKS: usize = 100_000;
/// 10 ms apart, so a 60 s rolling window holds ~6000 ticks, as a busy pair's does.
const SPACING_MS: u64 = 10;
const SMA_TICKS: usize = 5;
const ROLLING_WINDOW: Micros = 60_000_000;
const WINDOW: Micros = 60_000_000;

/// `TICKS` ticks of one pair in event-time order, each due at its event time (none late).
fn ticks() -> Vec<Tick> {
    (0..TICKS)
        .map(|i| {
            let cents = 5_000_000 + (i * 7919) % 10_000;
            let value = format!(
                r#"{{"pair":"BTC-USD","bid":"{}.{:02}","ask":"{}.{:02}","timestamp":{}}}"#,
                cents / 100,
                cents % 100,
                (cents + 50) / 100,
                (cents + 50) % 100,
                1_763_700_000_000 + i as u64 * SPACING_MS
            );
            let quote = decode(value.as_bytes()).expect("bench quotes are valid");
            let origin = Origin {
                topic: 0,
                partition: 0,
                offset: i as i64,
            };
            Tick {
                due: quote.ts,
                quote,
                origin,
            }
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("parse");
    group.throughput(Throughput::Elements(1));
    group.bench_function("canonical", |b| b.iter(|| decode(black_box(CANONICAL))));
    group.finish();

    let ticks = ticks();
    let mut group = c.benchmark_group("pair_state");
    group.throughput(Throughput::Elements(TICKS as u64));
    group.sample_size(20);
    // A fresh state each iteration, so the rolling window fills and then slides as it does live.
    group.bench_function("apply", |b| {
        b.iter_batched(
            PairState::default,
            |mut state| {
                for tick in &ticks {
                    black_box(state.apply(tick, SMA_TICKS, ROLLING_WINDOW));
                }
                state
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();

    let mut group = c.benchmark_group("window");
    group.throughput(Throughput::Elements(TICKS as u64));
    group.sample_size(20);
    // As `quote_metrics` folds a pair's ticks: open windows by (end, width, pair), the key built
    // once per window, each tick's aggregate merged into its window's.
    group.bench_function("fold", |b| {
        b.iter(|| {
            let mut windows: BTreeMap<(Micros, Micros, String), WindowAgg> = BTreeMap::new();
            let mut key: Option<(Micros, Micros, String)> = None;
            for tick in &ticks {
                let end = window_start(tick.quote.ts, WINDOW) + WINDOW;
                let key = match &mut key {
                    Some(k) if k.0 == end => k,
                    slot => slot.insert((end, WINDOW, tick.quote.pair.to_string())),
                };
                match windows.get_mut(key) {
                    Some(agg) => agg.merge(&WindowAgg::of(tick)),
                    None => {
                        windows.insert(key.clone(), WindowAgg::of(tick));
                    }
                }
            }
            windows
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
