//! The graph against a from-scratch recomputation, on random input.
//!
//! Random quotes with ties, zero spreads, disorder, late arrivals and invalid messages go
//! through the real graph on 1, 2 and 4 workers. Each run's tables must equal a naive
//! recomputation of SPEC's definitions over the processing order the run reports, and, when no
//! tick is late, the three runs must produce identical tables. Ticks are at most 400 ms out of
//! order and the rolling window is at least that, the bound within which `rolling_avg` is exact
//! for late ticks (see `pair_state`).

use std::collections::BTreeMap;

use proptest::prelude::*;
use rust_decimal::Decimal;
use tickflow_dataflows::memory::{run, MemorySource};
use tickflow_dataflows::window::{mean, window_start};
use tickflow_dataflows::{decode, LatePolicy, MetricsConfig, Origin, Tables, TickRow};

#[derive(Clone, Debug)]
struct Msg {
    pair: usize,
    bid_cents: u32,
    spread_cents: u32,
    step_ms: u64,
    back_ms: u64,
    invalid: bool,
}

fn msg() -> impl Strategy<Value = Msg> {
    (
        0..4usize,
        1..500u32,
        0..4u32,
        0..300u64,
        0..400u64,
        prop::bool::weighted(0.05),
    )
        .prop_map(
            |(pair, bid_cents, spread_cents, step_ms, back_ms, invalid)| Msg {
                pair,
                bid_cents,
                spread_cents,
                step_ms,
                back_ms,
                invalid,
            },
        )
}

/// Encodes the messages into `partitions` partitions, pair `p` in partition `p % partitions`.
fn encode(msgs: &[Msg], partitions: i32) -> Vec<(Origin, Vec<u8>)> {
    let mut now_ms = 1_700_000_000_000u64;
    let mut offsets = vec![0i64; partitions as usize];
    msgs.iter()
        .map(|m| {
            now_ms += m.step_ms;
            let partition = (m.pair as i32) % partitions;
            let offset = offsets[partition as usize];
            offsets[partition as usize] += 1;
            let value = if m.invalid {
                br#"{"pair":"X","bid":"2","ask":"1","timestamp":0}"#.to_vec()
            } else {
                let bid = Decimal::new(m.bid_cents.into(), 2);
                let ask = bid + Decimal::new(m.spread_cents.into(), 2);
                format!(
                    r#"{{"pair":"P{}","bid":"{bid}","ask":{ask},"timestamp":{}}}"#,
                    m.pair,
                    now_ms - m.back_ms
                )
                .into_bytes()
            };
            (
                Origin {
                    topic: 0,
                    partition,
                    offset,
                },
                value,
            )
        })
        .collect()
}

