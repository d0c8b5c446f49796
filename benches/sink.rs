//! The Postgres sink against a real database, in rows per second: a commit's `ticks` rows
//! inserted (binary `COPY` straight into the table, `TickCopy`), and its `window_aggregates`
//! rows upserted onto stored ones (binary `COPY` into the stage, then `INSERT … ON CONFLICT`),
//! each in one transaction, as the writer does. Before them, the sink's own share of a tick
//! row without the database: its values encoded in the `COPY`'s binary form, as the writer's
//! `BinaryCopyInWriter` encodes them.
//! The rows are real: the in-memory graph's output. This is the half of a commit `dataflow`
//! leaves out.
//!
//! The database is `TICKFLOW_BENCH_POSTGRES` (default: local, trust auth); its schema
//! `tickflow_bench_sink` is dropped and recreated. With no database the database's part is
//! skipped.
//!
//! `cargo bench --bench sink`

use std::time::{Duration, Instant};

use bytes::{BufMut, BytesMut};
use chrono::Utc;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use tickflow::sink::session::Session;
use tickflow::sink::tables::{self, Columns, TickValues, WindowValues, TICKS, WINDOWS};
use tickflow::sink::tick_copy::TickCopy;
use tickflow::store::{self, StoreError};
use tickflow_dataflows::memory::{run, MemorySource};
use tickflow_dataflows::{LatePolicy, MetricsConfig, Tables, TickRow, WindowRow};
use tokio::runtime::Runtime;
use tokio_postgres::types::{IsNull, Type};

#[path = "support/quotes.rs"]
mod quotes;
use quotes::quotes;

const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
const SCHEMA: &str = "tickflow_bench_sink";
const TOPIC: &str = "quotes";
const MESSAGES: usize = 20_000;
const PAIRS: usize = 100;
const PARTITIONS: i32 = 8;
/// `ticks` rows per commit.
const TICK_ROWS: usize = 10_000;

/// The graph's tables for `PAIRS` pairs ticking once a second each, with 1 m, 5 m and 1 h
/// windows, so there are window rows of every width to upsert.
fn tables() -> Tables {
    let messages = quotes(MESSAGES, PAIRS, PARTITIONS, 1_000_000 / PAIRS as u64);
    let metrics = MetricsConfig {
        windows: vec![60_000_000, 300_000_000, 3_600_000_000],
        ..MetricsConfig::default()
    };
    let source = MemorySource {
        lateness: 1_000_000,
        late: LatePolicy::Update,
        batch: 1024,
    };
    run(messages, metrics, source, 1).tables
}

/// Connects into a fresh `SCHEMA` with the migrations applied; `None` (and one line saying
/// why) when there is no database to bench against.
async fn setup(url: &str) -> Option<Session> {
    let connect = tokio::time::timeout(Duration::from_secs(5), store::connect(url, SCHEMA));
    let mut client = match connect.await {
        Ok(Ok(client)) => client,
        Ok(Err(error)) => {
            println!("sink bench skipped: {error}");
            return None;
        }
        Err(_) => {
            println!(
                "sink bench skipped: postgres at {} did not answer in 5 s",
                store::describe(url)
            );
            return None;
        }
    };
    client
        .batch_execute(&format!(
            "DROP SCHEMA IF EXISTS \"{SCHEMA}\" CASCADE; CREATE SCHEMA \"{SCHEMA}\""
        ))
        .await
        .expect("recreate the bench schema");
    store::migrate(&mut client, SCHEMA)
        .await
        .expect("migrate the bench schema");
    tables::create_stages(&client, &[&TICKS, &WINDOWS])
        .await
        .expect("stage ticks and windows");
    Some(Session::new(client))
}

/// Tick rows in the binary `COPY` form, into `out`: per row its column count, then each value
/// after its length, as `BinaryCopyInWriter::write` lays them out.
fn encode_ticks(rows: &[&TickRow], types: &[Type], out: &mut BytesMut) {
    for row in rows {
        let values = TickValues::new(TOPIC, row);
        out.put_i16(types.len() as i16);
        for (value, ty) in values.columns().into_iter().zip(types) {
            let at = out.len();
            out.put_i32(0);
            let len = match value.to_sql_checked(ty, out).expect("a tick value encodes") {
                IsNull::Yes => -1,
                IsNull::No => (out.len() - at - 4) as i32,
            };
            out[at..at + 4].copy_from_slice(&len.to_be_bytes());
        }
    }
}

/// One commit of tick rows, copied straight into `ticks` as the writer does.
async fn write_ticks(client: &Session, rows: &[&TickRow]) -> Result<(), StoreError> {
    let values = || rows.iter().map(|r| TickValues::new(TOPIC, r));
    let mut copy = TickCopy::begin(client).await?;
    copy.write(values()).await?;
    copy.close(client, values()).await?;
    client.batch_execute("COMMIT").await?;
    Ok(())
}

/// One commit of window rows, stamped now as the writer does.
async fn write_windows(client: &Session, rows: &[&WindowRow]) -> Result<(), StoreError> {
    let now = Utc::now();
    client.batch_execute("BEGIN").await?;
    WINDOWS
        .write(client, rows.iter().map(|r| WindowValues::new(r, &now)))
        .await?;
    client.batch_execute("COMMIT").await?;
    Ok(())
}

fn bench(c: &mut Criterion) {
    let tables = tables();
    let ticks: Vec<&TickRow> = tables.ticks.values().take(TICK_ROWS).collect();
    let windows: Vec<&WindowRow> = tables.windows.values().collect();

    let mut group = c.benchmark_group("sink");
    group.throughput(Throughput::Elements(ticks.len() as u64));
    let types = TICKS.types();
    let mut out = BytesMut::new();
    group.bench_function("tick_row_encoding", |b| {
        b.iter(|| {
            out.clear();
            encode_ticks(&ticks, &types, &mut out);
        })
    });

    let url = std::env::var("TICKFLOW_BENCH_POSTGRES").unwrap_or_else(|_| DEFAULT_URL.to_owned());
    let runtime = Runtime::new().expect("a tokio runtime");
    let Some(client) = runtime.block_on(setup(&url)) else {
        return;
    };
    group.sample_size(10);
    // Live, a commit's tick rows are new: empty the table (untimed) before each write.
    group.bench_function("tick_rows", |b| {
        b.iter_custom(|iters| {
            runtime.block_on(async {
                let mut timed = Duration::ZERO;
                for _ in 0..iters {
                    client
                        .batch_execute("TRUNCATE ticks")
                        .await
                        .expect("truncate ticks");
                    let start = Instant::now();
                    write_ticks(&client, &ticks).await.expect("write tick rows");
                    timed += start.elapsed();
                }
                timed
            })
        })
    });
    // Windows are updated in place as ticks arrive: store them once, then every write upserts.
    runtime
        .block_on(write_windows(&client, &windows))
        .expect("store the window rows");
    group.throughput(Throughput::Elements(windows.len() as u64));
    group.bench_function("window_upserts", |b| {
        b.iter(|| {
            runtime
                .block_on(write_windows(&client, &windows))
                .expect("upsert window rows")
        })
    });
    group.finish();

    runtime
        .block_on(client.batch_execute(&format!("DROP SCHEMA \"{SCHEMA}\" CASCADE")))
        .expect("drop the bench schema");
}

criterion_group!(benches, bench);
criterion_main!(benches);
