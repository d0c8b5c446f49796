//! The pure dataflow in memory: pre-encoded quotes in, updates counted out, on 1, 2 and 4
//! workers, started for each run (`graph`) or kept from run to run (`kept`).
//! Parsing is included; Kafka and Postgres are not (`tickflow bench` measures those).
//!
//! `cargo bench --bench dataflow`

use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use tickflow_dataflows::memory::KeptWorkers;
use tickflow_dataflows::{decode, MetricsConfig};

/// For its global allocator, the binary's (`tickflow::allocator`).
extern crate tickflow as _;

#[path = "support/graph.rs"]
mod graph;
#[path = "support/quotes.rs"]
mod quotes;
use graph::MESSAGES;

fn bench(c: &mut Criterion) {
    let input = graph::input();
    let mut group = c.benchmark_group("dataflow");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));
    group.throughput(Throughput::Elements(MESSAGES as u64));
    group.bench_function("decode", |b| {
        b.iter(|| input.messages().filter(|(_, v)| decode(v).is_ok()).count())
    });
    for workers in [1, 2, 4] {
        group.bench_with_input(
            BenchmarkId::new("graph", workers),
            &workers,
            |b, &workers| {
                // The clone shares the quotes' buffers: it copies no message.
                b.iter(|| graph::run(input.clone(), workers))
            },
        );
    }
    // The same graph on workers that stay up from run to run, as a running pipeline's do. Each
    // run of `graph` starts threads anew, and back to back its one worker's runs (about 90 ms)
    // met freed pages just given back to the OS (after the 100 ms purge delay tickflow had
    // then) and faulted them in again: 2.7 times as often per tick as two workers' runs.
    for workers in [1, 2, 4] {
        let kept = KeptWorkers::counting(
            input.clone(),
            MetricsConfig::default(),
            graph::source(),
            workers,
        );
        group.bench_function(BenchmarkId::new("kept", workers), |b| {
            b.iter(|| kept.count())
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