/// SPEC's definitions, computed naively over each pair's ticks in the run's processing order.
fn reference(ticks: &BTreeMap<Origin, TickRow>, config: &MetricsConfig) -> Tables {
    let mut by_pair: BTreeMap<String, Vec<&TickRow>> = BTreeMap::new();
    for row in ticks.values() {
        by_pair
            .entry(row.tick.quote.pair.to_string())
            .or_default()
            .push(row);
    }
    let mut expected = Tables::default();
    for (_, mut rows) in by_pair {
        rows.sort_by_key(|r| r.tick.order_key());
        for (i, row) in rows.iter().enumerate() {
            let seen = &rows[..=i];
            let q = &row.tick.quote;
            let mut r = (*row).clone();
            r.metrics.highest_bid = seen.iter().map(|r| r.tick.quote.bid).max().unwrap();
            r.metrics.lowest_ask = seen.iter().map(|r| r.tick.quote.ask).min().unwrap();
            r.metrics.max_spread = seen.iter().map(|r| r.tick.quote.spread).max().unwrap();
            let last_n = &seen[seen.len().saturating_sub(config.sma_ticks)..];
            r.metrics.sma = mean(
                last_n.iter().map(|r| r.tick.quote.mid).sum(),
                last_n.len() as u64,
            );
            let inside: Vec<Decimal> = seen
                .iter()
                .filter(|s| {
                    s.tick.quote.ts + config.rolling_window > q.ts && s.tick.quote.ts <= q.ts
                })
                .map(|s| s.tick.quote.mid)
                .collect();
            r.metrics.rolling_avg = mean(inside.iter().sum(), inside.len() as u64);
            expected.apply(tickflow_dataflows::Update::Tick(r.clone()));
            if i + 1 == rows.len() {
                expected.apply(tickflow_dataflows::Update::Pair(
                    tickflow_dataflows::PairRow {
                        last: r,
                        tick_count: rows.len() as u64,
                        first_ts: rows.iter().map(|r| r.tick.quote.ts).min().unwrap(),
                        last_ts: rows.iter().map(|r| r.tick.quote.ts).max().unwrap(),
                        recent_mids: last_n.iter().map(|r| r.tick.quote.mid).collect(),
                    },
                ));
            }
        }
        for &width in &config.windows {
            let mut windows: BTreeMap<u64, Vec<&TickRow>> = BTreeMap::new();
            for row in &rows {
                windows
                    .entry(window_start(row.tick.quote.ts, width))
                    .or_default()
                    .push(row);
            }
            for (start, w) in windows {
                let mids: Vec<Decimal> = w.iter().map(|r| r.tick.quote.mid).collect();
                let spreads: Vec<Decimal> = w.iter().map(|r| r.tick.quote.spread).collect();
                let agg = tickflow_dataflows::WindowAgg {
                    open_mid: mids[0],
                    high_mid: *mids.iter().max().unwrap(),
                    low_mid: *mids.iter().min().unwrap(),
                    close_mid: *mids.last().unwrap(),
                    sum_mid: mids.iter().sum(),
                    high_bid: w.iter().map(|r| r.tick.quote.bid).max().unwrap(),
                    low_ask: w.iter().map(|r| r.tick.quote.ask).min().unwrap(),
                    min_spread: *spreads.iter().min().unwrap(),
                    max_spread: *spreads.iter().max().unwrap(),
                    sum_spread: spreads.iter().sum(),
                    tick_count: w.len() as u64,
                    first_ts: w.iter().map(|r| r.tick.quote.ts).min().unwrap(),
                    last_ts: w.iter().map(|r| r.tick.quote.ts).max().unwrap(),
                    late_ticks: w.iter().filter(|r| r.tick.is_late()).count() as u64,
                };
                let key = tickflow_dataflows::WindowKey {
                    pair: w[0].tick.quote.pair.to_string(),
                    width,
                    start,
                };
                expected.windows.insert(
                    key.clone(),
                    tickflow_dataflows::WindowRow {
                        key,
                        agg,
                        is_final: true,
                        delta: false,
                    },
                );
            }
        }
    }
    expected
}

/// Windows compared on what the table shows: a row merged from deltas equals a full one. The
/// rolling history is state, not a table: `resume.rs` checks it.
fn shown(tables: &Tables) -> Tables {
    let mut t = tables.clone();
    t.windows.values_mut().for_each(|w| w.delta = false);
    t.history.clear();
    t
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, .. ProptestConfig::default() })]

    #[test]
    fn graph_matches_reference_on_any_worker_count(
        msgs in prop::collection::vec(msg(), 1..300),
        partitions in 1..4i32,
        lateness_ms in 0..600u64,
        sma_ticks in 1..6usize,
        rolling_ms in 400..3_000u64,
        batch in 1..20usize,
        drop_late in any::<bool>(),
        release_fuel in 1..64usize,
    ) {
        let config = MetricsConfig {
            windows: vec![1_000_000, 2_000_000],
            sma_ticks,
            rolling_window: rolling_ms * 1_000,
            release_fuel,
            ..MetricsConfig::default()
        };
        let late = if drop_late { LatePolicy::Drop } else { LatePolicy::Update };
        let source = MemorySource { lateness: lateness_ms * 1_000, late, batch };
        let input = encode(&msgs, partitions);
        let valid = input.iter().filter(|(_, v)| decode(v).is_ok()).count();

        let mut runs = Vec::new();
        for workers in [1, 2, 4] {
            let outcome = run(input.clone(), config.clone(), source.clone(), workers);
            prop_assert_eq!(outcome.tables.ticks.len() + outcome.dead.len(), input.len());
            prop_assert!(outcome.dead.len() >= input.len() - valid);
            prop_assert!(outcome.tables.windows.values().all(|w| w.is_final));
            let expected = reference(&outcome.tables.ticks, &config);
            prop_assert_eq!(shown(&outcome.tables), expected, "workers {}", workers);
            runs.push(outcome);
        }
        let on_time = runs.iter().all(|o| o.tables.ticks.values().all(|r| !r.tick.is_late()) && o.dead.len() == input.len() - valid);
        if on_time {
            prop_assert_eq!(shown(&runs[0].tables), shown(&runs[1].tables));
            prop_assert_eq!(shown(&runs[0].tables), shown(&runs[2].tables));
        }
    }
}
