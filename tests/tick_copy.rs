//! `TickCopy` against PostgreSQL: tick rows copied straight into `ticks` are committed with
//! their transaction, a copy that meets a stored key falls back to the staged upsert (every
//! write stays an upsert), and a copy abandoned before its commit leaves nothing behind.

mod support;

use support::{postgres_url, Schema};
use tickflow::sink::session::Session;
use tickflow::sink::tables::{self, TickValues, TICKS};
use tickflow::sink::tick_copy::TickCopy;
use tickflow::store;
use tickflow_dataflows::memory::{run, MemorySource};
use tickflow_dataflows::{LatePolicy, MetricsConfig, TickRow};

#[path = "../benches/support/quotes.rs"]
mod quotes;

const SCHEMA: &str = "tick_copy";

/// Copies `rows` in one transaction, as the writer does, and commits.
async fn commit(client: &Session, rows: &[&TickRow]) {
    let values = || rows.iter().map(|r| TickValues::new("quotes", r));
    let mut copy = TickCopy::begin(client).await.expect("begin the copy");
    copy.write(values()).await.expect("copy tick rows");
    copy.close(client, values()).await.expect("close the copy");
    client.batch_execute("COMMIT").await.expect("commit");
}

#[test]
fn copied_ticks_commit_and_stored_keys_take_the_upsert() {
    let schema = Schema::fresh(SCHEMA);
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let client = runtime.block_on(async {
        let mut client = store::connect(&postgres_url(), SCHEMA)
            .await
            .expect("connect");
        store::migrate(&mut client, SCHEMA).await.expect("migrate");
        tables::create_stages(&client, &[&TICKS])
            .await
            .expect("stage ticks");
        Session::new(client)
    });
    let source = MemorySource {
        lateness: 1_000_000,
        late: LatePolicy::Update,
        batch: 64,
    };
    let tables = run(
        quotes::quotes(400, 10, 4, 10_000),
        MetricsConfig::default(),
        source,
        1,
    )
    .tables;
    let rows: Vec<&TickRow> = tables.ticks.values().collect();
    let stored = |sql: &str| schema.count(sql);

    runtime.block_on(commit(&client, &rows[..100]));
    assert_eq!(stored("SELECT count(*) FROM ticks"), 100);

    schema.execute(&format!(
        "UPDATE {SCHEMA}.ticks SET sma = 0 WHERE source_offset < 10"
    ));
    runtime.block_on(commit(&client, &rows));
    assert_eq!(
        stored("SELECT count(*) FROM ticks"),
        rows.len() as i64,
        "stored keys are upserted, new ones inserted"
    );
    assert_eq!(
        stored("SELECT count(*) FROM ticks WHERE sma = 0"),
        0,
        "a stored row is replaced by the row written again"
    );

    schema.execute(&format!("TRUNCATE {SCHEMA}.ticks"));
    runtime.block_on(async {
        let mut abandoned = TickCopy::begin(&client).await.expect("begin the copy");
        abandoned
            .write(rows.iter().map(|r| TickValues::new("quotes", r)))
            .await
            .expect("copy tick rows");
        drop(abandoned);
        client
            .batch_execute("COMMIT")
            .await
            .expect("COMMIT of an aborted transaction answers ROLLBACK");
    });
    assert_eq!(
        stored("SELECT count(*) FROM ticks"),
        0,
        "a copy dropped before its commit writes nothing"
    );
}
